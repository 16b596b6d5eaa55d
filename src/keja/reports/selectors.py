"""Dashboard figures (P2.1) computed by database aggregation, whatever the agency's size, each
aggregate served by a covering index (see docs/database.md).

On PostgreSQL the figures come from ONE statement (``_figures_one_statement``: six CTEs, one round
trip, no ORM compilation), which keeps a cold dashboard close to the cost of its SQL (issue 7,
perf_suite/cache_bench.py). ``dashboard_figures_orm`` is the same computation through the ORM: it
serves the embedded SQLite mode and is the reference the single statement is tested against
(tests/integration/test_dashboard_statement.py)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from cachalot.api import cachalot_disabled
from django.conf import settings
from django.db import connection
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from keja.billing.models import Invoice
from keja.kernel.clock import NAIROBI, add_months, period_of, today_nairobi
from keja.kernel.money import ZERO
from keja.leases.models import Lease
from keja.payments.models import Payment
from keja.platform.cache import versioned
from keja.platform.db.rawsql import select_only
from keja.platform.scoping import Actor, agency_id_of
from keja.properties.models import Unit
from keja.tenants.models import Tenant

OPEN = ("open", "partially_paid", "overdue")
MONEY: DecimalField[Any, Decimal] = DecimalField(max_digits=16, decimal_places=2)


@dataclass(frozen=True)
class LatestPayment:
    id: int
    amount: Decimal
    method: str
    status: str
    paid_at: datetime | None
    receipt: str | None
    lease_reference: str | None
    tenant_name: str | None


@dataclass(frozen=True)
class Dashboard:
    agency_id: int
    as_of: date
    units_total: int
    units_occupied: int
    occupancy_rate: Decimal
    billed_this_month: Decimal
    paid_on_this_month_invoices: Decimal
    collected_this_month: Decimal
    collection_rate: Decimal
    arrears_total: Decimal
    arrears_0_30: Decimal
    arrears_31_60: Decimal
    arrears_61_90: Decimal
    arrears_90_plus: Decimal
    overdue_invoices: int
    unmatched_payments: int
    latest_payments: list[LatestPayment] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(part: Decimal, whole: Decimal | int) -> Decimal:
    if not whole:
        return Decimal("0.0")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def month_bounds_utc(today: date) -> tuple[datetime, datetime]:
    """The Nairobi calendar month containing ``today``, as aware datetimes."""
    start = period_of(today)
    return (
        datetime.combine(start, time.min, tzinfo=NAIROBI),
        datetime.combine(add_months(start, 1), time.min, tzinfo=NAIROBI),
    )


def dashboard_figures(
    *, actor: Actor | int, today: date | None = None, latest: int = 8
) -> Dashboard:
    """The agency's figures as of ``today`` (Nairobi): one SQL statement on PostgreSQL."""
    if connection.vendor == "postgresql":
        return _figures_one_statement(agency_id_of(actor), today or today_nairobi(), latest)
    return dashboard_figures_orm(actor=actor, today=today, latest=latest)


_CONSTANT = re.compile(r"[a-z_]+")
MAX_LATEST = 100


def _constant(value: str) -> str:
    """A status written into the statement: a code constant (model choice), never input."""
    if not _CONSTANT.fullmatch(value):
        raise ValueError(f"not a status constant: {value!r}")
    return f"'{value}'"


