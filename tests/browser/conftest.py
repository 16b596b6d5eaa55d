"""Browser tests: pytest + Playwright driving Debian's chromium (never a downloaded browser)
against pytest-django's ``live_server``. Data must be committed for the server thread to see it,
so every test here uses ``django_db(transaction=True)``."""

from __future__ import annotations

import os

# Playwright's sync API runs an event loop in the test thread, which trips Django's async-safety
# check on ORM calls made by the test itself; this is Django's documented escape hatch.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from keja.payments.services import payment_record
from tests.factories import (
    make_agency,
    make_billed_lease,
    make_member,
    make_property,
    make_tenant,
    make_unit,
    make_unmatched_payment,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "pw-123456"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium is missing at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _page(browser: Browser, viewport: dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, locale="en-KE", timezone_id="Africa/Nairobi")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from _page(browser, DESKTOP)


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    yield from _page(browser, PHONE)


def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email or username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def mark_page(page: Page) -> None:
    """Tag the loaded document; ``still_same_page`` then proves no full reload happened."""
    page.evaluate("window.__kejaMarker = 'kept'")


def still_same_page(page: Page) -> bool:
    return bool(page.evaluate("window.__kejaMarker === 'kept'"))


def seed_books(name: str = "Savanna Homes") -> SimpleNamespace:
    """A small agency with a month-by-month history: three leases billed for a few months,
    payments (full, partial, ahead), an unmatched payment, a vacant unit."""
    agency = make_agency(name)
    owner_user, owner = make_member(agency, "owner", email=f"owner@{agency.slug}.example")
    westlands = make_property(owner, name="Westlands Court", town="Westlands")
    kilimani = make_property(owner, name="Kilimani Heights", town="Kilimani")
    tenants = [
        make_tenant(owner, full_name="Achieng Otieno", email="achieng@example.com"),
        make_tenant(owner, full_name="Brian Mwangi"),
        make_tenant(owner, full_name="Chebet Korir"),
        make_tenant(owner, full_name="Daudi Njoroge"),
    ]
    leases = [
        make_billed_lease(
            owner,
            unit=make_unit(owner, westlands, label="A1"),
            tenant=tenants[0],
            months=4,
            rent="25000.00",
        ),
        make_billed_lease(
            owner,
            unit=make_unit(owner, westlands, label="A2"),
            tenant=tenants[1],
            months=2,
            rent="18000.00",
        ),
        make_billed_lease(
            owner,
            unit=make_unit(owner, kilimani, label="B1"),
            tenant=tenants[2],
            months=1,
            rent="32000.00",
        ),
    ]
    vacant = make_unit(owner, kilimani, label="B2", rent="28000.00")
    payment_record(actor=owner, lease_id=leases[0].pk, amount=Decimal("60000.00"), method="bank")
    payment_record(actor=owner, lease_id=leases[1].pk, amount=Decimal("9000.00"), method="cash")
    payment_record(actor=owner, lease_id=leases[2].pk, amount=Decimal("64000.00"), method="bank")
    unmatched = make_unmatched_payment(
        owner, "7500.00", account_reference="KQ4X", payer_name="Wanjiru M"
    )
    return SimpleNamespace(
        agency=agency,
        owner_user=owner_user,
        owner=owner,
        properties=[westlands, kilimani],
        tenants=tenants,
        leases=leases,
        vacant=vacant,
        unmatched=unmatched,
    )
