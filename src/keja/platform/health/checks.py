"""Dependency checks for the health endpoints (P3.4). Each check is bounded by a short timeout
and runs in its own thread, so a hung dependency can never hang a probe."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from django.db import connections

from keja.platform.jobs.broker import broker_is_embedded


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # "ok" | "fail" | "embedded"
    latency_ms: float
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.status != "fail"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_executor = ThreadPoolExecutor(max_workers=6, thread_name_prefix="keja-health")
_migrations_ok = False


@lru_cache(maxsize=4)
def _redis_client(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry_on_timeout=False,
        health_check_interval=0,
        max_connections=4,
    )


def _check_database() -> str:
    conn = connections["default"]
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        conn.close()  # this thread's connection goes back to the pool
    return "ok"


def _check_redis() -> str:
    if not settings.REDIS_URL:
        return "embedded"
    _redis_client(settings.REDIS_URL, settings.KEJA_HEALTH_TIMEOUT).ping()
    return "ok"


def _check_broker() -> str:
    if broker_is_embedded():
        return "embedded"
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker

    broker = dramatiq.get_broker()
    assert isinstance(broker, RedisBroker)
    broker.client.ping()
    return "ok"


def _check_migrations() -> str:
    global _migrations_ok
    if _migrations_ok:
        return "ok"
    from django.db.migrations.executor import MigrationExecutor

    conn = connections["default"]
    try:
        executor = MigrationExecutor(conn)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    finally:
        conn.close()
    if plan:
        raise RuntimeError(f"{len(plan)} migration(s) not applied")
    _migrations_ok = True
    return "ok"


CHECKS: dict[str, Callable[[], str]] = {
    "database": _check_database,
    "redis": _check_redis,
    "broker": _check_broker,
    "migrations": _check_migrations,
}


def _timed(name: str, fn: Callable[[], str]) -> CheckResult:
    started = time.perf_counter()
    try:
        status = fn()
        error = None
    except Exception as exc:
        status, error = "fail", f"{type(exc).__name__}: {exc}"[:300]
    return CheckResult(name, status, round((time.perf_counter() - started) * 1000, 2), error)


def run_checks(names: list[str], timeout: float | None = None) -> list[CheckResult]:
    limit = settings.KEJA_HEALTH_TIMEOUT if timeout is None else timeout
    futures = {name: _executor.submit(_timed, name, CHECKS[name]) for name in names}
    results = []
    for name, future in futures.items():
        try:
            results.append(future.result(timeout=limit + 0.5))
        except FutureTimeout:
            results.append(CheckResult(name, "fail", round(limit * 1000, 2), "timed out"))
    return results
