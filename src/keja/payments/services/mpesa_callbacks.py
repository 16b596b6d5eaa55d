"""M-Pesa callbacks (P5.1, P5.2, D6): storing every delivery, applying it to the payments exactly
once, and retrying what failed on our side. The endpoints are payments/views.py.

Money rules, everywhere here:
- every callback body is stored (``MpesaCallback``) before anything else happens;
- completing a payment, allocating it and crediting the rest is ONE transaction that locks, in
  order, the callback row → the payment (→ another payment with the same receipt) → the lease →
  its invoices by id → its credit entries (billing.services), with optimistic version checks
  (``_bump``); deadlocks and serialization failures re-run the whole transaction
  (``retry_on_conflict``), and so do unique-receipt races (the re-run sees the winner);
- a receipt is unique across STK and C2B: whichever channel brings it second changes nothing;
- a duplicate delivery changes nothing and is still acknowledged.
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from keja.agencies.models import Agency
from keja.audit.services import audit_record
from keja.billing.services import (
    lease_credit_apply,
    payment_allocate,
    payment_allocations_reverse,
)
from keja.leases.models import Lease
from keja.leases.services import normalize_reference
from keja.payments import metrics
from keja.payments.adapters import errors as daraja_errors
from keja.payments.adapters.callbacks import (
    MAX_BODY_BYTES,
    C2BPayment,
    CallbackInvalid,
    StkCallback,
    guess_external_id,
    parse_c2b,
    parse_stk_callback,
    storable,
)
from keja.payments.models import MpesaCallback, Payment
from keja.payments.services import _bump
from keja.platform.db.retry import StaleWrite, retry_on_conflict
from keja.platform.jobs.enqueue import send_on_commit

log = structlog.get_logger(__name__)

Kind = MpesaCallback.Kind
CbStatus = MpesaCallback.Status
PENDING_LIKE = (
    Payment.Status.PENDING,
    Payment.Status.EXPIRED,
    Payment.Status.FAILED,
    Payment.Status.CANCELLED,
)
ACK_STK = {"ResultCode": 0, "ResultDesc": "Accepted"}
ACK_CONFIRMATION = {"ResultCode": 0, "ResultDesc": "Success"}
VALIDATION_ACCEPT = {"ResultCode": "0", "ResultDesc": "Accepted"}
_RECEIPTS_ANY_AGENCY = "receipts are unique across agencies and channels"
_CALLBACKS_ANY_AGENCY = "a callback names no agency until it is matched"
_REF = re.compile(r"^[A-Z0-9]{1,12}$")


# --- callbacks: receiving ----------------------------------------------------------------------
@dataclass(frozen=True)
class CallbackAnswer:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class _Applied:
    status: str
    outcome: str
    answer: dict[str, Any]
    payment_id: int | None = None
    agency_id: int | None = None
    result_code: int | None = None


class _Deferred(Exception):
    """Cannot be processed yet (e.g. an STK callback overtook our own commit): retried."""


def _reject_constant(name: str) -> Any:
    raise CallbackInvalid(f"{name} is not allowed in JSON")


def _loads(body: bytes, *, decimals: bool) -> Any:
    try:
        return json.loads(
            body,
            parse_float=Decimal if decimals else float,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, CallbackInvalid):
            raise
        raise CallbackInvalid(f"not JSON: {str(exc)[:120]}") from exc


def _parse(kind: str, body: bytes) -> StkCallback | C2BPayment:
    data = _loads(body, decimals=True)
    return parse_stk_callback(data) if kind == Kind.STK else parse_c2b(data)


def _external_id(parsed: StkCallback | C2BPayment) -> str:
    return parsed.checkout_request_id if isinstance(parsed, StkCallback) else parsed.trans_id


def _ack(kind: str) -> dict[str, Any]:
    return ACK_STK if kind == Kind.STK else ACK_CONFIRMATION


def _text(body: bytes) -> str:
    # PostgreSQL text cannot hold NUL; undecodable bytes become U+FFFD
    return body[:MAX_BODY_BYTES].decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def mpesa_callback_receive(*, kind: str, body: bytes, source_ip: str | None) -> CallbackAnswer:
    """Store, then process, one delivery of a Daraja callback; returns what to answer.

    Malformed: 400 (kept with status ``malformed``). A redelivery identical to the first
    delivery changes nothing. A failure on our side keeps the callback ``failed`` (retried by
    the ``mpesa_process_callback`` actor) and still acknowledges it: it is ours now."""
    started = time.perf_counter()
    metrics.CALLBACKS.labels(kind, "received").inc()
    try:
        return _receive(kind, body, source_ip)
    finally:
        metrics.CALLBACK_SECONDS.labels(kind).observe(time.perf_counter() - started)


def _receive(kind: str, body: bytes, source_ip: str | None) -> CallbackAnswer:
    raw = _text(body)
    try:
        if len(body) > MAX_BODY_BYTES:
            raise CallbackInvalid(f"the body is larger than {MAX_BODY_BYTES} bytes")
        parsed = _parse(kind, body)
        payload = storable(_loads(body, decimals=False))
    except CallbackInvalid as exc:
        return _malformed(kind, raw, body, source_ip, str(exc))
    external_id = _external_id(parsed)
    callback, owner = _store(kind, external_id, raw, payload, source_ip)
    if owner is not None:
        try:
            same = _parse(kind, owner.raw.encode()) == parsed
        except CallbackInvalid:  # pragma: no cover (an owner is never malformed)
            same = False
        if same:
            if owner.status == CbStatus.FAILED:
                _retry_now(owner.pk, kind, parsed)  # a redelivery is a free, immediate retry
            return _duplicate_delivery(callback, parsed)
    return _process(callback, parsed)


def _retry_now(callback_id: int, kind: str, parsed: StkCallback | C2BPayment) -> None:
    try:
        applied = _apply_with_retries(callback_id, parsed)
    except Exception as exc:
        _mark_failed(callback_id, exc)
        metrics.CALLBACK_RETRIES.labels("failed").inc()
        return
    _count(kind, applied)
    metrics.CALLBACK_RETRIES.labels(applied.status).inc()


def _malformed(
    kind: str, raw: str, body: bytes, source_ip: str | None, error: str
) -> CallbackAnswer:
    try:
        guess = guess_external_id(kind, json.loads(body))
    except (ValueError, RecursionError):
        guess = None
    MpesaCallback.objects.across_agencies(_CALLBACKS_ANY_AGENCY).create(
        kind=kind,
        external_id=guess,
        raw=raw,
        source_ip=source_ip,
        status=CbStatus.MALFORMED,
        error=error[:2000],
        processed_at=timezone.now(),
    )
    metrics.CALLBACKS.labels(kind, "malformed").inc()
    log.warning("mpesa_callback_malformed", kind=kind, error=error, source_ip=source_ip)
    if kind == Kind.C2B_VALIDATION:
        return CallbackAnswer(400, {"ResultCode": "C2B00016", "ResultDesc": "Rejected"})
    return CallbackAnswer(400, {"ResultCode": 1, "ResultDesc": f"Malformed callback: {error}"})


def _store(
    kind: str, external_id: str, raw: str, payload: Any, source_ip: str | None
) -> tuple[MpesaCallback, MpesaCallback | None]:
    """Insert the delivery. The first of a (kind, external_id) owns it; a later one is stored
    pointing at the first (returned second)."""
    callbacks = MpesaCallback.objects.across_agencies(_CALLBACKS_ANY_AGENCY)
    fields = {"kind": kind, "external_id": external_id, "raw": raw, "payload": payload}
    for _ in range(3):
        try:
            with transaction.atomic():
                return callbacks.create(**fields, source_ip=source_ip), None
        except IntegrityError:
            owner = (
                callbacks.filter(kind=kind, external_id=external_id, duplicate_of__isnull=True)
                .exclude(status=CbStatus.MALFORMED)
                .first()
            )
            if owner is not None:
                redelivery = callbacks.create(
                    **fields, source_ip=source_ip, duplicate_of=owner, agency_id=owner.agency_id
                )
                return redelivery, owner
    raise RuntimeError("could not store the callback")  # pragma: no cover


def _validation_answer(data: C2BPayment) -> tuple[dict[str, Any], str, int | None]:
    agency = Agency.objects.filter(mpesa_shortcode=data.shortcode).first()
    if agency is None:
        return {"ResultCode": "C2B00015", "ResultDesc": "Rejected"}, "rejected_shortcode", None
    if agency.reject_unknown_c2b_accounts and _match_lease(agency.pk, data.bill_ref) is None:
        return {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}, "rejected_account", agency.pk
    return VALIDATION_ACCEPT, "accepted", agency.pk


def _duplicate_delivery(
    callback: MpesaCallback, parsed: StkCallback | C2BPayment
) -> CallbackAnswer:
    answer = _ack(callback.kind)
    if isinstance(parsed, C2BPayment) and callback.kind == Kind.C2B_VALIDATION:
        answer = _validation_answer(parsed)[0]
    MpesaCallback.objects.across_agencies(_CALLBACKS_ANY_AGENCY).filter(pk=callback.pk).update(
        status=CbStatus.DUPLICATE, outcome="redelivery", processed_at=timezone.now()
    )
    metrics.CALLBACKS.labels(callback.kind, "duplicate").inc()
    return CallbackAnswer(200, answer)


def _process(callback: MpesaCallback, parsed: StkCallback | C2BPayment) -> CallbackAnswer:
    try:
        applied = _apply_with_retries(callback.pk, parsed)
    except Exception as exc:
        _mark_failed(callback.pk, exc)
        try:
            send_on_commit("mpesa_process_callback", callback_id=callback.pk)
        except Exception:  # the periodic sweep picks it up
            log.exception("mpesa_callback_enqueue_failed", callback_id=callback.pk)
        if callback.kind == Kind.C2B_VALIDATION:  # never block a payment because of our bug
            return CallbackAnswer(200, VALIDATION_ACCEPT)
        return CallbackAnswer(200, _ack(callback.kind))
    _count(callback.kind, applied)
    return CallbackAnswer(200, applied.answer)


def _count(kind: str, applied: _Applied) -> None:
    metrics.CALLBACKS.labels(kind, applied.status).inc()
    if applied.result_code is not None:
        code = applied.result_code
        label = str(code) if code in daraja_errors.KNOWN_RESULT_CODES else "other"
        metrics.STK_RESULTS.labels(label, "callback").inc()


def _mark_failed(callback_id: int, exc: BaseException) -> None:
    deferred = isinstance(exc, _Deferred)
    error = str(exc) if deferred else f"{type(exc).__name__}: {exc}"
    (log.info if deferred else log.exception)(
        "mpesa_callback_failed", callback_id=callback_id, error=error
    )
    MpesaCallback.objects.across_agencies(_CALLBACKS_ANY_AGENCY).filter(
        pk=callback_id, status__in=(CbStatus.RECEIVED, CbStatus.FAILED)
    ).update(status=CbStatus.FAILED, error=error[:2000], attempts=F("attempts") + 1)


# --- callbacks: applying ----------------------------------------------------------------------
def _apply_with_retries(callback_id: int, parsed: StkCallback | C2BPayment) -> _Applied:
    """Unique-receipt races and stale versions re-run the whole transaction: the re-run sees
    what the other writer committed (and usually finds a duplicate)."""
    attempts = 4
    for attempt in range(1, attempts + 1):
        try:
            return _apply(callback_id, parsed)
        except (IntegrityError, StaleWrite) as exc:
            if attempt == attempts:
                raise
            log.info("mpesa_apply_rerun", callback_id=callback_id, error=type(exc).__name__)
            time.sleep(0.01 * attempt * (0.5 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


@retry_on_conflict()
@transaction.atomic
def _apply(callback_id: int, parsed: StkCallback | C2BPayment) -> _Applied:
    callback = (
        MpesaCallback.objects.across_agencies(_CALLBACKS_ANY_AGENCY)
        .select_for_update()
        .get(pk=callback_id)
    )
    if callback.status not in (CbStatus.RECEIVED, CbStatus.FAILED):
        return _Applied(callback.status, callback.outcome, _ack(callback.kind))  # done already
    if isinstance(parsed, StkCallback):
        applied = _apply_stk(parsed)
    elif callback.kind == Kind.C2B_CONFIRMATION:
        applied = _apply_confirmation(parsed)
    else:
        answer, outcome, agency_id = _validation_answer(parsed)
        applied = _Applied(CbStatus.PROCESSED, outcome, answer, agency_id=agency_id)
    callback.status = applied.status
    callback.outcome = applied.outcome[:40]
    callback.payment_id = applied.payment_id or callback.payment_id
    callback.agency_id = applied.agency_id or callback.agency_id
    callback.processed_at = timezone.now()
    callback.error = ""
    callback.save(update_fields=["status", "outcome", "payment", "agency", "processed_at", "error"])
    return applied


def _match_lease(agency_id: int, bill_ref: str) -> Lease | None:
    ref = normalize_reference(bill_ref)
    if not _REF.match(ref):
        return None
    return Lease.objects.for_agency(agency_id).filter(account_reference=ref).first()


def _stk_payment_for(data: StkCallback) -> Payment | None:
    payments = Payment.objects.across_agencies(
        "an STK callback names no agency: its CheckoutRequestID is unique platform-wide"
    )
    payment = payments.select_for_update().filter(checkout_request_id=data.checkout_request_id)
    found = payment.first()
    if found is not None or not (data.succeeded and data.phone and data.amount):
        return found
    # A push whose answer never reached us (timeout) has no CheckoutRequestID: adopt it when
    # exactly one such push of this phone and amount is recent, so the money is not left aside.
    in_doubt = list(
        payments.select_for_update()
        .filter(
            method=Payment.Method.MPESA_STK,
            checkout_request_id__isnull=True,
            status__in=(Payment.Status.PENDING, Payment.Status.EXPIRED),
            phone=data.phone,
            amount=data.amount,
            created_at__gte=timezone.now() - timedelta(hours=6),
        )
        .order_by("id")[:2]
    )
    if len(in_doubt) != 1:
        return None
    adopted = in_doubt[0]
    _bump(
        adopted,
        checkout_request_id=data.checkout_request_id,
        merchant_request_id=data.merchant_request_id,
    )
    log.warning("stk_push_adopted", payment_id=adopted.pk, checkout=data.checkout_request_id)
    return adopted


def _apply_stk(data: StkCallback) -> _Applied:
    payment = _stk_payment_for(data)
    if payment is None:
        raise _Deferred(f"No STK push has CheckoutRequestID {data.checkout_request_id} (yet).")
    ids = {
        "payment_id": payment.pk,
        "agency_id": payment.agency_id,
        "result_code": data.result_code,
    }
    if data.succeeded:
        assert data.receipt is not None  # checked when parsed
        assert data.amount is not None
        status, outcome = stk_payment_complete(
            payment,
            receipt=data.receipt,
            amount=data.amount,
            paid_at=data.transaction_date or timezone.now(),
            description=data.result_desc,
            source="callback",
        )
        return _Applied(status, outcome, ACK_STK, **ids)
    if payment.status != Payment.Status.PENDING:
        return _Applied(CbStatus.DUPLICATE, f"ignored_{payment.status}", ACK_STK, **ids)
    new_status = failure_status(data.result_code)
    _bump(
        payment,
        status=new_status,
        result_code=data.result_code,
        result_description=(data.result_desc or describe_result(data.result_code))[:255],
    )
    audit_record(
        actor=None,
        agency_id=payment.agency_id,
        action=f"payment.{new_status}",
        object_type="payment",
        object_id=payment.pk,
        summary=f"STK result {data.result_code}: {data.result_desc}"[:255],
    )
    return _Applied(CbStatus.PROCESSED, str(new_status), ACK_STK, **ids)


def failure_status(result_code: int) -> str:
    if result_code == daraja_errors.RESULT_CANCELLED:
        return Payment.Status.CANCELLED
    return Payment.Status.FAILED


def describe_result(result_code: int) -> str:
    return daraja_errors.RESULT_DESCRIPTIONS.get(result_code, f"M-Pesa result {result_code}")


def stk_payment_complete(
    payment: Payment,
    *,
    receipt: str | None,
    amount: Decimal,
    paid_at: datetime,
    description: str,
    source: str,
) -> tuple[str, str]:
    """Complete a locked STK payment and allocate it, exactly once. A late success completes a
    push we had expired (or marked failed): money that arrived is never left aside."""
    payments = Payment.objects.across_agencies(_RECEIPTS_ANY_AGENCY)
    if payment.status == Payment.Status.COMPLETED:
        if payment.receipt is None and receipt:  # completed by a status query
            other = payments.select_for_update().filter(receipt=receipt).first()
            if other is None:
                _bump(payment, receipt=receipt)
                return CbStatus.PROCESSED, "receipt_attached"
            if _is_same_money(payment, other):
                return _supersede_by_paybill(payment, other, receipt)
            log.error(  # the receipt belongs elsewhere and cannot be reconciled here: a person
                "stk_receipt_recorded_twice", payment_id=payment.pk, receipt=receipt
            )
            return CbStatus.DUPLICATE, "receipt_elsewhere_check"
        return CbStatus.DUPLICATE, "already_completed"
    if payment.status not in PENDING_LIKE:
        return CbStatus.DUPLICATE, f"ignored_{payment.status}"
    assert payment.lease_id is not None, "an STK payment always has a lease"
    if receipt:
        other = payments.select_for_update().filter(receipt=receipt).first()
        if other is not None:
            return _same_receipt_elsewhere(payment, other, description)
    fields: dict[str, Any] = {
        "status": Payment.Status.COMPLETED,
        "receipt": receipt,
        "paid_at": paid_at,
        "result_code": 0,
        "result_description": (description or "Paid")[:255],
    }
    if amount != payment.amount:
        fields["amount"] = amount
        fields["note"] = f"Prompt was for {payment.amount}; M-Pesa reports {amount} paid."[:255]
    was = payment.status
    _bump(payment, **fields)
    result = payment_allocate(
        agency_id=payment.agency_id,
        payment_id=payment.pk,
        lease_id=payment.lease_id,
        amount=payment.amount,
    )
    audit_record(
        actor=None,
        agency_id=payment.agency_id,
        action="payment.completed",
        object_type="payment",
        object_id=payment.pk,
        summary=f"M-Pesa {receipt or '(receipt pending)'} {payment.amount} ({source}, was {was})",
        changes={"allocated": str(result.allocated), "credit": str(result.credit_added)},
    )
    return CbStatus.PROCESSED, "completed" if was == Payment.Status.PENDING else f"completed_{was}"


def _is_same_money(payment: Payment, other: Payment) -> bool:
    """``other`` holds the very M-Pesa transaction of ``payment`` (same receipt), recorded a
    second time: completed, in the same agency, same amount, and unmatched or on the same
    lease. Anything else is left to a person."""
    return (
        other.pk != payment.pk
        and other.status == Payment.Status.COMPLETED
        and other.agency_id == payment.agency_id
        and other.amount == payment.amount
        and other.lease_id in (None, payment.lease_id)
        and payment.lease_id is not None
    )


def _supersede_by_paybill(payment: Payment, other: Payment, receipt: str) -> tuple[str, str]:
    """A push completed by a status query (no receipt yet) and a paybill confirmation of the same
    transaction both counted the money; the push's callback now shows the receipt is the same.
    The paybill payment carries the receipt, so it keeps the money: the push's allocations and
    credit are undone exactly, the paybill payment goes to the push's lease if it was unmatched,
    and the push is marked reversed (superseded). The money is then counted once."""
    lease_id = payment.lease_id
    assert lease_id is not None
    payment_allocations_reverse(
        agency_id=payment.agency_id, payment_id=payment.pk, lease_id=lease_id
    )
    _bump(
        payment,
        status=Payment.Status.REVERSED,
        reversed_at=timezone.now(),
        note=f"Counted twice: the paybill confirmation PAY-{other.pk} holds {receipt}."[:255],
    )
    assigned = other.lease_id is None
    if assigned:
        _assign_unmatched(other, lease_id)
    else:  # it went to credit while the push held the invoices: it pays them now
        lease_credit_apply(agency_id=payment.agency_id, lease_id=lease_id)
    _audit_superseded(
        payment,
        f"Receipt {receipt} was recorded twice; PAY-{other.pk} keeps it",
        {"kept": other.pk, "assigned_to_lease": assigned},
    )
    log.warning(
        "stk_receipt_recorded_twice_resolved", payment_id=payment.pk, kept=other.pk, receipt=receipt
    )
    return CbStatus.PROCESSED, "superseded_by_paybill"


def _assign_unmatched(other: Payment, lease_id: int) -> None:
    """An unmatched paybill payment turns out to belong to ``lease_id``: it goes there."""
    _bump(other, lease_id=lease_id)
    payment_allocate(
        agency_id=other.agency_id, payment_id=other.pk, lease_id=lease_id, amount=other.amount
    )


def _audit_superseded(
    payment: Payment, summary: str, changes: dict[str, Any] | None = None
) -> None:
    audit_record(
        actor=None,
        agency_id=payment.agency_id,
        action="payment.superseded",
        object_type="payment",
        object_id=payment.pk,
        summary=summary[:255],
        changes=changes,
    )


def _same_receipt_elsewhere(payment: Payment, other: Payment, description: str) -> tuple[str, str]:
    """The money of this push was already recorded through the other channel (paybill) as
    ``other``: this push must not count it again. If ``other`` waits unmatched in the same
    agency, it now goes to this push's lease."""
    outcome = "duplicate_receipt"
    if (
        other.lease_id is None
        and other.status == Payment.Status.COMPLETED
        and other.agency_id == payment.agency_id
        and payment.lease_id is not None
    ):
        _assign_unmatched(other, payment.lease_id)
        outcome = "duplicate_receipt_assigned"
    _bump(
        payment,
        status=Payment.Status.CANCELLED,
        result_code=0,
        result_description=(description or "Paid")[:255],
        note=f"Paid as {other.receipt}, recorded as PAY-{other.pk} ({other.method})."[:255],
    )
    _audit_superseded(payment, f"Receipt {other.receipt} already recorded as PAY-{other.pk}")
    return (
        CbStatus.PROCESSED if outcome == "duplicate_receipt_assigned" else CbStatus.DUPLICATE,
        outcome,
    )


