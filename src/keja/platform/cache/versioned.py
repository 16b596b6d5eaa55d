"""Per-agency versioned namespaces with one-round-trip reads and stampede protection.

A namespace is (area, agency). Its version lives at ``ns:{area}:{agency}``; values live at
``{area}:{agency}:{name}:v{version}``. Invalidation bumps the version when the writing
transaction commits (``bump_on_commit``), so readers move to new keys at once and old values age
out by TTL: never a global flush, never a stale read after a committed change.

A read is ONE Redis round trip: a Lua script reads the version, the value under that version,
and counts the hit or miss (and the agency's popularity, used for warming). On a miss one process
computes (it holds a short lock) while the others poll briefly for its result (P2.1).

Inside ``batched_writes`` (the API's response cache opens one around each request it may store)
a computed value and its lock release join the caller's own writes in one pipeline when the
block ends, instead of costing a round trip of their own."""

from __future__ import annotations

import contextlib
import pickle
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis
import structlog
from django.core.cache import cache
from django.db import transaction

from keja.platform.cache import backend
from keja.platform.cache.keys import code_version, lock_key, ns_key, stats_key, versioned_key

log = structlog.get_logger("keja.cache")
T = TypeVar("T")
MISSING = object()

_READ = """
local e = redis.call('GET', KEYS[4]) or '0'
local v = ARGV[5] .. '.' .. e .. '.' .. (redis.call('GET', KEYS[1]) or '0')
local val = redis.call('GET', ARGV[1] .. v)
if val then redis.call('HINCRBY', KEYS[2], 'hit', 1) else redis.call('HINCRBY', KEYS[2], 'miss', 1) end
if ARGV[2] ~= '' then redis.call('ZINCRBY', KEYS[3], 1, ARGV[2]) end
local owner = 0
if not val and ARGV[3] ~= '' then
  if redis.call('SET', ARGV[3] .. v, '1', 'NX', 'PX', ARGV[4]) then owner = 1 end
end
return {v, val, owner}
"""
_scripts: dict[tuple[int, str], Any] = {}


def _redis() -> redis.Redis | None:
    if isinstance(cache, backend.ResilientRedisCache) or hasattr(cache, "raw_client"):
        return cache.raw_client()
    return None


def lua(client: redis.Redis, source: str) -> Any:
    """A registered Lua script (EVALSHA, loaded on first use), one per connection pool."""
    key = (id(client.connection_pool), source)
    if key not in _scripts:
        _scripts[key] = client.register_script(source)
    return _scripts[key]


EPOCH_KEY = "ns:epoch"


@dataclass
class WriteBatch:
    """Redis writes kept for one pipeline: (full key, bytes, ttl seconds) values to store, then
    full keys (locks) to delete."""

    stores: list[tuple[str, bytes, int]] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)

    def store(self, key: str, payload: bytes, ttl: int) -> None:
        self.stores.append((key, payload, ttl))

    def flush(self, client: redis.Redis) -> None:
        if not (self.stores or self.deletes):
            return
        try:
            pipe = client.pipeline(transaction=False)
            for key, payload, ttl in self.stores:
                pipe.set(key, payload, ex=ttl)
            if self.deletes:
                pipe.delete(*self.deletes)
            pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            backend.note_error(exc, "batched_store")
        finally:
            self.stores.clear()
            self.deletes.clear()


_batch: ContextVar[WriteBatch | None] = ContextVar("keja_cache_write_batch", default=None)


@contextlib.contextmanager
def batched_writes(client: redis.Redis) -> Iterator[WriteBatch]:
    """Values computed by ``get_or_compute`` inside the block are stored (and their compute
    locks released) when the block ends, with whatever the caller added to the batch, in one
    round trip. The flush happens however the block ends: an exception after a computation
    still stores the value and frees the lock. Keep the block short: waiting readers poll
    until the lock is released."""
    batch = WriteBatch()
    token = _batch.set(batch)
    try:
        yield batch
    finally:
        _batch.reset(token)
        batch.flush(client)


