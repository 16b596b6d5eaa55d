"""The agency console in a real browser (issue 5): signing in, the dashboard's figures against the
database, search as you type, creating a lease (and the overlap rule's message on its field),
recording a payment in place, a viewer refused, and switching agencies."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import DecimalField, ExpressionWrapper, F, Sum
from playwright.sync_api import Page, expect

from keja.agencies.models import Membership
from keja.billing.models import Invoice
from keja.kernel.clock import today_nairobi
from keja.kernel.money import ZERO, format_kes
from keja.leases.models import Lease
from keja.leases.services import OVERLAP_MESSAGE
from keja.payments.models import Payment
from keja.properties.models import Property, Unit
from keja.reports.selectors import dashboard_figures, month_bounds_utc
from tests.browser.conftest import (
    PASSWORD,
    mark_page,
    seed_books,
    shot,
    sign_in,
    still_same_page,
)
from tests.factories import make_agency, make_member, make_tenant, make_user, owner_actor

pytestmark = pytest.mark.django_db(transaction=True)
OPEN = ("open", "partially_paid", "overdue")


def figure(page: Page, name: str) -> str:
    return page.locator(f'[data-value="{name}"]').first.inner_text().strip()


def orm_truth(agency_id: int) -> dict[str, Decimal | int]:
    """The dashboard's numbers straight from the tables, without the reports selector."""
    today = today_nairobi()
    start, end = month_bounds_utc(today)
    invoices = Invoice.objects.filter(agency_id=agency_id)
    owed = ExpressionWrapper(F("total") - F("amount_paid"), output_field=DecimalField())
    past_due = invoices.filter(status__in=OPEN, due_date__lt=today)
    return {
        "units": Unit.objects.filter(agency_id=agency_id).count(),
        "occupied": Unit.objects.filter(agency_id=agency_id, status="occupied").count(),
        "billed": invoices.filter(period=today.replace(day=1))
        .exclude(status="void")
        .aggregate(s=Sum("total"))["s"]
        or ZERO,
        "collected": Payment.objects.filter(
            agency_id=agency_id, status="completed", paid_at__gte=start, paid_at__lt=end
        ).aggregate(s=Sum("amount"))["s"]
        or ZERO,
        "arrears": past_due.aggregate(s=Sum(owed))["s"] or ZERO,
        "overdue": past_due.count(),
        "over_90": past_due.filter(due_date__lte=today - timedelta(days=91)).aggregate(s=Sum(owed))[
            "s"
        ]
        or ZERO,
        "unmatched": Payment.objects.filter(
            agency_id=agency_id, lease__isnull=True, status="completed"
        ).count(),
    }


def assert_dashboard_matches(page: Page, agency_id: int) -> None:
    figures = dashboard_figures(actor=agency_id)
    truth = orm_truth(agency_id)
    assert figures.billed_this_month == truth["billed"]
    assert figures.collected_this_month == truth["collected"]
    assert figures.arrears_total == truth["arrears"]
    assert figures.arrears_90_plus == truth["over_90"]
    assert figures.overdue_invoices == truth["overdue"]
    assert figures.unmatched_payments == truth["unmatched"]
    assert (figures.units_total, figures.units_occupied) == (truth["units"], truth["occupied"])
    assert figure(page, "units_total") == str(truth["units"])
    assert figure(page, "units_occupied") == str(truth["occupied"])
    assert figure(page, "occupancy_rate") == f"{figures.occupancy_rate}%"
    assert figure(page, "billed_this_month") == format_kes(truth["billed"])
    assert figure(page, "collected_this_month") == format_kes(truth["collected"])
    assert figure(page, "collection_rate") == f"{figures.collection_rate}%"
    assert figure(page, "arrears_total") == format_kes(truth["arrears"])
    assert figure(page, "overdue_invoices") == str(truth["overdue"])
    assert figure(page, "unmatched_payments") == str(truth["unmatched"])
    buckets = page.locator("[data-bucket] td")
    expect(buckets).to_have_text(
        [
            format_kes(figures.arrears_0_30),
            format_kes(figures.arrears_31_60),
            format_kes(figures.arrears_61_90),
            format_kes(figures.arrears_90_plus),
        ]
    )
    assert page.locator("#nav-unmatched").inner_text() == str(truth["unmatched"])


