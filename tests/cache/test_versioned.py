"""The versioned cache: one-round-trip reads, invalidation by namespace, stampede protection,
and degradation when Redis is unreachable (P2.0, P2.1, P2.3)."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import override_settings

from keja.platform.cache import backend, versioned
from keja.platform.cache.keys import ns_key

DEAD_REDIS = {
    "default": {
        "BACKEND": "keja.platform.cache.backend.ResilientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "KEY_PREFIX": "keja:test:dead",
        "KEY_FUNCTION": "keja.platform.cache.keys.make_key",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def test_keys_follow_the_convention() -> None:
    key = cache.make_key(versioned.versioned_key("dash", 7, "figures", 3))
    assert key.startswith("keja:test:")
    assert key.endswith(":dash:7:figures:v3")


def test_value_is_cached_until_the_namespace_is_bumped() -> None:
    calls: list[int] = []

    def compute() -> dict[str, int]:
        calls.append(1)
        return {"n": len(calls)}

    assert versioned.get_or_compute("dash", 101, "figures", compute) == {"n": 1}
    assert versioned.get_or_compute("dash", 101, "figures", compute) == {"n": 1}
    assert len(calls) == 1
    versioned.bump("dash", 101)
    assert versioned.get_or_compute("dash", 101, "figures", compute) == {"n": 2}
    # another agency's namespace is untouched by that bump
    assert versioned.get_or_compute("dash", 102, "figures", compute) == {"n": 3}
    assert versioned.get_or_compute("dash", 102, "figures", compute) == {"n": 3}


def test_two_releases_never_read_each_other_s_values(monkeypatch) -> None:
    """During a rolling update old and new code run side by side: a value pickled by one
    release (a dataclass that later gains a field, say) is never read by the other."""
    from keja.platform.cache.keys import code_version

    def release(tag: str) -> None:
        monkeypatch.setenv("KEJA_RELEASE", tag)
        code_version.cache_clear()

    calls: list[str] = []

    def compute_as(tag: str):
        def compute() -> str:
            calls.append(tag)
            return f"computed by {tag}"

        return compute

    try:
        release("2026.11.1")
        assert versioned.get_or_compute("dash", 104, "f", compute_as("old")) == "computed by old"
        release("2026.11.2")
        assert versioned.get_or_compute("dash", 104, "f", compute_as("new")) == "computed by new"
        release("2026.11.1")
        assert versioned.get_or_compute("dash", 104, "f", compute_as("old")) == "computed by old"
        assert calls == ["old", "new"]
        old_version = versioned.read("dash", 104, "f")[0]
        release("2026.11.2")
        assert versioned.read("dash", 104, "f")[0] != old_version
    finally:
        monkeypatch.delenv("KEJA_RELEASE")
        code_version.cache_clear()
    assert code_version() != ""  # the source digest without a release tag


@pytest.mark.django_db(transaction=True)
def test_bump_on_commit_only_after_commit_and_never_on_rollback() -> None:
    before = versioned.current_version("dash", 103)
    with transaction.atomic():
        versioned.bump_on_commit(103, "dash")
        assert versioned.current_version("dash", 103) == before
    assert versioned.current_version("dash", 103) == before + 1
    try:
        with transaction.atomic():
            versioned.bump_on_commit(103, "dash")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert versioned.current_version("dash", 103) == before + 1


def test_fifty_concurrent_cold_requests_compute_once() -> None:
    computations: list[int] = []
    lock = threading.Lock()
    versioned.bump("dash", 104)  # a cold namespace

    def compute() -> str:
        with lock:
            computations.append(1)
        time.sleep(0.3)
        return "figures"

    barrier = threading.Barrier(50)
    results: list[str] = []

    def reader() -> None:
        barrier.wait()
        results.append(versioned.get_or_compute("dash", 104, "figures", compute))

    threads = [threading.Thread(target=reader) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["figures"] * 50
    assert len(computations) == 1


def test_hits_and_misses_are_counted_in_the_same_round_trip() -> None:
    before = versioned.hit_stats()["dash"]
    versioned.bump("dash", 105)
    versioned.get_or_compute("dash", 105, "figures", lambda: 1)  # miss
    versioned.get_or_compute("dash", 105, "figures", lambda: 1)  # hit
    after = versioned.hit_stats()["dash"]
    assert after["miss"] - before["miss"] == 1
    assert after["hit"] - before["hit"] == 1


def test_popular_agencies_are_tracked() -> None:
    for _ in range(3):
        versioned.get_or_compute("dash", 106, "figures", lambda: 1, count_popularity=True)
    assert 106 in versioned.popular_agencies("dash")


@override_settings(CACHES=DEAD_REDIS)
def test_redis_down_degrades_to_computing() -> None:
    calls: list[int] = []
    assert cache.get("anything", "fallback") == "fallback"
    cache.set("k", "v")  # dropped, no exception
    assert (
        versioned.get_or_compute("dash", 107, "figures", lambda: calls.append(1) or "fresh")
        == "fresh"
    )
    assert calls == [1]
    assert versioned.bump("dash", 107) == -1
    assert backend.degraded()


def test_namespace_key_shape() -> None:
    assert ns_key("dash", 5) == "ns:dash:5"


def test_a_new_epoch_retires_every_value_after_an_outage() -> None:
    versioned.get_or_compute("dash", 108, "figures", lambda: "before")
    assert versioned.read("dash", 108, "figures")[1] == "before"
    version_before = versioned.current_version("dash", 108)
    versioned.new_epoch()  # what the recovery hook does when Redis answers again
    assert versioned.read("dash", 108, "figures")[1] is versioned.MISSING
    assert versioned.current_version("dash", 108) == version_before
    assert versioned.get_or_compute("dash", 108, "figures", lambda: "after") == "after"


def test_recovery_after_an_outage_runs_the_hooks() -> None:
    seen: list[int] = []
    backend.on_recovery(lambda: seen.append(1))
    try:
        with override_settings(CACHES=DEAD_REDIS):
            cache.get("x")
        assert backend.degraded()
        cache.get("y")  # Redis answers again
        assert seen == [1]
    finally:
        backend._recovery_hooks.pop()


def _value_and_lock(agency: int) -> tuple[bytes | None, bool]:
    client = versioned._redis()
    assert client is not None
    version, _ = versioned.read("dash", agency, "figures")
    value = client.get(cache.make_key(versioned.versioned_key("dash", agency, "figures", version)))
    locked = client.exists(cache.make_key(versioned.lock_key("dash", agency, "figures", version)))
    return value, bool(locked)


def test_a_write_batch_stores_the_computed_value_with_the_caller_s_writes() -> None:
    """Inside batched_writes the computed value and its lock release wait for the block's end
    and go out in one pipeline with the caller's own store."""
    client = versioned._redis()
    assert client is not None
    versioned.bump("dash", 105)
    extra = cache.make_key("http:105:read:batched")
    with versioned.batched_writes(client) as batch:
        assert versioned.get_or_compute("dash", 105, "figures", lambda: "figures") == "figures"
        assert _value_and_lock(105) == (None, True)  # computed, not stored yet, still locked
        batch.store(extra, b"body", 60)
    value, locked = _value_and_lock(105)
    assert value is not None
    assert not locked
    assert client.get(extra) == b"body"
    # read back through the cache: no new computation
    assert versioned.get_or_compute("dash", 105, "figures", lambda: "again") == "figures"


def test_a_write_batch_flushes_when_the_block_fails_after_a_computation() -> None:
    client = versioned._redis()
    assert client is not None
    versioned.bump("dash", 106)
    with pytest.raises(RuntimeError), versioned.batched_writes(client):
        versioned.get_or_compute("dash", 106, "figures", lambda: "figures")
        raise RuntimeError("the view failed after computing")
    value, locked = _value_and_lock(106)
    assert value is not None
    assert not locked


def test_outside_a_write_batch_the_value_is_stored_at_once() -> None:
    versioned.bump("dash", 107)
    versioned.get_or_compute("dash", 107, "figures", lambda: "figures")
    value, locked = _value_and_lock(107)
    assert value is not None
    assert not locked
