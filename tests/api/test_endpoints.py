"""Each endpoint end to end through the real services: detail query counts, create/update flows,
lease transitions, money movements, money and time formats."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from keja.agencies.models import Agency
from keja.billing.models import Invoice
from keja.billing.services import invoice_issue
from keja.leases.models import Lease
from keja.payments.models import Payment
from keja.payments.services import payment_record
from keja.platform.scoping import Actor
from keja.properties.models import Property, Unit
from tests.api import seed
from tests.api.client import ApiClient
from tests.api.querycount import assert_num_queries
from tests.factories import make_lease, make_property, make_tenant, make_unit

pytestmark = pytest.mark.django_db
MONEY = r"^-?\d+\.\d{2}$"


# --- agency, members, keys ---------------------------------------------------------------------


def test_current_agency(agency: Agency, api: ApiClient) -> None:
    with assert_num_queries(2):
        response = api.get("/agency")
    body = response.json()
    assert body["id"] == agency.pk
    assert body["slug"] == agency.slug
    assert body["late_fee_value"] == "0.00"
    assert body["created_at"].endswith("Z")


def test_members_show_people_and_roles(
    agency: Agency, owner: tuple[User, Actor], api: ApiClient
) -> None:
    items = api.get("/agency/members").json()["items"]
    assert [(m["username"], m["role"]) for m in items] == [(owner[0].username, "owner")]


def test_session_creates_a_key_that_then_works_and_can_be_revoked(
    agency: Agency, session_api: ApiClient
) -> None:
    token = _csrf(session_api)
    created = session_api.post(
        "/agency/api-keys",
        {"name": "Accounting sync", "scope": "read"},
        headers={"X-CSRFToken": token},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["key"].startswith(f"kj_{body['prefix']}_")
    assert body["scope"] == "read"
    assert body["is_active"] is True
    key_api = ApiClient(token=body["key"])
    assert key_api.get("/agency").json()["id"] == agency.pk
    listed = key_api.get("/agency/api-keys").json()["items"]
    assert body["id"] in {k["id"] for k in listed}
    assert all("key" not in k and "key_hash" not in k for k in listed)

    revoked = session_api.post(
        f"/agency/api-keys/{body['id']}/revoke", headers={"X-CSRFToken": token}
    )
    assert revoked.status_code == 200
    assert revoked.json()["is_active"] is False
    assert key_api.get("/agency").status_code == 401


def test_an_api_key_cannot_create_keys(api: ApiClient) -> None:
    response = api.post("/agency/api-keys", {"name": "sneaky", "scope": "read-write"})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_revoking_another_agencys_key_answers_404(api: ApiClient, other_agency: Agency) -> None:
    other = seed.api_keys(other_agency, 1)[0]
    assert api.post(f"/agency/api-keys/{other.pk}/revoke").status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def _csrf(session_api: ApiClient) -> str:
    """A CSRF cookie and the matching masked token, as the console's page would hold them."""
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

    secret = _get_new_csrf_string()
    session_api.client.cookies["csrftoken"] = secret
    return _mask_cipher_secret(secret)


# --- properties and units ----------------------------------------------------------------------


def test_property_create_detail_update(actor: Actor, api: ApiClient) -> None:
    created = api.post(
        "/properties",
        {
            "name": "Baraka Heights",
            "county": "Nairobi",
            "town": "Kilimani",
            "latitude": "-1.292066",
            "longitude": 36.821945,
        },
    )
    assert created.status_code == 201, created.content
    prop = created.json()
    assert prop["latitude"] == "-1.292066"
    assert prop["unit_count"] == 0
    make_unit(actor, prop=Property.objects.get(pk=prop["id"]))
    with assert_num_queries(2):
        detail = api.get(f"/properties/{prop['id']}").json()
    assert detail["unit_count"] == 1
    assert detail["occupied_count"] == 0
    updated = api.patch(f"/properties/{prop['id']}", {"status": "inactive", "latitude": None})
    assert updated.status_code == 200
    assert updated.json()["status"] == "inactive"
    assert updated.json()["latitude"] is None
    assert updated.json()["name"] == "Baraka Heights"  # not sent, kept
    duplicate = api.post("/properties", {"name": "Baraka Heights", "county": "N", "town": "T"})
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"] == [
        {"field": "name", "message": "A property named 'Baraka Heights' exists already."}
    ]


def test_patch_refuses_explicit_null_for_required_fields(actor: Actor, api: ApiClient) -> None:
    prop = make_property(actor)
    response = api.patch(f"/properties/{prop.pk}", {"name": None})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"


