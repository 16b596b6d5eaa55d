"""Keyset pagination for list endpoints (P1.2, P7.1), on top of ``keja.platform.pagination``.

A list answers ``{"items": [...], "next_cursor": "…" | null, "next": "/api/v1/…?cursor=…" | null}``.
``limit`` is 1 … 100 (default 25); ``cursor`` is opaque and tied to the ``order`` it came from.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import models
from django.http import HttpRequest
from ninja import Field, Schema
from pydantic import create_model

from keja.kernel.errors import ValidationFailed
from keja.platform.api.types import MAX_ID, clean_text
from keja.platform.cache.lists import cached_page
from keja.platform.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, keyset_page

M = TypeVar("M", bound=models.Model)
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"


class ListQuery(Schema):
    """Common list parameters; each list adds its filters and an ``order`` choice."""

    limit: int = Field(
        DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Page size, 1 to {MAX_LIMIT}."
    )
    cursor: str | None = Field(
        None,
        min_length=1,
        max_length=512,
        pattern=CURSOR_PATTERN,
        description="Opaque cursor from a previous page's `next_cursor` (same `order`).",
    )


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The list answer schema ``{items: [item], next_cursor, next}`` named ``name``."""
    return create_model(
        name,
        __base__=Schema,
        __doc__=f"A page of {item.__name__} (keyset pagination).",
        items=(list[item], ...),  # type: ignore[valid-type]
        next_cursor=(
            str | None,
            Field(description="Pass as `cursor` to get the next page; null on the last page."),
        ),
        next=(
            str | None,
            Field(description="The next page's URL (same filters); null on the last page."),
        ),
    )


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed("The cursor is invalid or belongs to another ordering.", field="cursor")


def _check_value(field: models.Field[Any, Any], value: Any) -> None:
    """The cursor's value must fit the ordering column, or the database would refuse it."""
    ok: bool
    if isinstance(field, models.DateTimeField):
        ok = isinstance(value, datetime) and value.utcoffset() is not None
    elif isinstance(field, models.DateField):
        ok = isinstance(value, date) and not isinstance(value, datetime)
    elif isinstance(field, models.CharField | models.TextField):
        ok = isinstance(value, str) and len(value) <= 1000
        if ok:
            try:
                clean_text(value)
            except ValueError:
                ok = False
    elif isinstance(field, models.DecimalField):
        ok = isinstance(value, Decimal) and value.is_finite() and abs(value) < Decimal(10) ** 18
    elif isinstance(field, models.IntegerField):
        ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_ID
    else:
        ok = False
    if not ok:
        raise _bad_cursor()


def check_cursor(model: type[models.Model], order: str, cursor: str) -> None:
    _value, _pk = decode_cursor(cursor, order)
    name = order.lstrip("-")
    if name != "id":
        _check_value(model._meta.get_field(name), _value)  # type: ignore[arg-type]


def next_url(request: HttpRequest, next_cursor: str | None) -> str | None:
    if next_cursor is None:
        return None
    params = request.GET.copy()
    params["cursor"] = next_cursor
    return f"{request.path}?{params.urlencode()}"


def paginate(
    request: HttpRequest,
    qs: models.QuerySet[M],
    *,
    order: str,
    cursor: str | None,
    limit: int,
    cached: bool = True,
) -> dict[str, Any]:
    """One keyset page of ``qs`` as the list answer (items, next_cursor, next).

    The page comes from the agency's list cache (``platform.cache.lists``), keyed by the path and
    every query parameter (which are what ``qs`` was filtered by), unless ``cached`` is False:
    for lists whose rows change without an audited write (API keys' last use)."""
    if cursor:
        check_cursor(qs.model, order, cursor)
    agency_id = getattr(getattr(request, "auth", None), "agency_id", None)

    def compute() -> Page[M]:
        return keyset_page(qs, order=order, cursor=cursor, limit=limit)

    if cached and isinstance(agency_id, int):
        params: list[tuple[str, Any]] = [
            (k, v) for k in request.GET for v in request.GET.getlist(k)
        ]
        params += [("order", order), ("cursor", cursor), ("limit", limit)]
        page = cached_page(
            agency_id=agency_id, name=f"api{request.path}", params=params, compute=compute
        )
    else:
        page = compute()
    return {
        "items": page.items,
        "next_cursor": page.next_cursor,
        "next": next_url(request, page.next_cursor),
    }
