"""PostgreSQL pooling (P1.0): 30 threads each holding a connection; the pool grows to 20 and
never beyond, and the waits show in the pool statistics."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from keja.platform.db.pool import pool_stats


@pytest.mark.django_db(transaction=True)
def test_pool_grows_to_max_and_never_beyond() -> None:
    assert connection.settings_dict["CONN_MAX_AGE"] == 0
    pool = connection.pool
    assert pool.max_size == 20
    assert pool.min_size == 5
    pool.pop_stats()  # reset the counters
    seen_sizes: list[int] = []
    server_counts: list[int] = []
    stop = threading.Event()
    start = threading.Barrier(30)
    errors: list[BaseException] = []

    def sampler() -> None:
        while not stop.is_set():
            seen_sizes.append(pool.get_stats()["pool_size"])
            time.sleep(0.01)

    def worker() -> None:
        try:
            start.wait()
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_sleep(0.4)")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections["default"].close()  # back to the pool

    def count_server_side() -> None:
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                [connection.settings_dict["OPTIONS"]["application_name"]],
            )
            server_counts.append(cursor.fetchone()[0])
        connections["default"].close()

    threads = [threading.Thread(target=worker) for _ in range(30)]
    watcher = threading.Thread(target=sampler)
    watcher.start()
    for t in threads:
        t.start()
    time.sleep(0.2)
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert not errors, errors
    stats = pool_stats()
    assert stats is not None
    assert max(seen_sizes) == 20, f"pool never reached its maximum: {max(seen_sizes)}"
    assert all(size <= 20 for size in seen_sizes)
    assert stats["requests_queued"] >= 10 - 1, stats  # ~10 of 30 had to wait for a connection
    assert stats["requests_wait_ms"] > 0, stats
    count_server_side()
    assert server_counts[0] <= 20
