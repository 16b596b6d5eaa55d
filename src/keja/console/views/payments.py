"""Payments: the list, the unmatched queue (assign to a lease in place), the payment page and
reversing a payment (with a reason)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from keja.console.forms import PaymentAssignForm, PaymentReverseForm
from keja.console.selectors import payment_allocations
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
from keja.leases.selectors import lease_by_reference
from keja.leases.services import normalize_reference
from keja.payments.models import Payment
from keja.payments.selectors import payment_get, payment_list
from keja.payments.services import payment_assign, payment_reverse
from keja.reports.selectors import month_bounds_utc

PAYMENTS = ListSpec(
    title="Payments",
    url_name="console:payments",
    page_template="payments/pages/list.html",
    table_template="payments/partials/table.html",
    sorts=(
        Sort("newest", "Newest first", "-id"),
        Sort("amount", "Largest amount", "-amount"),
    ),
    filters=(
        Filter("status", "Status", tuple(Payment.Status.choices)),
        Filter("method", "Method", tuple(Payment.Method.choices)),
        Filter("month", "Paid in", kind="month"),
    ),
    search_label="Search payments",
    search_hint="Receipt, account reference, payer or tenant",
)
UNMATCHED = ListSpec(
    title="Unmatched payments",
    url_name="console:payments_unmatched",
    page_template="payments/pages/unmatched.html",
    table_template="payments/partials/unmatched_table.html",
    sorts=(Sort("newest", "Newest first", "-id"), Sort("amount", "Largest amount", "-amount")),
    search_label="Search unmatched payments",
    search_hint="Receipt, account reference as typed, or payer",
)


@console_view()
def payment_list_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)

    def rows(q: str, f: dict[str, Any]) -> Any:
        month = f.pop("month", None)
        paid_from, paid_to = month_bounds_utc(month) if month else (None, None)
        return payment_list(actor=actor, q=q or None, paid_from=paid_from, paid_to=paid_to, **f)

    return list_response(request, PAYMENTS, rows)


@console_view()
def unmatched_list_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    return list_response(
        request,
        UNMATCHED,
        lambda q, f: payment_list(actor=actor, q=q or None, unmatched=True),
    )


@console_view()
def payment_detail(request: HttpRequest, payment_id: int) -> HttpResponse:
    return _detail(request, payment_id)


def _detail(
    request: HttpRequest,
    payment_id: int,
    *,
    reverse_form: PaymentReverseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = actor_of(request)
    payment = get_or_404(payment_get(actor=actor, payment_id=payment_id))
    context = {
        "payment": payment,
        "allocations": payment_allocations(actor=actor, payment_id=payment.pk),
        "reverse_form": reverse_form or PaymentReverseForm(),
    }
    return page(request, "payments/pages/detail.html", context, status=status)


@console_view()
@require_POST
def payment_reverse_view(request: HttpRequest, payment_id: int) -> HttpResponse:
    actor = actor_of(request)
    payment = get_or_404(payment_get(actor=actor, payment_id=payment_id))
    form = PaymentReverseForm(request.POST)
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        done = attempt(
            form, lambda: payment_reverse(actor=actor, payment_id=payment.pk, reason=reason)
        )
        if done is not None:
            message = f"Payment {done.receipt or f'PAY-{done.pk}'} was reversed."
            if not wants_partial(request):
                return navigate(request, reverse("console:payment", args=[done.pk]), message)
            fresh = get_or_404(payment_get(actor=actor, payment_id=done.pk))
            context = {
                "payment": fresh,
                "allocations": payment_allocations(actor=actor, payment_id=done.pk),
                "reverse_form": PaymentReverseForm(),
                "flash": message,
                "level": "success",
            }
            return page(request, "payments/partials/reversed.html", context)
    if wants_partial(request):
        context = {"payment": payment, "reverse_form": form}
        return page(request, "payments/partials/actions.html", context, status=422)
    return _detail(request, payment.pk, reverse_form=form, status=422)


@console_view()
@require_POST
def payment_assign_view(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Assign an unmatched payment to the lease with the account reference typed."""
    actor = actor_of(request)
    payment = get_or_404(payment_get(actor=actor, payment_id=payment_id))
    form = PaymentAssignForm(request.POST, prefix=f"p{payment.pk}")
    if form.is_valid():
        reference = normalize_reference(form.cleaned_data["lease_reference"])
        lease = lease_by_reference(actor=actor, reference=reference)
        if lease is None:
            form.add_error("lease_reference", "No lease of this agency has that account reference.")
        else:
            done = attempt(
                form, lambda: payment_assign(actor=actor, payment_id=payment.pk, lease_id=lease.pk)
            )
            if done is not None:
                message = f"Payment {done.receipt or f'PAY-{done.pk}'} assigned to {lease.account_reference}."
                if not wants_partial(request):
                    return navigate(request, reverse("console:payments_unmatched"), message)
                context = {"payment": done, "lease": lease, "flash": message, "level": "success"}
                return page(request, "payments/partials/assigned.html", context)
    if wants_partial(request):
        context = {"payment": payment, "form": form}
        return page(request, "payments/partials/assign_form.html", context, status=422)
    return form_page(
        request,
        form,
        title=f"Assign payment {payment.receipt or f'PAY-{payment.pk}'}",
        submit="Assign",
        cancel=reverse("console:payments_unmatched"),
    )
