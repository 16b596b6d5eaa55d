"""M-Pesa collection (P5.0, P5.2, D6): initiating STK pushes, reconciling pushes nobody
answered, and registering the paybill (C2B) URLs. Callbacks are in ``mpesa_callbacks``.

For the console and the API: ``stk_push_initiate(actor=…, lease_id=…, amount=…, phone=…)``
returns the pending ``Payment`` (``checkout_request_id`` set once Daraja accepted the prompt) or
raises a ``DomainError`` (``MpesaUnavailable`` 503, ``MpesaRejected`` 502, validation 422,
not found 404, permission 403, a draft lease 409). It must not run inside a transaction.
"""

from __future__ import annotations

from collections import Counter as Tally
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from keja.agencies.models import Agency
from keja.audit.services import audit_record
from keja.kernel.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from keja.kernel.phone import mask_phone, normalize_phone
from keja.leases.models import Lease
from keja.payments import metrics
from keja.payments.adapters import errors as daraja_errors
from keja.payments.adapters import get_gateway
from keja.payments.adapters.gateway import (
    C2BRegistration,
    MpesaGateway,
    StkPushRequest,
    StkQueryResult,
)
from keja.payments.models import Payment
from keja.payments.services import _bump
from keja.payments.services.mpesa_callbacks import (
    describe_result,
    failure_status,
    stk_payment_complete,
)
from keja.platform.db.retry import retry_on_conflict
from keja.platform.scoping import Actor

log = structlog.get_logger(__name__)

UNCERTAIN_MESSAGE = (
    "M-Pesa did not confirm the prompt in time; it may still reach the phone. The payment stays "
    "pending until M-Pesa answers or it expires: check it before sending another prompt."
)


class MpesaUnavailable(DomainError):
    status = 503
    code = "mpesa_unavailable"
    title = "M-Pesa unavailable"

    def __init__(self, detail: str, *, code: str | None = None, retry_after: float | None = None):
        super().__init__(detail, code=code)
        self.retry_after = retry_after


class MpesaRejected(DomainError):
    status = 502
    code = "mpesa_rejected"
    title = "M-Pesa refused the request"


# --- initiating an STK push -------------------------------------------------------------------
def clean_stk_amount(value: int | str | Decimal) -> int:
    """Whole shillings, 1 … KEJA_MPESA_MAX_AMOUNT (M-Pesa takes no cents)."""
    if isinstance(value, bool):
        raise ValidationFailed("Enter the amount in whole shillings.", field="amount")
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError as exc:
        raise ValidationFailed("Enter the amount in whole shillings.", field="amount") from exc
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise ValidationFailed(
            "M-Pesa takes whole shillings only (no cents).", field="amount", code="whole_shillings"
        )
    maximum = settings.KEJA_MPESA_MAX_AMOUNT
    if not 1 <= amount <= maximum:
        raise ValidationFailed(f"The amount must be between 1 and {maximum:,} KES.", field="amount")
    return int(amount)


def callback_url(name: str) -> str:
    """Public URL of one of our callback endpoints (the secret is part of the path)."""
    secret = settings.KEJA_MPESA_CALLBACK_SECRET
    if not secret:
        raise MpesaUnavailable(
            "M-Pesa callbacks are not configured (KEJA_MPESA_CALLBACK_SECRET).",
            code="mpesa_not_configured",
        )
    base = settings.KEJA_MPESA_CALLBACK_BASE_URL.rstrip("/")
    return base + reverse(name, kwargs={"secret": secret})


def _domain_error(exc: daraja_errors.DarajaError) -> DomainError:
    if isinstance(exc, daraja_errors.DarajaCircuitOpen):
        return MpesaUnavailable(
            "M-Pesa is unavailable right now; try again in a minute.",
            code="mpesa_circuit_open",
            retry_after=exc.retry_after,
        )
    if isinstance(exc, daraja_errors.DarajaThrottled):
        return MpesaUnavailable(
            "M-Pesa is busy; try again in a minute.", code="mpesa_throttled", retry_after=60
        )
    if isinstance(exc, daraja_errors.DarajaUnavailable):
        return MpesaUnavailable("M-Pesa is unavailable right now; try again shortly.")
    if isinstance(exc, daraja_errors.DarajaNotConfigured):
        return MpesaUnavailable(
            "M-Pesa is not configured for this installation.", code="mpesa_not_configured"
        )
    if isinstance(exc, daraja_errors.DarajaAuthError):
        return MpesaRejected(
            "M-Pesa refused our credentials; an administrator must check the Daraja keys.",
            code="mpesa_auth",
        )
    if isinstance(exc, daraja_errors.DarajaRejected):
        if exc.code == daraja_errors.MERCHANT_OR_PROCESSING:
            return MpesaRejected(
                "M-Pesa does not recognise our paybill (shortcode or passkey).",
                code="mpesa_merchant",
            )
        return MpesaRejected(f"M-Pesa refused the request: {exc.message}")
    return MpesaUnavailable("M-Pesa answered something we could not read; try again shortly.")


