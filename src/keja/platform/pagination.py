"""Keyset (cursor) pagination (P1.2, P7.1): a page costs the same at row 100,000 as at row 1,
because the database seeks straight to the cursor on an index instead of counting past rows.

Lists order by one indexed field plus ``id`` as a tie-breaker; the cursor is an opaque,
URL-safe encoding of the last row's (value, id)."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

import orjson
from django.db import models
from django.db.models import Q

from keja.kernel.errors import ValidationFailed

MAX_LIMIT = 100
DEFAULT_LIMIT = 25
T = TypeVar("T", bound=models.Model)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    limit: int


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((kind, raw),) = value.items()
        if kind == "dt":
            return dt.datetime.fromisoformat(raw)
        if kind == "d":
            return dt.date.fromisoformat(raw)
        if kind == "n":
            return Decimal(raw)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    raise ValueError("bad cursor value")


def encode_cursor(order: str, value: Any, pk: int) -> str:
    raw = orjson.dumps([order, _encode(value), pk])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_order, value, pk = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if cursor_order != order or not isinstance(pk, int) or not 0 < pk < 2**63:
            raise ValueError
        return _decode(value), pk
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise ValidationFailed(
            "The cursor is invalid or belongs to another ordering.", field="cursor"
        ) from exc


def keyset_page(
    qs: models.QuerySet[T],
    *,
    order: str = "-id",
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[T]:
    """One page of ``qs`` ordered by ``order`` (a field name, ``-`` for descending), ties broken
    by id in the same direction. Fetches ``limit + 1`` rows to know whether a next page exists."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    descending = order.startswith("-")
    field = order.lstrip("-")
    if cursor:
        value, pk = decode_cursor(cursor, order)
        op = "lt" if descending else "gt"
        if field == "id":
            qs = qs.filter(**{f"id__{op}": pk})
        else:
            qs = qs.filter(Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"id__{op}": pk}))
    ordering = [order, "-id" if descending else "id"] if field != "id" else [order]
    rows = list(qs.order_by(*ordering)[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = encode_cursor(order, getattr(last, field), int(last.pk))
    return Page(items=rows, next_cursor=next_cursor, limit=limit)
