"""A Redis cache backend that never fails a request because Redis is down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import redis
import structlog
from django.core.cache.backends.redis import RedisCache

log = structlog.get_logger("keja.cache")

_state_lock = threading.Lock()
_state: dict[str, float] = {"last_error": 0.0, "errors": 0, "last_logged": 0.0}
_recovery_hooks: list[Callable[[], None]] = []
_in_error = threading.Event()


def on_recovery(hook: Callable[[], None]) -> None:
    """Run ``hook`` once Redis answers again after this process saw it fail (for example to
    invalidate caches whose invalidation may have been lost during the outage)."""
    _recovery_hooks.append(hook)


def degraded(window_s: float = 30.0) -> bool:
    """Whether this process saw a Redis failure in the last ``window_s`` seconds."""
    return _state["last_error"] > 0 and time.monotonic() - _state["last_error"] < window_s


def error_count() -> int:
    return int(_state["errors"])


def note_error(exc: BaseException, op: str) -> None:
    now = time.monotonic()
    with _state_lock:
        _state["last_error"] = now
        _state["errors"] += 1
        should_log = now - _state["last_logged"] > 10
        if should_log:
            _state["last_logged"] = now
    _in_error.set()
    if should_log:
        log.warning("cache_unavailable", op=op, error=f"{type(exc).__name__}: {exc}"[:200])


def note_success() -> None:
    if _in_error.is_set():
        _in_error.clear()
        log.info("cache_recovered")
        for hook in list(_recovery_hooks):
            try:
                hook()
            except Exception:  # pragma: no cover
                log.exception("cache_recovery_hook_failed")


def _guard(default: Any, op: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: ResilientRedisCache, *args: Any, **kwargs: Any) -> Any:
            try:
                result = method(self, *args, **kwargs)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                note_error(exc, op)
                return default(*args, **kwargs) if callable(default) else default
            if _in_error.is_set():
                note_success()
            return result

        wrapper.__name__ = method.__name__
        return wrapper

    return decorator


class ResilientRedisCache(RedisCache):
    """Reads miss and writes are dropped while Redis is unreachable; nothing raises."""

    @_guard(lambda key, default=None, version=None: default, "get")
    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return super().get(key, default, version)

    @_guard(None, "set")
    def set(self, *args: Any, **kwargs: Any) -> None:
        super().set(*args, **kwargs)

    @_guard(False, "add")
    def add(self, *args: Any, **kwargs: Any) -> bool:
        return bool(super().add(*args, **kwargs))

    @_guard(False, "touch")
    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return bool(super().touch(*args, **kwargs))

    @_guard(False, "delete")
    def delete(self, *args: Any, **kwargs: Any) -> bool:
        return bool(super().delete(*args, **kwargs))

    @_guard(lambda *a, **k: {}, "get_many")
    def get_many(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        return super().get_many(*args, **kwargs)

    @_guard(False, "has_key")
    def has_key(self, *args: Any, **kwargs: Any) -> bool:
        return super().has_key(*args, **kwargs)

    @_guard(lambda *a, **k: [], "set_many")
    def set_many(self, *args: Any, **kwargs: Any) -> list[Any]:
        return super().set_many(*args, **kwargs)

    @_guard(None, "delete_many")
    def delete_many(self, *args: Any, **kwargs: Any) -> None:
        super().delete_many(*args, **kwargs)

    def raw_client(self, *, write: bool = True) -> redis.Redis:
        # Django builds a new redis.Redis around the pool on every call (a noticeable share of a
        # cached request): keep one per backend instance and mode (clients are thread-safe).
        clients: dict[bool, redis.Redis] = self.__dict__.setdefault("_keja_clients", {})
        client = clients.get(write)
        if client is None:
            client = clients[write] = getattr(self, "_cache").get_client(write=write)  # noqa: B009
        return client