@transaction.atomic
def _push_record_intent(actor: Actor, lease: Lease, amount: int, phone: str) -> Payment:
    payment = Payment.objects.for_agency(actor).create(
        lease=lease,
        method=Payment.Method.MPESA_STK,
        status=Payment.Status.PENDING,
        amount=Decimal(amount),
        phone=phone,
        account_reference=lease.account_reference,
    )
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action="payment.stk_requested",
        object_type="payment",
        object_id=payment.pk,
        summary=f"STK push {amount} KES to {mask_phone(phone)} for {lease.account_reference}",
    )
    return payment


@retry_on_conflict()
@transaction.atomic
def _push_record_answer(
    actor: Actor, payment_id: int, *, fields: dict[str, Any], action: str, summary: str
) -> Payment:
    payment = Payment.objects.for_agency(actor).select_for_update().get(pk=payment_id)
    if payment.status == Payment.Status.PENDING or "checkout_request_id" in fields:
        _bump(payment, **fields)
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action=action,
        object_type="payment",
        object_id=payment.pk,
        summary=summary[:255],
    )
    return payment


def stk_push_initiate(
    *,
    actor: Actor,
    lease_id: int,
    amount: int | str | Decimal,
    phone: str,
    gateway: MpesaGateway | None = None,
) -> Payment:
    """Send an STK push (a PIN prompt on the tenant's phone) for rent of ``lease_id``.

    The pending payment is recorded *before* Daraja is called (so a callback can never find
    nothing, and an interrupted push leaves a trace). Answers:
    - accepted: the payment, pending, with ``checkout_request_id``; the callback settles it;
    - no (readable) answer after the request left: the payment, pending without
      ``checkout_request_id`` (``result_description`` says so); it is never re-sent, and its
      callback adopts it (same phone and amount) or the reconciliation expires it;
    - refused or unavailable: the payment is marked failed and a ``DomainError`` is raised.
    Must not run inside a transaction (Daraja is called between two short ones)."""
    if not actor.can("accountant"):
        raise PermissionDenied(f"Your role ({actor.role}) cannot request M-Pesa payments.")
    value = clean_stk_amount(amount)
    msisdn = normalize_phone(phone)
    lease = Lease.objects.for_agency(actor).filter(pk=lease_id).first()
    if lease is None:
        raise NotFound("Lease not found.", field="lease_id")
    if lease.status == Lease.Status.DRAFT:
        raise Conflict("Activate the lease before collecting rent for it.", code="lease_not_active")
    url = callback_url("mpesa-stk-callback")
    gateway = gateway or get_gateway()
    if not gateway.configured:
        raise MpesaUnavailable(
            "M-Pesa is not configured for this installation.", code="mpesa_not_configured"
        )
    payment = _push_record_intent(actor, lease, value, msisdn)
    try:
        accepted = gateway.stk_push(
            StkPushRequest(
                phone=msisdn,
                amount=value,
                account_reference=lease.account_reference,
                description="Rent",
                callback_url=url,
            )
        )
    except daraja_errors.DarajaError as exc:
        # the prompt may have gone out: no answer in time, or an answer we could not read
        uncertain = (
            isinstance(exc, daraja_errors.DarajaTimeout) and exc.maybe_delivered
        ) or isinstance(exc, daraja_errors.DarajaProtocolError)
        metrics.STK_PUSHES.labels("uncertain" if uncertain else exc.reason).inc()
        log.warning("stk_push_error", payment_id=payment.pk, error=str(exc), uncertain=uncertain)
        if uncertain:
            return _push_record_answer(
                actor,
                payment.pk,
                fields={"result_description": UNCERTAIN_MESSAGE[:255]},
                action="payment.stk_uncertain",
                summary="M-Pesa did not answer in time",
            )
        failure = _domain_error(exc)
        _push_record_answer(
            actor,
            payment.pk,
            fields={
                "status": Payment.Status.FAILED,
                "result_description": f"Not sent: {failure.detail}"[:255],
            },
            action="payment.stk_not_sent",
            summary=str(exc),
        )
        raise failure from exc
    metrics.STK_PUSHES.labels("accepted").inc()
    return _push_record_answer(
        actor,
        payment.pk,
        fields={
            "checkout_request_id": accepted.checkout_request_id,
            "merchant_request_id": accepted.merchant_request_id[:64],
            "result_description": accepted.customer_message[:255],
        },
        action="payment.stk_sent",
        summary=f"CheckoutRequestID {accepted.checkout_request_id}",
    )