def _apply_confirmation(data: C2BPayment) -> _Applied:
    agency = Agency.objects.filter(mpesa_shortcode=data.shortcode).first()
    if agency is None:
        raise _Deferred(f"No agency has the paybill shortcode {data.shortcode}.")
    existing = (
        Payment.objects.across_agencies(_RECEIPTS_ANY_AGENCY)
        .filter(receipt=data.trans_id)
        .values_list("pk", flat=True)
        .first()
    )
    if existing is not None:
        return _Applied(
            CbStatus.DUPLICATE,
            "duplicate_receipt",
            ACK_CONFIRMATION,
            payment_id=existing,
            agency_id=agency.pk,
        )
    lease = _match_lease(agency.pk, data.bill_ref)
    payment = Payment.objects.for_agency(agency.pk).create(
        lease=lease,
        method=Payment.Method.MPESA_PAYBILL,
        status=Payment.Status.COMPLETED,
        amount=data.amount,
        paid_at=data.trans_time or timezone.now(),
        receipt=data.trans_id,
        payer_name=data.payer_name,
        account_reference=data.bill_ref[:40],
        result_code=0,
        result_description="Paid to the paybill",
    )
    changes: dict[str, Any] = {"matched": lease is not None}
    if lease is not None:
        result = payment_allocate(
            agency_id=agency.pk, payment_id=payment.pk, lease_id=lease.pk, amount=payment.amount
        )
        changes.update(allocated=str(result.allocated), credit=str(result.credit_added))
    audit_record(
        actor=None,
        agency_id=agency.pk,
        action="payment.received",
        object_type="payment",
        object_id=payment.pk,
        summary=f"Paybill {data.trans_id} {data.amount} ref {data.bill_ref!r}"
        + ("" if lease else " (unmatched)"),
        changes=changes,
    )
    return _Applied(
        CbStatus.PROCESSED,
        "matched" if lease else "unmatched",
        ACK_CONFIRMATION,
        payment_id=payment.pk,
        agency_id=agency.pk,
    )


