"""What the cache holds and how it is doing: for /health, /metrics, `keja cache` and the
staff console page (P2.3)."""

from __future__ import annotations

import re
import time
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache

from keja.platform.cache import backend, versioned
from keja.platform.cache.keys import AREAS

_SHA1 = re.compile(r"^[0-9a-f]{40}$")


def _area_of(rest: str) -> str:
    area = rest.split(":", 1)[0]
    if area in AREAS:
        return area
    if _SHA1.match(area):  # cachalot's query and table keys are SHA-1 digests
        return "orm"
    if area.startswith("django.contrib.sessions"):
        return "sessions"
    return "other"


def key_counts(max_scan: int = 200_000) -> dict[str, int]:
    """Keys per area under this environment's prefix (SCAN, bounded)."""
    client = versioned._redis()
    counts = dict.fromkeys(AREAS, 0)
    counts["sessions"] = 0
    counts["other"] = 0
    if client is None:
        return counts
    prefix = f"{settings.CACHE_KEY_PREFIX}:"
    seen = 0
    try:
        for raw in client.scan_iter(match=f"{prefix}*", count=1000):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            counts[_area_of(key[len(prefix) :])] += 1
            seen += 1
            if seen >= max_scan:
                break
    except (redis.RedisError, OSError) as exc:
        backend.note_error(exc, "scan")
    return counts


def redis_memory() -> dict[str, Any]:
    client = versioned._redis()
    if client is None:
        return {"backend": "in-process"}
    try:
        info = client.info("memory")
        policy = client.config_get("maxmemory-policy")
    except (redis.RedisError, OSError) as exc:
        backend.note_error(exc, "info")
        return {"error": f"{type(exc).__name__}"}
    return {
        "used_memory": info.get("used_memory"),
        "used_memory_human": info.get("used_memory_human"),
        "maxmemory": info.get("maxmemory"),
        "maxmemory_policy": policy.get("maxmemory-policy") if isinstance(policy, dict) else None,
    }


_counted: dict[str, Any] = {}


def key_counts_recent(max_age: float) -> dict[str, int]:
    """``key_counts``, reused for ``max_age`` seconds in this process: a page that refreshes
    itself must not SCAN a large Redis every few seconds for every viewer."""
    now = time.monotonic()
    if max_age > 0 and _counted and now - _counted["at"] < max_age:
        return dict(_counted["counts"])
    counts = key_counts()
    _counted.update(at=now, counts=counts)
    return dict(counts)


def summary(*, with_keys: bool = False, keys_max_age: float = 0) -> dict[str, Any]:
    out: dict[str, Any] = {
        "status": "degraded" if backend.degraded() else "ok",
        "errors": backend.error_count(),
        "hits": versioned.hit_stats(),
        "memory": redis_memory(),
        "orm_cache": bool(getattr(settings, "CACHALOT_ENABLED", False)),
    }
    if with_keys:
        out["keys"] = key_counts_recent(keys_max_age)
    if not settings.REDIS_URL:
        out["status"] = "embedded"
    return out


def cache_is_redis() -> bool:
    return hasattr(cache, "raw_client")
