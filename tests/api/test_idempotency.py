"""Idempotency-Key (Stripe semantics): a retried POST replays the first answer and creates
nothing; a reused key with another body is a 409; concurrent requests with one key make exactly
one object; records live 24 hours in PostgreSQL. Failures and slowness come from PostgreSQL
itself (a trigger that raises, a table lock held by another session), not from patched code."""

from __future__ import annotations

import threading

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import override_settings

from keja.agencies.models import Agency
from keja.platform import idempotency
from keja.platform.scoping import Actor
from keja.properties.models import Property
from keja.tenants.models import Tenant
from tests.api.client import ApiClient
from tests.api.conftest import make_key
from tests.factories import make_agency, make_lease

pytestmark = pytest.mark.django_db
BODY = {"full_name": "Amina Hassan", "phone": "0712 000 999"}


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def test_same_key_same_body_replays_and_creates_once(agency: Agency, api: ApiClient) -> None:
    first = api.post("/tenants", BODY, headers=key("k-1"))
    second = api.post("/tenants", BODY, headers=key("k-1"))
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert second.content == first.content
    assert Tenant.objects.for_agency(agency.pk).count() == 1


def test_json_formatting_and_key_order_do_not_matter(agency: Agency, api: ApiClient) -> None:
    api.request(
        "POST",
        "/tenants",
        raw_body=b'{"full_name": "Amina Hassan", "phone": "0712 000 999"}',
        headers=key("k-2"),
    )
    again = api.request(
        "POST",
        "/tenants",
        raw_body=b'{ "phone":"0712 000 999",\n "full_name":"Amina Hassan" }',
        headers=key("k-2"),
    )
    assert again["Idempotent-Replayed"] == "true"
    assert Tenant.objects.for_agency(agency.pk).count() == 1


def test_same_key_different_body_is_a_conflict(agency: Agency, api: ApiClient) -> None:
    api.post("/tenants", BODY, headers=key("k-3"))
    other = api.post("/tenants", {**BODY, "full_name": "Someone Else"}, headers=key("k-3"))
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert "different request" in other.json()["detail"]
    elsewhere = api.post(
        "/properties", {"name": "P", "county": "C", "town": "T"}, headers=key("k-3")
    )
    assert elsewhere.status_code == 409  # same key on another endpoint
    assert Tenant.objects.for_agency(agency.pk).count() == 1
    assert not Property.objects.for_agency(agency.pk).exists()


def test_without_a_key_each_request_runs(agency: Agency, api: ApiClient) -> None:
    api.post("/properties", {"name": "A", "county": "C", "town": "T"})
    again = api.post("/properties", {"name": "A", "county": "C", "town": "T"})
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


def test_error_answers_are_replayed_too(agency: Agency, actor: Actor, api: ApiClient) -> None:
    lease = make_lease(actor)
    first = api.post(f"/leases/{lease.pk}/activate", headers=key("k-4"))
    second = api.post(f"/leases/{lease.pk}/activate", headers=key("k-4"))
    assert first.status_code == second.status_code == 409
    assert second["Idempotent-Replayed"] == "true"


def test_keys_are_per_agency_and_per_credential(agency: Agency, api: ApiClient) -> None:
    other = make_agency()
    other_api = ApiClient(token=make_key(other))
    second_key_api = ApiClient(token=make_key(agency))
    assert api.post("/tenants", BODY, headers=key("shared")).status_code == 201
    assert other_api.post("/tenants", BODY, headers=key("shared")).status_code == 201
    assert Tenant.objects.for_agency(other.pk).count() == 1
    # another key of the same agency: its own namespace (the tenant exists, so a real 409)
    answer = second_key_api.post("/tenants", BODY, headers=key("shared"))
    assert answer.status_code == 409
    assert not answer.has_header("Idempotent-Replayed")


def test_records_live_24_hours_in_postgres_not_in_redis(agency: Agency, api: ApiClient) -> None:
    """Redis may evict what has a TTL: an evicted record would let a retried payment run twice,
    so records live in PostgreSQL (and a flush of the cache changes nothing)."""
    from django.utils import timezone

    from keja.platform.models import IdempotencyRecord

    first = api.post("/tenants", BODY, headers=key("k-ttl"))
    records = list(IdempotencyRecord.objects.filter(slot__startswith=f"idem:{agency.pk}:"))
    assert len(records) == 1
    assert records[0].state == "done"
    left = (records[0].expires_at - timezone.now()).total_seconds()
    assert 23 * 3600 < left <= 24 * 3600
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert not list(client.scan_iter(match=f"{settings.CACHE_KEY_PREFIX}:idem:*"))
    from django.core.cache import cache

    cache.clear()  # as if Redis lost everything
    replayed = api.post("/tenants", BODY, headers=key("k-ttl"))
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json() == first.json()
    assert Tenant.objects.for_agency(agency.pk).count() == 1


