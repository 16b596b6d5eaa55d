"""The staff cache page (P2.3) in a real browser: platform staff open it from the navigation, see
the hit and miss counts Redis holds, watch them refresh without a reload, and invalidate the
current agency's caches with the new versions shown in place."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from keja.platform.cache import versioned
from keja.reports.selectors import dashboard_cached
from tests.browser.conftest import mark_page, seed_books, shot, sign_in, still_same_page
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)
AREAS = ("dash", "list", "http")


def cell(page: Page, table: str, area: str, value: str):
    return page.locator(f'#{table} tr[data-area="{area}"] [data-value="{value}"]')


def test_staff_see_the_cache_figures_and_invalidate_an_agency(
    live_server, page: Page, settings
) -> None:
    settings.KEJA_RESPONSE_CACHES = True  # the live server reads the same settings
    books = seed_books()
    agency_id = books.agency.pk
    staff = make_user("ops@keja.example", is_staff=True)
    sign_in(page, live_server.url, staff.username)  # lands on the dashboard: a dash read
    page.reload()  # and a second one
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    stats = versioned.hit_stats()
    assert stats["dash"]["hit"] >= 1
    assert stats["dash"]["miss"] >= 1
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Cache").click()
    expect(page.get_by_role("heading", name="Cache", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Cache")).to_have_attribute("aria-current", "page")
    for area in AREAS:
        hit, miss = stats[area]["hit"], stats[area]["miss"]
        expect(cell(page, "cache-reads", area, "hit")).to_have_text(f"{hit:,}")
        expect(cell(page, "cache-reads", area, "miss")).to_have_text(f"{miss:,}")
    dash = stats["dash"]
    rate = f"{dash['hit'] * 100 / (dash['hit'] + dash['miss']):.1f}%"
    expect(cell(page, "cache-reads", "dash", "rate")).to_have_text(rate)
    expect(page.locator('[data-value="status"]')).to_have_text("ok")
    before = {area: versioned.current_version(area, agency_id) for area in AREAS}
    for area in AREAS:
        expect(cell(page, "cache-versions", area, "version")).to_have_text(f"v{before[area]:,}")

    # the figures refresh by themselves (every 10 s), without reloading the page
    mark_page(page)
    dashboard_cached(actor=agency_id)  # one more hit, made outside the page
    hits = versioned.hit_stats()["dash"]["hit"]
    assert hits == dash["hit"] + 1
    expect(cell(page, "cache-reads", "dash", "hit")).to_have_text(f"{hits:,}", timeout=15_000)
    assert still_same_page(page)

    # invalidate this agency's caches: the versions move by one, shown in place with a message
    page.get_by_role("button", name="Invalidate this agency's caches").click()
    after = {area: before[area] + 1 for area in AREAS}
    expect(page.locator("#flash")).to_have_text(
        f"Caches of Savanna Homes invalidated: dash now v{after['dash']}, "
        f"list now v{after['list']}, http now v{after['http']}."
    )
    for area in AREAS:
        expect(cell(page, "cache-versions", area, "version")).to_have_text(f"v{after[area]:,}")
    assert {area: versioned.current_version(area, agency_id) for area in AREAS} == after
    assert still_same_page(page)
    expect(page).to_have_url(re.compile(r"/staff/cache/$"))
    shot(page, "staff-cache")
