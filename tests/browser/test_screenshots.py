"""Screenshots of the main pages on a desktop and a phone (saved to test-artifacts/screenshots/,
a curated set is copied to docs/console/), with layout checks: every page has one h1 and a main
landmark, and nothing forces the phone layout to scroll sideways (wide tables scroll inside
their own box)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import seed_books, shot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def pages(books) -> dict[str, str]:
    lease = books.leases[0]
    return {
        "dashboard": "/",
        "properties": "/properties/",
        "property-detail": f"/properties/{books.properties[0].pk}/",
        "units": "/units/",
        "tenants": "/tenants/",
        "tenant-detail": f"/tenants/{lease.tenant_id}/",
        "leases": "/leases/",
        "lease-detail": f"/leases/{lease.pk}/",
        "lease-form": "/leases/new/",
        "property-form": "/properties/new/",
        "invoices": "/invoices/?aging=overdue&sort=due",
        "invoice-detail": f"/invoices/{lease.invoices.order_by('period').first().pk}/",
        "payments": "/payments/",
        "payment-detail": f"/payments/{lease.payments.first().pk}/",
        "unmatched": "/payments/unmatched/",
        "audit": "/audit/",
    }


def check_layout(page: Page) -> None:
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("main#main")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                         && !e.closest('.table-wrap, .nav'))
            .slice(0, 5).map(e => e.tagName + '.' + e.className)"""
    )
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen: {wide}"


def test_screenshots_desktop_and_phone(live_server, page: Page, phone: Page) -> None:
    books = seed_books()
    sign_in(page, live_server.url, books.owner_user.username)
    for name, url in pages(books).items():
        page.goto(f"{live_server.url}{url}")
        check_layout(page)
        shot(page, name)

    sign_in(phone, live_server.url, books.owner_user.username)
    for name in ("dashboard", "tenants", "lease-detail", "lease-form", "unmatched"):
        phone.goto(f"{live_server.url}{pages(books)[name]}")
        check_layout(phone)
        shot(phone, f"{name}-phone")
