"""Cache statistics (P2.3): keys are counted in the area they belong to, including the ORM
cache's digests and the console's sessions."""

from __future__ import annotations

import pytest
from django.test import Client

from keja.platform.cache import info
from keja.properties.models import Property
from tests.factories import make_agency, make_member, make_property

pytestmark = pytest.mark.django_db(transaction=True)


def test_keys_are_counted_per_area() -> None:
    before = info.key_counts()
    agency = make_agency()
    user, actor = make_member(agency)
    make_property(actor, name="Amani Court")
    list(Property.objects.for_agency(actor).all())  # cachalot stores this query
    client = Client()
    client.force_login(user)  # a cache-backed session
    after = info.key_counts()
    assert after["orm"] > before["orm"]
    assert after["sessions"] == before["sessions"] + 1
    assert set(after) >= {"dash", "list", "http", "auth", "orm", "sessions", "other"}


def test_area_of() -> None:
    assert info._area_of("dash:3:figures:2026-03-17:v0.4") == "dash"
    assert info._area_of("ns:list:3") == "ns"
    assert info._area_of("0123456789abcdef0123456789abcdef01234567") == "orm"
    assert info._area_of("django.contrib.sessions.cache8x9y") == "sessions"
    assert info._area_of("something:else") == "other"


def test_a_recent_key_count_is_reused_for_a_while() -> None:
    """The staff page refreshes every 10 s: its key count (a SCAN) is reused for 30 s."""
    from django.core.cache import cache

    info._counted.clear()  # another test's page may have left a count behind
    first = info.key_counts_recent(30)
    cache.set("dash:999:extra:v1", 1, 60)
    try:
        assert info.key_counts_recent(30) == first  # reused
        assert info.key_counts_recent(0)["dash"] == first["dash"] + 1  # counted afresh
    finally:
        cache.delete("dash:999:extra:v1")
