"""Index proofs (P1.1): every hot query, as the real selectors and services send it, is served by
the index meant for it. On a seeded dataset (20 agencies, 8,000 units, 12 months), after VACUUM
ANALYZE, each query's plan with ``enable_seqscan = off`` must use the expected index by name;
the dashboard aggregates must be index-only scans on their covering indexes.
docs/database.md lists every index and the query it serves."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from keja.audit.selectors import audit_list
from keja.billing.selectors import invoice_list
from keja.billing.services import _open_invoices
from keja.leases.models import Lease
from keja.leases.selectors import lease_list
from keja.payments.selectors import lease_ledger, payment_list
from keja.platform.pagination import keyset_page
from keja.properties.models import Property, Unit
from keja.properties.selectors import property_list, unit_list
from keja.reports.selectors import dashboard_figures, dashboard_figures_orm, dashboard_statement
from keja.tenants.models import Tenant
from keja.tenants.selectors import tenant_list
from tests.factories import seed_history

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
TODAY = date(2026, 3, 17)

# A name ending in "*" matches Django's generated foreign-key index names (hash suffix).
AGENCY_UNIT = ("unit_agency_status", "unit_agency_id_key")


def _plan_indexes(plan: Any, table: str, out: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(node type, index name or "") of every scan of ``table`` in an EXPLAIN (FORMAT JSON)."""
    if isinstance(plan, dict):
        if plan.get("Relation Name") == table or (
            "Index Name" in plan and plan.get("Node Type") == "Bitmap Index Scan"
        ):
            out.append((plan["Node Type"], plan.get("Index Name", "")))
        for value in plan.values():
            _plan_indexes(value, table, out)
    elif isinstance(plan, list):
        for value in plan:
            _plan_indexes(value, table, out)
    return out


_DASHBOARD_CTES = (
    ("units", "properties_unit", AGENCY_UNIT),
    ("billed this month", "billing_invoice", ("invoice_agency_period",)),
    ("arrears and aging", "billing_invoice", ("invoice_agency_status_due",)),
    ("collected this month", "payments_payment", ("payment_agency_status_paid",)),
    ("unmatched count", "payments_payment", ("payment_unmatched",)),
    ("latest payments", "payments_payment", ("payment_agency_id_key",)),
)


def _explain_generic_dashboard(agency_id: int) -> Any:
    """EXPLAIN the prepared dashboard statement as its generic plan (no parameter values known
    to the planner), with the values of ``TODAY`` for the run."""
    for _ in range(6):
        dashboard_figures(actor=agency_id, today=TODAY)
    sql, params = dashboard_statement(agency_id, TODAY)
    order: list[str] = []
    for name in re.findall(r"%\((\w+)\)s", sql):
        if name not in order:
            order.append(name)  # psycopg numbers the names by first appearance
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "SELECT name FROM pg_prepared_statements WHERE statement LIKE 'WITH units AS%%'"
        )
        ((name,),) = cur.fetchall()
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        placeholders = ", ".join(["%s"] * len(order))
        cur.execute(
            f"EXPLAIN (FORMAT JSON) EXECUTE {name}({placeholders})",
            [params[n] for n in order],
        )
        return cur.fetchone()[0]


def _explain(sql: str) -> Any:
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN (FORMAT JSON) " + sql)
        return cur.fetchone()[0]


def _captured(fn: Callable[[], Any]) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return [q["sql"] for q in ctx.captured_queries if q["sql"].startswith(("SELECT", "WITH"))]


def _matches(name: str, expected: tuple[str, ...]) -> bool:
    return any(name.startswith(e[:-1]) if e.endswith("*") else name == e for e in expected)


