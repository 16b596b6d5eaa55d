"""Cache benchmark (issue 7, P2.1/P2.2): in ONE run against gunicorn on a seeded database,

- cached dashboard throughput (authenticated API request) as a ratio to ``/health/live`` served
  through the same middleware stack (goal >= 0.8),
- cold dashboard latency as a ratio to the raw SQL of the same aggregate (goal <= 2.0). The
  baseline is the statement run raw the fastest way: prepared, as the application runs it (ADR
  0009), interleaved with what it is compared with. Three ways: in the application
  (``dashboard_cached`` with its namespace bumped: Redis read and lock, the statement through
  Django, store), and an authenticated API request with both the HTTP and the dashboard
  namespaces bumped, so both caches miss, as the application timed it (``Server-Timing``: every
  middleware, auth, view, serialisation) and as the HTTP client saw it (gunicorn, HTTP parsing
  and the client included; a bare ``/health/live`` request is timed beside it),
- the cached/uncached speed-up.

    .venv/bin/python -m perf_suite.cache_bench --db keja_medium --scale medium \\
        --out perf_suite/results/cache-medium.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
INSTANCE = "cachebench"
HEADERS = {"X-Forwarded-Proto": "https"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_env(db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KEJA_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=db_url,
        REDIS_URL="redis://127.0.0.1:6379/0",
        KEJA_INSTANCE=INSTANCE,
        KEJA_SSL_REDIRECT="false",
        KEJA_WEB_THREADS="1",
        KEJA_LOG_LEVEL="WARNING",
        KEJA_POOL_STATS_INTERVAL="0",
        KEJA_RESPONSE_CACHES="true",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def keja(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [PY, "-m", "keja.manage", *args], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout


def largest_agency(db_url: str) -> tuple[int, str]:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT a.id, a.slug FROM agencies_agency a JOIN properties_unit u ON u.agency_id = a.id "
            "GROUP BY a.id, a.slug ORDER BY count(*) DESC, a.id LIMIT 1"
        ).fetchone()
    assert row is not None, "the database has no agency: seed it first"
    return int(row[0]), str(row[1])


def server_timing(header: str) -> dict[str, float]:
    """``Server-Timing: db;dur=2.10;desc="1 query", app;dur=7.12`` -> {"db": 0.0021, ...} (s)."""
    out: dict[str, float] = {}
    for metric in header.split(","):
        name, _, rest = metric.strip().partition(";")
        for param in rest.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "dur":
                out[name] = float(value) / 1000
    return out


def dashboard_statement_for(db_url: str, agency_id: int) -> tuple[str, dict[str, Any]]:
    """The dashboard statement and parameters the application sends for ``agency_id`` today."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keja.config.settings")
    os.environ.setdefault("DATABASE_URL", db_url)
    os.environ.setdefault("KEJA_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from keja.kernel.clock import today_nairobi
    from keja.reports.selectors import dashboard_statement

    return dashboard_statement(agency_id, today_nairobi())


def load(url: str, headers: dict[str, str], users: int, seconds: float) -> dict[str, Any]:
    """``users`` threads, each with a keep-alive client, for ``seconds``: requests/s, latency."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    errors = [0]
    cache_states: dict[str, int] = {}
    lock = threading.Lock()

    def worker() -> None:
        local: list[float] = []
        states: dict[str, int] = {}
        bad = 0
        with httpx.Client(headers=headers, timeout=30) as client:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                r = client.get(url)
                local.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    bad += 1
                state = r.headers.get("X-Keja-Cache", "-")
                states[state] = states.get(state, 0) + 1
        with lock:
            latencies.extend(local)
            errors[0] += bad
            for k, v in states.items():
                cache_states[k] = cache_states.get(k, 0) + v

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 2),
        "p95_ms": round(1000 * latencies[int(len(latencies) * 0.95)], 2),
        "errors": errors[0],
        "cache": cache_states,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="keja_medium")
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    db_url = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    env = app_env(db_url)
    agency_id, slug = largest_agency(db_url)
    api_key = (
        keja(env, "apikey", "create", "--agency", slug, "--name", "cache-bench", "--scope", "read")
        .strip()
        .splitlines()[-1]
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="cache-bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    server = subprocess.Popen(
        [
            PY,
            "-m",
            "gunicorn",
            "keja.config.wsgi:application",
            "-c",
            "python:keja.config.gunicorn",
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    result: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health/ready", headers=HEADERS, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError(
                "gunicorn did not become ready: " + Path(log.name).read_text()[-2000:]
            )
        auth = {**HEADERS, "Authorization": f"Bearer {api_key}"}
        dashboard = f"{base}/api/v1/reports/dashboard"
        for _ in range(3):
            httpx.get(dashboard, headers=auth, timeout=30).raise_for_status()

        # 1. throughput: /health/live and the cached dashboard, interleaved rounds
        live_runs, dash_runs = [], []
        for _ in range(args.rounds):
            live_runs.append(load(f"{base}/health/live", HEADERS, args.users, args.seconds))
            dash_runs.append(load(dashboard, auth, args.users, args.seconds))
        live_rps = statistics.median(r["rps"] for r in live_runs)
        dash_rps = statistics.median(r["rps"] for r in dash_runs)

        # 2. cold vs cached latency, one client; cold = both namespaces bumped before each call.
        # Interleaved with the same statement run raw (prepared, on this process's own
        # connection: the baseline) and a bare /health/live request, so that every figure of a
        # round meets the same machine state.
        r = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        prefix = f"keja:production:{INSTANCE}"
        statement, params = dashboard_statement_for(db_url, agency_id)
        cold, warm, live, raw_sql, text_sql, server_app, server_db = [], [], [], [], [], [], []
        with (
            httpx.Client(headers=auth, timeout=30) as client,
            psycopg.connect(db_url, autocommit=True) as sql_conn,
        ):
            sql_cur = psycopg.Cursor(sql_conn)
            text_cur = psycopg.ClientCursor(sql_conn)  # as Django sends SQL: planned every run
            for i in range(args.cold + 10):
                r.incr(f"{prefix}:ns:http:{agency_id}")
                r.incr(f"{prefix}:ns:dash:{agency_id}")
                t0 = time.perf_counter()
                resp = client.get(dashboard)
                cold_s = time.perf_counter() - t0
                assert resp.headers.get("X-Keja-Cache") == "miss", resp.headers
                timing = server_timing(resp.headers.get("Server-Timing", ""))
                t0 = time.perf_counter()
                sql_cur.execute(statement, params, prepare=True)
                sql_cur.fetchall()
                raw_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                text_cur.execute(statement, params)
                text_cur.fetchall()
                text_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                client.get(f"{base}/health/live")
                live_s = time.perf_counter() - t0
                warm_s = []
                for _ in range(2):
                    t0 = time.perf_counter()
                    resp = client.get(dashboard)
                    warm_s.append(time.perf_counter() - t0)
                if i >= 10:  # the first rounds: plans settle (generic after five), pools fill
                    cold.append(cold_s)
                    raw_sql.append(raw_s)
                    text_sql.append(text_s)
                    live.append(live_s)
                    warm.extend(warm_s)
                    server_app.append(timing.get("app", 0.0))
                    server_db.append(timing.get("db", 0.0))
        cold_ms = 1000 * statistics.median(cold)
        warm_ms = 1000 * statistics.median(warm)
        live_ms = 1000 * statistics.median(live)
        raw_ms = 1000 * statistics.median(raw_sql)
        text_ms = 1000 * statistics.median(text_sql)
        server_ms = 1000 * statistics.median(server_app)
        server_db_ms = 1000 * statistics.median(server_db)

        # 3. the raw SQL of the same aggregate, same database, same agency (largest)
        with tempfile.TemporaryDirectory() as tmp:
            sql_out = Path(tmp) / "sql.json"
            subprocess.run(
                [
                    PY,
                    "-m",
                    "perf_suite.dashboard_sql",
                    "--scale",
                    args.scale,
                    "--out",
                    str(sql_out),
                    "--rounds",
                    "30",
                    "--cold-cache",
                ],
                env={**env, "KEJA_ENV": "development", "DEBUG": "false"},
                check=True,
                capture_output=True,
                cwd=ROOT,
            )
            sql = json.loads(sql_out.read_text())
        in_app = sql["cold_cache"]
        with psycopg.connect(db_url) as conn:
            pg_version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        result = {
            "benchmark": "cache",
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": "python -m perf_suite.cache_bench " + " ".join(argv or sys.argv[1:]),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "postgres": pg_version,
                "loadavg": os.getloadavg(),
            },
            "dataset": {"db": args.db, "scale": args.scale, "agency_id": agency_id},
            "server": {"gunicorn_workers": args.workers, "worker_class": "sync"},
            "throughput": {"health_live": live_runs, "dashboard_cached": dash_runs},
            "latency_ms": {
                "dashboard_cold_api_request_median": round(cold_ms, 2),
                "dashboard_cold_api_request_server_median": round(server_ms, 2),
                "dashboard_cold_api_request_server_db_median": round(server_db_ms, 2),
                "dashboard_cached_api_request_median": round(warm_ms, 2),
                "health_live_request_median": round(live_ms, 2),
                "dashboard_sql_prepared_interleaved_median": round(raw_ms, 2),
                "dashboard_sql_text_interleaved_median": round(text_ms, 2),
                "dashboard_sql_text_median": sql["median_total_ms"],
                "dashboard_sql_prepared_median": sql["prepared_median_ms"],
                "dashboard_cold_in_app_median": in_app["cold_dashboard_cached_median_ms"],
                "dashboard_sql_prepared_in_app_interleaved_median": in_app[
                    "raw_sql_prepared_median_ms"
                ],
            },
            "ratios": {
                "cached_dashboard_vs_health_live": {
                    "value": round(dash_rps / live_rps, 3),
                    "goal": ">= 0.8",
                },
                "cold_dashboard_vs_raw_sql": {
                    "value": in_app["ratio"],
                    "goal": "<= 2.0",
                    "what": "dashboard_cached on a cold cache (Redis read and lock, the statement "
                    "through Django, store), in the application process, vs the same statement "
                    "run raw and prepared on the same connection (interleaved)",
                },
                "cold_api_request_server_vs_raw_sql": {
                    "value": round(server_ms / raw_ms, 2),
                    "what": "GET /api/v1/reports/dashboard with both caches missing, as the "
                    "application timed it (Server-Timing app: every middleware, auth, view, "
                    "caches, serialisation), vs the raw prepared statement (interleaved)",
                },
                "cold_api_request_vs_raw_sql": {
                    "value": round(cold_ms / raw_ms, 2),
                    "what": "the same request as the HTTP client saw it (gunicorn, HTTP parsing, "
                    "the client's own cost and loopback included) vs the raw prepared statement",
                },
                "cold_api_request_above_bare_request_vs_raw_sql": {
                    "value": round((cold_ms - live_ms) / raw_ms, 2),
                    "what": "the cold request minus a bare /health/live request (the HTTP cost "
                    "every request pays), vs the raw prepared statement",
                },
                "cold_api_request_vs_raw_sql_text": {
                    "value": round(cold_ms / text_ms, 2),
                    "server_value": round(server_ms / text_ms, 2),
                    "in_app_value": in_app["ratio_vs_text_sql"],
                    "what": "the same three against the statement sent as text with its values "
                    "written in (how psql, or Django's own cursors, send SQL: planned on every "
                    "run): the client-observed request, the application's time, in the app",
                },
                "cached_speedup": {"value": round(cold_ms / warm_ms, 1)},
            },
            "sql_per_query_median_ms": sql["per_query_median_ms"],
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        Path(log.name).unlink(missing_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2, default=str))
    ratios = result["ratios"]
    print(
        f"cached dashboard {dash_rps:.0f} req/s vs /health/live {live_rps:.0f} req/s: "
        f"ratio {ratios['cached_dashboard_vs_health_live']['value']} (goal >= 0.8)"
    )
    print(
        f"cold dashboard in the app {in_app['cold_dashboard_cached_median_ms']:.2f} ms vs raw SQL "
        f"{in_app['raw_sql_prepared_median_ms']:.2f} ms prepared: ratio "
        f"{ratios['cold_dashboard_vs_raw_sql']['value']} (goal <= 2.0)"
    )
    print(
        f"cold dashboard API request: {server_ms:.2f} ms in the application (ratio "
        f"{ratios['cold_api_request_server_vs_raw_sql']['value']}), {cold_ms:.2f} ms at the client "
        f"(ratio {ratios['cold_api_request_vs_raw_sql']['value']}; a bare request {live_ms:.2f} ms, "
        f"above it {ratios['cold_api_request_above_bare_request_vs_raw_sql']['value']}) vs raw SQL "
        f"{raw_ms:.2f} ms prepared; cached request {warm_ms:.2f} ms, speed-up "
        f"x{ratios['cached_speedup']['value']}"
    )
    text = ratios["cold_api_request_vs_raw_sql_text"]
    print(
        f"against the statement as text ({text_ms:.2f} ms, planned each run): client "
        f"{text['value']}, application {text['server_value']}, in the app {text['in_app_value']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