# --- reconciliation ----------------------------------------------------------------------------
def stk_pushes_reconcile(
    *, now: datetime | None = None, gateway: MpesaGateway | None = None, limit: int = 200
) -> dict[str, int]:
    """Settle STK pushes still pending ``KEJA_MPESA_RECONCILE_AFTER_MINUTES`` after they were
    sent, by asking Daraja (STK status query). A push still undecided (or unknowable: Daraja
    down, no CheckoutRequestID) ``KEJA_MPESA_EXPIRE_AFTER_MINUTES`` after it was sent is marked
    expired; a late success callback still completes it. Returns counts by result."""
    now = now or timezone.now()
    query_before = now - timedelta(minutes=settings.KEJA_MPESA_RECONCILE_AFTER_MINUTES)
    expire_before = now - timedelta(minutes=settings.KEJA_MPESA_EXPIRE_AFTER_MINUTES)
    candidates = list(
        Payment.objects.across_agencies("the reconciliation covers every agency's pushes")
        .filter(
            method=Payment.Method.MPESA_STK,
            status=Payment.Status.PENDING,
            created_at__lt=query_before,
        )
        .order_by("id")
        .values_list("pk", "checkout_request_id", "created_at")[:limit]
    )
    tally: Tally[str] = Tally()
    if not candidates:
        return {}
    gateway = gateway or get_gateway()
    daraja_down = False
    for payment_id, checkout, created_at in candidates:
        answer: StkQueryResult | None = None
        if checkout and not daraja_down:
            try:
                answer = gateway.stk_query(checkout)
            except (daraja_errors.DarajaUnavailable, daraja_errors.DarajaCircuitOpen) as exc:
                daraja_down = True  # do not hammer a Daraja that is down: next run
                tally["error"] += 1
                log.warning("stk_reconcile_unavailable", error=str(exc))
            except daraja_errors.DarajaError as exc:
                tally["error"] += 1
                log.warning("stk_reconcile_query_failed", payment_id=payment_id, error=str(exc))
        if answer is not None and not answer.pending and answer.result_code is not None:
            code = answer.result_code
            label = str(code) if code in daraja_errors.KNOWN_RESULT_CODES else "other"
            metrics.STK_RESULTS.labels(label, "query").inc()
        result = _reconcile_one(payment_id, answer, expire=created_at < expire_before)
        tally[result] += 1
        metrics.RECONCILE.labels(result).inc()
    if tally["error"]:
        metrics.RECONCILE.labels("error").inc(tally["error"])
    log.info("stk_reconciled", **tally)
    return dict(tally)


@retry_on_conflict()
@transaction.atomic
def _reconcile_one(payment_id: int, answer: StkQueryResult | None, *, expire: bool) -> str:
    payment = (
        Payment.objects.across_agencies("reconciliation: the payment was selected by id")
        .select_for_update()
        .filter(pk=payment_id)
        .first()
    )
    if payment is None or payment.status != Payment.Status.PENDING:
        return "settled_meanwhile"
    if answer is not None and not answer.pending and answer.result_code is not None:
        if answer.result_code == 0:
            stk_payment_complete(
                payment,
                receipt=None,
                amount=payment.amount,
                paid_at=timezone.now(),
                description=answer.result_desc or "Paid (status query)",
                source="status query",
            )
            return "completed"
        status = failure_status(answer.result_code)
        _bump(
            payment,
            status=status,
            result_code=answer.result_code,
            result_description=(answer.result_desc or describe_result(answer.result_code))[:255],
        )
        audit_record(
            actor=None,
            agency_id=payment.agency_id,
            action=f"payment.{status}",
            object_type="payment",
            object_id=payment.pk,
            summary=f"Status query: result {answer.result_code}",
        )
        return str(status)
    if not expire:
        return "pending"
    _bump(
        payment,
        status=Payment.Status.EXPIRED,
        result_description=(
            f"No answer from M-Pesa within {settings.KEJA_MPESA_EXPIRE_AFTER_MINUTES} minutes."
        ),
    )
    audit_record(
        actor=None,
        agency_id=payment.agency_id,
        action="payment.expired",
        object_type="payment",
        object_id=payment.pk,
        summary="STK push expired without an answer",
    )
    return "expired"


# --- C2B URL registration ------------------------------------------------------------------------
def c2b_urls_register(*, actor: Actor, gateway: MpesaGateway | None = None) -> str:
    """Register our validation and confirmation URLs for the agency's paybill shortcode."""
    if not actor.can("manager"):
        raise PermissionDenied(f"Your role ({actor.role}) cannot change M-Pesa settings.")
    agency = Agency.objects.filter(pk=actor.agency_id).first()
    if agency is None or not agency.mpesa_shortcode:
        raise ValidationFailed("Set the agency's M-Pesa paybill number first.", field="shortcode")
    registration = C2BRegistration(
        shortcode=agency.mpesa_shortcode,
        confirmation_url=callback_url("mpesa-c2b-confirmation"),
        validation_url=callback_url("mpesa-c2b-validation"),
    )
    try:
        answer = (gateway or get_gateway()).c2b_register(registration)
    except daraja_errors.DarajaError as exc:
        raise _domain_error(exc) from exc
    audit_record(
        actor=actor,
        agency_id=agency.pk,
        action="mpesa.c2b_registered",
        object_type="agency",
        object_id=agency.pk,
        summary=f"C2B URLs registered for {agency.mpesa_shortcode}: {answer}"[:255],
    )
    return answer
