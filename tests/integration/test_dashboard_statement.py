"""The dashboard's single SQL statement (PostgreSQL) gives exactly the figures of the ORM reference
path (``dashboard_figures_orm``, which the embedded SQLite mode runs), on seeded history and on
the edge cases: an empty agency, void invoices, reversed and unmatched payments, days before any
data and months ahead; and the raw read does not disturb the ORM cache."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from cachalot.api import get_last_invalidation
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keja.agencies.models import Agency
from keja.billing.models import Invoice
from keja.kernel.clock import add_months, period_of
from keja.payments.models import Payment
from keja.payments.services import payment_record, payment_reverse
from keja.platform.db.rawsql import select_only
from keja.properties.models import Property
from keja.reports.selectors import dashboard_figures, dashboard_figures_orm
from tests.factories import (
    make_agency,
    make_billed_lease,
    make_property,
    make_unmatched_payment,
    owner_actor,
    seed_history,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
TODAY = date(2026, 3, 17)


def assert_same(agency_id: int, today: date) -> None:
    with CaptureQueriesContext(connection) as ctx:
        one = dashboard_figures(actor=agency_id, today=today)
    assert len(ctx.captured_queries) == 1, [q["sql"] for q in ctx.captured_queries]
    reference = dashboard_figures_orm(actor=agency_id, today=today)
    assert one == reference, (agency_id, today)
    # same types and scales too (the API renders Decimals as they come)
    assert one.as_dict() == reference.as_dict()
    assert [str(p.amount) for p in one.latest_payments] == [
        str(p.amount) for p in reference.latest_payments
    ]
    assert str(one.arrears_total) == str(reference.arrears_total)


def test_same_figures_as_the_orm_on_seeded_history() -> None:
    seed_history(agencies=3, units=450, today=TODAY)
    agencies = list(Agency.objects.order_by("id").values_list("id", flat=True))
    assert len(agencies) == 3
    days = [
        TODAY,
        TODAY.replace(day=1),  # first day of the month: nothing overdue from this month yet
        add_months(TODAY, -1),
        add_months(TODAY, -5) + timedelta(days=9),
        date(2020, 1, 1),  # before any data
        add_months(TODAY, 3),  # months ahead: everything open is 90+ days overdue
    ]
    checked = 0
    for agency_id in agencies:
        for day in days:
            assert_same(agency_id, day)
            checked += 1
    figures = dashboard_figures(actor=agencies[0], today=TODAY)
    # the comparison ran on real figures, not on zeros
    assert figures.units_total > 0
    assert figures.billed_this_month > 0
    assert figures.arrears_total > 0
    assert figures.collected_this_month > 0
    assert len(figures.latest_payments) == 8
    assert checked == 18


def test_same_figures_on_edge_cases() -> None:
    empty = make_agency()
    assert_same(empty.pk, TODAY)
    assert dashboard_figures(actor=empty.pk, today=TODAY).latest_payments == []

    agency = make_agency()
    actor = owner_actor(agency)
    today = date.today()
    lease = make_billed_lease(actor, months=4, rent="12000.00", today=today)
    other = make_billed_lease(actor, months=2, rent="9000.00", today=today)
    payment_record(actor=actor, lease_id=lease.pk, amount=Decimal("15000"), method="cash")
    wrong = payment_record(actor=actor, lease_id=other.pk, amount=Decimal("4000"), method="bank")
    payment_reverse(actor=actor, payment_id=wrong.pk, reason="entered twice")
    make_unmatched_payment(actor, "2500.00")
    make_unmatched_payment(actor, "100.50")
    void = Invoice.objects.for_agency(actor).filter(lease=other, period=period_of(today)).first()
    assert void is not None
    Invoice.objects.for_agency(actor).filter(pk=void.pk).update(status="void")
    for day in (today, today.replace(day=1), add_months(today, 2), today - timedelta(days=45)):
        assert_same(agency.pk, day)
    figures = dashboard_figures(actor=actor, today=today)
    assert figures.unmatched_payments == 2
    assert {p.status for p in figures.latest_payments} >= {"completed", "reversed"}
    assert any(p.lease_reference is None for p in figures.latest_payments)


def test_figures_stay_within_the_agency() -> None:
    mine, theirs = make_agency(), make_agency()
    make_billed_lease(owner_actor(mine), months=1, rent="10000.00", today=TODAY)
    make_billed_lease(owner_actor(theirs), months=3, rent="70000.00", today=TODAY)
    make_unmatched_payment(owner_actor(theirs), "999.00")
    figures = dashboard_figures(actor=mine.pk, today=TODAY)
    assert figures.units_total == 1
    assert figures.unmatched_payments == 0
    assert figures.billed_this_month == Decimal("10000.00")
    assert figures.latest_payments == []


def test_select_only_skips_the_orm_cache_write_scan() -> None:
    """A statement that merely mentions a write keyword and a cached table would make cachalot
    invalidate that table on every run; select_only tells cachalot it is a read."""
    agency = make_agency()
    make_property(owner_actor(agency))
    table = Property._meta.db_table
    sql = f"SELECT count(*) FROM {table} WHERE name <> 'update {table} set'"  # noqa: S608
    before = get_last_invalidation(table)
    assert select_only(sql) == (1,)
    assert get_last_invalidation(table) == before
    assert getattr(connection, "raw", True) is True  # the flag is restored
    with connection.cursor() as cur:  # the same statement as a plain raw query: invalidates
        cur.execute(sql)
    assert get_last_invalidation(table) > before


@pytest.mark.parametrize("sql", ["UPDATE payments_payment SET amount = 0", "  delete from x", ""])
def test_select_only_refuses_anything_but_a_query(sql: str) -> None:
    with pytest.raises(ValueError, match="queries only"):
        select_only(sql)
    assert Payment.objects.across_agencies("test").filter(amount=0).count() == 0


def _prepared_dashboards() -> list[tuple[str, int, int]]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'WITH units AS%%'"
        )
        return list(cur.fetchall())


def test_the_statement_is_prepared_once_per_connection_and_runs_its_generic_plan() -> None:
    """ADR 0009: the statement is parsed once on a connection and runs from its generic plan from
    the first run (no planning per run), for any agency and day, with the ORM's figures. (The
    connection may have prepared it in an earlier test: counts are compared before and after.)"""
    seed_history(agencies=2, units=120, today=TODAY)
    first, second = Agency.objects.order_by("id").values_list("id", flat=True)
    connection.ensure_connection()
    before = _prepared_dashboards()
    assert len(before) <= 1
    generic_before = before[0][1] if before else 0
    for i in range(4):
        dashboard_figures(actor=first if i % 2 else second, today=TODAY - timedelta(days=i))
    ((_name, generic, custom),) = _prepared_dashboards()
    assert custom == 0, (generic, custom)
    assert generic == generic_before + 4, (generic, custom)
    assert_same(first, TODAY)
    assert_same(second, add_months(TODAY, -2))
    ((_name, generic_after, _custom),) = _prepared_dashboards()
    assert generic_after == generic + 2


def test_without_prepared_statements_the_same_statement_runs_unprepared() -> None:
    """KEJA_DB_PREPARED_STATEMENTS=false leaves psycopg's prepare_threshold at None (a pooler that
    cannot carry prepared statements): same figures, no prepared statement runs."""
    seed_history(agencies=1, units=60, today=TODAY)
    agency = Agency.objects.get().pk
    connection.ensure_connection()
    raw = connection.connection
    before = _prepared_dashboards()
    previous = raw.prepare_threshold
    raw.prepare_threshold = None
    try:
        for _ in range(3):
            assert_same(agency, TODAY)
        assert _prepared_dashboards() == before  # nothing prepared, nothing executed prepared
    finally:
        raw.prepare_threshold = previous


def test_only_the_asked_statement_is_prepared() -> None:
    """Django's own queries keep binding client-side: running many ORM queries prepares none."""
    agency = make_agency()
    connection.ensure_connection()
    for _ in range(20):
        list(Property.objects.for_agency(agency.pk).filter(name="x"))
    with connection.cursor() as cur:
        cur.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement NOT LIKE 'WITH units AS%%'"
        )
        assert cur.fetchall() == []


def test_a_captured_statement_reads_with_its_parameters_written_in() -> None:
    """Debug capture (tests, DEBUG logs) records the statement as PostgreSQL could run it."""
    agency = make_agency()
    with CaptureQueriesContext(connection) as ctx:
        dashboard_figures(actor=agency.pk, today=TODAY)
    (query,) = ctx.captured_queries
    assert "$1" not in query["sql"]
    assert "%(" not in query["sql"]
    assert f"agency_id = {agency.pk}" in query["sql"]
    assert "'2026-03-17'" in query["sql"]