def test_unit_create_detail_update(actor: Actor, api: ApiClient) -> None:
    prop = make_property(actor)
    created = api.post(
        "/units", {"property_id": prop.pk, "label": "A1", "monthly_rent": 15000, "bedrooms": 2}
    )
    assert created.status_code == 201, created.content
    unit = created.json()
    assert unit["monthly_rent"] == "15000.00"
    assert unit["property_name"] == prop.name
    with assert_num_queries(2):
        assert api.get(f"/units/{unit['id']}").json()["label"] == "A1"
    updated = api.patch(f"/units/{unit['id']}", {"monthly_rent": "17500.5"}).json()
    assert updated["monthly_rent"] == "17500.50"
    assert updated["bedrooms"] == 2
    clash = api.post("/units", {"property_id": prop.pk, "label": "A1", "monthly_rent": 1})
    assert clash.status_code == 409


@pytest.mark.parametrize(
    "rent", [0, "0.5", "10000000.01", "12.345", "1e3", "NaN", "Infinity", 1e300, -5, True]
)
def test_money_inputs_are_bounded(actor: Actor, api: ApiClient, rent: object) -> None:
    prop = make_property(actor)
    response = api.post("/units", {"property_id": prop.pk, "label": "B", "monthly_rent": rent})
    assert response.status_code == 422, (rent, response.content)
    assert Unit.objects.for_agency(actor).count() == 0


# --- tenants -----------------------------------------------------------------------------------


