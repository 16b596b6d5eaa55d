"""HTTP response caching of read-only API GETs (P2.2): ETag/304 and cached bodies served without
PostgreSQL, fresh after any committed write, never across agencies or scopes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from keja.agencies.models import ApiKey
from tests.api.client import ApiClient
from tests.api.conftest import make_key
from tests.factories import make_agency, make_property, owner_actor

pytestmark = pytest.mark.django_db(transaction=True)


def warm(api: ApiClient, path: str) -> None:
    """First request: the key is looked up in PostgreSQL (and remembered); second: stored."""
    api.get(path)
    second = api.get(path)
    assert second["X-Keja-Cache"] == "miss"


def test_cached_body_and_304_are_served_without_postgres() -> None:
    agency = make_agency()
    make_property(owner_actor(agency), name="Amani Court")
    api = ApiClient(token=make_key(agency))
    warm(api, "/properties")
    with CaptureQueriesContext(connection) as queries:
        hit = api.get("/properties")
        etag = hit["ETag"]
        not_modified = api.request(
            "GET", "/properties", headers={"If-None-Match": etag}, validate=False
        )
    assert hit["X-Keja-Cache"] == "hit"
    assert [p["name"] for p in hit.json()["items"]] == ["Amani Court"]
    assert not_modified.status_code == 304
    assert not_modified["ETag"] == etag
    assert "private" in hit["Cache-Control"]
    assert "max-age" in hit["Cache-Control"]
    assert "Authorization" in hit["Vary"]
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_a_committed_write_makes_the_next_read_fresh() -> None:
    agency = make_agency()
    api = ApiClient(token=make_key(agency))
    warm(api, "/properties")
    etag = api.get("/properties")["ETag"]
    created = api.post(
        "/properties", {"name": "Baraka Flats", "county": "Nairobi", "town": "Kilimani"}
    )
    assert created.status_code == 201, created.content
    fresh = api.get("/properties")
    assert fresh["X-Keja-Cache"] == "miss"
    assert [p["name"] for p in fresh.json()["items"]] == ["Baraka Flats"]
    assert fresh["ETag"] != etag
    stale_check = api.request("GET", "/properties", headers={"If-None-Match": etag}, validate=False)
    assert stale_check.status_code == 200


def test_never_served_to_another_agency_or_scope() -> None:
    mine, theirs = make_agency(), make_agency()
    make_property(owner_actor(mine), name="Mine")
    make_property(owner_actor(theirs), name="Theirs")
    my_api = ApiClient(token=make_key(mine))
    warm(my_api, "/properties")
    their_api = ApiClient(token=make_key(theirs))
    for _ in range(3):
        answer = their_api.get("/properties")
        assert [p["name"] for p in answer.json()["items"]] == ["Theirs"]
    read_api = ApiClient(token=make_key(mine, scope="read"))
    read_api.get("/properties")
    first_read = read_api.get("/properties")
    assert first_read["X-Keja-Cache"] == "miss"  # the read-write key's entry is not reused
    assert first_read["ETag"] != my_api.get("/properties")["ETag"]


def test_a_revoked_key_is_refused_at_once() -> None:
    agency = make_agency()
    raw = make_key(agency)
    api = ApiClient(token=raw)
    warm(api, "/properties")
    assert api.get("/properties")["X-Keja-Cache"] == "hit"
    from keja.agencies.services import apikey_revoke

    key = ApiKey.objects.get(prefix=raw.split("_")[1])
    apikey_revoke(actor=owner_actor(agency), key_id=key.pk)
    assert api.request("GET", "/properties", validate=False).status_code == 401


def test_a_request_in_flight_cannot_put_a_revoked_key_back() -> None:
    """A request that read the key from PostgreSQL just before the revocation committed calls
    remember_api_key after forget_api_key ran: the tombstone refuses it, so the next request is
    still checked against PostgreSQL and refused."""
    from keja.agencies.services import apikey_revoke
    from keja.platform.cache.http import key_digest, remember_api_key

    agency = make_agency()
    raw = make_key(agency)
    api = ApiClient(token=raw)
    warm(api, "/properties")
    key = ApiKey.objects.get(prefix=raw.split("_")[1])
    apikey_revoke(actor=owner_actor(agency), key_id=key.pk)
    remember_api_key(  # the late write of the request in flight
        digest=key_digest(raw), agency_id=agency.pk, scope=key.scope, key_id=key.pk, label="x"
    )
    for _ in range(2):
        refused = api.request("GET", "/properties", validate=False)
        assert refused.status_code == 401
        assert refused.get("X-Keja-Cache") is None


def test_dashboard_endpoint_is_cached_and_fresh_after_a_payment() -> None:
    from datetime import timedelta

    from keja.billing.services import invoice_issue
    from keja.kernel.clock import period_of, today_nairobi
    from tests.factories import make_lease

    agency = make_agency()
    actor = owner_actor(agency)
    lease = make_lease(actor, rent="8000", start=period_of(today_nairobi()) - timedelta(days=40))
    invoice_issue(agency_id=agency.pk, lease_id=lease.pk, period=period_of(today_nairobi()))
    api = ApiClient(token=make_key(agency))
    warm(api, "/reports/dashboard")
    before = api.get("/reports/dashboard")
    assert before["X-Keja-Cache"] == "hit"
    paid = api.post("/payments", {"lease_id": lease.pk, "amount": "3000.00", "method": "cash"})
    assert paid.status_code == 201, paid.content
    after = api.get("/reports/dashboard")
    assert after["X-Keja-Cache"] == "miss"
    assert after.json()["collected_this_month"] != before.json()["collected_this_month"]


@pytest.mark.slow
def test_requests_succeed_with_redis_down(live_gunicorn) -> None:
    """gunicorn with REDIS_URL pointing nowhere: API reads and writes still answer from
    PostgreSQL, a signed-in console user stays signed in (sessions are in PostgreSQL too), and
    the health report shows the cache degraded."""
    import httpx
    from django.conf import settings
    from django.test import Client

    from tests.factories import make_member

    agency = make_agency()
    make_property(owner_actor(agency), name="Still here")
    raw = make_key(agency)
    user, _ = make_member(agency)
    browser = Client()
    browser.force_login(user)
    session = {settings.SESSION_COOKIE_NAME: browser.cookies[settings.SESSION_COOKIE_NAME].value}
    base = live_gunicorn(REDIS_URL="redis://127.0.0.1:1/0", KEJA_HEALTH_TOKEN="tok")
    headers = {"Authorization": f"Bearer {raw}"}
    for _ in range(2):
        listed = httpx.get(f"{base}/api/v1/properties", headers=headers, timeout=20)
        assert listed.status_code == 200, listed.text
        assert [p["name"] for p in listed.json()["items"]] == ["Still here"]
    dashboard = httpx.get(f"{base}/api/v1/reports/dashboard", headers=headers, timeout=20)
    assert dashboard.status_code == 200, dashboard.text
    for path in ("/", "/properties/"):
        console = httpx.get(f"{base}{path}", cookies=session, timeout=20)
        assert console.status_code == 200, (path, console.status_code)
        assert user.get_username() in console.text  # signed in, not sent to the login page
    assert "Still here" in console.text
    created = httpx.post(
        f"{base}/api/v1/properties",
        headers=headers,
        json={"name": "Added offline", "county": "Nairobi", "town": "Karen"},
        timeout=20,
    )
    assert created.status_code == 201, created.text
    report = httpx.get(f"{base}/health", headers={"X-Health-Token": "tok"}, timeout=20).json()
    assert report["degraded"] == ["cache"]
    assert report["cache"]["status"] == "degraded"


def test_a_cache_miss_takes_the_key_from_the_auth_cache() -> None:
    """The response cache's lookup already resolved the key: a miss runs the view's own queries
    only (no key lookup), with the same agency and rights as the database path."""
    from keja.platform.cache import versioned

    agency = make_agency()
    make_property(owner_actor(agency), name="Amani Court")
    raw = make_key(agency, scope="read")
    api = ApiClient(token=raw)
    with CaptureQueriesContext(connection) as first:
        api.get("/properties")  # not in the auth cache yet: looked up in PostgreSQL
    assert any("agencies_apikey" in q["sql"] for q in first), "the key was not looked up"
    versioned.bump("http", agency.pk)
    with CaptureQueriesContext(connection) as miss:
        answer = api.get("/properties")
    assert answer["X-Keja-Cache"] == "miss"
    assert [p["name"] for p in answer.json()["items"]] == ["Amani Court"]
    assert not any("agencies_apikey" in q["sql"] for q in miss), [q["sql"] for q in miss]
    # the cached identity keeps the key's rights: a read key still may not write
    refused = api.post("/properties", {"name": "X", "county": "Nairobi", "town": "Kilimani"})
    assert refused.status_code == 403
    # and a different token never borrows another key's cached identity
    forged = ApiClient(token=raw[:-2] + ("AA" if not raw.endswith("AA") else "BB"))
    assert forged.request("GET", "/properties", validate=False).status_code == 401


def test_cached_answers_carry_the_same_security_headers() -> None:
    """A hit and a 304 come from the response cache, before the view: they still carry the
    headers SecurityMiddleware sets on computed answers (nosniff, HSTS in production)."""
    agency = make_agency()
    api = ApiClient(token=make_key(agency))
    https = {"X-Forwarded-Proto": "https"}
    with override_settings(
        SECURE_HSTS_SECONDS=3600, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
    ):
        api.request("GET", "/properties", headers=https)
        miss = api.request("GET", "/properties", headers=https)
        hit = api.request("GET", "/properties", headers=https)
        revalidated = api.request(
            "GET", "/properties", headers={**https, "If-None-Match": hit["ETag"]}, validate=False
        )
    assert (miss["X-Keja-Cache"], hit["X-Keja-Cache"]) == ("miss", "hit")
    assert revalidated.status_code == 304
    for response in (miss, hit, revalidated):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Strict-Transport-Security"].startswith("max-age=3600")


def test_plain_http_is_redirected_before_a_cached_answer_is_served() -> None:
    agency = make_agency()
    token = make_key(agency)
    api = ApiClient(token=token)
    warm(api, "/properties")
    assert api.get("/properties")["X-Keja-Cache"] == "hit"
    with override_settings(SECURE_SSL_REDIRECT=True):
        plain = Client().get(
            "/api/v1/properties", HTTP_AUTHORIZATION=f"Bearer {token}", secure=False
        )
    assert plain.status_code == 301
    assert plain["Location"].startswith("https://")
    assert "X-Keja-Cache" not in plain
    assert not plain.content
