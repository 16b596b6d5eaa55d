"""The Daraja circuit breaker, shared by every process (P6.1).

pybreaker's ``CircuitBreaker`` keeps the state machine (closed → open after ``fail_max``
consecutive failures → half-open after ``reset_timeout`` → closed on a successful probe); its
state lives in Redis (``CircuitRedisStorage``, keys under this run's cache prefix), so when one
web or worker process finds Daraja down, every process stops calling it. Without ``REDIS_URL``
(the embedded mode) the state is in memory.

pybreaker's ``call()`` holds a process-wide lock for the whole guarded call, which would let one
process talk to Daraja one request at a time. So the HTTP call runs outside the breaker and its
outcome is *replayed* through ``CircuitBreaker.call`` (a no-op that returns or raises): the
transitions, counters and listeners stay pybreaker's own. After the cool-down, exactly one
caller across all processes (a Redis ``SET NX`` token) makes the probe; the others are refused
until it answers.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pybreaker
import redis
import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from keja.payments import metrics
from keja.payments.adapters.errors import DarajaCircuitOpen
from keja.payments.adapters.gateway import BreakerSnapshot

log = structlog.get_logger(__name__)
STATES = (pybreaker.STATE_CLOSED, pybreaker.STATE_HALF_OPEN, pybreaker.STATE_OPEN)


class _TolerantRedisStorage(pybreaker.CircuitRedisStorage):
    """pybreaker's Redis storage, except that creating it while Redis is down does not raise
    (reads then fall back to "closed", as pybreaker does for every later Redis error)."""

    def _initialize_redis_state(self, state: str) -> None:
        try:
            super()._initialize_redis_state(state)
        except redis.RedisError:
            log.warning("mpesa_breaker_redis_unavailable")


class _Listener(pybreaker.CircuitBreakerListener):
    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        metrics.BREAKER_TRANSITIONS.labels(new_state.name).inc()
        log.warning(
            "mpesa_breaker_state",
            breaker=cb.name,
            old=old_state.name if old_state else None,
            new=new_state.name,
        )


class _Outcome(Exception):
    """Carries a failure into pybreaker's bookkeeping."""


def _replay(failure: BaseException | None) -> None:
    if failure is not None:
        raise _Outcome(str(failure)) from failure


class SharedBreaker:
    def __init__(
        self,
        name: str,
        *,
        fail_max: int,
        reset_timeout: float,
        redis_url: str = "",
        namespace: str = "",
    ) -> None:
        self.name = name
        self._reset_timeout = reset_timeout
        self._redis: redis.Redis | None = None
        self._probe_key = f"{namespace}:probe"
        self._local_probe_until = 0.0
        self._local_lock = threading.Lock()
        storage: pybreaker.CircuitBreakerStorage
        if redis_url:
            self._redis = redis.Redis.from_url(
                redis_url,
                socket_connect_timeout=1.0,
                socket_timeout=1.0,
                health_check_interval=30,
                max_connections=20,
            )
            storage = _TolerantRedisStorage(
                pybreaker.STATE_CLOSED, self._redis, namespace=namespace
            )
        else:
            storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
        self._storage = storage
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            state_storage=storage,
            listeners=[_Listener()],
            name=name,
            throw_new_error_on_trip=False,
        )

    # --- guarding a call ----------------------------------------------------------------------
    def before_call(self) -> bool:
        """Raise ``DarajaCircuitOpen`` if Daraja must not be called now. Returns True when this
        call is the probe after a cool-down (its outcome closes or re-opens the circuit)."""
        state = self._breaker.current_state
        if state == pybreaker.STATE_CLOSED:
            return False
        if state == pybreaker.STATE_OPEN:
            remaining = self._cooldown_remaining()
            if remaining > 0:
                self._refuse(remaining)
        if self._claim_probe():
            return True
        self._refuse(self._reset_timeout)
        raise AssertionError("unreachable")  # pragma: no cover

    def record_success(self, *, probe: bool = False) -> None:
        self._record(None, probe)

    def record_failure(self, error: BaseException, *, probe: bool = False) -> None:
        self._record(error, probe)

    def _record(self, failure: BaseException | None, probe: bool) -> None:
        try:
            self._breaker.call(_replay, failure)
        except (_Outcome, pybreaker.CircuitBreakerError):
            pass  # the caller raises its own error; open-state refusals are not counted
        finally:
            if probe:
                self._release_probe()

    def _refuse(self, retry_after: float) -> None:
        metrics.DARAJA_REQUESTS.labels("any", "circuit_open").inc()
        raise DarajaCircuitOpen(
            "M-Pesa is unavailable right now (circuit open); try again shortly.",
            retry_after=round(max(retry_after, 1.0), 1),
        )

    def _cooldown_remaining(self) -> float:
        opened_at = self._storage.opened_at
        if opened_at is None:
            return 0.0
        return self._reset_timeout - (datetime.now(UTC) - opened_at).total_seconds()

    def _claim_probe(self) -> bool:
        ttl = max(int(self._reset_timeout), 5)
        if self._redis is not None:
            try:
                return bool(self._redis.set(self._probe_key, "1", nx=True, ex=ttl))
            except redis.RedisError:
                return True  # cannot coordinate: let this process probe
        with self._local_lock:
            now = time.monotonic()
            if now < self._local_probe_until:
                return False
            self._local_probe_until = now + ttl
            return True

    def _release_probe(self) -> None:
        if self._redis is not None:
            with contextlib.suppress(redis.RedisError):
                self._redis.delete(self._probe_key)
        else:
            with self._local_lock:
                self._local_probe_until = 0.0

    # --- operations and reporting --------------------------------------------------------------
    def reset(self) -> None:
        """Close the circuit (operators, tests)."""
        self._breaker.close()
        self._storage.reset_counter()
        self._release_probe()

    def snapshot(self) -> BreakerSnapshot:
        opened_at = self._storage.opened_at
        return BreakerSnapshot(
            name=self.name,
            state=self._breaker.current_state,
            fail_counter=self._breaker.fail_counter,
            fail_max=self._breaker.fail_max,
            reset_timeout_s=self._reset_timeout,
            opened_at=opened_at.isoformat() if opened_at else None,
            storage=self._storage.name,
        )

    @property
    def state(self) -> str:
        return str(self._breaker.current_state)


class BreakerCollector(Collector):
    """``keja_mpesa_breaker_state{state}`` (1 for the current state) and the failure counter,
    read from the shared storage at scrape time."""

    def __init__(self, get_breaker: Any) -> None:
        self._get_breaker = get_breaker

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The metric names, without reading the breaker (Redis) when the collector is
        registered."""
        yield GaugeMetricFamily(
            "keja_mpesa_breaker_state", "Daraja circuit breaker state.", labels=["state"]
        )
        yield GaugeMetricFamily("keja_mpesa_breaker_failures", "Daraja breaker failures.")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            snap: BreakerSnapshot = self._get_breaker().snapshot()
        except Exception:  # a scrape never fails because of the breaker
            return
        family = GaugeMetricFamily(
            "keja_mpesa_breaker_state",
            "Daraja circuit breaker state (1 for the current one), shared by all processes.",
            labels=["state"],
        )
        for state in STATES:
            family.add_metric([state], 1.0 if snap.state == state else 0.0)
        yield family
        yield GaugeMetricFamily(
            "keja_mpesa_breaker_failures",
            "Consecutive Daraja failures counted by the circuit breaker.",
            value=snap.fail_counter,
        )