def read(
    area: str, agency_id: int, name: str, *, count_popularity: bool = False
) -> tuple[str, Any]:
    """(version, value or MISSING) in one round trip; ("", MISSING) when Redis is down.

    The version is ``{code}.{epoch}.{namespace version}``: the code version keeps releases apart
    (``keys.code_version``); the epoch moves when a process sees Redis again after an outage
    (bumps during the outage may have been lost), retiring every value."""
    version, value, _ = _read(area, agency_id, name, count_popularity=count_popularity)
    return version, value


def _read(
    area: str, agency_id: int, name: str, *, count_popularity: bool = False, lock_ms: int = 0
) -> tuple[str, Any, bool]:
    """``read``, and with ``lock_ms`` on a miss also try to take the compute lock for that
    version, in the same round trip: (version, value or MISSING, lock taken)."""
    client = _redis()
    if client is None:  # in-process cache (embedded mode)
        epoch = cache.get(EPOCH_KEY) or 0
        version = f"{code_version()}.{epoch}.{cache.get(ns_key(area, agency_id)) or 0}"
        raw = cache.get(versioned_key(area, agency_id, name, version), MISSING)
        return version, raw, False
    prefix = cache.make_key(versioned_key(area, agency_id, name, ""))
    lock_prefix = cache.make_key(lock_key(area, agency_id, name, "")) if lock_ms else ""
    try:
        version_raw, raw, owner = lua(client, _READ)(
            keys=[
                cache.make_key(ns_key(area, agency_id)),
                cache.make_key(stats_key(area)),
                cache.make_key(stats_key(f"{area}:agencies")),
                cache.make_key(EPOCH_KEY),
            ],
            args=[
                prefix,
                str(agency_id) if count_popularity else "",
                lock_prefix,
                lock_ms,
                code_version(),
            ],
        )
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        backend.note_error(exc, "versioned_read")
        return "", MISSING, False
    backend.note_success()
    value = MISSING if raw is None else pickle.loads(raw)  # noqa: S301 - our own Redis, our own values
    version = version_raw.decode() if isinstance(version_raw, bytes) else str(version_raw)
    return version, value, bool(owner)


def store(area: str, agency_id: int, name: str, version: str, value: Any, ttl: int) -> None:
    if not version:
        return
    client = _redis()
    key = versioned_key(area, agency_id, name, version)
    if client is None:
        cache.set(key, value, ttl)
        return
    try:
        client.set(cache.make_key(key), pickle.dumps(value, pickle.HIGHEST_PROTOCOL), ex=ttl)
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        backend.note_error(exc, "versioned_store")


def get_or_compute(
    area: str,
    agency_id: int,
    name: str,
    compute: Callable[[], T],
    *,
    ttl: int = 300,
    wait_s: float = 3.0,
    count_popularity: bool = False,
) -> T:
    lock_ms = int(max(wait_s, 5) * 1000 * 3)
    version, value, owner = _read(
        area, agency_id, name, count_popularity=count_popularity, lock_ms=lock_ms
    )
    if value is not MISSING:
        return value
    client = _redis()
    if client is None or not version or (backend.degraded(1.0) and not owner):
        # no Redis, or it failed a moment ago: compute rather than wait on another's lock
        result = compute()
        store(area, agency_id, name, version, result, ttl)
        return result
    lock = cache.make_key(lock_key(area, agency_id, name, version))
    if owner:  # this read took the lock (Redis answered): it is released with the store
        try:
            result = compute()
        except BaseException:
            with contextlib.suppress(redis.RedisError):
                client.delete(lock)
            raise
        pending = _batch.get()  # a batch the caller flushes, or our own flushed at once
        batch = pending if pending is not None else WriteBatch()
        batch.store(
            cache.make_key(versioned_key(area, agency_id, name, version)),
            pickle.dumps(result, pickle.HIGHEST_PROTOCOL),
            ttl,
        )
        batch.deletes.append(lock)
        if pending is None:  # store the value and release the lock in one round trip, now
            batch.flush(client)
        return result
    # Someone else is computing this value: wait briefly for it.
    deadline = time.monotonic() + wait_s
    key = cache.make_key(versioned_key(area, agency_id, name, version))
    while time.monotonic() < deadline:
        time.sleep(0.02)
        try:
            raw = client.get(key)
        except redis.RedisError:
            break
        if isinstance(raw, bytes):
            return pickle.loads(raw)  # noqa: S301
    log.warning("cache_wait_timeout", area=area, agency_id=agency_id, name=name)
    return compute()