# --- callbacks: retrying what failed on our side ----------------------------------------------
def mpesa_callback_retry(*, callback_id: int) -> str:
    """Process a stored callback again (the ``mpesa_process_callback`` actor). Returns
    processed | duplicate | failed (try again later) | gave_up | skipped."""
    callback = (
        MpesaCallback.objects.across_agencies(_CALLBACKS_ANY_AGENCY).filter(pk=callback_id).first()
    )
    if callback is None or callback.status not in (CbStatus.RECEIVED, CbStatus.FAILED):
        return "skipped"
    if callback.attempts >= settings.KEJA_MPESA_CALLBACK_MAX_ATTEMPTS:
        metrics.CALLBACK_RETRIES.labels("gave_up").inc()
        log.error("mpesa_callback_gave_up", callback_id=callback_id, error=callback.error)
        return "gave_up"
    try:
        parsed = _parse(callback.kind, callback.raw.encode())
        applied = _apply_with_retries(callback.pk, parsed)
    except Exception as exc:
        _mark_failed(callback.pk, exc)
        metrics.CALLBACK_RETRIES.labels("failed").inc()
        return "failed"
    _count(callback.kind, applied)
    metrics.CALLBACK_RETRIES.labels(applied.status).inc()
    return applied.status


def mpesa_callbacks_due_for_retry(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    """Failed callbacks, and callbacks stuck in "received" (a process died while handling
    them), that still have attempts left: for the periodic sweep."""
    now = now or timezone.now()
    return list(
        MpesaCallback.objects.across_agencies("the retry sweep covers every agency")
        .filter(
            status__in=(CbStatus.RECEIVED, CbStatus.FAILED),
            received_at__lt=now - timedelta(minutes=2),
            attempts__lt=settings.KEJA_MPESA_CALLBACK_MAX_ATTEMPTS,
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
