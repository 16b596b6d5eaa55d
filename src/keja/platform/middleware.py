"""Request context: a request id (accepted from and returned in ``X-Request-ID``), and the
agency and user bound to every log line written while the request is handled.

Every response also says how long the application took (``Server-Timing: app;dur=<ms>``, from
the first middleware in to its way out: everything but the HTTP server and the network), with
the database's share added by the query log (``db;dur=<ms>;desc="<n> queries"``); browsers'
developer tools and API clients read it. ``KEJA_SERVER_TIMING=false`` leaves it out."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse

log = structlog.get_logger("keja.request")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
        response["X-Request-ID"] = request_id
        if settings.KEJA_SERVER_TIMING:
            add_server_timing(response, f"app;dur={elapsed_ms:.2f}")
        if not request.path.startswith("/health/"):
            log.info(
                "request",
                method=request.method,
                path=request.path,
                status=response.status_code,
                duration_ms=round(elapsed_ms, 2),
            )
        structlog.contextvars.clear_contextvars()
        return response


class UserContextMiddleware:
    """Binds the user (and the agency, once known) to the log context. Runs after auth."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            structlog.contextvars.bind_contextvars(user_id=user.pk)
        agency_id = request.session.get("agency_id") if hasattr(request, "session") else None
        if agency_id:
            structlog.contextvars.bind_contextvars(agency_id=agency_id)
        return self.get_response(request)


def add_server_timing(response: HttpResponse, metric: str) -> None:
    """Append one metric to the response's ``Server-Timing`` header."""
    previous = response.get("Server-Timing")
    response["Server-Timing"] = f"{previous}, {metric}" if previous else metric


def bind_agency(agency_id: int) -> None:
    """Called by the auth layers once the request's agency is resolved."""
    structlog.contextvars.bind_contextvars(agency_id=agency_id)