def _check(
    label: str, sql: str, table: str, expected: tuple[str, ...], *, index_only: bool = False
) -> str | None:
    scans = _plan_indexes(_explain(sql), table, [])
    used = [name for _, name in scans if name]
    ok = any(_matches(name, expected) for name in used) and not any(
        node == "Seq Scan" for node, _ in scans
    )
    if index_only:
        ok = ok and any(
            node == "Index Only Scan" and _matches(name, expected) for node, name in scans
        )
    if ok:
        return None
    return f"{label}: expected {'Index Only Scan on ' if index_only else ''}{expected}, plan scans {table} with {scans}\n    {sql[:300]}"


@pytest.fixture
def seeded() -> int:
    seed_history(agencies=20, units=8000, today=TODAY)
    # An agency in the middle (neither the first nor the last rows of any table); twenty
    # agencies give the planner realistic selectivities (one agency is ~5 % of each table).
    agency_id = int(
        Unit.objects.order_by("agency_id", "id").values_list("agency_id", flat=True)[4000]
    )
    with connection.cursor() as cur:  # autocommit: VACUUM cannot run in a transaction
        cur.execute("VACUUM ANALYZE")
    return agency_id


def test_hot_queries_use_their_indexes(seeded: int) -> None:
    a = seeded
    lease = Lease.objects.filter(agency_id=a, status="active").order_by("id")[10]
    tenant = Tenant.objects.filter(agency_id=a).exclude(email="").order_by("id")[5]
    # the agency's least common town: a selective filter, as when a town is looked up
    place = (
        Property.objects.filter(agency_id=a)
        .values("county", "town")
        .annotate(n=Count("id"))
        .order_by("n", "town")
        .first()
    )
    assert place is not None
    page1 = keyset_page(payment_list(actor=a), limit=10)

    def first(fn: Callable[[], Any]) -> str:
        return _captured(fn)[0]

    failures: list[str | None] = []
    lists: list[tuple[str, Callable[[], Any], str, tuple[str, ...]]] = [
        ("property list", lambda: property_list(actor=a), "properties_property",
         ("property_agency_id_key",)),
        ("unit list", lambda: unit_list(actor=a), "properties_unit",
         ("unit_agency_id_key",)),
        ("tenant list", lambda: tenant_list(actor=a), "tenants_tenant",
         ("tenant_agency_id_key",)),
        ("lease list", lambda: lease_list(actor=a), "leases_lease",
         ("lease_agency_id_key",)),
        ("invoice list", lambda: invoice_list(actor=a), "billing_invoice",
         ("invoice_agency_id_key",)),
        ("payment list", lambda: payment_list(actor=a), "payments_payment",
         ("payment_agency_id_key",)),
        ("audit list", lambda: audit_list(actor=a), "audit_auditentry", ("audit_agency_id_desc",)),
        ("unmatched payments", lambda: payment_list(actor=a, unmatched=True), "payments_payment",
         ("payment_unmatched",)),
        ("properties by status", lambda: property_list(actor=a, status="inactive"),
         "properties_property", ("property_agency_status",)),
        ("properties by county and town",
         lambda: property_list(actor=a, county=place["county"].lower(), town=place["town"].upper()),
         "properties_property", ("property_agency_location_ci",)),
        ("invoices of a lease", lambda: invoice_list(actor=a, lease_id=lease.pk),
         "billing_invoice", ("invoice_lease_period_unique",)),
        ("payments of a lease", lambda: payment_list(actor=a, lease_id=lease.pk),
         "payments_payment", ("payment_lease_status",)),
    ]  # fmt: skip
    for label, qs, table, expected in lists:
        sql = first(lambda qs=qs: keyset_page(qs()))  # type: ignore[misc]
        failures.append(_check(f"{label} (first page)", sql, table, expected))
    # sorted keyset pages (console sorts, API orders): the index hands over the first rows in
    # order, so no plan sorts the agency's rows (the hottest sorted list before these indexes
    # took 40-50 ms on the medium dataset; now under 1 ms)
    sorted_lists: list[tuple[str, Callable[[], Any], str, str, tuple[str, ...]]] = [
        ("units by label", lambda: unit_list(actor=a), "label", "properties_unit", ("unit_agency_label",)),
        ("units by rent", lambda: unit_list(actor=a), "-monthly_rent", "properties_unit", ("unit_agency_rent",)),
        ("leases by start", lambda: lease_list(actor=a), "-start_date", "leases_lease", ("lease_agency_start",)),
        ("leases by rent", lambda: lease_list(actor=a), "-monthly_rent", "leases_lease", ("lease_agency_rent",)),
        ("invoices by due date", lambda: invoice_list(actor=a), "due_date", "billing_invoice", ("invoice_agency_due",)),
        ("invoices by due date, latest", lambda: invoice_list(actor=a), "-due_date", "billing_invoice", ("invoice_agency_due",)),
        ("invoices by total", lambda: invoice_list(actor=a), "-total", "billing_invoice", ("invoice_agency_total",)),
        ("invoices by period", lambda: invoice_list(actor=a), "period", "billing_invoice", ("invoice_agency_period_id",)),
        ("payments by time", lambda: payment_list(actor=a), "-paid_at", "payments_payment", ("payment_agency_paid",)),
        ("payments by amount", lambda: payment_list(actor=a), "-amount", "payments_payment", ("payment_agency_amount",)),
    ]  # fmt: skip
    for label, qs, order, table, expected in sorted_lists:
        sql = first(lambda qs=qs, order=order: keyset_page(qs(), order=order))  # type: ignore[misc]
        failures.append(_check(f"{label} (first page)", sql, table, expected))
        sorts = [n for n in _walk(_explain(sql)) if n.get("Node Type") == "Sort"]
        if sorts:
            failures.append(f"{label}: the plan sorts {sorts[0].get('Sort Key')}\n    {sql[:300]}")
    sql = first(lambda: keyset_page(payment_list(actor=a), cursor=page1.next_cursor))
    failures.append(
        _check(
            "payment list (next page, keyset)",
            sql,
            "payments_payment",
            ("payment_agency_id_key",),
        )
    )

    # exact lookups the services run (uniqueness checks, lease credit and invoices)
    failures.append(
        _check(
            "tenant by phone",
            first(lambda: Tenant.objects.for_agency(a).filter(phone=tenant.phone).exists()),
            "tenants_tenant",
            ("tenant_agency_phone_unique", "tenant_phone"),
        )
    )
    failures.append(
        _check(
            "tenant by email",
            first(lambda: Tenant.objects.for_agency(a).filter(email=tenant.email).exists()),
            "tenants_tenant",
            ("tenant_agency_email_unique", "tenant_email"),
        )
    )

    def open_invoices() -> None:
        with transaction.atomic():
            _open_invoices(a, lease.pk)

    failures.append(
        _check(
            "open invoices of a lease (allocation)",
            first(open_invoices),
            "billing_invoice",
            ("invoice_lease_period_unique",),
        )
    )
    ledger = _captured(lambda: lease_ledger(agency_id=a, lease_id=lease.pk))
    failures.append(
        _check(
            "completed payments of a lease (ledger)",
            ledger[0],
            "payments_payment",
            ("payment_lease_status",),
        )
    )
    failures.append(
        _check(
            "credit entries of a lease (ledger)",
            ledger[2],
            "billing_creditentry",
            ("credit_lease_open", "billing_creditentry_lease_id_*"),
        )
    )

    # the dashboard, query by query, as the ORM reference path sends it (SQLite mode); the one
    # statement PostgreSQL runs is checked below, CTE by CTE
    dashboard = _captured(lambda: dashboard_figures_orm(actor=a, today=TODAY))
    assert len(dashboard) == 6, dashboard

    def pick(pattern: str) -> str:
        found = [q for q in dashboard if re.search(pattern, q)]
        assert len(found) == 1, (pattern, dashboard)
        return found[0]

    failures += [
        _check("dashboard units", pick(r'FROM "properties_unit"'), "properties_unit", AGENCY_UNIT),
        _check(
            "dashboard billed this month",
            pick(r'"billing_invoice"\."period" = '),
            "billing_invoice",
            ("invoice_agency_period",),
            index_only=True,
        ),
        _check(
            "dashboard arrears and aging",
            pick(r'"billing_invoice"\."status" IN'),
            "billing_invoice",
            ("invoice_agency_status_due",),
            index_only=True,
        ),
        _check(
            "dashboard collected this month",
            pick(r'"payments_payment"\."paid_at" >= '),
            "payments_payment",
            ("payment_agency_status_paid",),
            index_only=True,
        ),
        _check(
            "dashboard unmatched count",
            pick(r'"lease_id" IS NULL'),
            "payments_payment",
            ("payment_unmatched",),
            index_only=True,
        ),
        _check(
            "dashboard latest payments",
            pick(r"LIMIT 8"),
            "payments_payment",
            ("payment_agency_id_key",),
        ),
    ]
    # the single dashboard statement (reports.selectors.dashboard_figures on PostgreSQL): every
    # CTE reads through the same index as its ORM twin, and no table is scanned sequentially
    (statement,) = _captured(lambda: dashboard_figures(actor=a, today=TODAY))
    for label, table, expected in _DASHBOARD_CTES:
        scans = _plan_indexes(_explain(statement), table, [])
        if not any(_matches(name, expected) for _, name in scans) or any(
            node == "Seq Scan" for node, _ in scans
        ):
            failures.append(f"dashboard statement, {label}: expected {expected}, scans {scans}")
    # ... and so does the generic plan of the prepared statement (ADR 0009), which PostgreSQL
    # runs once it has made five custom plans on a connection
    for label, table, expected in _DASHBOARD_CTES:
        scans = _plan_indexes(_explain_generic_dashboard(a), table, [])
        if not any(_matches(name, expected) for _, name in scans) or any(
            node == "Seq Scan" for node, _ in scans
        ):
            failures.append(f"dashboard generic plan, {label}: expected {expected}, scans {scans}")
    problems = [f for f in failures if f]
    assert not problems, "\n".join(problems)

    # The one statement's plan, without any planner setting: the covering indexes are read
    # index-only with no heap fetch.
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement)
        plan = cur.fetchone()[0]
    index_only = {
        node["Index Name"]: node["Heap Fetches"]
        for node in _walk(plan)
        if node.get("Node Type") == "Index Only Scan"
    }
    for index in (
        "invoice_agency_period",
        "invoice_agency_status_due",
        "payment_agency_status_paid",
    ):
        assert index_only.get(index) == 0, (index, plan)

    # Without any planner setting the dashboard's invoice and payment aggregates read only
    # their covering indexes: index-only scans with no heap fetch (the table is vacuumed).
    covering = {
        "billed this month": "invoice_agency_period",
        "arrears and aging": "invoice_agency_status_due",
        "collected this month": "payment_agency_status_paid",
    }
    for label, index in covering.items():
        sql = {
            "billed this month": pick(r'"billing_invoice"\."period" = '),
            "arrears and aging": pick(r'"billing_invoice"\."status" IN'),
            "collected this month": pick(r'"payments_payment"\."paid_at" >= '),
        }[label]
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            plan = cur.fetchone()[0]
        scans = [
            node
            for node in _walk(plan)
            if node.get("Node Type") == "Index Only Scan" and node.get("Index Name") == index
        ]
        assert scans, (label, plan)
        assert scans[0]["Heap Fetches"] == 0, (label, plan)


