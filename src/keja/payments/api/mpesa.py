"""M-Pesa endpoints: ``POST /api/v1/payments/stk-push`` asks the tenant's phone for a rent
payment (a PIN prompt). The answer is 202: the prompt was sent, the payment is pending; the
M-Pesa callback (or the reconciliation) completes it. ``Idempotency-Key`` is honoured, so a
retried request never sends a second prompt.

Paths here must not collide with ``payments.py``: its ids are matched as integers
(``/payments/{int:payment_id}``), so ``/payments/stk-push`` is free."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from keja.kernel.errors import NotFound
from keja.payments.schemas import PaymentOut
from keja.payments.selectors import payment_get
from keja.payments.services.mpesa import stk_push_initiate
from keja.platform.api import WRITE_ERRORS, problem_responses, request_actor
from keja.platform.api.types import Id, SafeStr
from keja.platform.idempotency import idempotent

router = Router(tags=["payments"])


class StkPushIn(Schema):
    lease_id: Id
    amount: int = Field(
        ge=1,
        le=10_000_000,
        description="Whole shillings (M-Pesa takes no cents).",
        examples=[15000],
    )
    phone: SafeStr = Field(
        min_length=9,
        max_length=32,
        description="The payer's Safaricom number: 07XX…, 01XX…, +2547… or 2547….",
        examples=["0712345678"],
    )


class StkPushOut(PaymentOut):
    checkout_request_id: str | None = Field(
        description="Daraja's CheckoutRequestID; null if M-Pesa did not confirm the prompt in "
        "time (the payment then stays pending until it answers or the push expires)."
    )
    merchant_request_id: str


@router.post(
    "/payments/stk-push",
    response={202: StkPushOut, **problem_responses((*WRITE_ERRORS, 502, 503))},
    summary="Request a rent payment by M-Pesa (STK push)",
)
@idempotent()
def stk_push(request: HttpRequest, payload: StkPushIn) -> Status:
    """Send an M-Pesa PIN prompt to the payer's phone for rent of a lease (accountants and
    above). 202 with the pending payment: it completes (and is allocated to the lease's open
    invoices, oldest first) when M-Pesa reports the payment, or ends failed, cancelled or
    expired. 503 ``mpesa_unavailable`` / ``mpesa_circuit_open`` / ``mpesa_throttled``: try
    again later; 502 ``mpesa_rejected``: M-Pesa refused the request. Send an Idempotency-Key."""
    actor = request_actor(request)
    payment = stk_push_initiate(
        actor=actor, lease_id=payload.lease_id, amount=payload.amount, phone=payload.phone
    )
    found = payment_get(actor=actor, payment_id=payment.pk)
    if found is None:  # pragma: no cover (just created in this agency)
        raise NotFound("Payment not found.")
    return Status(202, found)
