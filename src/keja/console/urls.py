"""The agency console at the site root (issue 5). Names are ``console:<name>``."""

from __future__ import annotations

from django.urls import path

from keja.console.views import (
    audit,
    auth,
    billing,
    dashboard,
    leases,
    payments,
    properties,
    staff,
    tenants,
)

app_name = "console"
urlpatterns = [
    path("", dashboard.home, name="home"),
    # sign-in and access
    path("accounts/login/", auth.login, name="login"),
    path("accounts/logout/", auth.logout, name="logout"),
    path("accounts/password-reset/", auth.password_reset, name="password_reset"),
    path("accounts/password-reset/sent/", auth.password_reset_done, name="password_reset_done"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("accounts/reset/done/", auth.password_reset_complete, name="password_reset_complete"),
    path("agency/switch/", auth.switch_agency, name="switch_agency"),
    # properties and units
    path("properties/", properties.property_list_view, name="properties"),
    path("properties/new/", properties.property_create, name="property_create"),
    path("properties/<int:property_id>/", properties.property_detail, name="property"),
    path("properties/<int:property_id>/edit/", properties.property_edit, name="property_edit"),
    path("properties/<int:property_id>/units/new/", properties.unit_create, name="unit_create"),
    path("units/", properties.unit_list_view, name="units"),
    path("units/<int:unit_id>/edit/", properties.unit_edit, name="unit_edit"),
    # tenants
    path("tenants/", tenants.tenant_list_view, name="tenants"),
    path("tenants/new/", tenants.tenant_create, name="tenant_create"),
    path("tenants/<int:tenant_id>/", tenants.tenant_detail, name="tenant"),
    path("tenants/<int:tenant_id>/edit/", tenants.tenant_edit, name="tenant_edit"),
    # leases
    path("leases/", leases.lease_list_view, name="leases"),
    path("leases/new/", leases.lease_create, name="lease_create"),
    path("leases/<int:lease_id>/", leases.lease_detail, name="lease"),
    path("leases/<int:lease_id>/status/", leases.lease_status, name="lease_status"),
    path("leases/<int:lease_id>/payments/", leases.lease_payment, name="lease_payment"),
    # invoices
    path("invoices/", billing.invoice_list_view, name="invoices"),
    path("invoices/<int:invoice_id>/", billing.invoice_page, name="invoice"),
    # payments
    path("payments/", payments.payment_list_view, name="payments"),
    path("payments/unmatched/", payments.unmatched_list_view, name="payments_unmatched"),
    path("payments/<int:payment_id>/", payments.payment_detail, name="payment"),
    path(
        "payments/<int:payment_id>/reverse/",
        payments.payment_reverse_view,
        name="payment_reverse",
    ),
    path("payments/<int:payment_id>/assign/", payments.payment_assign_view, name="payment_assign"),
    # audit trail
    path("audit/", audit.audit_list_view, name="audit"),
    # platform staff only
    path("staff/cache/", staff.cache_page, name="staff_cache"),
]