def test_expired_and_abandoned_records_are_reclaimed(agency: Agency, api: ApiClient) -> None:
    """A record past its 24 hours, or left "in progress" by a crashed worker for longer than
    the lock, no longer blocks its key; the daily job deletes expired records."""
    from datetime import timedelta

    from django.utils import timezone

    from keja.platform.actors import platform_clear_idempotency_records
    from keja.platform.models import IdempotencyRecord

    api.post("/tenants", BODY, headers=key("k-old"))
    IdempotencyRecord.objects.filter(slot__startswith=f"idem:{agency.pk}:").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    other = {"full_name": "Baraka Otieno", "phone": "0712 000 111"}
    rerun = api.post("/tenants", other, headers=key("k-old"))  # a new request may use it again
    assert rerun.status_code == 201
    assert not rerun.has_header("Idempotent-Replayed")
    past = timezone.now() - timedelta(seconds=1)
    IdempotencyRecord.objects.create(
        slot="idem:0:crashed",
        fingerprint="f",
        token="t",
        state="in_progress",
        locked_until=past,
        expires_at=past,
    )
    platform_clear_idempotency_records.fn()
    assert not IdempotencyRecord.objects.filter(slot="idem:0:crashed").exists()
    assert IdempotencyRecord.objects.filter(slot__startswith=f"idem:{agency.pk}:").count() == 1


@pytest.mark.parametrize("bad", ["has space", "x" * 256, "tab\there"])
def test_malformed_keys_answer_400(agency: Agency, api: ApiClient, bad: str) -> None:
    response = api.post("/tenants", BODY, headers=key(bad))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not Tenant.objects.for_agency(agency.pk).exists()


def test_validation_failures_are_not_stored(agency: Agency, api: ApiClient) -> None:
    assert api.post("/tenants", {"full_name": "x"}, headers=key("k-5")).status_code == 422
    assert api.post("/tenants", BODY, headers=key("k-5")).status_code == 201


def test_server_errors_release_the_key(agency: Agency, api: ApiClient) -> None:
    # a real failure inside PostgreSQL (a trigger that raises, created in this test's
    # transaction and gone with it), as a full disk or a lost connection would be
    with connection.cursor() as cur:
        cur.execute(
            "CREATE FUNCTION keja_test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the disk is on fire'; END $$"
        )
        cur.execute(
            "CREATE TRIGGER keja_test_refuse BEFORE INSERT ON tenants_tenant "
            "FOR EACH ROW EXECUTE FUNCTION keja_test_refuse()"
        )
    failed = api.request("POST", "/tenants", BODY, headers=key("k-6"), validate=False)
    assert failed.status_code == 500
    with connection.cursor() as cur:
        cur.execute("DROP TRIGGER keja_test_refuse ON tenants_tenant")
    retried = api.post("/tenants", BODY, headers=key("k-6"))
    assert retried.status_code == 201
    assert not retried.has_header("Idempotent-Replayed")


def test_a_request_in_progress_makes_the_second_wait_then_409(
    agency: Agency, api: ApiClient
) -> None:
    from datetime import timedelta

    from django.test import RequestFactory
    from django.utils import timezone

    from keja.platform.models import IdempotencyRecord

    request = RequestFactory().post(
        "/api/v1/tenants",
        data=b'{"full_name": "Amina Hassan", "phone": "0712 000 999"}',
        content_type="application/json",
    )
    raw = api.token
    assert raw is not None
    from keja.agencies.selectors import apikey_lookup

    api_key = apikey_lookup(raw_key=raw)
    assert api_key is not None
    actor = Actor(agency_id=agency.pk, role="manager", api_key_id=api_key.pk)
    slot = idempotency.slot_for(actor, "k-7")
    soon = timezone.now() + timedelta(seconds=60)
    IdempotencyRecord.objects.create(  # another worker holds the key right now
        slot=slot,
        fingerprint=idempotency.fingerprint(request),
        token="x",
        state="in_progress",
        locked_until=soon,
        expires_at=soon,
    )
    with override_settings(KEJA_IDEMPOTENCY_WAIT_SECONDS=0.2):
        response = api.post("/tenants", BODY, headers=key("k-7"))
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    assert not Tenant.objects.for_agency(agency.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_exactly_one() -> None:
    import time

    import psycopg

    agency = make_agency()
    token = make_key(agency)
    barrier = threading.Barrier(4)
    # Another session holds a lock that blocks inserts into the properties table, so the request
    # that claims the key is kept busy in its INSERT while the others arrive and find the claim.
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    blocker = psycopg.connect(**params)
    blocker.execute("LOCK TABLE properties_property IN SHARE ROW EXCLUSIVE MODE")
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            barrier.wait()
            response = ApiClient(token=token).post(
                "/properties", {"name": "Race", "county": "C", "town": "T"}, headers=key("race-1")
            )
            results.append((response.status_code, response.has_header("Idempotent-Replayed")))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    blocker.commit()  # the insert goes through; the waiting requests replay its answer
    blocker.close()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert Property.objects.for_agency(agency.pk).filter(name="Race").count() == 1
    assert sorted(results) == [(201, False), (201, True), (201, True), (201, True)]


def test_the_decorator_is_reusable(agency: Agency) -> None:
    """Another context can wrap its own operation (as the M-Pesa STK push will)."""
    from ninja import NinjaAPI, Router
    from ninja.testing import TestClient

    from keja.platform.api import KejaAPI

    router = Router()
    calls: list[int] = []

    @router.post("/thing", response={201: dict})
    @idempotency.idempotent()
    def make_thing(request: object) -> object:
        from ninja import Status

        calls.append(1)
        return Status(201, {"n": len(calls)})

    test_api: NinjaAPI = KejaAPI(
        urls_namespace="idem-test", auth=lambda r: Actor(agency_id=agency.pk, role="owner")
    )
    test_api.add_router("", router)
    client = TestClient(test_api)
    first = client.post("/thing", json={}, headers={"Idempotency-Key": "abc"})
    second = client.post("/thing", json={}, headers={"Idempotency-Key": "abc"})
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() == {"n": 1}
    assert second["Idempotent-Replayed"] == "true"
    assert len(calls) == 1