def test_sign_in_and_the_dashboard_matches_the_database(live_server, page: Page) -> None:
    books = seed_books()
    page.goto(f"{live_server.url}/leases/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/leases/"))
    expect(page).to_have_title(re.compile("Sign in"))
    page.get_by_label("Email or username").fill(books.owner_user.username)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Leases")).to_be_visible()

    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert_dashboard_matches(page, books.agency.pk)
    assert Decimal(figure(page, "arrears_total").removeprefix("KES ").replace(",", "")) > 0
    shot(page, "dashboard")

    # each figure opens the list behind it
    page.locator('[data-figure="overdue"]').click()
    expect(page).to_have_url(re.compile(r"/invoices/\?aging=overdue"))
    overdue = orm_truth(books.agency.pk)["overdue"]
    expect(page.locator("#results tbody tr")).to_have_count(overdue)
    expect(page.get_by_label("Past due")).to_have_value("overdue")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_search_as_you_type_narrows_the_list(live_server, page: Page) -> None:
    books = seed_books()
    for name in ("Mwangi Kariuki", "Faith Mwende", "Otieno Ouma"):
        make_tenant(books.owner, full_name=name)
    sign_in(page, live_server.url, books.owner_user.username)
    page.goto(f"{live_server.url}/tenants/")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(7)
    mark_page(page)

    page.get_by_label("Search tenants").press_sequentially("mwa", delay=40)
    expect(rows).to_have_count(2)  # Brian Mwangi and Mwangi Kariuki
    expect(rows.first).to_contain_text("Mwangi")
    expect(page).to_have_url(re.compile(r"/tenants/\?q=mwa"))
    page.get_by_label("Search tenants").press_sequentially("ngi k", delay=40)
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Mwangi Kariuki")
    assert still_same_page(page), "the list was swapped in place, not reloaded"

    page.get_by_label("Sort").select_option("name")
    expect(page).to_have_url(re.compile(r"sort=name"))
    page.reload()  # the URL holds the state
    expect(page.get_by_label("Search tenants")).to_have_value("mwangi k")
    expect(rows).to_have_count(1)
    shot(page, "tenants-search")

    page.go_back()  # back to the search before the sort: the page renders that state
    expect(page).to_have_url(re.compile(r"/tenants/\?q=mwangi(\+|%20)k&status=&sort=newest$"))
    expect(page.get_by_label("Sort")).to_have_value("newest")
    expect(rows).to_have_count(1)


def test_creating_a_lease_and_the_overlap_error(live_server, page: Page) -> None:
    books = seed_books()
    newcomer = make_tenant(books.owner, full_name="Esther Wambui")
    sign_in(page, live_server.url, books.owner_user.username)
    page.goto(f"{live_server.url}/leases/")
    page.get_by_role("link", name="New lease").click()
    expect(page.get_by_role("heading", name="New lease")).to_be_visible()

    occupied = books.leases[0].unit
    page.get_by_label("Unit").select_option(str(occupied.pk))
    page.get_by_label("Tenant").select_option(str(newcomer.pk))
    page.get_by_label("Start date").fill(today_nairobi().isoformat())
    mark_page(page)
    page.get_by_role("button", name="Create lease").click()
    error = page.locator("#id_start_date_error")
    expect(error).to_have_text(OVERLAP_MESSAGE)
    start = page.get_by_label("Start date")
    expect(start).to_have_attribute("aria-invalid", "true")
    expect(start).to_have_attribute("aria-describedby", "id_start_date_error")
    expect(start).to_be_focused()
    assert still_same_page(page)
    shot(page, "lease-form-overlap")
    assert not Lease.objects.filter(tenant=newcomer).exists()

    page.get_by_label("Unit").select_option(str(books.vacant.pk))
    page.get_by_label("Deposit (KES)").fill("28000")
    page.get_by_role("button", name="Create lease").click()
    expect(page).to_have_url(re.compile(r"/leases/\d+/$"))
    lease = Lease.objects.get(tenant=newcomer)
    expect(page.get_by_role("heading", name=f"Lease {lease.account_reference}")).to_be_visible()
    expect(page.locator("#flash")).to_contain_text(f"Lease {lease.account_reference} was created")
    assert lease.unit_id == books.vacant.pk
    assert lease.status == "active"


