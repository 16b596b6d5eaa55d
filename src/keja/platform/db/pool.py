"""psycopg 3 connection pool statistics (P1.0): read, logged periodically, exported as metrics."""

from __future__ import annotations

import threading
import time
from typing import Any

import structlog
from django.conf import settings
from django.db import connections

log = structlog.get_logger("keja.db.pool")
_started = False
_lock = threading.Lock()

STAT_KEYS = (
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
    "usage_ms",
)


def pool_stats(alias: str = "default") -> dict[str, Any] | None:
    """Statistics of this process's pool for ``alias``, or None when no pool is in use
    (the embedded SQLite default, or a pool not opened yet)."""
    conn = connections[alias]
    if conn.vendor != "postgresql" or not conn.settings_dict.get("OPTIONS", {}).get("pool"):
        return None
    pool = getattr(conn, "_connection_pools", {}).get(conn.alias)
    if pool is None:
        return None
    raw = pool.get_stats()
    stats = {key: raw.get(key, 0) for key in STAT_KEYS}
    # requests_queued counts the requests that had to wait for a connection; "idle" is the
    # number of open connections nobody holds.
    stats["idle"] = stats["pool_available"]
    stats["waiting"] = stats["requests_waiting"]
    return stats


def _loop(interval: float) -> None:
    while True:
        time.sleep(interval)
        try:
            stats = pool_stats()
        except Exception:  # pragma: no cover - never let the logger kill anything
            log.exception("pool_stats_failed")
            continue
        if stats is not None:
            log.info("db_pool_stats", **stats)


def start_pool_stats_logger() -> None:
    global _started
    interval = settings.KEJA_POOL_STATS_INTERVAL
    if interval <= 0:
        return
    with _lock:
        if _started:
            return
        _started = True
    threading.Thread(target=_loop, args=(interval,), name="keja-pool-stats", daemon=True).start()
