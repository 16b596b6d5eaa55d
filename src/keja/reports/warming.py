"""Dashboard warming (P2.1, P2.3): at web start-up and shortly after an invalidation, the
dashboards of the most active agencies are recomputed so admins rarely pay the cold cost.
Requests are debounced through Redis so a burst of writes causes one warm per agency."""

from __future__ import annotations

import dramatiq
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count

from keja.agencies.models import Agency
from keja.platform.cache import versioned
from keja.properties.models import Unit

WARM_LIMIT = 20
DEBOUNCE_S = 10


def most_active_agencies(limit: int = WARM_LIMIT) -> list[int]:
    popular = versioned.popular_agencies("dash", limit)
    if popular:
        return popular
    rows = (
        Unit.objects.across_agencies("rank agencies by size for warming")
        .values("agency_id")
        .annotate(n=Count("id"))
        .order_by("-n")[:limit]
    )
    return [r["agency_id"] for r in rows]


def warm_dashboards(agency_ids: list[int] | None = None) -> int:
    from keja.reports.selectors import dashboard_cached

    ids = agency_ids or most_active_agencies()
    existing = set(Agency.objects.filter(pk__in=ids).values_list("id", flat=True))
    for agency_id in ids:
        if agency_id in existing:
            dashboard_cached(actor=agency_id)
    return len(existing)


def _send(agency_ids: list[int] | None) -> None:
    dramatiq.get_broker().get_actor("reports_warm_dashboards").send(agency_ids)


def after_bump(area: str, agency_id: int) -> None:
    if area != "dash" or not settings.REDIS_URL:
        return
    if cache.add(f"lock:warm:dash:{agency_id}", 1, DEBOUNCE_S):
        _send([agency_id])


def request_startup_warm() -> None:
    if settings.REDIS_URL and cache.add("lock:warm:startup", 1, 60):
        _send(None)
