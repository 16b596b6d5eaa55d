"""Billing writes (D5, D6): issuing invoices (consuming lease credit), allocating payments to
invoices oldest first, reversing allocations, late fees.

Lock order, everywhere: payment (by the caller) → lease → the lease's invoices by id → the lease's
credit entries by id. Invoices are also version-checked on every update (optimistic locking)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from keja.agencies.models import Agency
from keja.audit.services import audit_record
from keja.billing.domain import (
    AllocationResult,
    LateFeePolicy,
    OpenInvoice,
    allocate_payment,
    invoice_status,
    late_fee_due,
    prorate_first_month,
)
from keja.billing.models import Allocation, CreditEntry, Invoice
from keja.kernel.clock import add_months, period_of, today_nairobi
from keja.kernel.errors import NotFound
from keja.kernel.money import ZERO
from keja.leases.models import Lease
from keja.platform.batching import BatchReport, run_in_batches
from keja.platform.cache.versioned import invalidate_agency
from keja.platform.db.retry import StaleWrite
from keja.platform.scoping import Actor

OPEN_STATUSES = (Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID, Invoice.Status.OVERDUE)


def _lock_lease(agency_id: int, lease_id: int) -> Lease:
    lease = Lease.objects.for_agency(agency_id).select_for_update().filter(pk=lease_id).first()
    if lease is None:
        raise NotFound("Lease not found.", field="lease_id")
    return lease


def _set_paid(inv: Invoice, new_paid: Decimal, today: date) -> None:
    status = invoice_status(total=inv.total, paid=new_paid, due_date=inv.due_date, today=today)
    updated = (
        Invoice.objects.for_agency(inv.agency_id)
        .filter(pk=inv.pk, version=inv.version)
        .update(amount_paid=new_paid, status=status, version=F("version") + 1)
    )
    if updated != 1:
        raise StaleWrite(f"invoice {inv.pk} changed concurrently")
    inv.amount_paid, inv.status, inv.version = new_paid, status, inv.version + 1


def _open_invoices(agency_id: int, lease_id: int) -> list[Invoice]:
    return list(
        Invoice.objects.for_agency(agency_id)
        .select_for_update()
        .filter(lease_id=lease_id, status__in=OPEN_STATUSES)
        .order_by("id")
    )


def _change_credit(agency_id: int, lease_id: int, delta: Decimal) -> None:
    Lease.objects.for_agency(agency_id).filter(pk=lease_id).update(
        credit_balance=F("credit_balance") + delta
    )


def payment_allocate(
    *, agency_id: int, payment_id: int, lease_id: int, amount: Decimal, today: date | None = None
) -> AllocationResult:
    """Allocate a completed payment to the lease's open invoices, oldest first; the remainder
    becomes lease credit. Must run inside the caller's transaction (which holds the payment)."""
    assert transaction.get_connection().in_atomic_block, "payment_allocate needs a transaction"
    today = today or today_nairobi()
    _lock_lease(agency_id, lease_id)
    invoices = _open_invoices(agency_id, lease_id)
    by_id = {inv.pk: inv for inv in invoices}
    result = allocate_payment(
        amount=amount,
        invoices=[
            OpenInvoice(
                id=i.pk, period=i.period, due_date=i.due_date, total=i.total, paid=i.amount_paid
            )
            for i in invoices
        ],
    )
    rows = []
    for invoice_id, part in result.allocations:
        inv = by_id[invoice_id]
        _set_paid(inv, inv.amount_paid + part, today)
        rows.append(
            Allocation(
                agency_id=agency_id, payment_id=payment_id, invoice_id=invoice_id, amount=part
            )
        )
    Allocation.objects.for_agency(agency_id).bulk_create(rows)
    if result.credit_added > ZERO:
        CreditEntry.objects.for_agency(agency_id).create(
            agency_id=agency_id,
            lease_id=lease_id,
            payment_id=payment_id,
            amount=result.credit_added,
            remaining=result.credit_added,
        )
        _change_credit(agency_id, lease_id, result.credit_added)
    return result


@dataclass(frozen=True)
class ReversalOutcome:
    invoices_debited: list[tuple[int, Decimal]]
    credit_removed: Decimal