@cache
def _dashboard_sql(latest: int) -> str:
    # Table names from the models; every CTE filters on agency_id (this bypasses the scoped
    # managers, so the scoping is written out here) and is served by the index named beside it.
    # It runs through select_only (no cachalot write scan); it must stay a pure read.
    # It is a server-side prepared statement (ADR 0009): only the agency and the dates are
    # parameters. The statuses and the LIMIT are written in, so that the generic plan PostgreSQL
    # settles on after five runs can still use the partial index payment_unmatched (its predicate
    # names status 'completed') and knows the latest payments are a handful of rows.
    if not 1 <= latest <= MAX_LATEST:
        raise ValueError(f"latest must be 1..{MAX_LATEST}, not {latest}")
    occupied = _constant(Unit.Status.OCCUPIED.value)
    completed = _constant(Payment.Status.COMPLETED.value)
    open_statuses = ", ".join(_constant(status) for status in OPEN)
    return f"""WITH units AS (  -- unit_agency_status
  SELECT count(*) AS total, count(*) FILTER (WHERE status = {occupied}) AS occupied
  FROM {Unit._meta.db_table} WHERE agency_id = %(agency)s
), billed AS (  -- invoice_agency_period (index-only)
  SELECT coalesce(sum(total), 0.00) AS billed, coalesce(sum(amount_paid), 0.00) AS paid
  FROM {Invoice._meta.db_table}
  WHERE agency_id = %(agency)s AND period = %(period)s AND NOT (status = 'void')
), arrears AS (  -- invoice_agency_status_due (index-only)
  SELECT coalesce(sum(total - amount_paid), 0.00) AS owed,
    coalesce(sum(total - amount_paid) FILTER (WHERE due_date > %(d30)s), 0.00) AS b0,
    coalesce(sum(total - amount_paid)
      FILTER (WHERE due_date <= %(d30)s AND due_date > %(d60)s), 0.00) AS b31,
    coalesce(sum(total - amount_paid)
      FILTER (WHERE due_date <= %(d60)s AND due_date > %(d90)s), 0.00) AS b61,
    coalesce(sum(total - amount_paid) FILTER (WHERE due_date <= %(d90)s), 0.00) AS b90,
    count(*) AS overdue
  FROM {Invoice._meta.db_table}
  WHERE agency_id = %(agency)s AND due_date < %(today)s AND status IN ({open_statuses})
), collected AS (  -- payment_agency_status_paid (index-only)
  SELECT coalesce(sum(amount), 0.00) AS collected FROM {Payment._meta.db_table}
  WHERE agency_id = %(agency)s AND status = {completed}
    AND paid_at >= %(month_start)s AND paid_at < %(month_end)s
), unmatched AS (  -- payment_unmatched (index-only)
  SELECT count(*) AS unmatched FROM {Payment._meta.db_table}
  WHERE agency_id = %(agency)s AND lease_id IS NULL AND status = {completed}
), latest AS (  -- payment_agency_id_desc
  SELECT coalesce(json_agg(json_build_object(
      'id', p.id, 'amount', p.amount::text, 'method', p.method, 'status', p.status,
      'paid_at', p.paid_at, 'receipt', p.receipt, 'lease_reference', l.account_reference,
      'tenant_name', t.full_name) ORDER BY p.id DESC), '[]')::text AS rows
  FROM (
    SELECT id, amount, method, status, paid_at, receipt, lease_id FROM {Payment._meta.db_table}
    WHERE agency_id = %(agency)s ORDER BY id DESC LIMIT {int(latest)}
  ) p
  LEFT JOIN {Lease._meta.db_table} l ON l.id = p.lease_id AND l.agency_id = %(agency)s
  LEFT JOIN {Tenant._meta.db_table} t ON t.id = l.tenant_id AND t.agency_id = %(agency)s
)
SELECT units.total, units.occupied, billed.billed, billed.paid, arrears.owed, arrears.b0,
  arrears.b31, arrears.b61, arrears.b90, arrears.overdue, collected.collected,
  unmatched.unmatched, latest.rows
FROM units, billed, arrears, collected, unmatched, latest"""  # noqa: S608 - names from models


def dashboard_statement(agency_id: int, today: date, latest: int = 8) -> tuple[str, dict[str, Any]]:
    """The dashboard statement and its parameters (the benchmarks and index proofs run it)."""
    month_start, month_end = month_bounds_utc(today)
    params = {
        "agency": agency_id,
        "period": period_of(today),
        "today": today,
        # arrears buckets by days overdue: 1-30, 31-60, 61-90, 91+ (as in dashboard_figures_orm)
        "d30": today - timedelta(days=31),
        "d60": today - timedelta(days=61),
        "d90": today - timedelta(days=91),
        "month_start": month_start,
        "month_end": month_end,
    }
    return _dashboard_sql(latest), params


def _figures_one_statement(agency_id: int, today: date, latest: int) -> Dashboard:
    sql, params = dashboard_statement(agency_id, today, latest)
    row = select_only(sql, params, prepare=True)
    assert row is not None  # aggregates without GROUP BY always return one row
    (
        total,
        occupied,
        billed,
        paid,
        owed,
        b0,
        b31,
        b61,
        b90,
        overdue,
        collected,
        unmatched,
        rows,
    ) = row
    return Dashboard(
        agency_id=agency_id,
        as_of=today,
        units_total=total,
        units_occupied=occupied,
        occupancy_rate=_ratio(occupied, total),
        billed_this_month=billed,
        paid_on_this_month_invoices=paid,
        collected_this_month=collected,
        collection_rate=_ratio(paid, billed),
        arrears_total=owed,
        arrears_0_30=b0,
        arrears_31_60=b31,
        arrears_61_90=b61,
        arrears_90_plus=b90,
        overdue_invoices=overdue,
        unmatched_payments=unmatched,
        latest_payments=[
            LatestPayment(
                id=r["id"],
                amount=Decimal(r["amount"]),
                method=r["method"],
                status=r["status"],
                paid_at=datetime.fromisoformat(r["paid_at"]) if r["paid_at"] else None,
                receipt=r["receipt"],
                lease_reference=r["lease_reference"],
                tenant_name=r["tenant_name"],
            )
            for r in json.loads(rows)
        ],
    )