def test_tenant_create_detail_update(api: ApiClient) -> None:
    created = api.post(
        "/tenants", {"full_name": "  Achieng   Otieno ", "phone": "0712 345 678", "email": "A@X.CO"}
    )
    assert created.status_code == 201, created.content
    tenant = created.json()
    assert tenant["full_name"] == "Achieng Otieno"
    assert tenant["phone"] == "254712345678"
    assert tenant["email"] == "a@x.co"
    with assert_num_queries(2):
        assert api.get(f"/tenants/{tenant['id']}").status_code == 200
    assert api.patch(f"/tenants/{tenant['id']}", {"status": "inactive"}).json()["status"] == (
        "inactive"
    )
    again = api.post("/tenants", {"full_name": "Other", "phone": "+254712345678"})
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "phone"
    bad = api.post("/tenants", {"full_name": "Other", "phone": "020 123 4567"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "phone"


# --- leases ------------------------------------------------------------------------------------


def test_lease_create_and_transitions(actor: Actor, api: ApiClient) -> None:
    unit = make_unit(actor, rent="20000.00")
    tenant = make_tenant(actor)
    created = api.post(
        "/leases",
        {
            "unit_id": unit.pk,
            "tenant_id": tenant.pk,
            "start_date": "2026-02-01",
            "deposit": "40000",
            "account_reference": "bh-a1",
            "activate": False,
        },
    )
    assert created.status_code == 201, created.content
    lease = created.json()
    assert lease["status"] == "draft"
    assert lease["monthly_rent"] == "20000.00"
    assert lease["account_reference"] == "BHA1"
    assert lease["deposit"] == "40000.00"
    assert lease["tenant_name"] == tenant.full_name
    assert lease["property_id"] == unit.property_id
    with assert_num_queries(2):
        assert api.get(f"/leases/{lease['id']}").status_code == 200

    active = api.post(f"/leases/{lease['id']}/activate")
    assert active.status_code == 200
    assert active.json()["status"] == "active"
    assert Unit.objects.get(pk=unit.pk).status == "occupied"
    overlapping = api.post(
        "/leases",
        {"unit_id": unit.pk, "tenant_id": make_tenant(actor).pk, "start_date": "2026-03-01"},
    )
    assert overlapping.status_code == 409
    assert overlapping.json()["code"] == "lease_overlap"

    ended = api.post(f"/leases/{lease['id']}/end", {"end_date": "2026-06-30"})
    assert ended.json()["status"] == "ended"
    assert ended.json()["end_date"] == "2026-06-30"
    again = api.post(f"/leases/{lease['id']}/terminate", {})
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_lease_transition"


def test_lease_terminate_with_end_date(actor: Actor, api: ApiClient) -> None:
    lease = make_lease(actor, start=date(2026, 1, 1))
    response = api.post(f"/leases/{lease.pk}/terminate", {"end_date": "2026-04-15"})
    assert response.status_code == 200
    assert response.json()["status"] == "terminated"
    assert response.json()["end_date"] == "2026-04-15"


def test_lease_end_needs_a_date(actor: Actor, api: ApiClient) -> None:
    lease = make_lease(actor)
    response = api.post(f"/leases/{lease.pk}/end", {})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "end_date"


# --- invoices and payments ---------------------------------------------------------------------


def _invoiced_lease(actor: Actor) -> tuple[Lease, Invoice]:
    lease = make_lease(actor, start=date(2026, 1, 1), rent="15000.00")
    invoice = invoice_issue(
        agency_id=actor.agency_id,
        lease_id=lease.pk,
        period=date(2026, 1, 1),
        today=date(2026, 1, 1),
    )
    assert invoice is not None
    return lease, invoice


def test_recording_a_payment_allocates_it_and_the_invoice_shows_it(
    actor: Actor, api: ApiClient
) -> None:
    lease, invoice = _invoiced_lease(actor)
    recorded = api.post(
        "/payments",
        {
            "lease_id": lease.pk,
            "amount": "10000.00",
            "method": "bank",
            "paid_at": "2026-01-03T12:00:00+03:00",
            "reference": "ft123",
        },
    )
    assert recorded.status_code == 201, recorded.content
    payment = recorded.json()
    assert payment["status"] == "completed"
    assert payment["amount"] == "10000.00"
    assert payment["paid_at"] == "2026-01-03T09:00:00Z"  # stored and shown in UTC
    assert payment["receipt"] == "FT123"
    assert payment["lease_reference"] == lease.account_reference
    with assert_num_queries(3):  # key, invoice (+lease, tenant), its allocations
        detail = api.get(f"/invoices/{invoice.pk}").json()
    assert detail["status"] in {"partially_paid", "overdue"}  # overdue once its due date passed
    assert detail["amount_paid"] == "10000.00"
    assert detail["balance"] == "5000.00"
    assert [(a["payment_id"], a["amount"]) for a in detail["allocations"]] == [
        (payment["id"], "10000.00")
    ]
    with assert_num_queries(2):
        assert api.get(f"/payments/{payment['id']}").json()["id"] == payment["id"]

    reversed_ = api.post(f"/payments/{payment['id']}/reverse", {"reason": "Bounced cheque"})
    assert reversed_.status_code == 200, reversed_.content
    assert reversed_.json()["status"] == "reversed"
    assert reversed_.json()["reversed_at"].endswith("Z")
    after = api.get(f"/invoices/{invoice.pk}").json()
    assert after["amount_paid"] == "0.00"
    assert after["allocations"][0]["reversed_at"] is not None
    twice = api.post(f"/payments/{payment['id']}/reverse", {"reason": "again"})
    assert twice.status_code == 409
    assert twice.json()["code"] == "not_completed"


def test_only_cash_or_bank_can_be_recorded(actor: Actor, api: ApiClient) -> None:
    lease = make_lease(actor)
    response = api.post("/payments", {"lease_id": lease.pk, "amount": 100, "method": "mpesa_stk"})
    assert response.status_code == 422


def test_future_payment_time_is_refused(actor: Actor, api: ApiClient) -> None:
    lease = make_lease(actor)
    response = api.post(
        "/payments",
        {"lease_id": lease.pk, "amount": 100, "method": "cash", "paid_at": "2099-01-01T00:00:00Z"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "paid_at"


def test_assigning_an_unmatched_payment(actor: Actor, agency: Agency, api: ApiClient) -> None:
    lease, invoice = _invoiced_lease(actor)
    money = seed.payments(agency, 1, unmatched=True)[0]
    assert [p["id"] for p in api.get("/payments/unmatched").json()["items"]] == [money.pk]
    assigned = api.post(f"/payments/unmatched/{money.pk}/assign", {"lease_id": lease.pk})
    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["lease_id"] == lease.pk
    assert api.get("/payments/unmatched").json()["items"] == []
    invoice.refresh_from_db()
    assert invoice.amount_paid == money.amount
    again = api.post(f"/payments/unmatched/{money.pk}/assign", {"lease_id": lease.pk})
    assert again.status_code == 409


def test_viewer_key_scope_and_roles(actor: Actor, api_read: ApiClient) -> None:
    lease = make_lease(actor)
    assert api_read.get(f"/leases/{lease.pk}").status_code == 200
    response = api_read.post("/payments", {"lease_id": lease.pk, "amount": 100, "method": "cash"})
    assert response.status_code == 403
    assert response.json()["code"] == "read_only_key"
    assert Payment.objects.for_agency(actor).count() == 0


# --- audit and reports -------------------------------------------------------------------------


def test_audit_entries_record_api_writes_with_the_key(actor: Actor, api: ApiClient) -> None:
    created = api.post("/tenants", {"full_name": "Audit Me", "phone": "0711000222"}).json()
    entries = api.get("/audit-entries", object_type="tenant", object_id=str(created["id"]))
    (entry,) = entries.json()["items"]
    assert entry["action"] == "tenant.created"
    assert entry["actor_label"].startswith("api key ")
    assert entry["request_id"]


def test_dashboard(actor: Actor, api: ApiClient) -> None:
    lease, _invoice = _invoiced_lease(actor)
    payment_record(actor=actor, lease_id=lease.pk, amount=Decimal("5000"), method="cash")
    with assert_num_queries(2):  # the key + one statement for every figure, whatever the size
        response = api.get("/reports/dashboard", as_of="2026-01-20")
    body = response.json()
    assert body["units_total"] == 1
    assert body["units_occupied"] == 1
    assert body["occupancy_rate"] == "100.0"
    assert body["billed_this_month"] == "15000.00"
    assert body["paid_on_this_month_invoices"] == "5000.00"
    assert body["latest_payments"][0]["amount"] == "5000.00"
    assert body["as_of"] == "2026-01-20"


def test_ping_is_untouched() -> None:
    response = ApiClient().get("/ping")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
