"""The agency console (issue 5) through Django's test client: access and roles, agency
switching, page-or-partial rendering, forms showing the services' errors beside the field, and
the in-place HTMX updates (D1–D7)."""

from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core import mail
from django.test import Client

from keja.agencies.models import Membership
from keja.billing.models import Invoice
from keja.kernel.clock import today_nairobi
from keja.leases.models import Lease
from keja.leases.services import OVERLAP_MESSAGE
from keja.payments.models import Payment
from keja.payments.services import payment_record
from keja.properties.models import Property
from keja.tenants.models import Tenant
from tests.factories import (
    make_agency,
    make_billed_lease,
    make_member,
    make_tenant,
    make_unit,
    make_unmatched_payment,
    make_user,
)

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def books() -> SimpleNamespace:
    agency = make_agency("Savanna Homes")
    owner_user, owner = make_member(agency, "owner")
    lease = make_billed_lease(owner, months=2, rent="20000.00")
    payment = payment_record(
        actor=owner, lease_id=lease.pk, amount=Decimal("25000.00"), method="cash"
    )
    unmatched = make_unmatched_payment(owner, "1500.00")
    return SimpleNamespace(
        agency=agency,
        owner_user=owner_user,
        owner=owner,
        lease=lease,
        unit=lease.unit,
        tenant=lease.tenant,
        property=lease.unit.property,
        payment=payment,
        unmatched=unmatched,
        invoice=Invoice.objects.filter(lease=lease).order_by("period").first(),
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_urls(b: SimpleNamespace) -> list[str]:
    return [
        "/",
        "/properties/",
        f"/properties/{b.property.pk}/",
        "/properties/new/",
        f"/properties/{b.property.pk}/edit/",
        f"/properties/{b.property.pk}/units/new/",
        "/units/",
        f"/units/{b.unit.pk}/edit/",
        "/tenants/",
        f"/tenants/{b.tenant.pk}/",
        "/tenants/new/",
        f"/tenants/{b.tenant.pk}/edit/",
        "/leases/",
        "/leases/new/",
        f"/leases/{b.lease.pk}/",
        "/invoices/",
        f"/invoices/{b.invoice.pk}/",
        "/payments/",
        "/payments/unmatched/",
        f"/payments/{b.payment.pk}/",
        f"/payments/{b.unmatched.pk}/",
        "/audit/",
    ]


def test_every_page_renders_for_an_owner(books) -> None:
    client = signed_in(books.owner_user)
    for url in page_urls(books):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "<html" in html, url
        assert "Savanna Homes" in html, url


def test_sign_in_is_required(books) -> None:
    client = Client()
    response = client.get("/leases/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/leases/")
    htmx = client.get("/leases/", **HX)
    assert htmx["HX-Redirect"] == "/accounts/login/"
    login = client.get("/accounts/login/")
    assert "Sign in" in login.content.decode()


def test_login_and_logout(books) -> None:
    client = Client()
    books.owner_user.set_password("pw-123456")
    books.owner_user.save()
    response = client.post(
        "/accounts/login/", {"username": books.owner_user.username, "password": "pw-123456"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    wrong = Client().post(
        "/accounts/login/", {"username": books.owner_user.username, "password": "nope"}
    )
    assert wrong.status_code == 200
    assert 'role="alert"' in wrong.content.decode()
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_password_reset_by_email(books) -> None:
    client = Client()
    response = client.post("/accounts/password-reset/", {"email": books.owner_user.email})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [books.owner_user.email]
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", message.body)
    assert link, message.body
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-Long-new-pass-42", "new_password2": "a-Long-new-pass-42"},
    )
    assert done.status_code == 302
    assert Client().login(username=books.owner_user.username, password="a-Long-new-pass-42")
    # unknown addresses get the same answer and no email
    Client().post("/accounts/password-reset/", {"email": "nobody@keja.example"})
    assert len(mail.outbox) == 1


def test_another_agencys_objects_are_not_found(books) -> None:
    other = make_agency("Other Realty")
    user, _ = make_member(other, "owner")
    client = signed_in(user)
    for url in page_urls(books)[1:]:
        if url.endswith(("/new/", "/properties/", "/units/", "/tenants/", "/leases/")):
            continue
        if url in ("/invoices/", "/payments/", "/payments/unmatched/", "/audit/"):
            continue
        assert client.get(url).status_code == 404, url
    # lists only show the current agency's rows
    assert books.tenant.full_name not in client.get("/tenants/").content.decode()
    # and writes cannot reach the other agency's objects
    response = client.post(
        f"/leases/{books.lease.pk}/payments/", {"amount": "100", "method": "cash"}
    )
    assert response.status_code == 404


def test_htmx_gets_the_partial_and_reload_gets_the_page(books) -> None:
    client = signed_in(books.owner_user)
    full = client.get("/tenants/", {"q": books.tenant.full_name})
    partial = client.get("/tenants/", {"q": books.tenant.full_name}, **HX)
    assert "<html" in full.content.decode()
    body = partial.content.decode()
    assert "<html" not in body
    assert 'data-list="tenants"' in body
    assert books.tenant.full_name in body
    assert "HX-Request" in partial["Vary"]
    restore = client.get(
        "/tenants/", {"q": "x"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in restore.content.decode()


def test_search_filters_sort_and_keyset_pages(books) -> None:
    for i in range(30):
        make_tenant(books.owner, full_name=f"Otieno {i:02d}")
    client = signed_in(books.owner_user)
    first = client.get("/tenants/", {"q": "otieno", "sort": "name"}, **HX).content.decode()
    assert first.count("Otieno ") == 25
    assert "Otieno 00" in first
    assert "Otieno 25" not in first
    next_link = re.search(r'rel="next" href="([^"]+)"', first)
    assert next_link
    href = next_link.group(1).replace("&amp;", "&")
    assert "q=otieno" in href
    assert "sort=name" in href
    assert "cursor=" in href
    second = client.get(f"/tenants/{href}", **HX).content.decode()
    assert "Otieno 25" in second
    assert "Otieno 29" in second
    assert "Otieno 00" not in second
    assert "First page" in second
    assert 'rel="next"' not in second
    inactive = client.get("/tenants/", {"status": "inactive"}, **HX).content.decode()
    assert "No tenants match" in inactive
    stale = client.get("/tenants/", {"cursor": "garbage"}).content.decode()
    assert "showing the first page" in stale


def test_dashboard_figures_link_to_their_lists(books) -> None:
    client = signed_in(books.owner_user)
    html = client.get("/").content.decode()
    month = today_nairobi().strftime("%Y-%m")
    assert f'href="/invoices/?period={month}"' in html
    assert f'href="/payments/?status=completed&amp;month={month}"' in html
    assert 'href="/invoices/?aging=overdue&amp;sort=due"' in html
    assert 'href="/payments/unmatched/"' in html
    overdue = client.get("/invoices/", {"aging": "overdue"}, **HX).content.decode()
    past_due = Invoice.objects.filter(
        lease=books.lease,
        status__in=["open", "partially_paid", "overdue"],
        due_date__lt=today_nairobi(),
    )
    assert overdue.count("data-invoice=") == past_due.count()
    collected = client.get("/payments/", {"status": "completed", "month": month}, **HX)
    assert collected.content.decode().count("data-payment=") == 2


def test_viewer_sees_no_write_actions_and_writes_are_refused(books) -> None:
    viewer_user, _ = make_member(books.agency, "viewer")
    client = signed_in(viewer_user)
    lease_page = client.get(f"/leases/{books.lease.pk}/").content.decode()
    assert "Record payment" not in lease_page
    assert "New property" not in client.get("/properties/").content.decode()
    assert "Reverse payment" not in client.get(f"/payments/{books.payment.pk}/").content.decode()
    assert "Assign" not in client.get("/payments/unmatched/").content.decode()
    assert client.get("/properties/new/").status_code == 403
    before = (Property.objects.count(), Tenant.objects.count(), Lease.objects.count())
    payments = Payment.objects.count()
    posts = [
        (
            "/properties/new/",
            {
                "name": "X",
                "county": "Nairobi",
                "town": "Karen",
                "kind": "house",
                "status": "active",
            },
        ),
        (
            f"/properties/{books.property.pk}/edit/",
            {"name": "Y", "county": "N", "town": "T", "kind": "house", "status": "active"},
        ),
        (
            f"/properties/{books.property.pk}/units/new/",
            {"label": "Z1", "bedrooms": 1, "monthly_rent": "100", "status": "vacant"},
        ),
        (
            f"/units/{books.unit.pk}/edit/",
            {"label": "Z2", "bedrooms": 1, "monthly_rent": "100", "status": "vacant"},
        ),
        ("/tenants/new/", {"full_name": "Forged", "phone": "0799000111", "status": "active"}),
        (
            f"/tenants/{books.tenant.pk}/edit/",
            {"full_name": "Forged", "phone": "0799000111", "status": "active"},
        ),
        (
            "/leases/new/",
            {
                "unit": books.unit.pk,
                "tenant": books.tenant.pk,
                "start_date": "2030-01-01",
                "deposit": "0",
                "billing_day": 1,
            },
        ),
        (f"/leases/{books.lease.pk}/status/", {"action": "terminate"}),
        (f"/leases/{books.lease.pk}/payments/", {"amount": "100", "method": "cash"}),
        (f"/payments/{books.payment.pk}/reverse/", {"reason": "forged"}),
        (
            f"/payments/{books.unmatched.pk}/assign/",
            {f"p{books.unmatched.pk}-lease_reference": books.lease.account_reference},
        ),
    ]
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert "You can't do that" in response.content.decode()
        htmx = client.post(url, data, **HX)
        assert htmx.status_code == 403, url
        assert htmx["HX-Retarget"] == "#flash"
    assert (Property.objects.count(), Tenant.objects.count(), Lease.objects.count()) == before
    assert Payment.objects.count() == payments
    books.payment.refresh_from_db()
    books.unmatched.refresh_from_db()
    assert books.payment.status == "completed"
    assert books.unmatched.lease_id is None


def test_accountant_records_payments_but_cannot_edit_properties(books) -> None:
    user, _ = make_member(books.agency, "accountant")
    client = signed_in(user)
    assert "Record payment" in client.get(f"/leases/{books.lease.pk}/").content.decode()
    assert "Edit property" not in client.get(f"/properties/{books.property.pk}/").content.decode()
    response = client.post(
        f"/leases/{books.lease.pk}/payments/", {"amount": "500", "method": "bank"}, **HX
    )
    assert response.status_code == 200
    assert client.get(f"/properties/{books.property.pk}/edit/").status_code == 403


def test_agency_switching(books) -> None:
    second = make_agency("Coast Lettings")
    Membership.objects.create(agency=second, user=books.owner_user, role="viewer")
    client = signed_in(books.owner_user)
    home = client.get("/").content.decode()
    assert 'name="agency_id"' in home
    assert "Coast Lettings" in home
    response = client.post("/agency/switch/", {"agency_id": second.pk})
    assert response.status_code == 302
    assert client.session["agency_id"] == second.pk
    tenants = client.get("/tenants/").content.decode()
    assert books.tenant.full_name not in tenants
    assert "New tenant" not in tenants  # a viewer there
    assert client.get(f"/leases/{books.lease.pk}/").status_code == 404
    stranger = make_agency("Not Mine")
    assert client.post("/agency/switch/", {"agency_id": stranger.pk}).status_code == 404
    assert client.session["agency_id"] == second.pk
    # a membership removed later: the console falls back to an agency the person still has
    Membership.objects.filter(agency=second, user=books.owner_user).delete()
    assert books.tenant.full_name in client.get("/tenants/").content.decode()


def test_platform_staff_see_any_agency_read_only(books) -> None:
    staff = make_user(is_staff=True)
    client = signed_in(staff)
    home = client.get("/")
    assert home.status_code == 200
    client.post("/agency/switch/", {"agency_id": books.agency.pk})
    lease_page = client.get(f"/leases/{books.lease.pk}/").content.decode()
    assert "Staff view" in lease_page
    assert "Record payment" not in lease_page
    response = client.post(
        f"/leases/{books.lease.pk}/payments/", {"amount": "100", "method": "cash"}
    )
    assert response.status_code == 403
    assert client.get("/tenants/new/").status_code == 403


def test_person_without_agency_is_told_so() -> None:
    client = signed_in(make_user())
    response = client.get("/")
    assert response.status_code == 403
    assert "No agency yet" in response.content.decode()


def test_lease_overlap_is_shown_on_the_start_date(books) -> None:
    client = signed_in(books.owner_user)
    other_tenant = make_tenant(books.owner)
    data = {
        "unit": books.unit.pk,
        "tenant": other_tenant.pk,
        "start_date": today_nairobi().isoformat(),
        "deposit": "0",
        "billing_day": "1",
        "activate": "on",
    }
    response = client.post("/leases/new/", data, **HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "<html" not in html
    error = re.search(r'<p class="field-error" id="id_start_date_error">([^<]+)</p>', html)
    assert error
    assert error.group(1).strip() == OVERLAP_MESSAGE
    assert re.search(r'<input[^>]+name="start_date"[^>]+aria-invalid="true"', html)
    vacant = make_unit(books.owner, books.property)
    ok = client.post("/leases/new/", {**data, "unit": vacant.pk}, **HX)
    assert ok.status_code == 200
    lease = Lease.objects.get(unit=vacant)
    assert ok["HX-Redirect"] == f"/leases/{lease.pk}/"


def test_form_errors_beside_fields(books) -> None:
    client = signed_in(books.owner_user)
    response = client.post(
        "/tenants/new/", {"full_name": "Akinyi", "phone": "12345", "status": "active"}, **HX
    )
    assert response.status_code == 422
    assert re.search(r'id="id_phone_error">Enter a Kenyan mobile number', response.content.decode())
    duplicate = client.post(
        "/properties/new/",
        {
            "name": books.property.name,
            "county": "Nairobi",
            "town": "Kilimani",
            "kind": "apartment",
            "status": "active",
        },
    )
    assert duplicate.status_code == 422
    assert "exists already" in duplicate.content.decode()
    created = client.post(
        "/properties/new/",
        {
            "name": "Riverside Court",
            "county": "Nairobi",
            "town": "Kilimani",
            "kind": "apartment",
            "status": "active",
        },
    )
    prop = Property.objects.get(name="Riverside Court")
    assert created.status_code == 302
    assert created["Location"] == f"/properties/{prop.pk}/"
    unit = client.post(
        f"/properties/{prop.pk}/units/new/",
        {"label": "A1", "bedrooms": "2", "monthly_rent": "18000", "status": "vacant"},
    )
    assert unit.status_code == 302
    edit = client.post(
        f"/properties/{prop.pk}/edit/",
        {
            "name": "Riverside Court II",
            "county": "Nairobi",
            "town": "Kilimani",
            "kind": "apartment",
            "status": "active",
        },
        follow=True,
    )
    assert "Riverside Court II was saved." in edit.content.decode()


def test_recording_a_payment_updates_the_lease_regions(books) -> None:
    client = signed_in(books.owner_user)
    books.lease.refresh_from_db()
    open_invoice = (
        Invoice.objects.filter(lease=books.lease).exclude(status="paid").order_by("period").first()
    )
    owed = open_invoice.total - open_invoice.amount_paid
    response = client.post(
        f"/leases/{books.lease.pk}/payments/",
        {"amount": str(owed), "method": "bank", "reference": "BANK-0001"},
        **HX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    for region in ("lease-invoices", "lease-payments", "lease-allocations", "lease-statement"):
        assert f'id="{region}"' in html
        assert 'hx-swap-oob="true"' in html
    assert 'id="lease-balance"' in html
    assert 'id="nav-unmatched" hx-swap-oob="innerHTML"' in html
    assert "Payment of KES" in html
    open_invoice.refresh_from_db()
    assert open_invoice.status == "paid"
    assert re.search(rf'data-invoice="{open_invoice.pk}".*?data-status="paid"', html, re.S)
    bad = client.post(
        f"/leases/{books.lease.pk}/payments/", {"amount": "0", "method": "cash"}, **HX
    )
    assert bad.status_code == 422
    assert 'id="id_amount_error"' in bad.content.decode()
    duplicate = client.post(
        f"/leases/{books.lease.pk}/payments/",
        {"amount": "10", "method": "bank", "reference": "bank-0001"},
        **HX,
    )
    assert duplicate.status_code == 422
    assert (
        'id="id_reference_error">A payment with this reference exists already'
        in duplicate.content.decode()
    )


def test_assigning_an_unmatched_payment(books) -> None:
    client = signed_in(books.owner_user)
    url = f"/payments/{books.unmatched.pk}/assign/"
    field = f"p{books.unmatched.pk}-lease_reference"
    wrong = client.post(url, {field: "NOPE"}, **HX)
    assert wrong.status_code == 422
    assert "No lease of this agency has that account reference." in wrong.content.decode()
    typed = books.lease.account_reference.lower()
    done = client.post(url, {field: typed}, **HX)
    assert done.status_code == 200
    html = done.content.decode()
    assert "assigned" in html
    assert books.lease.account_reference in html
    assert re.search(r'id="nav-unmatched" hx-swap-oob="innerHTML">0<', html)
    books.unmatched.refresh_from_db()
    assert books.unmatched.lease_id == books.lease.pk


def test_reversing_a_payment_needs_a_reason(books) -> None:
    client = signed_in(books.owner_user)
    url = f"/payments/{books.payment.pk}/reverse/"
    missing = client.post(url, {"reason": ""}, **HX)
    assert missing.status_code == 422
    assert 'id="id_reason_error"' in missing.content.decode()
    done = client.post(url, {"reason": "cheque bounced"}, **HX)
    assert done.status_code == 200
    html = done.content.decode()
    assert 'id="payment-summary" hx-swap-oob="true"' in html
    assert 'data-status="reversed"' in html
    books.payment.refresh_from_db()
    assert books.payment.status == "reversed"
    again = client.post(url, {"reason": "twice"}, **HX)
    assert again.status_code == 422
    assert "Only completed payments can be reversed" in again.content.decode()


def test_lease_status_change(books) -> None:
    client = signed_in(books.owner_user)
    missing = client.post(f"/leases/{books.lease.pk}/status/", {"action": "end"}, **HX)
    assert missing.status_code == 422
    assert 'id="id_end_date_error"' in missing.content.decode()
    ended = client.post(
        f"/leases/{books.lease.pk}/status/",
        {"action": "end", "end_date": today_nairobi().isoformat()},
    )
    assert ended.status_code == 302
    books.lease.refresh_from_db()
    assert books.lease.status == "ended"
