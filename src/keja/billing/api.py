"""Invoices (D5): list and detail, each with the allocations that paid it (D6)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from keja.billing.models import Invoice
from keja.billing.schemas import InvoiceOut, InvoicePage, InvoiceQuery
from keja.billing.selectors import invoice_get, invoice_list
from keja.kernel.errors import NotFound
from keja.platform.api import (
    DETAIL_ERRORS,
    READ_ERRORS,
    paginate,
    problem_responses,
    request_actor,
)
from keja.platform.api.types import PathId

router = Router(tags=["invoices"])


@router.get(
    "/invoices",
    response={200: InvoicePage, **problem_responses(READ_ERRORS)},
    summary="List invoices",
)
def invoice_list_view(request: HttpRequest, query: Query[InvoiceQuery]) -> dict[str, Any]:
    """Invoices by status, lease, billing month, due-date range or a text search; order by id,
    due date or period."""
    qs = invoice_list(
        actor=request_actor(request),
        status=query.status,
        lease_id=query.lease_id,
        period=query.period,
        due_from=query.due_from,
        due_to=query.due_to,
        q=query.q,
    )
    return paginate(request, qs, order=query.order, cursor=query.cursor, limit=query.limit)


@router.get(
    "/invoices/{int:invoice_id}",
    response={200: InvoiceOut, **problem_responses(DETAIL_ERRORS)},
    summary="Get an invoice with its allocations",
)
def invoice_detail(request: HttpRequest, invoice_id: PathId) -> Invoice:
    """One invoice with its allocations (reversed ones included, with `reversed_at`)."""
    invoice = invoice_get(actor=request_actor(request), invoice_id=invoice_id)
    if invoice is None:
        raise NotFound("Invoice not found.")
    return invoice