_after_bump: list[Callable[[str, int], None]] = []


def on_bump(hook: Callable[[str, int], None]) -> None:
    """Called after a namespace version changes (warming registers here)."""
    _after_bump.append(hook)


def bump(area: str, agency_id: int) -> int:
    key = ns_key(area, agency_id)
    client = _redis()
    try:
        if client is None:
            version = cache.incr(key) if not cache.add(key, 1, None) else 1
        else:
            version = int(client.incr(cache.make_key(key)))
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        backend.note_error(exc, "bump")
        return -1
    for hook in list(_after_bump):
        try:
            hook(area, agency_id)
        except Exception:  # pragma: no cover
            log.exception("after_bump_hook_failed")
    return version


def bump_on_commit(agency_id: int, *areas: str) -> None:
    """Invalidate the agency's namespaces when (and only if) the current transaction commits.
    Registered once per transaction and agency, however many writes the transaction makes."""
    conn = transaction.get_connection()
    tag = (agency_id, areas)
    if conn.in_atomic_block and any(
        getattr(f, "_keja_bump", None) == tag for _, f, _ in conn.run_on_commit
    ):
        return

    def _do() -> None:
        for area in areas:
            bump(area, agency_id)

    _do._keja_bump = tag  # type: ignore[attr-defined]
    transaction.on_commit(_do)


AGENCY_AREAS = ("dash", "list", "http")


def invalidate_agency(agency_id: int) -> None:
    """Every committed write to an agency's business data moves its dashboard, list and HTTP
    caches to new versions (called by ``audit_record``, which every write service calls)."""
    bump_on_commit(agency_id, *AGENCY_AREAS)


def current_version(area: str, agency_id: int) -> int:
    client = _redis()
    try:
        if client is None:
            return int(cache.get(ns_key(area, agency_id)) or 0)
        raw = client.get(cache.make_key(ns_key(area, agency_id)))
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        backend.note_error(exc, "version")
        return -1
    return int(raw or 0)


def hit_stats() -> dict[str, dict[str, int]]:
    """Hit/miss counts per area (since the keys were created)."""
    client = _redis()
    if client is None:
        return {}
    out: dict[str, dict[str, int]] = {}
    try:
        for area in ("dash", "list", "http"):
            raw = client.hgetall(cache.make_key(stats_key(area)))
            hits = int(raw.get(b"hit", 0))
            misses = int(raw.get(b"miss", 0))
            out[area] = {"hit": hits, "miss": misses}
    except redis.RedisError as exc:
        backend.note_error(exc, "stats")
    return out


def popular_agencies(area: str = "dash", limit: int = 20) -> list[int]:
    client = _redis()
    if client is None:
        return []
    try:
        rows = client.zrevrange(cache.make_key(stats_key(f"{area}:agencies")), 0, limit - 1)
    except redis.RedisError:
        return []
    return [int(r) for r in rows]  # type: ignore[arg-type]


def new_epoch() -> None:
    """Retire every versioned value at once (after an outage); namespaces keep their versions."""
    client = _redis()
    try:
        if client is None:
            if not cache.add(EPOCH_KEY, 1, None):
                cache.incr(EPOCH_KEY)
        else:
            client.incr(cache.make_key(EPOCH_KEY))
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        backend.note_error(exc, "epoch")
