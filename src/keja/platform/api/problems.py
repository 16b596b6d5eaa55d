"""RFC 9457 problem details: every error the API answers, in one shape, mapped in one place.

``DomainError`` subclasses (kernel/errors.py) keep their status (422, 404, 409, 403, 400); request
validation errors become 422 with one entry per field; missing or bad credentials 401; anything
unexpected 500 (logged with the request id, never the traceback in the answer). The body is
``application/problem+json``::

    {"type": "urn:keja:problem:not_found", "title": "Not found", "status": 404,
     "detail": "Lease not found.", "code": "not_found", "request_id": "…", "errors": []}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import structlog
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from keja.kernel.errors import DomainError
from keja.platform.api.renderers import dumps

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = structlog.get_logger("keja.api")

_TITLES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("permission_denied", "Permission denied"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    422: ("validation_failed", "Validation failed"),
    429: ("rate_limited", "Too many requests"),
    500: ("internal_error", "Internal error"),
    502: ("bad_gateway", "Bad gateway"),
    503: ("unavailable", "Service unavailable"),
}


class FieldError(Schema):
    field: str
    message: str


class Problem(Schema):
    """An error answer (RFC 9457). ``code`` is stable and meant for programs; ``detail`` is for
    people; ``errors`` lists the fields at fault, if any."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str
    errors: list[FieldError]


READ_ERRORS = (400, 401, 403, 422, 429)
DETAIL_ERRORS = (400, 401, 403, 404, 422, 429)
WRITE_ERRORS = (400, 401, 403, 404, 409, 422, 429)


def problem_responses(codes: Iterable[int] = WRITE_ERRORS) -> dict[int, Any]:
    """The error part of an operation's ``response={...}``: each status answers a Problem."""
    return dict.fromkeys(codes, Problem)


def problem(
    request: HttpRequest,
    status: int,
    detail: str,
    *,
    code: str | None = None,
    title: str | None = None,
    errors: Sequence[dict[str, str]] = (),
) -> HttpResponse:
    default_code, default_title = _TITLES.get(status, ("error", "Error"))
    code = code or default_code
    body = {
        "type": f"urn:keja:problem:{code}",
        "title": title or default_title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": str(getattr(request, "request_id", "")),
        "errors": list(errors),
    }
    return HttpResponse(dumps(body), status=status, content_type=PROBLEM_MEDIA_TYPE)


def _field_of(loc: Sequence[Any]) -> str:
    """``("body", "payload", "amount")`` → ``amount``; ``("query", "limit")`` → ``limit``."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form", "file"}:
        source = parts.pop(0)
        if source == "body" and len(parts) > 1:
            parts.pop(0)  # the name of the view's body parameter
    return ".".join(parts) or "request"


def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    errors = [{"field": exc.field, "message": exc.detail}] if exc.field else []
    return problem(request, exc.status, exc.detail, code=exc.code, title=exc.title, errors=errors)


def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "field": _field_of(e.get("loc", ())),
            "message": str(e.get("msg", "invalid")).removeprefix("Value error, "),
        }
        for e in exc.errors
    ]
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    detail = f"Check these fields: {fields}." if fields else "The request is invalid."
    return problem(request, 422, detail, errors=errors)


def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    detail = exc.message
    if detail == "Unauthorized":
        detail = "Send an API key as 'Authorization: Bearer kj_…', or sign in to the console first."
    response = problem(request, 401, detail)
    response["WWW-Authenticate"] = 'Bearer realm="keja"'
    return response


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    response = problem(request, exc.status_code, exc.message)
    if isinstance(exc, Throttled) and exc.wait is not None:
        response["Retry-After"] = str(max(1, int(exc.wait)))
    return response


def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(request, 404, "Not found.")


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("api_unhandled_error", error=type(exc).__name__, path=request.path)
    return problem(
        request,
        500,
        "Something went wrong on our side. Quote the request id if you contact support.",
    )


def install_problem_handlers(api: NinjaAPI) -> None:
    """Route every exception an operation raises to a problem+json answer."""
    handlers: list[tuple[type[Exception], Any]] = [
        (DomainError, _domain_error),
        (ValidationError, _validation_error),
        (AuthenticationError, _authentication_error),
        (HttpError, _http_error),
        (Http404, _not_found),
        (Exception, _unexpected),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)


def not_found_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 handler: problem+json under /api/ (a path no route matches, such as a
    non-numeric id), the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return problem(request, 404, "No API operation or object at this path.", code="not_found")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Exception("not found"))