def _walk(plan: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(plan, dict):
        out.append(plan)
        for value in plan.values():
            out += _walk(value)
    elif isinstance(plan, list):
        for value in plan:
            out += _walk(value)
    return out


KEJA_TABLES = (
    "agencies_",
    "audit_",
    "billing_",
    "jobs_",
    "leases_",
    "payments_",
    "platform_",
    "properties_",
    "tenants_",
)
REDUNDANT = """
WITH idx AS (
  SELECT t.relname AS tbl, i.relname AS idx, x.indisunique AS uniq, am.amname AS am,
         x.indpred IS NOT NULL AS partial, x.indexprs IS NOT NULL AS expr,
         array_length(x.indkey::int2[], 1) AS n,
         array_to_string(x.indkey::int2[], ',') AS cols,
         array_to_string(x.indclass::oid[], ',') AS ops
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_am am ON am.oid = i.relam
  JOIN pg_namespace s ON s.oid = t.relnamespace AND s.nspname = current_schema()
)
SELECT a.tbl, a.idx, string_agg(b.idx, ', ' ORDER BY b.idx)
FROM idx a
JOIN idx b ON b.tbl = a.tbl AND b.idx <> a.idx AND b.am = 'btree' AND NOT b.partial
  AND NOT b.expr
  AND (
    (b.n > a.n AND b.cols LIKE a.cols || ',%' AND b.ops LIKE a.ops || ',%')
    OR (b.n = a.n AND b.cols = a.cols AND b.ops = a.ops AND (b.uniq OR b.idx < a.idx))
  )
WHERE NOT a.uniq AND NOT a.partial AND NOT a.expr AND a.am = 'btree'
GROUP BY a.tbl, a.idx
ORDER BY a.tbl, a.idx
"""


def test_no_index_duplicates_another() -> None:
    """Every index is written on every insert: a plain btree index whose columns lead another
    btree index of the table (same operator classes), or repeat a unique one in either
    direction (a btree is read both ways), only costs writes. Django adds one per foreign key
    unless ``db_index=False``; the redundant ones were dropped online (``DropFieldIndexOnline``,
    ``RemoveIndexOnline``)."""
    with connection.cursor() as cur:
        cur.execute(REDUNDANT)
        rows = [row for row in cur.fetchall() if row[0].startswith(KEJA_TABLES)]
    assert rows == [], "\n".join(f"{t}.{i} duplicates {others}" for t, i, others in rows)


def _single_column_indexes(table: str, column: str) -> set[str]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_attribute a "
            "ON a.attrelid = t.oid AND a.attnum = x.indkey[0] "
            "WHERE t.relname = %s AND a.attname = %s AND array_length(x.indkey::int2[], 1) = 1",
            [table, column],
        )
        return {name for (name,) in cur.fetchall()}


