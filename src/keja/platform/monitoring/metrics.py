"""Prometheus metrics. Each process exposes its own registry at ``/metrics`` (scraped per pod);
the pool collector reads this process's pool statistics at scrape time."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from keja.platform.db.pool import pool_stats


class DbPoolCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = pool_stats()
        if stats is None:
            return
        for key in (
            "pool_min",
            "pool_max",
            "pool_size",
            "pool_available",
            "requests_waiting",
            "requests_num",
            "requests_queued",
            "requests_wait_ms",
            "requests_errors",
            "connections_num",
            "connections_errors",
            "connections_lost",
        ):
            yield GaugeMetricFamily(
                f"keja_db_{key}", f"psycopg pool statistic {key}", value=stats[key]
            )


_registered = False


def register_collectors() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(DbPoolCollector())
        _registered = True


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.KEJA_HEALTH_TOKEN
    given = request.headers.get("X-Health-Token", "")
    user = getattr(request, "user", None)
    allowed = (token and given and hmac.compare_digest(token.encode(), given.encode())) or (
        user is not None and user.is_authenticated and user.is_staff
    )
    if not allowed:
        return HttpResponse(
            "metrics need staff or X-Health-Token", status=403, content_type="text/plain"
        )
    register_collectors()
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
