"""Payment reads, and the ledger invariant check used by tests and benchmarks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import F, Q, QuerySet, Sum

from keja.billing.models import Allocation, CreditEntry, Invoice
from keja.kernel.money import ZERO
from keja.leases.models import Lease
from keja.leases.selectors import lease_ids_matching
from keja.payments.models import Payment
from keja.platform.scoping import Actor


def payment_list(
    *,
    actor: Actor | int,
    status: str | None = None,
    method: str | None = None,
    lease_id: int | None = None,
    q: str | None = None,
    paid_from: datetime | None = None,
    paid_to: datetime | None = None,
    unmatched: bool | None = None,
) -> QuerySet[Payment]:
    qs = Payment.objects.for_agency(actor).select_related("lease", "lease__tenant")
    if status:
        qs = qs.filter(status=status)
    if method:
        qs = qs.filter(method=method)
    if lease_id:
        qs = qs.filter(lease_id=lease_id)
    if paid_from:
        qs = qs.filter(paid_at__gte=paid_from)
    if paid_to:
        qs = qs.filter(paid_at__lt=paid_to)
    if unmatched is True:
        qs = qs.filter(lease__isnull=True, status=Payment.Status.COMPLETED)
    if q:
        q = q.strip()
        qs = qs.filter(
            Q(receipt__icontains=q)
            | Q(account_reference__icontains=q)
            | Q(payer_name__icontains=q)
            | Q(lease_id__in=lease_ids_matching(actor=actor, q=q))
        )
    return qs


def payment_get(*, actor: Actor | int, payment_id: int) -> Payment | None:
    return payment_list(actor=actor).filter(pk=payment_id).first()


def lease_ledger(*, agency_id: int, lease_id: int) -> dict[str, Decimal]:
    """Per lease: completed payments, active allocations and credit. The invariants are
    paid == allocated + credit, credit == lease.credit_balance, and no invoice over-paid."""
    paid = (
        Payment.objects.for_agency(agency_id)
        .filter(lease_id=lease_id, status=Payment.Status.COMPLETED)
        .aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    allocated = (
        Allocation.objects.for_agency(agency_id)
        .filter(
            invoice__lease_id=lease_id,
            reversed_at__isnull=True,
            payment__status=Payment.Status.COMPLETED,
        )
        .aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    credit = (
        CreditEntry.objects.for_agency(agency_id)
        .filter(lease_id=lease_id, reversed_at__isnull=True)
        .aggregate(s=Sum("remaining"))["s"]
        or ZERO
    )
    lease_credit = (
        Lease.objects.for_agency(agency_id)
        .filter(pk=lease_id)
        .values_list("credit_balance", flat=True)
        .first()
    )
    invoice_paid = (
        Invoice.objects.for_agency(agency_id)
        .filter(lease_id=lease_id)
        .aggregate(s=Sum("amount_paid"))["s"]
        or ZERO
    )
    overpaid = (
        Invoice.objects.for_agency(agency_id)
        .filter(lease_id=lease_id, amount_paid__gt=F("total"))
        .count()
    )
    return {
        "paid": paid,
        "allocated": allocated,
        "credit": credit,
        "lease_credit": lease_credit or ZERO,
        "invoice_paid": invoice_paid,
        "overpaid_invoices": Decimal(overpaid),
    }


def lease_ledger_ok(*, agency_id: int, lease_id: int) -> bool:
    ledger = lease_ledger(agency_id=agency_id, lease_id=lease_id)
    return (
        ledger["paid"] == ledger["allocated"] + ledger["credit"]
        and ledger["credit"] == ledger["lease_credit"]
        and ledger["allocated"] == ledger["invoice_paid"]
        and ledger["overpaid_invoices"] == 0
    )
