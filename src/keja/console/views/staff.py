"""Pages for platform staff only (``user.is_staff``): the cache statistics (P2.3).

The cache page shows what ``keja cache stats`` prints (hit/miss per area, keys per area, Redis
memory and eviction policy, whether the ORM cache is on) and the current agency's namespace
versions; its figures re-fetch every 10 s (HTMX polling of the same URL). One action: invalidate
the current agency's caches by bumping its namespaces — never a global flush."""

from __future__ import annotations

from typing import Any

import structlog
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from keja.console.views.base import actor_of, console_view, forbidden, navigate, page, wants_partial
from keja.platform.cache import info, versioned

log = structlog.get_logger("keja.cache")

EMPTY = "—"
KEYS_MAX_AGE = 30  # seconds a process reuses its key count (a SCAN of up to 200,000 keys)
STAFF_ONLY = "Only platform staff can see the cache statistics."
READ_AREAS = (
    ("dash", "Dashboard figures"),
    ("list", "List pages (console and API)"),
    ("http", "HTTP responses (ETags)"),
)
KEY_LABELS = {
    "dash": "Dashboard figures",
    "list": "List pages",
    "http": "HTTP responses",
    "auth": "API key lookups",
    "stats": "Statistics",
    "ns": "Namespace versions",
    "lock": "Compute and warm locks",
    "orm": "ORM cache (cachalot)",
    "sessions": "Console sessions",
    "other": "Other",
}
STATUS_TEXT = {
    "ok": "Redis is answering: cached reads are served from it and every committed write moves "
    "its agency's caches to a new version.",
    "degraded": "This web process saw Redis fail in the last 30 seconds: every read is a miss and "
    "is computed from PostgreSQL (slower, still correct) until Redis answers again.",
    "embedded": "No Redis is configured (REDIS_URL is empty): each process keeps its own "
    "in-process cache, so there are no shared hit counts, key counts or memory figures.",
}
STATUS_BADGE = {"ok": "active", "degraded": "failed", "embedded": "pending"}  # existing colours


def _n(value: Any) -> str:
    """An integer with thousands separators; a dash when there is none."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else EMPTY


def _bytes(value: Any) -> str:
    if not isinstance(value, int):
        return EMPTY
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return EMPTY  # pragma: no cover


def _memory(memory: dict[str, Any]) -> dict[str, str]:
    if "backend" in memory:
        text = "in-process cache (no Redis)"
        return {"state": "embedded", "used": text, "max": text, "policy": EMPTY}
    if "error" in memory:
        text = f"Redis did not answer ({memory['error']})"
        return {"state": "error", "used": text, "max": EMPTY, "policy": EMPTY}
    used = memory.get("used_memory")
    human = memory.get("used_memory_human")
    maxmemory = memory.get("maxmemory")
    return {
        "state": "ok",
        "used": f"{human or _bytes(used)} ({_n(used)} bytes)",
        "max": "no limit" if not maxmemory else f"{_bytes(maxmemory)} ({_n(maxmemory)} bytes)",
        "policy": str(memory.get("maxmemory_policy") or EMPTY),
    }


def cache_stats(agency_id: int) -> dict[str, Any]:
    """The figures the page shows, formatted (Redis only; no database query)."""
    summary = info.summary(with_keys=True, keys_max_age=KEYS_MAX_AGE)
    hits = summary.get("hits") or {}
    reads = []
    for area, label in READ_AREAS:
        hit = int(hits.get(area, {}).get("hit", 0))
        miss = int(hits.get(area, {}).get("miss", 0))
        total = hit + miss
        reads.append(
            {
                "area": area,
                "label": label,
                "hit": _n(hit),
                "miss": _n(miss),
                "rate": f"{hit * 100 / total:.1f}%" if total else EMPTY,
            }
        )
    keys = summary.get("keys") or {}
    key_rows = [
        {"area": area, "label": KEY_LABELS.get(area, area), "count": _n(count)}
        for area, count in keys.items()
    ]
    status = str(summary.get("status", "ok"))
    versions = []
    for area, label in READ_AREAS:
        version = versioned.current_version(area, agency_id)
        versions.append(
            {
                "area": area,
                "label": label,
                "version": f"v{_n(version)}" if version >= 0 else "unknown (Redis did not answer)",
            }
        )
    return {
        "status": status,
        "status_text": STATUS_TEXT.get(status, ""),
        "status_badge": STATUS_BADGE.get(status, "void"),
        "errors": _n(summary.get("errors", 0)),
        "reads": reads,
        "keys": key_rows,
        "keys_total": _n(sum(keys.values())),
        "memory": _memory(summary.get("memory") or {}),
        "orm_cache": bool(summary.get("orm_cache")),
        "versions": versions,
        "agency_id": agency_id,
    }


def _invalidate(request: HttpRequest) -> HttpResponse:
    """Bump the current agency's dash, list and http namespaces (an explicit operator action:
    right now, not on a transaction's commit). Readers move to new keys at once; old values age
    out by TTL. Bumping ``dash`` also queues the agency's dashboard warming (reports' hook)."""
    actor = actor_of(request)
    agency_id = actor.agency_id
    versions = {area: versioned.bump(area, agency_id) for area in versioned.AGENCY_AREAS}
    log.info(
        "cache_invalidated_by_staff",
        agency_id=agency_id,
        user=request.user.get_username(),
        versions=versions,
    )
    name = request.nav.agency_name  # type: ignore[attr-defined]
    if any(v < 0 for v in versions.values()):
        level = "error"
        message = f"Redis did not answer: the caches of {name} may not have been invalidated."
    else:
        level = "success"
        moved = ", ".join(f"{area} now v{_n(v)}" for area, v in versions.items())
        message = f"Caches of {name} invalidated: {moved}."
    if not wants_partial(request):  # post, redirect, get: the message shows on the page
        if level == "success":
            return navigate(request, reverse("console:staff_cache"), message)
        messages.error(request, message)
        return redirect("console:staff_cache")
    context = {**cache_stats(agency_id), "flash": message, "level": level}
    return page(request, "console/partials/staff_cache_stats.html", context)


@console_view()
@require_http_methods(["GET", "HEAD", "POST"])
def cache_page(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        return forbidden(request, STAFF_ONLY)
    if request.method == "POST":
        return _invalidate(request)
    context = cache_stats(actor_of(request).agency_id)
    if wants_partial(request):
        return page(request, "console/partials/staff_cache_stats.html", context)
    return page(request, "console/pages/staff_cache.html", context)
