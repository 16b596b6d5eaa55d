"""Tenants: list, the tenant page (leases, balance, payments) and forms."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from keja.console.forms import TenantForm
from keja.console.selectors import tenant_balance, tenant_payments
from keja.console.views.base import (
    actor_of,
    attempt,
    console_view,
    form_page,
    get_or_404,
    navigate,
    page,
)
from keja.console.views.listing import Filter, ListSpec, Sort, list_response
from keja.leases.selectors import lease_list
from keja.tenants import services
from keja.tenants.models import Tenant
from keja.tenants.selectors import tenant_get, tenant_list

LEASES_ON_PAGE = 50

TENANTS = ListSpec(
    title="Tenants",
    url_name="console:tenants",
    page_template="tenants/pages/list.html",
    table_template="tenants/partials/table.html",
    sorts=(Sort("newest", "Newest first", "-id"), Sort("name", "Name A–Z", "full_name")),
    filters=(Filter("status", "Status", tuple(Tenant.Status.choices)),),
    search_label="Search tenants",
    search_hint="Name, email or phone digits",
)


@console_view()
def tenant_list_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    return list_response(request, TENANTS, lambda q, f: tenant_list(actor=actor, q=q or None, **f))


@console_view()
def tenant_detail(request: HttpRequest, tenant_id: int) -> HttpResponse:
    actor = actor_of(request)
    tenant = get_or_404(tenant_get(actor=actor, tenant_id=tenant_id))
    leases = list(lease_list(actor=actor, tenant_id=tenant.pk).order_by("-id")[:LEASES_ON_PAGE])
    return page(
        request,
        "tenants/pages/detail.html",
        {
            "tenant": tenant,
            "leases": leases,
            "balance": tenant_balance(actor=actor, tenant_id=tenant.pk),
            "payments": tenant_payments(actor=actor, tenant_id=tenant.pk),
        },
    )


@console_view(form_role="manager")
def tenant_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = TenantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        tenant = attempt(form, lambda: services.tenant_create(actor=actor, **data))
        if tenant is not None:
            url = reverse("console:tenant", args=[tenant.pk])
            return navigate(request, url, f"{tenant.full_name} was added.")
    return form_page(
        request, form, title="New tenant", submit="Add tenant", cancel=reverse("console:tenants")
    )


@console_view(form_role="manager")
def tenant_edit(request: HttpRequest, tenant_id: int) -> HttpResponse:
    actor = actor_of(request)
    tenant = get_or_404(tenant_get(actor=actor, tenant_id=tenant_id))
    fields = ("full_name", "phone", "email", "national_id", "status")
    form = TenantForm(request.POST or None, initial={n: getattr(tenant, n) for n in fields})
    back = reverse("console:tenant", args=[tenant.pk])
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = attempt(
            form, lambda: services.tenant_update(actor=actor, tenant_id=tenant.pk, **data)
        )
        if done is not None:
            return navigate(request, back, f"{done.full_name} was saved.")
    return form_page(
        request, form, title=f"Edit {tenant.full_name}", submit="Save tenant", cancel=back
    )
