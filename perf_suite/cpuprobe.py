"""CPU seconds spent by the server side during a measurement window: the gunicorn process tree
(workers recycled during the window included, through the master's reaped-children times) and
the PostgreSQL backends connected to the run's database.

CPU time per request barely moves when something else competes for the cores (which mostly
stretches wall time), so it is the steadiest measure of what a request costs on a shared machine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psutil  # type: ignore[import-untyped]  # no stubs in the dev dependencies
import psycopg

from perf_suite.pg import conninfo


@dataclass
class Sample:
    t: float
    app_s: float
    db_s: dict[int, float] = field(default_factory=dict)
    db_ok: bool = True


class CpuProbe:
    def __init__(self, server_pid: int, db_url: str, dbname: str) -> None:
        self.server_pid = server_pid
        self.dbname = dbname
        self.conn = psycopg.connect(conninfo(db_url), autocommit=True)

    def close(self) -> None:
        self.conn.close()

    def _app(self) -> float:
        master = psutil.Process(self.server_pid)
        t = master.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in master.children(recursive=True):
            try:
                ct = child.cpu_times()
            except psutil.Error:
                continue
            total += ct.user + ct.system
        return total

    def _db(self) -> tuple[dict[int, float], bool]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.dbname,)
        ).fetchall()
        out: dict[int, float] = {}
        for (pid,) in rows:
            try:
                ct = psutil.Process(int(pid)).cpu_times()
            except psutil.NoSuchProcess:
                continue
            except psutil.AccessDenied:  # not running as the postgres user or root
                return {}, False
            out[int(pid)] = ct.user + ct.system
        return out, True

    def sample(self) -> Sample:
        db, ok = self._db()
        return Sample(t=time.monotonic(), app_s=self._app(), db_s=db, db_ok=ok)

    @staticmethod
    def delta(start: Sample, end: Sample) -> dict[str, Any]:
        db = None
        if start.db_ok and end.db_ok:
            db = sum(max(0.0, v - start.db_s.get(pid, 0.0)) for pid, v in end.db_s.items())
        return {
            "window_s": round(end.t - start.t, 3),
            "app_cpu_s": round(end.app_s - start.app_s, 3),
            "db_cpu_s": round(db, 3) if db is not None else None,
        }


def per_request(cpu: dict[str, Any], requests: int) -> dict[str, Any]:
    """CPU milliseconds per request (app, database, both) from a window's delta."""
    if not requests:
        return {"app_cpu_ms_per_req": None, "db_cpu_ms_per_req": None, "cpu_ms_per_req": None}
    app = cpu["app_cpu_s"] * 1000 / requests
    db = cpu["db_cpu_s"] * 1000 / requests if cpu.get("db_cpu_s") is not None else None
    return {
        "app_cpu_ms_per_req": round(app, 4),
        "db_cpu_ms_per_req": round(db, 4) if db is not None else None,
        "cpu_ms_per_req": round(app + (db or 0.0), 4),
    }
