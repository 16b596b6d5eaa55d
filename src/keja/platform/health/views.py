"""Kubernetes probes and the comprehensive health report (P3.4).

- ``/health/live``: the process answers; checks no dependency.
- ``/health/ready``: PostgreSQL, Redis and the broker answer within a short timeout; 503 names
  what failed.
- ``/health/startup``: migrations are applied.
- ``/health``: every dependency's status and latency, pool statistics, version and uptime, and
  the sections business contexts register (extras.py, e.g. ``mpesa_breaker``); details only for
  staff or with ``X-Health-Token`` (``KEJA_HEALTH_TOKEN``).
"""

from __future__ import annotations

import hmac
import os
import platform
import time

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

import keja
from keja.platform.cache import backend as cache_backend
from keja.platform.cache import info as cache_info
from keja.platform.db.pool import pool_stats
from keja.platform.health.checks import CheckResult, run_checks
from keja.platform.health.extras import extra_reports

STARTED_AT = time.time()


def _answer(results: list[CheckResult], *, details: bool = True) -> JsonResponse:
    failed = [r.name for r in results if not r.healthy]
    body: dict[str, object] = {"status": "fail" if failed else "ok"}
    if failed:
        body["failed"] = failed
    if details:
        body["checks"] = {r.name: r.as_dict() for r in results}
    return JsonResponse(body, status=503 if failed else 200)


@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    return _answer(run_checks(["database", "redis", "broker"]))


@never_cache
@require_GET
def startup(request: HttpRequest) -> JsonResponse:
    return _answer(run_checks(["database", "migrations"]))


def _may_see_details(request: HttpRequest) -> bool:
    token = settings.KEJA_HEALTH_TOKEN
    given = request.headers.get("X-Health-Token", "")
    if token and given and hmac.compare_digest(token.encode(), given.encode()):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)


@never_cache
@require_GET
def report(request: HttpRequest) -> JsonResponse:
    results = run_checks(["database", "redis", "broker", "migrations"])
    failed = [r.name for r in results if not r.healthy]
    body: dict[str, object] = {"status": "fail" if failed else "ok"}
    if failed:
        body["failed"] = failed
    if cache_backend.degraded():
        # Redis failed recently but requests still answer (from PostgreSQL): degraded, not down.
        body["degraded"] = ["cache"]
    if _may_see_details(request):
        body.update(
            {
                "version": keja.__version__,
                "environment": settings.KEJA_ENV,
                "uptime_s": round(time.time() - STARTED_AT, 1),
                "pid": os.getpid(),
                "python": platform.python_version(),
                "embedded": {"database": settings.EMBEDDED_DB, "redis": settings.EMBEDDED_REDIS},
                "checks": {r.name: r.as_dict() for r in results},
                "db_pool": pool_stats(),
                "cache": cache_info.summary(),
            }
        )
        body.update(extra_reports())  # sections contributed by business contexts (extras.py)
    return JsonResponse(body, status=503 if failed else 200)
