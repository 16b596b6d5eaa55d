"""Idempotent POSTs with Stripe's semantics (``Idempotency-Key``), for any ninja operation.

A client that may retry a request sends ``Idempotency-Key: <unique string>``:

* the first request runs and its answer (status and body) is kept for 24 hours;
* the same key with the same request (method, path, query, JSON body; per agency and per API key
  or user) answers the kept response again, with ``Idempotent-Replayed: true``; nothing runs twice;
* the same key with a different request answers 409 ``idempotency_key_reused``;
* while the first request is still running, a second one waits briefly for it and replays its
  answer, or answers 409 ``idempotency_in_progress`` if it takes longer.

Only answers below 500 are kept: after a server error the key is released and a retry runs again
(as after a lost connection). Requests without the header behave as usual.

Records live in PostgreSQL (``IdempotencyRecord``), not in the cache: Redis may evict what has
a TTL under memory pressure, and an evicted record would let a retried payment run twice. A
request claims its key with one ``INSERT … ON CONFLICT DO UPDATE … WHERE`` (free, expired, or
left "in progress" by a crashed worker for over ``LOCK_SECONDS``), committed at once, so
concurrent requests with one key produce exactly one object. A daily job deletes expired records.
Usage, under the router decorator::

    @router.post("/payments/stk-push", response={201: StkPushOut, **problem_responses()})
    @idempotent()
    def stk_push(request, payload: StkPushIn): ...
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import re
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, cast

import orjson
import structlog
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from ninja.decorators import decorate_view
from ninja.operation import Operation
from ninja.utils import contribute_operation_callback

from keja.kernel.errors import Conflict, DomainError
from keja.platform.models import IdempotencyRecord
from keja.platform.scoping import Actor

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL_SECONDS = 24 * 60 * 60
LOCK_SECONDS = 60  # an "in progress" marker outlives a crashed worker by at most this
WAIT_SECONDS = 5.0  # default of settings.KEJA_IDEMPOTENCY_WAIT_SECONDS
POLL_SECONDS = 0.05
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
_KEPT_HEADERS = ("Location",)
_ATTR = "_keja_idempotency"

F = TypeVar("F", bound=Callable[..., Any])
log = structlog.get_logger("keja.idempotency")


class _Claim:
    def __init__(self, slot: str, fingerprint: str, token: str, ttl: int) -> None:
        self.slot, self.fingerprint, self.token, self.ttl = slot, fingerprint, token, ttl


def _principal(actor: Actor) -> str:
    if actor.api_key_id is not None:
        return f"k{actor.api_key_id}"
    if actor.user_id is not None:
        return f"u{actor.user_id}"
    return "s" + hashlib.sha256(actor.label.encode()).hexdigest()[:16]


def slot_for(actor: Actor, key: str) -> str:
    """The identity of an idempotency record: per agency, per API key or user, per key."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"idem:{actor.agency_id}:{_principal(actor)}-{digest}"


def fingerprint(request: HttpRequest) -> str:
    """What makes two requests "the same": method, path, sorted query and the JSON body (keys
    sorted, so formatting does not matter; other bodies compare byte for byte)."""
    body = request.body
    with contextlib.suppress(orjson.JSONDecodeError, TypeError):
        body = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    query = sorted((k, v) for k in request.GET for v in request.GET.getlist(k))
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, repr(query)):
        digest.update(part.encode())
        digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.body), status=record.status or 200, content_type=record.content_type
    )
    for name, value in (record.headers or {}).items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


_CLAIM = f"""
INSERT INTO {IdempotencyRecord._meta.db_table}
  (slot, fingerprint, token, state, status, body, content_type, headers, locked_until, expires_at)
VALUES (%s, %s, %s, 'in_progress', NULL, %s, '', '{{}}', %s, %s)
ON CONFLICT (slot) DO UPDATE SET
  fingerprint = EXCLUDED.fingerprint, token = EXCLUDED.token, state = 'in_progress',
  status = NULL, body = EXCLUDED.body, content_type = '', headers = '{{}}',
  locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at
WHERE {IdempotencyRecord._meta.db_table}.expires_at < %s
   OR ({IdempotencyRecord._meta.db_table}.state = 'in_progress'
       AND {IdempotencyRecord._meta.db_table}.locked_until < %s)
RETURNING token"""  # noqa: S608 - the table name comes from the model


def _try_claim(slot: str, fp: str, token: str) -> bool:
    adapt = connection.ops.adapt_datetimefield_value  # as the ORM stores them (SQLite: text)
    now = timezone.now()
    lock = adapt(now + timedelta(seconds=LOCK_SECONDS))
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_CLAIM, [slot, fp, token, b"", lock, lock, adapt(now), adapt(now)])
        row = cur.fetchone()
    return row is not None and row[0] == token


