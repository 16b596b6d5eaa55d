"""Retrying a whole transaction when PostgreSQL reports a deadlock or serialization failure
(P5.2). The function must open its own transaction (the retry re-runs it from the start)."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import structlog
from django.db import OperationalError, connection

log = structlog.get_logger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) or getattr(exc, "sqlstate", None)


def retry_on_conflict(
    attempts: int = 5, base_delay: float = 0.02
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorator(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for attempt in range(1, attempts + 1):
                try:
                    return fn(*args, **kwargs)
                except OperationalError as exc:
                    if (
                        _sqlstate(exc) not in RETRYABLE_SQLSTATES
                        or attempt == attempts
                        or connection.in_atomic_block
                    ):
                        raise
                    delay = base_delay * 2 ** (attempt - 1) * (0.5 + random.random())
                    log.warning(
                        "db_retry",
                        function=fn.__name__,
                        attempt=attempt,
                        sqlstate=_sqlstate(exc),
                        delay_ms=round(delay * 1000, 1),
                    )
                    time.sleep(delay)
            raise AssertionError("unreachable")  # pragma: no cover

        return wrapper

    return decorator


class StaleWrite(Exception):
    """An optimistic version check failed: someone changed the row since it was read."""