def test_recording_a_payment_updates_the_invoice_and_the_dashboard(live_server, page: Page) -> None:
    books = seed_books()
    lease = books.leases[1]  # 18,000 a month, 9,000 paid: the oldest invoice half paid
    sign_in(page, live_server.url, books.owner_user.username)
    before = dashboard_figures(actor=books.agency.pk)
    assert figure(page, "collected_this_month") == format_kes(before.collected_this_month)

    page.goto(f"{live_server.url}/leases/{lease.pk}/")
    owed = Invoice.objects.filter(lease=lease, status__in=OPEN).aggregate(
        s=Sum(F("total") - F("amount_paid"))
    )["s"]
    expect(page.locator('#lease-balance [data-value="outstanding"]')).to_have_text(format_kes(owed))
    open_rows = page.locator('#lease-invoices [data-status]:not([data-status="paid"])')
    expect(open_rows).not_to_have_count(0)
    mark_page(page)

    form = page.locator("#payment-form")
    form.get_by_label("Amount (KES)").fill(str(owed))
    form.get_by_label("Method").select_option("cash")
    form.get_by_label("Reference").fill("RCPT-2041")
    form.get_by_role("button", name="Record payment").click()

    expect(page.locator("#flash")).to_contain_text(f"Payment of KES {owed:,.2f} recorded.")
    expect(page.locator('#lease-balance [data-value="outstanding"]')).to_have_text("KES 0.00")
    expect(open_rows).to_have_count(0)
    expect(page.locator("#lease-payments")).to_contain_text("RCPT-2041")
    expect(page.locator("#lease-statement tbody tr").last.locator("td").last).to_have_text(
        "KES 0.00"
    )
    expect(page.locator("#payment-form").get_by_label("Amount (KES)")).to_have_value("")
    assert still_same_page(page), "the payment updated the page in place"
    shot(page, "lease-detail-after-payment")
    assert not Invoice.objects.filter(lease=lease, status__in=OPEN).exists()

    page.get_by_role("link", name="Dashboard").click()
    after = dashboard_figures(actor=books.agency.pk)
    assert after.collected_this_month == before.collected_this_month + owed
    assert after.arrears_total < before.arrears_total
    assert_dashboard_matches(page, books.agency.pk)

    # the unmatched payment goes to this lease in place; the nav's counter follows
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name=re.compile("^Unmatched")).click()
    mark_page(page)
    expect(page.locator("#nav-unmatched")).to_have_text("1")
    row = page.locator(f'tr[data-payment="{books.unmatched.pk}"]')
    row.get_by_label("Lease account reference").fill(lease.account_reference.lower())
    row.get_by_role("button", name="Assign").click()
    expect(row).to_contain_text(f"assigned to {lease.account_reference}")
    expect(page.locator("#nav-unmatched")).to_have_text("0")
    assert still_same_page(page)
    books.unmatched.refresh_from_db()
    assert books.unmatched.lease_id == lease.pk

    # a mistake shows beside its field, and nothing is recorded
    page.goto(f"{live_server.url}/leases/{lease.pk}/")
    form = page.locator("#payment-form")
    form.get_by_label("Amount (KES)").fill("10")
    form.get_by_label("Reference").fill("rcpt-2041")
    form.get_by_role("button", name="Record payment").click()
    expect(page.locator("#id_reference_error")).to_contain_text("exists already")
    assert Payment.objects.filter(lease=lease).count() == 3  # seeded, recorded, assigned


