"""Database ceilings measured in the run: the raw SQL of an endpoint replayed through psycopg, and
a pgbench-style single-row UPDATE throughput (the ceiling for payment writes)."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from perf_suite.pg import conninfo
from perf_suite.stats import summarize


class SqlReplay:
    """The statements of one request, run in order through psycopg in one transaction that is
    rolled back (nothing changes), like the request's data access without Django."""

    def __init__(self, db_url: str, statements: list[str]) -> None:
        self.statements = statements
        self.conn = psycopg.connect(conninfo(db_url))
        self.cur = self.conn.cursor()

    def once(self) -> float:
        """Milliseconds for the whole list."""
        t0 = time.perf_counter()
        for st in self.statements:
            self.cur.execute(st.encode())  # captured text, already bound: no parameters
            if self.cur.description is not None:
                self.cur.fetchall()
        self.conn.rollback()
        return (time.perf_counter() - t0) * 1000

    def close(self) -> None:
        self.conn.close()


def replay_sql(db_url: str, statements: list[str], *, seconds: float, min_runs: int = 5) -> dict:
    """Latency of the statements run back to back for ``seconds``."""
    replay = SqlReplay(db_url, statements)
    try:
        for _ in range(3):
            replay.once()
        samples: list[float] = []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(samples) < min_runs:
            samples.append(replay.once())
    finally:
        replay.close()
    return {"statements": len(statements), **summarize(samples)}


PGBENCH_ROWS = 100_000
PGBENCH_SCRIPT = """\\set aid random(1, 100000)
\\set delta random(-5000, 5000)
UPDATE perf_pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
"""


def prepare_update_table(db_url: str) -> None:
    with psycopg.connect(conninfo(db_url), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS perf_pgbench_accounts")
        conn.execute(
            "CREATE TABLE perf_pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, "
            "filler char(84)) WITH (fillfactor = 90)"
        )
        conn.execute(
            "INSERT INTO perf_pgbench_accounts SELECT g, 1, 0, '' FROM generate_series(1, %s) g",
            (PGBENCH_ROWS,),
        )
        conn.execute("VACUUM ANALYZE perf_pgbench_accounts")


def update_tps(db_url: str, *, clients: int, seconds: float, work_dir: Path) -> dict[str, Any]:
    """Single-row UPDATE transactions per second with ``clients`` connections: pgbench
    (``-n -f``) when installed, else the same transactions from Python threads. The table
    must exist (``prepare_update_table``)."""
    pgbench = shutil.which("pgbench")
    if pgbench:
        script = work_dir / "pgbench-update.sql"
        script.write_text(PGBENCH_SCRIPT)
        parts = urlsplit(db_url)
        cmd = [
            pgbench,
            "-n",
            "-f",
            str(script),
            "-c",
            str(clients),
            "-j",
            str(min(clients, 2)),
            "-T",
            str(max(1, round(seconds))),
            "-h",
            parts.hostname or "127.0.0.1",
            "-p",
            str(parts.port or 5432),
            "-U",
            parts.username or "postgres",
            parts.path.lstrip("/"),
        ]
        env = None
        if parts.password:
            import os

            env = {**os.environ, "PGPASSWORD": parts.password}
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, env=env)
        match = re.search(r"tps = ([0-9.]+)", res.stdout)
        lat = re.search(r"latency average = ([0-9.]+) ms", res.stdout)
        if res.returncode == 0 and match:
            return {
                "tool": "pgbench",
                "clients": clients,
                "seconds": seconds,
                "tps": float(match.group(1)),
                "latency_avg_ms": float(lat.group(1)) if lat else None,
            }
    return _update_tps_threads(db_url, clients=clients, seconds=seconds)


def _update_tps_threads(db_url: str, *, clients: int, seconds: float) -> dict[str, Any]:
    import random

    counts = [0] * clients
    stop_at = time.perf_counter() + seconds

    def client(i: int) -> None:
        rng = random.Random(i)
        with psycopg.connect(conninfo(db_url), autocommit=True) as conn:
            while time.perf_counter() < stop_at:
                conn.execute(
                    "UPDATE perf_pgbench_accounts SET abalance = abalance + %s WHERE aid = %s",
                    (rng.randint(-5000, 5000), rng.randint(1, PGBENCH_ROWS)),
                )
                counts[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {
        "tool": "python-threads",
        "clients": clients,
        "seconds": seconds,
        "tps": sum(counts) / elapsed,
        "latency_avg_ms": None,
    }
