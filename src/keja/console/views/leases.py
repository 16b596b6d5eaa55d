"""Leases: list, the lease page (invoices, allocations, credit, statement), creating a lease,
changing its status, and recording a cash or bank payment in place (HTMX, with out-of-band
updates of the balance, the invoices and the statement)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from keja.console.forms import LeaseForm, LeaseStatusForm, PaymentRecordForm
from keja.console.selectors import (
    lease_allocations,
    lease_balance,
    lease_invoices,
    lease_payments,
    lease_statement,
)
from keja.console.views.base import (
    actor_of,
    attempt,
    console_view,
    form_page,
    get_or_404,
    navigate,
    page,
    wants_partial,
)
from keja.console.views.listing import Filter, ListSpec, Sort, list_response
from keja.leases import services
from keja.leases.models import Lease
from keja.leases.selectors import lease_get, lease_list
from keja.payments.services import payment_record
from keja.platform.scoping import Actor

LEASES = ListSpec(
    title="Leases",
    url_name="console:leases",
    page_template="leases/pages/list.html",
    table_template="leases/partials/table.html",
    sorts=(
        Sort("newest", "Newest first", "-id"),
        Sort("start", "Latest start date", "-start_date"),
        Sort("rent", "Highest rent", "-monthly_rent"),
    ),
    filters=(Filter("status", "Status", tuple(Lease.Status.choices)),),
    search_label="Search leases",
    search_hint="Account reference, tenant, unit or property",
)


@console_view()
def lease_list_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    return list_response(request, LEASES, lambda q, f: lease_list(actor=actor, q=q or None, **f))


def _money(actor: Actor, lease: Lease) -> dict[str, Any]:
    """The lease's money regions (each can be swapped on its own)."""
    return {
        "lease": lease,
        "balance": lease_balance(actor=actor, lease=lease),
        "invoices": lease_invoices(actor=actor, lease_id=lease.pk),
        "payments": lease_payments(actor=actor, lease_id=lease.pk),
        "allocations": lease_allocations(actor=actor, lease_id=lease.pk),
        "statement": lease_statement(actor=actor, lease_id=lease.pk),
    }


def _detail(
    request: HttpRequest,
    lease: Lease,
    *,
    payment_form: PaymentRecordForm | None = None,
    status_form: LeaseStatusForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _money(actor_of(request), lease)
    context["payment_form"] = payment_form or PaymentRecordForm()
    context["status_form"] = status_form or LeaseStatusForm(lease=lease)
    return page(request, "leases/pages/detail.html", context, status=status)


@console_view()
def lease_detail(request: HttpRequest, lease_id: int) -> HttpResponse:
    lease = get_or_404(lease_get(actor=actor_of(request), lease_id=lease_id))
    return _detail(request, lease)


@console_view(form_role="manager")
def lease_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    initial = {k: request.GET[k] for k in ("unit", "tenant") if request.GET.get(k, "").isdigit()}
    form = LeaseForm(request.POST or None, actor=actor, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        unit_id, tenant_id = data.pop("unit"), data.pop("tenant")
        lease = attempt(
            form,
            lambda: services.lease_create(
                actor=actor,
                unit_id=unit_id,
                tenant_id=tenant_id,
                start_date=data["start_date"],
                end_date=data["end_date"],
                monthly_rent=data["monthly_rent"],
                deposit=data["deposit"],
                billing_day=data["billing_day"],
                account_reference=data["account_reference"],
                activate=data["activate"],
            ),
        )
        if lease is not None:
            url = reverse("console:lease", args=[lease.pk])
            return navigate(request, url, f"Lease {lease.account_reference} was created.")
    return form_page(
        request,
        form,
        title="New lease",
        submit="Create lease",
        cancel=reverse("console:leases"),
        intro="Two active leases can never share a day on one unit.",
    )


@console_view()
@require_POST
def lease_status(request: HttpRequest, lease_id: int) -> HttpResponse:
    actor = actor_of(request)
    lease = get_or_404(lease_get(actor=actor, lease_id=lease_id))
    form = LeaseStatusForm(request.POST, lease=lease)
    if form.is_valid():
        action, end = form.cleaned_data["action"], form.cleaned_data["end_date"]
        calls = {
            "end": lambda: services.lease_end(actor=actor, lease_id=lease.pk, end_date=end),
            "terminate": lambda: services.lease_terminate(
                actor=actor, lease_id=lease.pk, end_date=end
            ),
            "activate": lambda: services.lease_activate(actor=actor, lease_id=lease.pk),
        }
        done = attempt(form, calls[action])
        if done is not None:
            url = reverse("console:lease", args=[lease.pk])
            return navigate(request, url, f"Lease {done.account_reference} is {done.status}.")
    if wants_partial(request):
        return page(
            request,
            "leases/partials/status_form.html",
            {"lease": lease, "status_form": form},
            status=422,
        )
    return _detail(request, lease, status_form=form, status=422)


@console_view()
@require_POST
def lease_payment(request: HttpRequest, lease_id: int) -> HttpResponse:
    """Record a cash or bank payment. HTMX: the form is replaced by a fresh one and the
    balance, invoices, payments, allocations and statement are swapped out of band."""
    actor = actor_of(request)
    lease = get_or_404(lease_get(actor=actor, lease_id=lease_id))
    form = PaymentRecordForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        payment = attempt(
            form,
            lambda: payment_record(
                actor=actor,
                lease_id=lease.pk,
                amount=data["amount"],
                method=data["method"],
                paid_at=form.paid_at(),
                reference=data["reference"],
                note=data["note"],
            ),
        )
        if payment is not None:
            message = f"Payment of KES {payment.amount:,.2f} recorded."
            if not wants_partial(request):
                return navigate(request, reverse("console:lease", args=[lease.pk]), message)
            fresh = get_or_404(lease_get(actor=actor, lease_id=lease.pk))
            context = _money(actor, fresh)
            context.update(payment_form=PaymentRecordForm(), flash=message, level="success")
            return page(request, "leases/partials/payment_recorded.html", context)
    if wants_partial(request):
        return page(
            request,
            "leases/partials/payment_form.html",
            {"lease": lease, "payment_form": form},
            status=422,
        )
    return _detail(request, lease, payment_form=form, status=422)
