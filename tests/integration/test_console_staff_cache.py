"""The staff cache page (P2.3) through Django's test client, against real PostgreSQL and Redis:
who may see it, the figures it shows (read back from Redis), the HTMX partial it polls, the
invalidate action (exactly one bump per namespace of the current agency, nothing else) and the
page's fixed query count."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from cachalot.api import cachalot_disabled
from django.core.cache import cache
from django.test import Client
from structlog.testing import capture_logs

from keja.console.views import staff
from keja.platform.cache import info, versioned
from keja.platform.cache.keys import ns_key
from keja.reports.selectors import dashboard_cached
from tests.factories import make_agency, make_member, make_user

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
URL = "/staff/cache/"
AREAS = ("dash", "list", "http")


@pytest.fixture
def world() -> SimpleNamespace:
    agency = make_agency("Savanna Homes")
    owner_user, _ = make_member(agency, "owner")
    staff = make_user(is_staff=True)  # platform staff, not a member of any agency
    return SimpleNamespace(agency=agency, owner_user=owner_user, staff=staff)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def versions(agency_id: int) -> dict[str, int]:
    return {area: versioned.current_version(area, agency_id) for area in AREAS}


def cell(html: str, table: str, area: str, value: str) -> str:
    """The text of ``<td data-value=value>`` in the row ``data-area=area`` of ``#table``."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    row = re.search(rf'<tr data-area="{area}">(.*?)</tr>', body, re.S)
    assert row, (table, area)
    found = re.search(rf'data-value="{value}">([^<]*)<', row.group(1))
    assert found, (table, area, value)
    return found.group(1)


@pytest.mark.django_db(transaction=True)
def test_staff_sees_the_hits_misses_keys_memory_and_versions(world, settings) -> None:
    settings.KEJA_RESPONSE_CACHES = True
    agency_id = world.agency.pk
    before = versioned.hit_stats()["dash"]
    dashboard_cached(actor=agency_id)  # a miss (computed and stored)
    dashboard_cached(actor=agency_id)  # a hit
    reads = 1
    while versioned.hit_stats()["dash"]["hit"] == versioned.hit_stats()["dash"]["miss"]:
        dashboard_cached(actor=agency_id)  # hits and misses must differ to tell them apart
        reads += 1
    stats = versioned.hit_stats()
    dash = stats["dash"]
    assert dash["miss"] == before["miss"] + 1
    assert dash["hit"] == before["hit"] + reads
    assert dash["hit"] != dash["miss"]
    info._counted.clear()  # the page reuses a count for 30 s: start this one afresh
    keys = info.key_counts()
    memory = info.redis_memory()
    current = versions(agency_id)

    response = signed_in(world.staff).get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Cache</h1>" in html
    assert 'data-value="status">ok<' in html
    for area in AREAS:
        hit, miss = stats[area]["hit"], stats[area]["miss"]
        assert cell(html, "cache-reads", area, "hit") == f"{hit:,}"
        assert cell(html, "cache-reads", area, "miss") == f"{miss:,}"
        rate = f"{hit * 100 / (hit + miss):.1f}%" if hit + miss else "—"
        assert cell(html, "cache-reads", area, "rate") == rate
        assert cell(html, "cache-versions", area, "version") == f"v{current[area]:,}"
    assert keys["dash"] >= 1  # the dashboard just stored is a key of its own
    for area in ("dash", "ns", "stats"):  # areas the request itself does not write
        assert cell(html, "cache-keys", area, "keys") == f"{keys[area]:,}"
    policy = re.search(r'data-value="maxmemory_policy">([^<]*)<', html)
    assert policy
    assert policy.group(1) == memory["maxmemory_policy"]
    limit = re.search(r'data-value="maxmemory">([^<]*)<', html)
    assert limit
    if memory["maxmemory"] == 0:
        assert limit.group(1) == "no limit"
    else:
        assert f"{memory['maxmemory']:,} bytes" in limit.group(1)
    orm = "on (cachalot)" if settings.CACHALOT_ENABLED else "off"
    assert f'data-value="orm_cache">{orm}<' in html
    # the block polls itself every 10 s, and the nav links to the page
    assert 'hx-trigger="every 10s"' in html
    assert f'hx-get="{URL}"' in html
    assert f'<a href="{URL}" aria-current="page">Cache</a>' in html


def test_thousands_separators(world) -> None:
    """Figures above 999 are shown with separators (a namespace version is one we can set)."""
    client = signed_in(world.staff)
    cache.set(ns_key("list", world.agency.pk), 1234566, None)
    html = client.get(URL).content.decode()
    assert cell(html, "cache-versions", "list", "version") == "v1,234,566"
    client.post(URL, **HX)
    assert versioned.current_version("list", world.agency.pk) == 1234567
    html = client.get(URL).content.decode()
    assert cell(html, "cache-versions", "list", "version") == "v1,234,567"


def test_a_member_who_is_not_staff_is_refused(world) -> None:
    client = signed_in(world.owner_user)
    response = client.get(URL)
    assert response.status_code == 403
    html = response.content.decode()
    assert "Only platform staff can see the cache statistics." in html
    assert 'id="cache-stats"' not in html
    partial = client.get(URL, **HX)
    assert partial.status_code == 403
    assert 'id="cache-stats"' not in partial.content.decode()
    # and the nav offers no link to it
    assert f'href="{URL}"' not in client.get("/audit/").content.decode()


