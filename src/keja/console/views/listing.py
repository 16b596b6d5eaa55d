"""One view serves a list's full page and its partial (the NetBox pattern): search, filters and
sort come from the query string (so the URL is the state: reload, back and shared links work),
and rows come one keyset page at a time (``keyset_page``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from keja.console.views.base import actor_of, page, wants_partial
from keja.kernel.errors import ValidationFailed
from keja.platform.cache.lists import cached_page
from keja.platform.pagination import Page, keyset_page

PAGE_SIZE = 25
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Filter:
    name: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    kind: str = "select"  # "select", or "month" (YYYY-MM, parsed to the month's first day)


@dataclass(frozen=True)
class Sort:
    key: str
    label: str
    order: str  # a keyset_page order: an indexed field, "-" for descending


@dataclass(frozen=True)
class ListSpec:
    title: str
    url_name: str
    page_template: str
    table_template: str
    sorts: tuple[Sort, ...]
    filters: tuple[Filter, ...] = ()
    search_label: str = "Search"
    search_hint: str = ""


@dataclass(frozen=True)
class FilterState:
    filter: Filter
    value: str


Rows = Callable[[str, dict[str, Any]], "QuerySet[Any]"]


def parse_month(raw: str) -> date | None:
    match = _MONTH.match(raw)
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    return date(year, month, 1) if 2000 <= year <= 2100 and 1 <= month <= 12 else None


def list_response(
    request: HttpRequest,
    spec: ListSpec,
    rows: Rows,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """Render ``spec``'s list. ``rows(q, filters)`` returns the filtered query set."""
    q = request.GET.get("q", "").strip()[:100]
    states: list[FilterState] = []
    parsed: dict[str, Any] = {}
    for f in spec.filters:
        raw = request.GET.get(f.name, "").strip()
        value: Any = None
        if f.kind == "month":
            value = parse_month(raw)
        elif raw in dict(f.choices):
            value = raw
        if value is not None:
            parsed[f.name] = value
        states.append(FilterState(filter=f, value=raw if value is not None else ""))
    sorts = {s.key: s for s in spec.sorts}
    sort = sorts.get(request.GET.get("sort", ""), spec.sorts[0])
    cursor = request.GET.get("cursor") or None
    agency_id = actor_of(request).agency_id

    def fetch(cursor: str | None) -> Page[Model]:
        # cached per agency, list, search, filters, sort and cursor (P2.1 list caching); the
        # query set is only built on a miss
        def compute() -> Page[Model]:
            queryset: QuerySet[Model] = rows(q, dict(parsed))  # rows() may pop filters
            return keyset_page(queryset, order=sort.order, cursor=cursor, limit=PAGE_SIZE)

        params = {"q": q, **parsed, "sort": sort.key, "cursor": cursor, "limit": PAGE_SIZE}
        return cached_page(agency_id=agency_id, name=spec.url_name, params=params, compute=compute)

    notice = ""
    try:
        result = fetch(cursor)
    except ValidationFailed:
        result = fetch(None)
        cursor = None
        notice = "That page link no longer fits this list; showing the first page."
    context = {
        "spec": spec,
        "page": result,
        "rows": result.items,
        "q": q,
        "filters": states,
        "sort": sort.key,
        "cursor": cursor,
        "list_url": reverse(spec.url_name),
        "notice": notice,
        "filtered": bool(q or parsed),
        **(extra or {}),
    }
    template = spec.table_template if wants_partial(request) else spec.page_template
    return page(request, template, context)
