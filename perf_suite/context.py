"""What a scenario gets: the running app, its database, the agency under test, helpers to run
load (locust) and app-side work, and the ceilings already measured in this run (shared between
scenarios so the bare endpoint is measured once per load level)."""

from __future__ import annotations

import json
import select
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from perf_suite.config import RunConfig
from perf_suite.cpuprobe import CpuProbe, Sample, per_request
from perf_suite.pg import conninfo
from perf_suite.procs import ProcessStack, python

# Every request the suite sends looks like it came through the TLS-terminating proxy production
# runs behind (SECURE_PROXY_SSL_HEADER), so secure cookies and CSRF behave as in production.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def _accumulate(
    into: dict[tuple[int, str], dict[str, Any]], key: tuple[int, str], delta: dict[str, Any]
) -> None:
    acc = into.setdefault(key, {"window_s": 0.0, "app_cpu_s": 0.0, "db_cpu_s": 0.0})
    for name in ("window_s", "app_cpu_s"):
        acc[name] = round(acc[name] + delta[name], 3)
    if delta["db_cpu_s"] is None or acc["db_cpu_s"] is None:
        acc["db_cpu_s"] = None
    else:
        acc["db_cpu_s"] = round(acc["db_cpu_s"] + delta["db_cpu_s"], 3)


@dataclass(frozen=True)
class Agency:
    id: int
    slug: str
    owner_email: str
    password: str
    units: int


@dataclass
class Context:
    cfg: RunConfig
    stack: ProcessStack
    run_dir: Path
    base_url: str
    app_env: dict[str, str]
    run_db_url: str
    agency: Agency
    api_key: str | None = None
    daraja_url: str | None = None
    server_pid: int | None = None  # the gunicorn master, for CPU accounting
    shared: dict[str, Any] = field(default_factory=dict)  # anything scenarios reuse in a run
    _counter: int = 0

    def log(self, message: str) -> None:
        print(f"[perf {time.strftime('%H:%M:%S')}] {message}", flush=True)

    def _files(self, stem: str) -> tuple[Path, Path]:
        self._counter += 1
        base = self.run_dir / f"{self._counter:02d}-{stem}"
        return base.with_suffix(".spec.json"), base.with_suffix(".out.json")

    def load(self, phases: list[dict[str, Any]], label: str = "load") -> list[dict[str, Any]]:
        """Run locust phases in a child process; returns one statistics dict per phase, each
        with the server side's CPU time during its measurement window (``server_cpu``)."""
        spec_path, out_path = self._files(label)
        spec_path.write_text(json.dumps({"host": self.base_url, "phases": phases}, indent=1))
        budget = 60 + sum(
            float(p["duration"]) + float(p["ceiling_duration"]) + 2 * float(p.get("warmup", 0)) + 60
            for p in phases
        )
        cmd = [python(), "-m", "perf_suite.load.runner", str(spec_path), str(out_path)]
        proc = self.stack.start(label, cmd, self.loadgen_env(), stdout=subprocess.PIPE)
        probe = self.cpu_probe()
        opened: dict[tuple[int, str], Sample] = {}
        cpu: dict[tuple[int, str], dict[str, Any]] = {}
        deadline = time.monotonic() + budget
        try:
            assert proc.stdout is not None
            while True:
                ready, _, _ = select.select([proc.stdout], [], [], 1.0)
                if ready:
                    line = proc.stdout.readline().decode(errors="replace")
                    if not line:
                        break
                    parts = line.split()
                    if probe is not None and len(parts) == 3 and parts[0].startswith("window-"):
                        key = (int(parts[1]), parts[2])
                        if parts[0] == "window-start":
                            opened[key] = probe.sample()
                        elif key in opened:
                            _accumulate(cpu, key, CpuProbe.delta(opened.pop(key), probe.sample()))
                if time.monotonic() > deadline:
                    raise RuntimeError(f"load generator still running after {budget:.0f}s")
            proc.wait(timeout=30)
        finally:
            if probe is not None:
                probe.close()
            self.stack.stop(proc)
        if proc.returncode != 0 or not out_path.exists():
            raise RuntimeError(
                f"load generator failed ({proc.returncode}):\n{self.stack.tail(label, 40)}"
            )
        results = list(json.loads(out_path.read_text())["phases"])
        for i, res in enumerate(results):
            for kind in ("scenario", "ceiling"):
                if (i, kind) in cpu and kind in res:
                    acc = cpu[(i, kind)]
                    res[kind]["server_cpu"] = acc | per_request(acc, res[kind]["requests"])
        return results

    def cpu_probe(self) -> CpuProbe | None:
        if self.server_pid is None:
            return None
        try:
            return CpuProbe(self.server_pid, self.run_db_url, self.run_db_url.rsplit("/", 1)[1])
        except Exception as exc:  # the figures stay valid without CPU accounting
            self.log(f"no CPU accounting: {exc}")
            return None

    def loadgen_env(self) -> dict[str, str]:
        from perf_suite.procs import base_env

        return base_env()

    @property
    def helper_env(self) -> dict[str, str]:
        """The app's environment for the single-threaded app-side helpers: a pool of 1–2
        connections each (PostgreSQL's 100 connections are shared with everything else)."""
        return {**self.app_env, "KEJA_DB_POOL_MIN": "1", "KEJA_DB_POOL_MAX": "2"}

    def appside(self, command: str, spec: dict[str, Any], *, timeout: float = 900) -> Any:
        """Run ``perf_suite.appside <command>`` with the app's production environment."""
        spec_path, out_path = self._files(command)
        spec_path.write_text(json.dumps(spec))
        res = self.stack.run(
            command,
            [python(), "-m", "perf_suite.appside", command, str(spec_path), str(out_path)],
            self.helper_env,
            timeout=timeout,
        )
        if res.returncode != 0 or not out_path.exists():
            raise RuntimeError(
                f"appside {command} failed ({res.returncode}):\n{res.stderr[-3000:]}"
            )
        return json.loads(out_path.read_text())

    def appside_files(self, command: str, spec: dict[str, Any]) -> tuple[list[str], Path]:
        """Command line and output path, for scenarios that start several app-side processes."""
        spec_path, out_path = self._files(command)
        spec_path.write_text(json.dumps(spec))
        cmd = [python(), "-m", "perf_suite.appside", command, str(spec_path), str(out_path)]
        return cmd, out_path

    def db(self) -> psycopg.Connection[Any]:
        return psycopg.connect(conninfo(self.run_db_url), autocommit=True)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.db() as conn:
            return list(conn.execute(sql.encode(), params).fetchall())
