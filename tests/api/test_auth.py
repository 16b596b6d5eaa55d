"""Authentication (D1): API keys with read / read-write scopes and the console session with CSRF,
every operation scoped to one agency (another agency's object answers 404), the agency bound to
the log context, and the key's last use recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from keja.agencies.models import Agency, ApiKey, Membership
from keja.agencies.services import apikey_revoke
from keja.platform.cache.http import forget_api_key
from keja.platform.scoping import Actor
from keja.properties.models import Property
from tests.api.client import ApiClient
from tests.api.conftest import make_key
from tests.api.querycount import assert_num_queries
from tests.factories import (
    make_agency,
    make_lease,
    make_member,
    make_property,
    make_user,
    owner_actor,
)

pytestmark = pytest.mark.django_db
NEW_PROPERTY = {"name": "Session House", "county": "Nairobi", "town": "Karen"}


def _csrf(client: Client) -> str:
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    return _mask_cipher_secret(secret)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer kj_nope_nope",
        "Bearer ",
        "Basic dXNlcjpwdw==",
        "Token kj_x_y",
        "Bearer " + "kj_" + "a" * 300,
    ],
)
def test_missing_or_bad_credentials_answer_401(agency: Agency, header: str | None) -> None:
    api = ApiClient()
    headers = {"Authorization": header} if header is not None else {}
    response = api.request("GET", "/properties", headers=headers)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "unauthenticated"


def test_revoked_key_answers_401(agency: Agency) -> None:
    raw = make_key(agency)
    key = ApiKey.objects.get(prefix=raw.split("_")[1])
    apikey_revoke(actor=owner_actor(agency), key_id=key.pk)
    assert ApiClient(token=raw).get("/properties").status_code == 401


def test_keys_whose_secret_contains_underscores_work(agency: Agency) -> None:
    for _ in range(8):  # token_urlsafe secrets often contain "_": every one must work
        raw = make_key(agency)
        assert ApiClient(token=raw).get("/agency").status_code == 200


def test_read_key_reads_but_cannot_write(agency: Agency, api_read: ApiClient) -> None:
    assert api_read.get("/properties").status_code == 200
    response = api_read.post("/properties", NEW_PROPERTY)
    assert response.status_code == 403
    assert response.json()["code"] == "read_only_key"
    assert api_read.patch("/properties/1", {"name": "x"}).status_code == 403
    assert not Property.objects.for_agency(agency.pk).exists()


def test_last_use_is_recorded_at_most_once_a_minute(agency: Agency) -> None:
    raw = make_key(agency, fresh=False)
    key = ApiKey.objects.get(prefix=raw.split("_")[1])
    assert key.last_used_at is None
    api = ApiClient(token=raw)
    with assert_num_queries(3):  # lookup, last-use update, the agency
        api.get("/agency")
    key.refresh_from_db()
    assert key.last_used_at is not None
    with assert_num_queries(2):  # used a moment ago: no write
        api.get("/agency")
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(minutes=5))
    # Cached answers skip the database; the key's auth-cache entry lives 60 s, after which the
    # key is looked up (and its use recorded) again. Expire it as a minute passing would.
    forget_api_key(digest=key.key_hash)
    api.get("/agency")
    key.refresh_from_db()
    assert timezone.now() - key.last_used_at < timedelta(seconds=30)


def test_session_reads_with_its_agency(agency: Agency, session_api: ApiClient) -> None:
    make_property(owner_actor(agency), name="Mine")
    with assert_num_queries(3):  # the user, the membership, the page
        response = session_api.get("/properties")
    assert [p["name"] for p in response.json()["items"]] == ["Mine"]


def test_session_writes_need_the_csrf_token(agency: Agency, session_api: ApiClient) -> None:
    refused = session_api.post("/properties", NEW_PROPERTY)
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    assert not Property.objects.for_agency(agency.pk).exists()
    token = _csrf(session_api.client)
    accepted = session_api.post("/properties", NEW_PROPERTY, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201, accepted.content


def test_session_uses_the_agency_chosen_in_the_console(agency: Agency) -> None:
    second = make_agency()
    user, _ = make_member(agency, "viewer")
    Membership.objects.create(agency=second, user=user, role="manager")
    make_property(owner_actor(second), name="Second's")
    client = Client()
    client.force_login(user)
    api = ApiClient(client)
    assert api.get("/agency").json()["id"] == min(agency.pk, second.pk)  # first membership
    session = client.session
    session["agency_id"] = second.pk
    session.save()
    assert api.get("/agency").json()["id"] == second.pk
    assert [p["name"] for p in api.get("/properties").json()["items"]] == ["Second's"]


def test_session_of_a_non_member_is_refused(agency: Agency) -> None:
    client = Client()
    client.force_login(make_user())
    response = ApiClient(client).get("/properties")
    assert response.status_code == 403
    assert response.json()["code"] == "no_membership"


def test_session_agency_the_user_does_not_belong_to_is_refused(
    agency: Agency, owner: tuple[User, Actor]
) -> None:
    client = Client()
    client.force_login(owner[0])
    session = client.session
    session["agency_id"] = make_agency().pk
    session.save()
    assert ApiClient(client).get("/properties").status_code == 403


def test_roles_are_enforced_for_sessions(agency: Agency) -> None:
    user, _ = make_member(agency, "viewer")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    token = _csrf(client)
    response = ApiClient(client).post("/properties", NEW_PROPERTY, headers={"X-CSRFToken": token})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/properties/{property}", None),
        ("PATCH", "/properties/{property}", {"name": "Mine now"}),
        ("GET", "/units/{unit}", None),
        ("PATCH", "/units/{unit}", {"label": "Z"}),
        ("GET", "/tenants/{tenant}", None),
        ("PATCH", "/tenants/{tenant}", {"full_name": "Mine now"}),
        ("GET", "/leases/{lease}", None),
        ("POST", "/leases/{lease}/terminate", {}),
        ("POST", "/leases/{lease}/end", {"end_date": "2026-12-31"}),
        ("POST", "/units", {"property_id": "{property}", "label": "X", "monthly_rent": 5}),
        (
            "POST",
            "/leases",
            {"unit_id": "{unit}", "tenant_id": "{tenant}", "start_date": "2026-01-01"},
        ),
        ("POST", "/payments", {"lease_id": "{lease}", "amount": 5, "method": "cash"}),
    ],
)
def test_another_agencys_objects_answer_404(
    api: ApiClient, other_actor: Actor, method: str, path: str, body: dict[str, object] | None
) -> None:
    lease = make_lease(other_actor)
    ids = {
        "property": lease.unit.property_id,
        "unit": lease.unit_id,
        "tenant": lease.tenant_id,
        "lease": lease.pk,
    }
    if body is not None:
        body = {
            k: (ids[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v)
            for k, v in body.items()
        }
    response = api.request(method, path.format(**ids), body)
    assert response.status_code == 404, response.content
    lease.refresh_from_db()
    assert lease.status == "active"


def test_agency_id_is_bound_to_the_log_lines(agency: Agency, api: ApiClient, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level("INFO", logger="keja.request"):
        api.get("/properties", limit=1)
    events = [
        r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "request"
    ]
    assert events[-1]["agency_id"] == agency.pk
