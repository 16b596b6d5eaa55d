"""Console sessions live in PostgreSQL with Redis in front (cached_db): losing the Redis copy
(eviction under memory pressure, a flush, an outage) signs no one out; expired sessions are
cleared by a daily job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from keja.console.actors import console_clear_expired_sessions
from tests.factories import make_agency, make_member

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_session_survives_losing_its_redis_copy() -> None:
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    user, _ = make_member(make_agency())
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code == 200
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    cached = "django.contrib.sessions.cached_db" + key
    assert cache.get(cached) is not None, "the session is not in Redis"
    assert Session.objects.filter(session_key=key).exists(), "the session is not in PostgreSQL"
    cache.delete(cached)  # as an eviction would
    again = client.get("/")
    assert again.status_code == 200
    assert user.get_username() in again.content.decode()  # still signed in
    assert cache.get(cached) is not None  # and Redis holds it again


def test_expired_sessions_are_cleared_by_the_daily_job() -> None:
    user, _ = make_member(make_agency())
    live, stale = Client(), Client()
    live.force_login(user)
    stale.force_login(user)
    stale_key = stale.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=stale_key).update(
        expire_date=timezone.now() - timedelta(minutes=1)
    )
    console_clear_expired_sessions.fn()
    assert not Session.objects.filter(session_key=stale_key).exists()
    live_key = live.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=live_key).exists()