def payment_allocations_reverse(
    *, agency_id: int, payment_id: int, lease_id: int, today: date | None = None
) -> ReversalOutcome:
    """Undo every allocation of a payment (including allocations made from its credit) and
    remove what is left of its credit. Runs inside the caller's transaction."""
    assert transaction.get_connection().in_atomic_block, "needs a transaction"
    today = today or today_nairobi()
    now = timezone.now()
    _lock_lease(agency_id, lease_id)
    allocations = list(
        Allocation.objects.for_agency(agency_id).filter(
            payment_id=payment_id, reversed_at__isnull=True
        )
    )
    invoice_ids = sorted({a.invoice_id for a in allocations})
    invoices = {
        inv.pk: inv
        for inv in Invoice.objects.for_agency(agency_id)
        .select_for_update()
        .filter(pk__in=invoice_ids)
        .order_by("id")
    }
    debits: dict[int, Decimal] = {}
    for alloc in allocations:
        debits[alloc.invoice_id] = debits.get(alloc.invoice_id, ZERO) + alloc.amount
    for invoice_id in invoice_ids:
        inv = invoices[invoice_id]
        _set_paid(inv, inv.amount_paid - debits[invoice_id], today)
    Allocation.objects.for_agency(agency_id).filter(pk__in=[a.pk for a in allocations]).update(
        reversed_at=now
    )
    removed = ZERO
    entry = (
        CreditEntry.objects.for_agency(agency_id)
        .select_for_update()
        .filter(payment_id=payment_id)
        .first()
    )
    if entry is not None and entry.reversed_at is None:
        removed = entry.remaining
        entry.remaining, entry.reversed_at = ZERO, now
        entry.save(update_fields=["remaining", "reversed_at"])
        if removed:
            _change_credit(agency_id, lease_id, -removed)
    return ReversalOutcome(invoices_debited=sorted(debits.items()), credit_removed=removed)


def lease_credit_apply(*, agency_id: int, lease_id: int, today: date | None = None) -> Decimal:
    """Spend the lease's credit on its open invoices, oldest first (after a reversal reopened
    invoices that credit can pay). Runs inside the caller's transaction; lock order lease,
    invoices by id, credit entries. Returns what was spent."""
    assert transaction.get_connection().in_atomic_block, "lease_credit_apply needs a transaction"
    today = today or today_nairobi()
    _lock_lease(agency_id, lease_id)
    spent = ZERO
    for inv in _open_invoices(agency_id, lease_id):
        spent += _consume_credit(inv, today)
    return spent


def _consume_credit(inv: Invoice, today: date) -> Decimal:
    """Spend the lease's credit (oldest first) on a new invoice; each use is an allocation from
    the payment the credit came from."""
    entries = list(
        CreditEntry.objects.for_agency(inv.agency_id)
        .select_for_update()
        .filter(lease_id=inv.lease_id, remaining__gt=0, reversed_at__isnull=True)
        .order_by("id")
    )
    spent = ZERO
    rows = []
    for entry in entries:
        need = inv.total - inv.amount_paid - spent
        if need <= ZERO:
            break
        take = min(need, entry.remaining)
        entry.remaining -= take
        entry.save(update_fields=["remaining"])
        rows.append(
            Allocation(
                agency_id=inv.agency_id, payment_id=entry.payment_id, invoice_id=inv.pk, amount=take
            )
        )
        spent += take
    if spent:
        Allocation.objects.for_agency(inv.agency_id).bulk_create(rows)
        _set_paid(inv, inv.amount_paid + spent, today)
        _change_credit(inv.agency_id, inv.lease_id, -spent)
    return spent


def _due_date(lease: Lease, period: date, agency: Agency) -> date:
    due = period.replace(day=lease.billing_day) + timedelta(days=agency.invoice_due_days)
    return max(due, lease.start_date)


@transaction.atomic
def invoice_issue(
    *,
    agency_id: int,
    lease_id: int,
    period: date,
    today: date | None = None,
    actor: Actor | None = None,
) -> Invoice | None:
    """Issue the rent invoice of ``lease`` for ``period`` unless it exists (idempotent: the unique
    (lease, period) rule makes a second run a no-op). Returns the new invoice, or None."""
    today = today or today_nairobi()
    period = period_of(period)
    lease = _lock_lease(agency_id, lease_id)
    if lease.status != Lease.Status.ACTIVE:
        return None
    if period < period_of(lease.start_date) or (lease.end_date and period > lease.end_date):
        return None
    if Invoice.objects.for_agency(agency_id).filter(lease_id=lease_id, period=period).exists():
        return None
    agency = Agency.objects.get(pk=agency_id)
    amount = lease.monthly_rent
    if period == period_of(lease.start_date) and lease.start_date.day != 1:
        amount = prorate_first_month(monthly_rent=lease.monthly_rent, start=lease.start_date)
    due = _due_date(lease, period, agency)
    inv = Invoice.objects.for_agency(agency_id).create(
        agency_id=agency_id,
        lease_id=lease_id,
        period=period,
        amount=amount,
        total=amount,
        status=invoice_status(total=amount, paid=ZERO, due_date=due, today=today),
        due_date=due,
        issued_at=timezone.now(),
    )
    if lease.credit_balance > ZERO:
        _consume_credit(inv, today)
    audit_record(
        actor=actor,
        agency_id=agency_id,
        action="invoice.issued",
        object_type="invoice",
        object_id=inv.pk,
        summary=f"{lease.account_reference} {period:%Y-%m}: {amount}",
    )
    return inv