def _claim_or_replay(slot: str, fp: str, *, ttl: int, wait: float) -> _Claim | HttpResponse:
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    while True:
        if _try_claim(slot, fp, token):
            return _Claim(slot, fp, token, ttl)
        record = IdempotencyRecord.objects.filter(slot=slot).first()
        if record is None:  # released between the two statements: claim again
            continue
        if record.fingerprint != fp:
            raise Conflict(
                f"This {HEADER} was already used for a different request (method, path or "
                "body). Use a new key for a new request.",
                code="idempotency_key_reused",
                field=HEADER,
            )
        if record.state == "done":
            return _replay(record)
        if time.monotonic() >= deadline:
            raise Conflict(
                f"A request with this {HEADER} is still in progress; retry in a moment.",
                code="idempotency_in_progress",
                field=HEADER,
            )
        time.sleep(POLL_SECONDS)


def _release(claim: _Claim) -> None:
    with transaction.atomic():
        IdempotencyRecord.objects.filter(slot=claim.slot, token=claim.token).delete()


def _store(claim: _Claim, response: HttpResponseBase) -> None:
    if response.status_code >= 500 or response.streaming or not isinstance(response, HttpResponse):
        _release(claim)
        return
    with transaction.atomic():
        IdempotencyRecord.objects.filter(slot=claim.slot, token=claim.token).update(
            state="done",
            status=response.status_code,
            body=response.content,
            content_type=response.get("Content-Type", "application/json"),
            headers={h: response[h] for h in _KEPT_HEADERS if response.has_header(h)},
            expires_at=timezone.now() + timedelta(seconds=claim.ttl),
        )


def clear_expired() -> int:
    """Delete the records whose time is up (the daily job)."""
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted


def _finish(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wraps the whole operation (auth, validation, view, rendering): stores the final answer."""

    @functools.wraps(run)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = run(request, *args, **kwargs)
        except BaseException:
            claim = getattr(request, _ATTR, None)
            if claim is not None:
                _release(claim)
            raise
        claim = getattr(request, _ATTR, None)
        if claim is not None:
            _store(claim, response)
            delattr(request, _ATTR)
        return response

    return wrapped


def _document(operation: Operation) -> None:
    extra: dict[str, Any] = dict(operation.openapi_extra or {})
    extra["parameters"] = [
        *extra.get("parameters", []),
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "description": "A unique key (1-255 printable ASCII characters) that makes a retry "
            "of this request safe: the first answer is replayed for 24 hours.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        },
    ]
    responses = dict(extra.get("responses", {}))
    for status in operation.response_models:
        if isinstance(status, int) and 200 <= status < 300:
            responses[status] = {
                "headers": {
                    REPLAYED_HEADER: {
                        "description": "`true` when this answer replays an earlier request "
                        "with the same Idempotency-Key.",
                        "schema": {"type": "string", "enum": ["true"]},
                    }
                }
            }
    extra["responses"] = responses
    operation.openapi_extra = extra


def _wait_seconds() -> float:
    return float(getattr(settings, "KEJA_IDEMPOTENCY_WAIT_SECONDS", WAIT_SECONDS))


def idempotent(*, ttl: int | None = None, wait: float | None = None) -> Callable[[F], F]:
    """Make a ninja operation honour ``Idempotency-Key`` (put it under ``@router.post``).

    ``ttl`` (seconds a finished answer is kept) and ``wait`` (seconds a concurrent request waits
    for the first one) default to ``TTL_SECONDS`` and ``KEJA_IDEMPOTENCY_WAIT_SECONDS``."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            raw = request.headers.get(HEADER)
            if raw is None:
                return view(request, *args, **kwargs)
            if not _KEY.match(raw):
                raise DomainError(
                    f"{HEADER} must be 1 to 255 printable ASCII characters without spaces.",
                    field=HEADER,
                    code="invalid_idempotency_key",
                )
            actor = getattr(request, "auth", None)
            if not isinstance(actor, Actor):  # pragma: no cover - auth always runs first
                return view(request, *args, **kwargs)
            outcome = _claim_or_replay(
                slot_for(actor, raw),
                fingerprint(request),
                ttl=TTL_SECONDS if ttl is None else ttl,
                wait=_wait_seconds() if wait is None else wait,
            )
            if isinstance(outcome, HttpResponse):
                log.info("idempotent_replay", status=outcome.status_code)
                return outcome
            setattr(request, _ATTR, outcome)
            return view(request, *args, **kwargs)

        # ninja resolves string annotations in the wrapper's module: hand it the view's own
        # resolved signature instead (the view's module may use `from __future__ import annotations`).
        wrapper.__signature__ = inspect.signature(view, eval_str=True)  # type: ignore[attr-defined]
        decorate_view(_finish)(wrapper)
        contribute_operation_callback(wrapper, _document)
        return cast(F, wrapper)

    return decorator
