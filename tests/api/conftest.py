"""Fixtures for the API tests: an agency with an owner, API keys, and clients that validate every
answer against the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from keja.agencies.models import Agency, ApiKey
from keja.agencies.services import apikey_create
from keja.platform.scoping import Actor
from tests.api.client import ApiClient
from tests.factories import make_agency, make_member, owner_actor


def make_key(agency: Agency, scope: str = "read-write", *, fresh: bool = True) -> str:
    """A raw API key. ``fresh`` marks it used just now, so the auth step makes no write (its
    last use is recorded at most once a minute) and query counts stay exact."""
    key, raw = apikey_create(actor=owner_actor(agency), name=f"test {scope}", scope=scope)
    if fresh:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return raw


@pytest.fixture
def agency(db: None) -> Agency:
    return make_agency()


@pytest.fixture
def owner(agency: Agency) -> tuple[User, Actor]:
    return make_member(agency, "owner")


@pytest.fixture
def actor(owner: tuple[User, Actor]) -> Actor:
    return owner[1]


@pytest.fixture
def api(agency: Agency) -> ApiClient:
    """A read-write API key client of ``agency``."""
    return ApiClient(token=make_key(agency, "read-write"))


@pytest.fixture
def api_read(agency: Agency) -> ApiClient:
    return ApiClient(token=make_key(agency, "read"))


@pytest.fixture
def session_api(owner: tuple[User, Actor]) -> ApiClient:
    """The console's session (CSRF enforced) of the agency's owner."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner[0])
    return ApiClient(client)


@pytest.fixture
def other_agency(db: None) -> Agency:
    return make_agency()


@pytest.fixture
def other_actor(other_agency: Agency) -> Actor:
    return owner_actor(other_agency)


@pytest.fixture
def api_for() -> Callable[[Agency], ApiClient]:
    return lambda agency: ApiClient(token=make_key(agency, "read-write"))
