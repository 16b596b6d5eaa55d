"""Reads the console needs beyond the contexts' own selectors: the agency switcher, the aging
filter and search of the invoices list, the audit trail search, and the money views of a lease
or tenant (balance, allocations, statement).

Every query is agency-scoped (``for_agency``), bounded, and costs a fixed number of queries
whatever the number of rows (P1.2, P7.1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from keja.agencies.models import Agency, Membership
from keja.agencies.selectors import memberships_for_user
from keja.audit.models import AuditEntry
from keja.audit.selectors import audit_list
from keja.billing.models import Allocation, Invoice
from keja.billing.selectors import invoice_list
from keja.kernel.clock import NAIROBI, today_nairobi
from keja.kernel.money import ZERO
from keja.leases.models import Lease
from keja.leases.selectors import lease_ids_matching
from keja.payments.models import Payment
from keja.payments.selectors import payment_list
from keja.platform.scoping import Actor

OPEN_STATUSES = ("open", "partially_paid", "overdue")
MONEY: DecimalField[Any, Decimal] = DecimalField(max_digits=16, decimal_places=2)
SWITCHER_LIMIT = 200
DETAIL_ROWS = 50
STATEMENT_ROWS = 240

# Days past due per aging bucket, as the dashboard counts them (reports.selectors): a bucket
# "lo-hi" holds invoices whose due date is lo..hi days before today.
AGING_BUCKETS: dict[str, tuple[int, int | None]] = {
    "overdue": (1, None),
    "0-30": (1, 30),
    "31-60": (31, 60),
    "61-90": (61, 90),
    "90+": (91, None),
}


@dataclass(frozen=True)
class SwitcherEntry:
    agency_id: int
    name: str
    role: str | None  # None: platform staff looking at an agency they are not a member of


def agencies_for_switcher(*, user: User, current_agency_id: int | None) -> list[SwitcherEntry]:
    """The agencies a person may switch to: their memberships, or (platform staff) every agency,
    the current one always included. One query."""
    if not user.is_staff:
        return [
            SwitcherEntry(agency_id=m.agency_id, name=m.agency.name, role=m.role)
            for m in memberships_for_user(user=user)[:SWITCHER_LIMIT]
        ]
    role = Membership.objects.filter(agency=OuterRef("pk"), user=user).values("role")[:1]
    rows = (
        Agency.objects.annotate(
            my_role=Subquery(role),
            current=Case(
                When(pk=current_agency_id or 0, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .order_by("current", "name", "id")
        .values_list("id", "name", "my_role")[:SWITCHER_LIMIT]
    )
    entries = [SwitcherEntry(agency_id=i, name=n, role=r) for i, n, r in rows]
    return sorted(entries, key=lambda e: (e.name.lower(), e.agency_id))


def first_agency_id() -> int | None:
    """The agency platform staff land on before they pick one."""
    return Agency.objects.order_by("name", "id").values_list("id", flat=True).first()


def unmatched_count(*, actor: Actor) -> int:
    return payment_list(actor=actor, unmatched=True).count()


# --- invoices ---------------------------------------------------------------------------------


def _aging_filter(bucket: str, today: date) -> Q:
    lo, hi = AGING_BUCKETS[bucket]
    cond = Q(status__in=OPEN_STATUSES, due_date__lte=today - timedelta(days=lo))
    if hi is not None:
        cond &= Q(due_date__gt=today - timedelta(days=hi + 1))
    return cond


def invoice_rows(
    *,
    actor: Actor,
    status: str | None = None,
    aging: str | None = None,
    period: date | None = None,
    q: str | None = None,
    today: date | None = None,
) -> QuerySet[Invoice]:
    """The invoices list: billing's ``invoice_list`` plus the dashboard's aging buckets and a
    search that also finds an invoice by its number (``INV-42`` or ``42``)."""
    qs = invoice_list(actor=actor, status=status, period=period, with_allocations=False)
    if aging in AGING_BUCKETS:
        qs = qs.filter(_aging_filter(aging, today or today_nairobi()))
    if q:
        q = q.strip()
        cond = Q(lease_id__in=lease_ids_matching(actor=actor, q=q))
        number = q.upper().removeprefix("INV-")
        if number.isdigit() and len(number) < 18:
            cond |= Q(pk=int(number))
        qs = qs.filter(cond)
    return qs


def invoice_detail(*, actor: Actor, invoice_id: int) -> Invoice | None:
    return (
        invoice_list(actor=actor, with_allocations=False)
        .select_related("lease__unit__property")
        .filter(pk=invoice_id)
        .first()
    )


def invoice_allocations(*, actor: Actor, invoice_id: int) -> list[Allocation]:
    return list(
        Allocation.objects.for_agency(actor)
        .filter(invoice_id=invoice_id)
        .select_related("payment")
        .order_by("id")[:DETAIL_ROWS]
    )


# --- leases and tenants: money views -----------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    outstanding: Decimal  # what open invoices still owe
    overdue: Decimal  # the part of it past its due date
    credit: Decimal  # money paid ahead, waiting for the next invoice

    @property
    def net(self) -> Decimal:
        """Positive: the tenant owes; negative: the agency holds credit."""
        return self.outstanding - self.credit


def _balance(invoices: QuerySet[Invoice], credit: Decimal, today: date) -> Balance:
    owed = ExpressionWrapper(F("total") - F("amount_paid"), output_field=MONEY)
    sums = invoices.filter(status__in=OPEN_STATUSES).aggregate(
        outstanding=Coalesce(Sum(owed), Value(ZERO), output_field=MONEY),
        overdue=Coalesce(Sum(owed, filter=Q(due_date__lt=today)), Value(ZERO), output_field=MONEY),
    )
    return Balance(outstanding=sums["outstanding"], overdue=sums["overdue"], credit=credit)


def lease_balance(*, actor: Actor, lease: Lease, today: date | None = None) -> Balance:
    invoices = Invoice.objects.for_agency(actor).filter(lease_id=lease.pk)
    return _balance(invoices, lease.credit_balance, today or today_nairobi())


def tenant_balance(*, actor: Actor, tenant_id: int, today: date | None = None) -> Balance:
    credit = (
        Lease.objects.for_agency(actor)
        .filter(tenant_id=tenant_id)
        .aggregate(s=Coalesce(Sum("credit_balance"), Value(ZERO), output_field=MONEY))["s"]
    )
    invoices = Invoice.objects.for_agency(actor).filter(lease__tenant_id=tenant_id)
    return _balance(invoices, credit, today or today_nairobi())


def lease_invoices(*, actor: Actor, lease_id: int) -> list[Invoice]:
    return list(
        Invoice.objects.for_agency(actor)
        .filter(lease_id=lease_id)
        .order_by("-period", "-id")[:DETAIL_ROWS]
    )


def lease_payments(*, actor: Actor, lease_id: int) -> list[Payment]:
    return list(payment_list(actor=actor, lease_id=lease_id).order_by("-id")[:DETAIL_ROWS])


def lease_allocations(*, actor: Actor, lease_id: int) -> list[Allocation]:
    return list(
        Allocation.objects.for_agency(actor)
        .filter(invoice__lease_id=lease_id)
        .select_related("payment", "invoice")
        .order_by("-id")[:DETAIL_ROWS]
    )


def tenant_payments(*, actor: Actor, tenant_id: int) -> list[Payment]:
    return list(
        Payment.objects.for_agency(actor)
        .filter(lease__tenant_id=tenant_id)
        .select_related("lease")
        .order_by("-id")[:DETAIL_ROWS]
    )


def payment_allocations(*, actor: Actor, payment_id: int) -> list[Allocation]:
    return list(
        Allocation.objects.for_agency(actor)
        .filter(payment_id=payment_id)
        .select_related("invoice")
        .order_by("id")[:DETAIL_ROWS]
    )


@dataclass(frozen=True)
class StatementLine:
    when: date
    description: str
    charge: Decimal
    payment: Decimal
    balance: Decimal
    invoice_id: int | None = None
    payment_id: int | None = None


def _nairobi_date(moment: datetime | None, fallback: date) -> date:
    return moment.astimezone(NAIROBI).date() if moment else fallback


def lease_statement(*, actor: Actor, lease_id: int) -> list[StatementLine]:
    """The lease's account in date order: invoices charge, payments pay, reversals charge back.
    The closing balance equals what open invoices owe minus the lease's credit. Two queries."""
    invoices = list(
        Invoice.objects.for_agency(actor)
        .filter(lease_id=lease_id)
        .exclude(status="void")
        .order_by("period", "id")
        .values("id", "period", "total", "issued_at")[:STATEMENT_ROWS]
    )
    payments = list(
        Payment.objects.for_agency(actor)
        .filter(lease_id=lease_id, status__in=("completed", "reversed"))
        .order_by("paid_at", "id")
        .values("id", "amount", "method", "status", "paid_at", "receipt", "reversed_at")[
            :STATEMENT_ROWS
        ]
    )
    events: list[tuple[date, int, str, Decimal, Decimal, int | None, int | None]] = []
    for inv in invoices:
        when = inv["period"]
        events.append(
            (when, 0, f"Rent {when:%B %Y} (INV-{inv['id']})", inv["total"], ZERO, inv["id"], None)
        )
    for pay in payments:
        paid = _nairobi_date(pay["paid_at"], date.min)
        label = pay["receipt"] or f"PAY-{pay['id']}"
        method = str(pay["method"]).replace("_", " ")
        events.append(
            (paid, 1, f"Payment {label} ({method})", ZERO, pay["amount"], None, pay["id"])
        )
        if pay["status"] == "reversed":
            undone = _nairobi_date(pay["reversed_at"], paid)
            events.append((undone, 2, f"Reversal of {label}", pay["amount"], ZERO, None, pay["id"]))
    events.sort(key=lambda e: (e[0], e[1]))
    running = ZERO
    lines = []
    for when, _, text, charge, paid_amount, invoice_id, payment_id in events:
        running += charge - paid_amount
        lines.append(
            StatementLine(
                when=when,
                description=text,
                charge=charge,
                payment=paid_amount,
                balance=running,
                invoice_id=invoice_id,
                payment_id=payment_id,
            )
        )
    return lines


# --- audit ----------------------------------------------------------------------------------


def audit_rows(
    *, actor: Actor, q: str | None = None, object_type: str | None = None
) -> QuerySet[AuditEntry]:
    """The audit trail (audit's ``audit_list``) with a free-text search."""
    qs = audit_list(actor=actor, object_type=object_type)
    if q:
        q = q.strip()
        qs = qs.filter(
            Q(summary__icontains=q)
            | Q(action__icontains=q)
            | Q(actor_label__icontains=q)
            | Q(object_id=q)
        )
    return qs
