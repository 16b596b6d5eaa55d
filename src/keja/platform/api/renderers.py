"""Fast JSON in and out (P7.1): orjson renders responses and parses request bodies.

Money (``Decimal``) is rendered as a string, never a float; timestamps as ISO 8601 in UTC with a
``Z`` suffix; dates as ``YYYY-MM-DD``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

import orjson
from django.http import HttpRequest
from ninja.parser import Parser
from ninja.renderers import BaseRenderer
from ninja.types import DictStrAny

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def utc_iso(value: datetime) -> str:
    """``2026-01-31T09:00:00Z``: an aware timestamp converted to UTC (naive ones are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def default(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=default, option=_OPTIONS)


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"
    charset = "utf-8"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return dumps(data)


class OrjsonParser(Parser):
    """Request bodies through orjson: invalid UTF-8, lone surrogates and integers beyond 64 bits
    are refused as malformed JSON (a 400) before any validation."""

    def parse_body(self, request: HttpRequest) -> DictStrAny:
        return cast(DictStrAny, orjson.loads(request.body))