def lease_invoices_issue(*, agency_id: int, lease_id: int, until: date | None = None) -> int:
    """Issue every missing invoice of one lease from its start up to ``until``'s period."""
    until = period_of(until or today_nairobi())
    lease = Lease.objects.for_agency(agency_id).filter(pk=lease_id).first()
    if lease is None or lease.status != Lease.Status.ACTIVE:
        return 0
    issued = 0
    period = period_of(lease.start_date)
    while period <= until:
        if invoice_issue(agency_id=agency_id, lease_id=lease_id, period=period) is not None:
            issued += 1
        period = add_months(period, 1)
    return issued


def _active_leases_for(agency_id: int, period: date) -> QuerySet[Lease]:
    return (
        Lease.objects.for_agency(agency_id)
        .filter(status=Lease.Status.ACTIVE, start_date__lt=add_months(period, 1))
        .exclude(end_date__lt=period)
        .exclude(invoices__period=period)
        .order_by("id")
    )


def invoices_generate_for_period(
    *, agency_id: int, period: date, batch_size: int = 100
) -> BatchReport[Invoice | None]:
    """Monthly invoice generation for one agency (D5). Safe to run twice: leases that already
    have the period's invoice are skipped, and the unique rule backs that up."""
    period = period_of(period)
    lease_ids = list(_active_leases_for(agency_id, period).values_list("id", flat=True))
    return run_in_batches(
        lease_ids,
        lambda lease_id: invoice_issue(agency_id=agency_id, lease_id=lease_id, period=period),
        batch_size=batch_size,
    )


def late_fees_apply(
    *, agency_id: int, today: date | None = None, batch_size: int = 100
) -> BatchReport[Decimal]:
    """Charge the agency's late fee on every invoice past due + grace days, once per invoice."""
    today = today or today_nairobi()
    agency = Agency.objects.get(pk=agency_id)
    if agency.late_fee_kind == Agency.LateFeeKind.NONE or agency.late_fee_value <= 0:
        return BatchReport()
    policy = LateFeePolicy(
        grace_days=agency.late_fee_grace_days,
        kind=agency.late_fee_kind,  # type: ignore[arg-type]
        value=agency.late_fee_value,
    )
    cutoff = today - timedelta(days=agency.late_fee_grace_days)
    ids = list(
        Invoice.objects.for_agency(agency_id)
        .filter(status__in=OPEN_STATUSES, due_date__lt=cutoff, late_fee_charged_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )

    def charge(invoice_id: int) -> Decimal:
        inv = (
            Invoice.objects.for_agency(agency_id)
            .select_for_update()
            .filter(pk=invoice_id, late_fee_charged_at__isnull=True)
            .first()
        )
        if inv is None:
            return ZERO
        fee = late_fee_due(
            policy=policy,
            invoice_total=inv.total,
            balance=inv.balance,
            due_date=inv.due_date,
            today=today,
            already_charged=False,
        )
        if fee <= ZERO:
            return ZERO
        new_total = inv.total + fee
        Invoice.objects.for_agency(agency_id).filter(pk=inv.pk, version=inv.version).update(
            late_fee=F("late_fee") + fee,
            total=new_total,
            late_fee_charged_at=timezone.now(),
            status=invoice_status(
                total=new_total, paid=inv.amount_paid, due_date=inv.due_date, today=today
            ),
            version=F("version") + 1,
        )
        audit_record(
            actor=None,
            agency_id=agency_id,
            action="invoice.late_fee",
            object_type="invoice",
            object_id=inv.pk,
            summary=f"late fee {fee}",
            changes={"fee": str(fee)},
        )
        return fee

    return run_in_batches(ids, charge, batch_size=batch_size)


@transaction.atomic
def invoices_mark_overdue(*, agency_id: int, today: date | None = None) -> int:
    today = today or today_nairobi()
    invalidate_agency(agency_id)
    return (
        Invoice.objects.for_agency(agency_id)
        .filter(status__in=(Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID), due_date__lt=today)
        .update(status=Invoice.Status.OVERDUE, version=F("version") + 1)
    )