def test_sign_in_is_required(world) -> None:
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"
    assert Client().post(URL)["Location"] == f"/accounts/login/?next={URL}"


def test_htmx_gets_only_the_stats_partial(world) -> None:
    client = signed_in(world.staff)
    response = client.get(URL, **HX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<nav" not in body
    assert "<html" not in body
    assert "Invalidate this agency's caches" not in body  # the form stays on the page
    assert re.search(r'<div id="cache-stats"[^>]*hx-trigger="every 10s"', body)
    assert (
        cell(body, "cache-versions", "dash", "version") == f"v{versions(world.agency.pk)['dash']}"
    )
    assert "HX-Request" in response["Vary"]


def test_staff_invalidates_the_current_agencys_caches(world) -> None:
    agency_id = world.agency.pk
    other = make_agency("Amani Realty")  # first by name: where staff land before they switch
    versioned.bump("http", other.pk)  # so the two agencies' versions differ
    before, others_before = versions(agency_id), versions(other.pk)
    client = signed_in(world.staff)
    html = client.get(URL).content.decode()
    assert cell(html, "cache-versions", "http", "version") == f"v{others_before['http']}"
    assert client.post("/agency/switch/", {"agency_id": agency_id}).status_code == 302
    html = client.get(URL).content.decode()
    assert cell(html, "cache-versions", "http", "version") == f"v{before['http']}"

    with capture_logs() as logs:
        response = client.post(URL, **HX)

    assert response.status_code == 200
    after = versions(agency_id)
    assert after == {area: before[area] + 1 for area in AREAS}
    assert versions(other.pk) == others_before  # never a global flush
    body = response.content.decode()
    message = (
        f"Caches of Savanna Homes invalidated: dash now v{after['dash']}, "
        f"list now v{after['list']}, http now v{after['http']}."
    )
    assert '<div id="flash" hx-swap-oob="innerHTML"><p class="msg success">' in body
    assert message in body
    assert cell(body, "cache-versions", "http", "version") == f"v{after['http']}"
    event = [e for e in logs if e["event"] == "cache_invalidated_by_staff"]
    assert len(event) == 1
    assert event[0]["agency_id"] == agency_id
    assert event[0]["user"] == world.staff.username
    assert event[0]["log_level"] == "info"

    # without HTMX: post, redirect, and the page shows the message
    plain = client.post(URL)
    assert plain.status_code == 302
    assert plain["Location"] == URL
    assert versions(agency_id) == {area: before[area] + 2 for area in AREAS}
    page = client.get(URL).content.decode()
    assert f"Caches of Savanna Homes invalidated: dash now v{before['dash'] + 2}," in page


def test_a_member_who_is_not_staff_cannot_invalidate(world) -> None:
    before = versions(world.agency.pk)
    client = signed_in(world.owner_user)
    with capture_logs() as logs:
        assert client.post(URL).status_code == 403
        assert client.post(URL, **HX).status_code == 403
    assert versions(world.agency.pk) == before
    assert not [e for e in logs if e["event"] == "cache_invalidated_by_staff"]


def test_invalidate_needs_the_csrf_token(world) -> None:
    before = versions(world.agency.pk)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.staff)
    page = client.get(URL)
    assert client.post(URL, **HX).status_code == 403  # no token
    assert versions(world.agency.pk) == before
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token
    response = client.post(URL, HTTP_X_CSRFTOKEN=token.group(1), **HX)
    assert response.status_code == 200
    assert versions(world.agency.pk) == {area: before[area] + 1 for area in AREAS}


def test_no_other_method(world) -> None:
    assert signed_in(world.staff).put(URL).status_code == 405


def test_query_count(world, django_assert_num_queries) -> None:
    """The figures come from Redis only; the database is asked for what every console page
    needs. Platform staff who are not members of the agency: the session's user (1), the
    membership lookup that finds none (1) and the check that the agency exists (1) — the two
    reads of ``actor_for_user`` for staff — then the agency switcher (1) and the nav's
    unmatched-payments count (1): 5. The HTMX partial renders no navigation: 3. Taken with
    the ORM cache off, as in test_console_queries."""
    client = signed_in(world.staff)
    client.get(URL)  # the session now holds the current agency
    with cachalot_disabled(), django_assert_num_queries(5):
        assert client.get(URL).status_code == 200
    with cachalot_disabled(), django_assert_num_queries(3):
        assert client.get(URL, **HX).status_code == 200


def test_memory_wording() -> None:
    """What the memory figures say for a limited Redis, an unlimited one, the in-process cache
    and a Redis that did not answer (``info.redis_memory``'s four shapes)."""
    limited = staff._memory(
        {
            "used_memory": 1_963_536,
            "used_memory_human": "1.87M",
            "maxmemory": 268_435_456,
            "maxmemory_policy": "volatile-lru",
        }
    )
    assert limited["used"] == "1.87M (1,963,536 bytes)"
    assert limited["max"] == "256.0 MiB (268,435,456 bytes)"
    assert limited["policy"] == "volatile-lru"
    unlimited = staff._memory(
        {"used_memory": 900, "used_memory_human": None, "maxmemory": 0, "maxmemory_policy": None}
    )
    assert (unlimited["used"], unlimited["max"], unlimited["policy"]) == (
        "900 B (900 bytes)",
        "no limit",
        "—",
    )
    assert staff._memory({"backend": "in-process"})["used"] == "in-process cache (no Redis)"
    assert staff._memory({"error": "ConnectionError"})["used"] == (
        "Redis did not answer (ConnectionError)"
    )