def dashboard_figures_orm(
    *, actor: Actor | int, today: date | None = None, latest: int = 8
) -> Dashboard:
    """The same figures through the ORM, a query per aggregate (SQLite, and the reference)."""
    agency_id = agency_id_of(actor)
    today = today or today_nairobi()
    period = period_of(today)
    month_start, month_end = month_bounds_utc(today)

    units = Unit.objects.for_agency(agency_id).aggregate(
        total=Count("id"), occupied=Count("id", filter=Q(status=Unit.Status.OCCUPIED))
    )
    billed = (
        Invoice.objects.for_agency(agency_id)
        .filter(period=period)
        .exclude(status="void")
        .aggregate(
            billed=Coalesce(Sum("total"), Value(ZERO), output_field=MONEY),
            paid=Coalesce(Sum("amount_paid"), Value(ZERO), output_field=MONEY),
        )
    )
    balance = ExpressionWrapper(F("total") - F("amount_paid"), output_field=MONEY)

    def bucket(lo: int, hi: int | None) -> Q:
        q = Q(due_date__lte=today - timedelta(days=lo))
        if hi is not None:
            q &= Q(due_date__gt=today - timedelta(days=hi + 1))
        return q

    arrears = (
        Invoice.objects.for_agency(agency_id)
        .filter(status__in=OPEN, due_date__lt=today)
        .aggregate(
            owed=Coalesce(Sum(balance), Value(ZERO), output_field=MONEY),
            b0=Coalesce(Sum(balance, filter=bucket(1, 30)), Value(ZERO), output_field=MONEY),
            b31=Coalesce(Sum(balance, filter=bucket(31, 60)), Value(ZERO), output_field=MONEY),
            b61=Coalesce(Sum(balance, filter=bucket(61, 90)), Value(ZERO), output_field=MONEY),
            b90=Coalesce(Sum(balance, filter=bucket(91, None)), Value(ZERO), output_field=MONEY),
            count=Count("id"),
        )
    )
    collected = (
        Payment.objects.for_agency(agency_id)
        .filter(status=Payment.Status.COMPLETED, paid_at__gte=month_start, paid_at__lt=month_end)
        .aggregate(s=Coalesce(Sum("amount"), Value(ZERO), output_field=MONEY))["s"]
    )
    unmatched = (
        Payment.objects.for_agency(agency_id)
        .filter(lease__isnull=True, status=Payment.Status.COMPLETED)
        .count()
    )
    latest_rows = list(
        Payment.objects.for_agency(agency_id)
        .order_by("-id")
        .values(
            "id",
            "amount",
            "method",
            "status",
            "paid_at",
            "receipt",
            "lease__account_reference",
            "lease__tenant__full_name",
        )[:latest]
    )
    return Dashboard(
        agency_id=agency_id,
        as_of=today,
        units_total=units["total"],
        units_occupied=units["occupied"],
        occupancy_rate=_ratio(units["occupied"], units["total"]),
        billed_this_month=billed["billed"],
        paid_on_this_month_invoices=billed["paid"],
        collected_this_month=collected,
        collection_rate=_ratio(billed["paid"], billed["billed"]),
        arrears_total=arrears["owed"],
        arrears_0_30=arrears["b0"],
        arrears_31_60=arrears["b31"],
        arrears_61_90=arrears["b61"],
        arrears_90_plus=arrears["b90"],
        overdue_invoices=arrears["count"],
        unmatched_payments=unmatched,
        latest_payments=[
            LatestPayment(
                id=r["id"],
                amount=r["amount"],
                method=r["method"],
                status=r["status"],
                paid_at=r["paid_at"],
                receipt=r["receipt"],
                lease_reference=r["lease__account_reference"],
                tenant_name=r["lease__tenant__full_name"],
            )
            for r in latest_rows
        ],
    )


DASHBOARD_TTL = 300


def _compute_uncached(agency_id: int, today: date | None) -> Dashboard:
    # The dashboard reads high-write tables the ORM cache never caches; skipping cachalot's
    # per-query bookkeeping saves about a quarter of the compute time (perf_suite/cache_bench.py).
    with cachalot_disabled():
        return dashboard_figures(
            actor=agency_id, today=today
        )  # P2.1: five minutes, and invalidated on every committed change


def dashboard_cached(*, actor: Actor | int, today: date | None = None) -> Dashboard:
    """The dashboard from the per-agency versioned cache (one Redis round trip on a hit); computed
    by one process on a miss. Any committed write to the agency moves it to a new version."""
    agency_id = agency_id_of(actor)
    if not settings.KEJA_RESPONSE_CACHES:
        return dashboard_figures(actor=agency_id, today=today)
    name = f"figures:{(today or today_nairobi()).isoformat()}"
    return versioned.get_or_compute(
        "dash",
        agency_id,
        name,
        lambda: _compute_uncached(agency_id, today),
        ttl=DASHBOARD_TTL,
        count_popularity=True,
    )