def _index_exists(name: str) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_class WHERE relname = %s AND relkind = 'i'", [name])
        return bool(cur.fetchone()[0])


def test_dropping_the_redundant_indexes_runs_online_both_ways() -> None:
    """Payments migrations backwards: the redundant indexes are rebuilt and the sort indexes
    dropped (all concurrently); forwards again: the schema ends as it started."""
    from django.db.migrations.executor import MigrationExecutor

    assert _single_column_indexes("payments_payment", "agency_id") == set()
    assert not _index_exists("payment_agency_id_desc")
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate([("payments", "0003_mpesa_callback")])
    try:
        assert not _index_exists("payment_agency_paid")  # AddIndexOnline, backwards
        rebuilt = _single_column_indexes("payments_payment", "agency_id")
        assert len(rebuilt) == 1
        assert next(iter(rebuilt)).startswith("payments_payment_agency_id_")
        assert len(_single_column_indexes("payments_payment", "lease_id")) == 1
        assert _index_exists("payment_agency_id_desc")
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
    assert _single_column_indexes("payments_payment", "agency_id") == set()
    assert _single_column_indexes("payments_payment", "lease_id") == set()
    assert not _index_exists("payment_agency_id_desc")
    assert _index_exists("payment_agency_paid")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = 'payments_payment' AND NOT x.indisvalid"
        )
        assert cur.fetchone() == (0,)  # no index left half-built