def test_a_viewer_is_refused_writes(live_server, page: Page) -> None:
    books = seed_books()
    viewer, _ = make_member(books.agency, "viewer", email="viewer@savanna.example")
    sign_in(page, live_server.url, viewer.username)
    expect(page.locator(".role-badge")).to_have_text("Viewer · read-only")
    page.goto(f"{live_server.url}/properties/")
    expect(page.get_by_role("heading", name="Properties")).to_be_visible()
    expect(page.get_by_role("link", name="New property")).to_have_count(0)
    page.goto(f"{live_server.url}/leases/{books.leases[0].pk}/")
    expect(page.get_by_role("heading", name="Record a payment")).to_have_count(0)
    expect(page.get_by_role("button", name="Record payment")).to_have_count(0)

    # a forged request with a valid session and CSRF token is refused by the server
    before = (Property.objects.count(), Payment.objects.count())
    statuses = page.evaluate(
        """async ([lease]) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const post = (url, data, htmx) => fetch(url, {
                method: 'POST',
                headers: Object.assign({'X-CSRFToken': token}, htmx ? {'HX-Request': 'true'} : {}),
                body: new URLSearchParams(data),
            }).then(r => r.status);
            return [
                await post('/properties/new/', {name: 'Forged', county: 'Nairobi', town: 'Karen',
                                                kind: 'house', status: 'active'}, false),
                await post(`/leases/${lease}/payments/`, {amount: '5000', method: 'cash'}, true),
            ];
        }""",
        [books.leases[0].pk],
    )
    assert statuses == [403, 403]
    assert (Property.objects.count(), Payment.objects.count()) == before

    page.goto(f"{live_server.url}/properties/new/")
    expect(page.get_by_role("heading", name="You can't do that")).to_be_visible()
    shot(page, "viewer-refused")


def test_switching_agencies_and_the_staff_view(live_server, page: Page) -> None:
    books = seed_books()
    coast = make_agency("Coast Lettings")
    Membership.objects.create(agency=coast, user=books.owner_user, role="manager")
    make_tenant(owner_actor(coast), full_name="Zawadi Mohamed")
    sign_in(page, live_server.url, books.owner_user.username)
    switcher = page.get_by_label("Current agency")
    expect(switcher.locator("option:checked")).to_have_text("Savanna Homes")
    expect(page.locator(".role-badge")).to_have_text("Owner")

    switcher.select_option(label="Coast Lettings")
    page.get_by_role("button", name="Switch").click()
    expect(page.locator("#flash")).to_contain_text("Switched agency")
    expect(page.locator(".role-badge")).to_have_text("Manager")
    expect(page.get_by_label("Current agency").locator("option:checked")).to_have_text(
        "Coast Lettings"
    )
    page.goto(f"{live_server.url}/tenants/")
    expect(page.locator("#results")).to_contain_text("Zawadi Mohamed")
    expect(page.locator("#results")).not_to_contain_text("Achieng Otieno")
    page.goto(f"{live_server.url}/leases/{books.leases[0].pk}/")
    expect(page.get_by_role("heading", name="Page not found")).to_have_count(0)
    assert page.locator("h1").first.inner_text() != f"Lease {books.leases[0].account_reference}"

    # platform staff pick any agency and see it read-only
    page.get_by_role("button", name="Sign out").click()
    staff = make_user("staff@keja.example", is_staff=True)
    sign_in(page, live_server.url, staff.username)
    switcher = page.get_by_label("Current agency")
    switcher.select_option(label="Savanna Homes (staff view)")
    page.get_by_role("button", name="Switch").click()
    expect(page.locator(".role-badge")).to_have_text("Staff view · read-only")
    page.goto(f"{live_server.url}/tenants/")
    expect(page.locator("#results")).to_contain_text("Achieng Otieno")
    expect(page.get_by_role("link", name="New tenant")).to_have_count(0)
