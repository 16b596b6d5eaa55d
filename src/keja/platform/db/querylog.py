"""Query execution times per request (P1.2, P3.2).

``QueryLogMiddleware`` wraps every database cursor execution made while a request is handled
(``connection.execute_wrapper``) and logs, once per request, how many queries ran and their total
time (``db_queries``; the request id and agency come from the log context). Each query slower than
``KEJA_SLOW_QUERY_MS`` (default 1000 ms) is logged on its own as ``slow_query`` with its SQL
(parameters are not logged: they may hold personal data).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import structlog
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

from keja.platform.middleware import add_server_timing

log = structlog.get_logger("keja.db.queries")
DEFAULT_SLOW_MS = 1000.0
_MAX_SQL = 2000


class QueryStats:
    """An execute wrapper that counts and times queries (usable on its own in scripts)."""

    def __init__(self, slow_ms: float = DEFAULT_SLOW_MS) -> None:
        self.count = 0
        self.total_ms = 0.0
        self.slow = 0
        self.slow_ms = slow_ms

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.count += 1
            self.total_ms += elapsed_ms
            if elapsed_ms >= self.slow_ms:
                self.slow += 1
                log.warning(
                    "slow_query",
                    duration_ms=round(elapsed_ms, 2),
                    sql=str(sql)[:_MAX_SQL],
                    alias=context["connection"].alias if "connection" in context else None,
                )


class QueryLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        stats = QueryStats(float(getattr(settings, "KEJA_SLOW_QUERY_MS", DEFAULT_SLOW_MS)))
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(stats))
            response = self.get_response(request)
        if stats.count:
            if settings.KEJA_SERVER_TIMING:
                noun = "query" if stats.count == 1 else "queries"
                add_server_timing(
                    response, f'db;dur={stats.total_ms:.2f};desc="{stats.count} {noun}"'
                )
            log.info(
                "db_queries",
                path=request.path,
                count=stats.count,
                total_ms=round(stats.total_ms, 2),
                slow=stats.slow,
            )
        return response
