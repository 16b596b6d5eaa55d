"""Payment writes (D6, P5.2): recording cash and bank payments, completing, reversing, assigning
unmatched money. Every money movement is one transaction with row locks (payment → lease →
invoices by id → credit entries) and optimistic version checks; deadlocks and serialization
failures retry the whole transaction with backoff."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from keja.audit.services import audit_record
from keja.billing.services import payment_allocate, payment_allocations_reverse
from keja.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from keja.kernel.money import to_money
from keja.leases.models import Lease
from keja.payments.models import Payment
from keja.platform.db.retry import StaleWrite, retry_on_conflict
from keja.platform.scoping import Actor

MAX_AMOUNT = Decimal("10000000")
MANUAL_METHODS = (Payment.Method.CASH, Payment.Method.BANK)


def _require(actor: Actor, role: str) -> None:
    if not actor.can(role):
        raise PermissionDenied(f"Your role ({actor.role}) cannot record or change payments.")


def clean_amount(value: Decimal | str | int) -> Decimal:
    try:
        amount = to_money(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(
            "Enter the amount in KES, like 15000 or 15000.50.", field="amount"
        ) from exc
    if not Decimal("1") <= amount <= MAX_AMOUNT:
        raise ValidationFailed("The amount must be between 1 and 10,000,000 KES.", field="amount")
    return amount


def _bump(payment: Payment, **fields: object) -> None:
    """Optimistic update: applies only if nobody changed the payment since it was read."""
    updated = (
        Payment.objects.for_agency(payment.agency_id)
        .filter(pk=payment.pk, version=payment.version)
        .update(version=F("version") + 1, updated_at=timezone.now(), **fields)
    )
    if updated != 1:
        raise StaleWrite(f"payment {payment.pk} changed concurrently")
    for key, value in fields.items():
        setattr(payment, key, value)
    payment.version += 1


@retry_on_conflict()
@transaction.atomic
def payment_record(
    *,
    actor: Actor,
    lease_id: int,
    amount: Decimal | str,
    method: str,
    paid_at: datetime | None = None,
    reference: str = "",
    note: str = "",
) -> Payment:
    """Record a cash or bank payment: completed at once and allocated to the lease's invoices."""
    _require(actor, "accountant")
    if method not in MANUAL_METHODS:
        raise ValidationFailed(
            "Record cash or bank payments here; M-Pesa payments arrive by callback.", field="method"
        )
    value = clean_amount(amount)
    lease = Lease.objects.for_agency(actor).filter(pk=lease_id).first()
    if lease is None:
        raise NotFound("Lease not found.", field="lease_id")
    paid_at = paid_at or timezone.now()
    if paid_at > timezone.now() + timedelta(minutes=5):
        raise ValidationFailed("The payment date is in the future.", field="paid_at")
    receipt = reference.strip().upper() or None
    if receipt and len(receipt) > 30:
        raise ValidationFailed("The reference has at most 30 characters.", field="reference")
    receipts = Payment.objects.across_agencies("receipts are unique across agencies")
    if receipt and receipts.filter(receipt=receipt).exists():
        raise Conflict(
            "A payment with this reference exists already.",
            field="reference",
            code="duplicate_receipt",
        )
    try:
        with transaction.atomic():
            payment = Payment.objects.for_agency(actor).create(
                agency_id=actor.agency_id,
                lease=lease,
                method=method,
                status=Payment.Status.COMPLETED,
                amount=value,
                paid_at=paid_at,
                receipt=receipt,
                note=note[:255],
            )
    except IntegrityError as exc:
        raise Conflict(
            "A payment with this reference exists already.",
            field="reference",
            code="duplicate_receipt",
        ) from exc
    result = payment_allocate(
        agency_id=actor.agency_id, payment_id=payment.pk, lease_id=lease.pk, amount=value
    )
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action="payment.recorded",
        object_type="payment",
        object_id=payment.pk,
        summary=f"{method} {value} to {lease.account_reference}",
        changes={"allocated": str(result.allocated), "credit": str(result.credit_added)},
    )
    return payment


@retry_on_conflict()
@transaction.atomic
def payment_reverse(*, actor: Actor, payment_id: int, reason: str) -> Payment:
    """Reverse a completed payment: its allocations and remaining credit are undone exactly."""
    _require(actor, "manager")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Say why the payment is reversed.", field="reason")
    payment = Payment.objects.for_agency(actor).select_for_update().filter(pk=payment_id).first()
    if payment is None:
        raise NotFound("Payment not found.")
    if payment.status != Payment.Status.COMPLETED:
        raise Conflict(
            f"Only completed payments can be reversed; this one is {payment.status}.",
            code="not_completed",
        )
    outcome = None
    if payment.lease_id is not None:
        outcome = payment_allocations_reverse(
            agency_id=actor.agency_id, payment_id=payment.pk, lease_id=payment.lease_id
        )
    _bump(
        payment,
        status=Payment.Status.REVERSED,
        reversed_at=timezone.now(),
        note=f"Reversed: {reason}"[:255],
    )
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action="payment.reversed",
        object_type="payment",
        object_id=payment.pk,
        summary=reason[:200],
        changes={
            "credit_removed": str(outcome.credit_removed) if outcome else "0",
            "invoices": [[i, str(a)] for i, a in outcome.invoices_debited] if outcome else [],
        },
    )
    return payment


@retry_on_conflict()
@transaction.atomic
def payment_assign(*, actor: Actor, payment_id: int, lease_id: int) -> Payment:
    """Assign an unmatched completed payment to a lease, then allocate it."""
    _require(actor, "accountant")
    payment = Payment.objects.for_agency(actor).select_for_update().filter(pk=payment_id).first()
    if payment is None:
        raise NotFound("Payment not found.")
    if payment.lease_id is not None or payment.status != Payment.Status.COMPLETED:
        raise Conflict("Only unmatched completed payments can be assigned.", code="not_unmatched")
    lease = Lease.objects.for_agency(actor).filter(pk=lease_id).first()
    if lease is None:
        raise NotFound("Lease not found.", field="lease_id")
    _bump(payment, lease_id=lease.pk)
    payment_allocate(
        agency_id=actor.agency_id, payment_id=payment.pk, lease_id=lease.pk, amount=payment.amount
    )
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action="payment.assigned",
        object_type="payment",
        object_id=payment.pk,
        summary=f"to {lease.account_reference}",
    )
    return payment
