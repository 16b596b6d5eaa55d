"""Extra sections of the detailed health report (``/health``), contributed by business
contexts at startup. The platform knows none of them: a context registers a provider in its
``AppConfig.ready`` (for example payments' ``mpesa_breaker``).

A provider returns a JSON-ready dict; it runs in a worker thread bounded by
``KEJA_HEALTH_TIMEOUT``, and a provider that fails or hangs shows as
``{"status": "fail", "error": …}`` without failing the report."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from django.conf import settings

ReportProvider = Callable[[], dict[str, Any]]

_providers: dict[str, ReportProvider] = {}
_lock = threading.Lock()
_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="keja-health-extra")


def register_report_provider(name: str, provider: ReportProvider) -> None:
    """Add (or replace) the section ``name`` of the detailed health report."""
    with _lock:
        _providers[name] = provider


def extra_reports(timeout: float | None = None) -> dict[str, Any]:
    limit = settings.KEJA_HEALTH_TIMEOUT if timeout is None else timeout
    with _lock:
        providers = dict(_providers)
    futures = {name: _executor.submit(provider) for name, provider in providers.items()}
    sections: dict[str, Any] = {}
    for name, future in futures.items():
        try:
            sections[name] = future.result(timeout=limit + 0.5)
        except FutureTimeout:
            sections[name] = {"status": "fail", "error": "timed out"}
        except Exception as exc:
            sections[name] = {"status": "fail", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return sections
