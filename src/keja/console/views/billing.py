"""Invoices: the list (status, aging and period filters) and the invoice page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from keja.billing.models import Invoice
from keja.console.selectors import invoice_allocations, invoice_detail, invoice_rows
from keja.console.views.base import actor_of, console_view, get_or_404, page
from keja.console.views.listing import Filter, ListSpec, Sort, list_response

INVOICES = ListSpec(
    title="Invoices",
    url_name="console:invoices",
    page_template="billing/pages/invoice_list.html",
    table_template="billing/partials/invoice_table.html",
    sorts=(
        Sort("newest", "Newest first", "-id"),
        Sort("due", "Due date", "due_date"),
        Sort("total", "Largest total", "-total"),
    ),
    filters=(
        Filter("status", "Status", tuple(Invoice.Status.choices)),
        Filter(
            "aging",
            "Past due",
            (
                ("overdue", "All past due"),
                ("0-30", "0–30 days"),
                ("31-60", "31–60 days"),
                ("61-90", "61–90 days"),
                ("90+", "Over 90 days"),
            ),
        ),
        Filter("period", "Month", kind="month"),
    ),
    search_label="Search invoices",
    search_hint="Invoice number, account reference, tenant, unit or property",
)


@console_view()
def invoice_list_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    return list_response(
        request, INVOICES, lambda q, f: invoice_rows(actor=actor, q=q or None, **f)
    )


@console_view()
def invoice_page(request: HttpRequest, invoice_id: int) -> HttpResponse:
    actor = actor_of(request)
    invoice = get_or_404(invoice_detail(actor=actor, invoice_id=invoice_id))
    allocations = invoice_allocations(actor=actor, invoice_id=invoice.pk)
    return page(
        request,
        "billing/pages/invoice_detail.html",
        {"invoice": invoice, "allocations": allocations},
    )
