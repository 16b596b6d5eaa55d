"""List pages from the per-agency versioned cache (P2.1 "list caching").

A keyset page of a list is cached under the agency's ``list`` namespace, keyed by the list's name
and everything that selects its rows: search, filters, ordering, cursor and page size (plus the
Nairobi date, for lists whose filters read "today"). Any committed write of the agency bumps the
namespace (``versioned.invalidate_agency``, via ``audit_record``), so a cached page is never older
than the last change; the rows do not depend on the reader's role, only on the agency.

What is stored is the ``Page`` itself (model instances with their annotations and
``select_related`` objects, pickled), so the view renders it exactly as a freshly queried page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any, TypeVar

import orjson
from django.conf import settings

from keja.kernel.clock import today_nairobi
from keja.platform.cache import versioned
from keja.platform.pagination import Page

LIST_TTL = 300
P = TypeVar("P", bound=Page[Any])


def list_key(
    name: str, params: Mapping[str, Any] | Iterable[tuple[str, Any]], today: date | None = None
) -> str:
    """``{name}:{digest of the sorted parameters and the (Nairobi) date}``."""
    pairs = params.items() if isinstance(params, Mapping) else params
    items = sorted((str(k), "" if v is None else str(v)) for k, v in pairs)
    day = (today or today_nairobi()).isoformat()
    digest = hashlib.sha256(orjson.dumps([name, items, day])).hexdigest()
    return f"{name}:{digest[:32]}"


def cached_page(
    *,
    agency_id: int,
    name: str,
    params: Mapping[str, Any] | Iterable[tuple[str, Any]],
    compute: Callable[[], P],
) -> P:
    """The page ``compute()`` returns, from the cache when this agency's list namespace holds it.
    ``compute`` may raise (a bad cursor, say): nothing is stored then."""
    if not settings.KEJA_RESPONSE_CACHES:
        return compute()
    return versioned.get_or_compute(
        "list", agency_id, list_key(name, params), compute, ttl=LIST_TTL
    )
