"""Payments (D6): list and detail, recording cash and bank payments, reversals, and the queue of
unmatched money waiting to be assigned to a lease. Money movements are in the services."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from keja.kernel.errors import NotFound
from keja.payments.models import Payment
from keja.payments.schemas import (
    PaymentAssignIn,
    PaymentIn,
    PaymentOut,
    PaymentPage,
    PaymentQuery,
    PaymentReverseIn,
    UnmatchedQuery,
)
from keja.payments.selectors import payment_get, payment_list
from keja.payments.services import payment_assign, payment_record, payment_reverse
from keja.platform.api import (
    DETAIL_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    paginate,
    problem_responses,
    request_actor,
)
from keja.platform.api.types import PathId
from keja.platform.idempotency import idempotent

router = Router(tags=["payments"])


def _payment(request: HttpRequest, payment_id: int) -> Payment:
    payment = payment_get(actor=request_actor(request), payment_id=payment_id)
    if payment is None:
        raise NotFound("Payment not found.")
    return payment


def _page(request: HttpRequest, qs: Any, query: PaymentQuery | UnmatchedQuery) -> dict[str, Any]:
    if query.order.lstrip("-") == "paid_at":
        qs = qs.exclude(paid_at=None)  # keyset pagination needs a value to seek from
    return paginate(request, qs, order=query.order, cursor=query.cursor, limit=query.limit)


@router.get(
    "/payments",
    response={200: PaymentPage, **problem_responses(READ_ERRORS)},
    summary="List payments",
)
def payment_list_view(request: HttpRequest, query: Query[PaymentQuery]) -> dict[str, Any]:
    """Payments of every channel by status, method, lease, payment-time range or a text search;
    order by id or payment time."""
    qs = payment_list(
        actor=request_actor(request),
        status=query.status,
        method=query.method,
        lease_id=query.lease_id,
        q=query.q,
        paid_from=query.paid_from,
        paid_to=query.paid_to,
    )
    return _page(request, qs, query)


@router.get(
    "/payments/unmatched",
    response={200: PaymentPage, **problem_responses(READ_ERRORS)},
    summary="Unmatched payments",
)
def unmatched_list(request: HttpRequest, query: Query[UnmatchedQuery]) -> dict[str, Any]:
    """Completed payments that matched no lease (an unknown account reference), waiting for a
    person to assign them. Money is never dropped."""
    qs = payment_list(actor=request_actor(request), unmatched=True, q=query.q)
    return _page(request, qs, query)


@router.post(
    "/payments/unmatched/{int:payment_id}/assign",
    response={200: PaymentOut, **problem_responses(WRITE_ERRORS)},
    summary="Assign an unmatched payment to a lease",
)
@idempotent()
def unmatched_assign(request: HttpRequest, payment_id: PathId, payload: PaymentAssignIn) -> Payment:
    """Assign the payment to a lease (accountants and above); it is then allocated to the
    lease's open invoices, oldest first, and any remainder becomes lease credit."""
    payment_assign(actor=request_actor(request), payment_id=payment_id, lease_id=payload.lease_id)
    return _payment(request, payment_id)


@router.get(
    "/payments/{int:payment_id}",
    response={200: PaymentOut, **problem_responses(DETAIL_ERRORS)},
    summary="Get a payment",
)
def payment_detail(request: HttpRequest, payment_id: PathId) -> Payment:
    """One payment."""
    return _payment(request, payment_id)


@router.post(
    "/payments",
    response={201: PaymentOut, **problem_responses(WRITE_ERRORS)},
    summary="Record a cash or bank payment",
)
@idempotent()
def payment_record_view(request: HttpRequest, payload: PaymentIn) -> Status:
    """Record a cash or bank payment (accountants and above): it is completed at once and
    allocated to the lease's open invoices, oldest first; the remainder becomes lease credit.
    Send an Idempotency-Key so a retry never records it twice."""
    payment = payment_record(actor=request_actor(request), **payload.dict())
    return Status(201, _payment(request, payment.pk))


@router.post(
    "/payments/{int:payment_id}/reverse",
    response={200: PaymentOut, **problem_responses(WRITE_ERRORS)},
    summary="Reverse a payment",
)
@idempotent()
def payment_reverse_view(
    request: HttpRequest, payment_id: PathId, payload: PaymentReverseIn
) -> Payment:
    """Reverse a completed payment (managers and owners): its allocations and remaining credit
    are undone exactly. Completed payments are never edited."""
    payment_reverse(actor=request_actor(request), payment_id=payment_id, reason=payload.reason)
    return _payment(request, payment_id)
