"""API list pages benchmark (issue 4): list-page throughput as a ratio to a bare endpoint, and
the cost of a deep payments page (row 100,000) against the first page.

Run::

    .venv/bin/python -m perf_suite.api_pages_bench --out perf_suite/results/api-pages-<date>.json

It is a benchmark, not a test: it reports figures and whether the goal (deep page p50 at most
1.5x the first page's) was met, and exits 0 either way unless something failed.

Two databases (both must exist and be seeded; see ``--help``):

* ``--list-db`` (default ``keja_medium``, the medium dataset): 16 concurrent keep-alive clients
  against ``/properties``, ``/tenants``, ``/leases``, ``/invoices``, ``/payments`` (``limit=25``)
  and the bare ``/ping`` in the same run, interleaved in short windows; each list's requests per
  second is reported as a ratio to ``/ping``'s.
* ``--deep-db`` (default ``keja_deep_bench``): one agency with at least 100,000 payments, built by
  ``keja seed_demo --scale medium --agencies 1 --units 20000 --seed 3``. One client alternates
  the first payments page and the page after row 100,000 (a cursor built with
  ``keja.platform.pagination.encode_cursor``); the SQL of both pages is EXPLAIN ANALYZEd.

gunicorn starts as production does (``KEJA_ENV=production``, the project's gunicorn config,
4 sync workers) with ``KEJA_RESPONSE_CACHES=false``, so every page goes to the database. Only
127.0.0.1 is contacted; gunicorn is always stopped; the API keys created are revoked at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import signal
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

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_BASE = "postgres://postgres@127.0.0.1:5432"
LISTS = ("properties", "tenants", "leases", "invoices", "payments")
DEEP_ROW = 100_000
GOAL_RATIO = 1.5
TIME_BUDGET_S = 7 * 60 + 30  # the whole run stays under 8 minutes
HEADERS = {"X-Forwarded-Proto": "https", "Accept": "application/json"}

_T0 = time.monotonic()


def _remaining() -> float:
    return TIME_BUDGET_S - (time.monotonic() - _T0)


def _log(msg: str) -> None:
    print(f"[{time.monotonic() - _T0:6.1f}s] {msg}", flush=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _summary_ms(samples_s: list[float]) -> dict[str, Any]:
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "p50_ms": round(_pct(ms, 0.50), 3),
        "p95_ms": round(_pct(ms, 0.95), 3),
        "p99_ms": round(_pct(ms, 0.99), 3),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else None,
        "min_ms": round(min(ms), 3) if ms else None,
        "max_ms": round(max(ms), 3) if ms else None,
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _db_url(name: str) -> str:
    return f"{PG_BASE}/{name}"


def _child_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ", "TMPDIR")}
    env.update(
        {
            "DATABASE_URL": db_url,
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


# --- database facts -------------------------------------------------------------------------


def _pg_version(db_url: str) -> str:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"


def _busiest_agency(db_url: str) -> dict[str, Any]:
    """The agency with the most payments (its id, slug and payment count)."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT a.id, a.slug, count(p.id) FROM agencies_agency a "
            "JOIN payments_payment p ON p.agency_id = a.id "
            "GROUP BY a.id, a.slug ORDER BY count(p.id) DESC, a.id LIMIT 1"
        ).fetchone()
    if row is None:
        raise SystemExit(f"no payments in {db_url}: seed it first")
    return {"id": int(row[0]), "slug": str(row[1]), "payments": int(row[2])}


def _list_counts(db_url: str, agency_id: int) -> dict[str, int]:
    tables = {
        "properties": "properties_property",
        "tenants": "tenants_tenant",
        "leases": "leases_lease",
        "invoices": "billing_invoice",
        "payments": "payments_payment",
    }
    out: dict[str, int] = {}
    with psycopg.connect(db_url) as conn:
        for name, table in tables.items():
            try:
                row = conn.execute(
                    f"SELECT count(*) FROM {table} WHERE agency_id = %s",  # noqa: S608
                    (agency_id,),
                ).fetchone()
                out[name] = int(row[0]) if row else -1
            except psycopg.Error:
                conn.rollback()
                out[name] = -1
    return out


def _nth_payment_id(db_url: str, agency_id: int, n: int) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT id FROM payments_payment WHERE agency_id = %s ORDER BY id DESC "
            "OFFSET %s LIMIT 1",
            (agency_id, n - 1),
        ).fetchone()
    if row is None:
        raise SystemExit(f"agency {agency_id} has fewer than {n} payments")
    return int(row[0])


def _explain_pages(db_url: str, agency_id: int, deep_id: int, limit: int) -> dict[str, Any]:
    """The SQL the payments list runs for the first and the deep page, built by the project's own
    selector and ``keyset_page`` logic (filter ``id < cursor``, order ``-id``, ``limit + 1``
    rows), then EXPLAIN (ANALYZE, BUFFERS) on it. Runs in a child process so Django's settings
    never leak into this one."""
    code = r"""
import json, sys
import django
django.setup()
from django.db import connection
from keja.payments.selectors import payment_list
from keja.platform.pagination import keyset_page, encode_cursor
from django.test.utils import CaptureQueriesContext
agency_id, deep_id, limit = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
out = {}
for name, cursor in (("first", None), ("deep", encode_cursor("-id", deep_id, deep_id))):
    with CaptureQueriesContext(connection) as ctx:
        page = keyset_page(payment_list(actor=agency_id), order="-id", cursor=cursor, limit=limit)
    sql = ctx.captured_queries[-1]["sql"]
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = [r[0] for r in cur.fetchall()]
        timings = []
        for _ in range(20):
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            timings.append(cur.fetchone()[0][0]["Execution Time"])
    timings.sort()
    out[name] = {
        "sql": sql,
        "rows": len(page.items),
        "first_id": page.items[0].pk if page.items else None,
        "plan": plan,
        "execution_ms_median_of_20": timings[len(timings) // 2],
    }
print(json.dumps(out))
"""
    env = _child_env(db_url, KEJA_ENV="development", DJANGO_SETTINGS_MODULE="keja.config.settings")
    proc = subprocess.run(
        [sys.executable, "-c", code, str(agency_id), str(deep_id), str(limit)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr[-3000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- API keys -------------------------------------------------------------------------------


def _apikey(db_url: str, *args: str) -> str:
    proc = subprocess.run(
        [str(VENV_BIN / "keja"), "apikey", *args],
        cwd=ROOT,
        env=_child_env(db_url, KEJA_ENV="development"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"keja apikey {args[0]} failed: {proc.stderr[-2000:]}")
    return proc.stdout


def _create_key(db_url: str, slug: str) -> tuple[str, str]:
    """(key, prefix) of a new read-only key; the key is ``kj_<prefix>_<secret>``."""
    out = _apikey(db_url, "create", "--agency", slug, "--name", "bench", "--scope", "read")
    key = out.strip().splitlines()[-1].strip()
    prefix = key.split("_")[1] if key.count("_") >= 2 else ""
    return key, prefix


def _revoke_key(db_url: str, slug: str, prefix: str) -> None:
    with contextlib.suppress(Exception):
        _apikey(db_url, "revoke", "--agency", slug, "--prefix", prefix)


# --- gunicorn -------------------------------------------------------------------------------


class Gunicorn:
    def __init__(self, db_url: str, workers: int) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.db_url = db_url
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None
        self.keep_log = False
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="api-pages-gunicorn-", suffix=".log", delete=False
        )
        self.command = [
            sys.executable,
            "-m",
            "gunicorn",
            "keja.config.wsgi:application",
            "-c",
            "python:keja.config.gunicorn",
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
        ]

    def start(self) -> None:
        env = _child_env(
            self.db_url,
            KEJA_ENV="production",
            SECRET_KEY=secrets.token_urlsafe(64),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            KEJA_INSTANCE="pagesbench",
            KEJA_SSL_REDIRECT="false",
            KEJA_WEB_THREADS="1",
            KEJA_RESPONSE_CACHES="false",
        )
        self.proc = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        with httpx.Client(headers=HEADERS, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    if client.get(f"{self.base}/api/v1/ping").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.25)
        self.keep_log = True
        self.stop()
        raise RuntimeError(f"gunicorn did not come up; see {self.log.name}:\n{self.tail()}")

    def tail(self) -> str:
        with contextlib.suppress(OSError):
            return Path(self.log.name).read_text(errors="replace")[-3000:]
        return ""

    def stop(self) -> None:
        try:
            self._stop()
        finally:
            self.log.close()
            if not self.keep_log:
                Path(self.log.name).unlink(missing_ok=True)

    def _stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


# --- measurements ---------------------------------------------------------------------------


def _check_page(resp: httpx.Response, what: str) -> dict[str, Any]:
    if resp.status_code != 200:
        raise RuntimeError(f"{what}: HTTP {resp.status_code}: {resp.text[:500]}")
    body = resp.json()
    return body if isinstance(body, dict) else {}


def measure_deep(
    base: str, key: str, deep_cursor: str, limit: int, n: int, warmup: int
) -> dict[str, Any]:
    """One client, first and deep page alternating (the order flips each pair so neither always
    follows the other), after a warm-up of both."""
    url = f"{base}/api/v1/payments"
    first_params: dict[str, str | int] = {"limit": limit}
    deep_params: dict[str, str | int] = {"limit": limit, "cursor": deep_cursor}
    samples: dict[str, list[float]] = {"first": [], "deep": []}
    headers = {**HEADERS, "Authorization": f"Bearer {key}"}
    with httpx.Client(headers=headers, timeout=30) as client:
        first = _check_page(client.get(url, params=first_params), "first page")
        deep = _check_page(client.get(url, params=deep_params), "deep page")
        check = {
            "first_page_items": len(first.get("items", [])),
            "first_page_first_id": (first.get("items") or [{}])[0].get("id"),
            "deep_page_items": len(deep.get("items", [])),
            "deep_page_first_id": (deep.get("items") or [{}])[0].get("id"),
            "deep_page_has_next": deep.get("next_cursor") is not None,
        }
        for _ in range(warmup):
            client.get(url, params=first_params)
            client.get(url, params=deep_params)
        for i in range(n):
            order = ("first", "deep") if i % 2 == 0 else ("deep", "first")
            for name in order:
                params = first_params if name == "first" else deep_params
                t0 = time.perf_counter()
                resp = client.get(url, params=params)
                dt = time.perf_counter() - t0
                if resp.status_code != 200:
                    raise RuntimeError(f"{name} page: HTTP {resp.status_code}")
                samples[name].append(dt)
    first_s = _summary_ms(samples["first"])
    deep_s = _summary_ms(samples["deep"])
    return {
        "requests_each": n,
        "warmup_each": warmup,
        "check": check,
        "first": first_s,
        "deep": deep_s,
        "ratio_deep_over_first_p50": round(deep_s["p50_ms"] / first_s["p50_ms"], 3),
        "ratio_deep_over_first_p95": round(deep_s["p95_ms"] / first_s["p95_ms"], 3),
        "ratio_deep_over_first_mean": round(deep_s["mean_ms"] / first_s["mean_ms"], 3),
        "goal_ratio_max": GOAL_RATIO,
        "goal_met_p50": deep_s["p50_ms"] / first_s["p50_ms"] <= GOAL_RATIO,
    }


def _window(
    clients: list[httpx.Client], url: str, params: dict[str, Any], seconds: float
) -> tuple[int, int, list[float], float]:
    """All clients hammer ``url`` for ``seconds``; (ok, errors, latencies, elapsed)."""
    barrier = threading.Barrier(len(clients) + 1)
    lock = threading.Lock()
    ok = 0
    errors = 0
    lat: list[float] = []
    stop_at = [0.0]

    def run(client: httpx.Client) -> None:
        nonlocal ok, errors
        mine: list[float] = []
        bad = 0
        barrier.wait()
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at[0]:
                break
            try:
                resp = client.get(url, params=params)
                good = resp.status_code == 200
            except httpx.HTTPError:
                good = False
            t1 = time.perf_counter()
            if t1 > stop_at[0]:
                break  # finished after the window: not counted
            if good:
                mine.append(t1 - t0)
            else:
                bad += 1
        with lock:
            ok += len(mine)
            errors += bad
            lat.extend(mine)

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    start = time.perf_counter()
    stop_at[0] = start + seconds
    barrier.wait()
    for t in threads:
        t.join(timeout=seconds + 60)
    return ok, errors, lat, seconds


def measure_throughput(
    base: str, key: str, concurrency: int, limit: int, window_s: float, rounds: int
) -> dict[str, Any]:
    """Each endpoint gets ``rounds`` windows of ``window_s`` seconds at ``concurrency`` clients;
    the endpoints rotate within a round (ping included), so drift in the machine's load is spread
    over all of them."""
    endpoints = ["ping", *LISTS]
    headers = {**HEADERS, "Authorization": f"Bearer {key}"}
    clients = [
        httpx.Client(
            headers=headers,
            timeout=30,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        for _ in range(concurrency)
    ]
    acc: dict[str, dict[str, Any]] = {
        e: {"ok": 0, "errors": 0, "seconds": 0.0, "lat": [], "per_window_rps": []}
        for e in endpoints
    }
    try:
        # warm-up: every endpoint once per client, then a short window each
        for e in endpoints:
            url = f"{base}/api/v1/{e}"
            params = {} if e == "ping" else {"limit": limit}
            _check_page(clients[0].get(url, params=params), e)
            _window(clients, url, params, 1.0)
        for r in range(rounds):
            order = endpoints[r % len(endpoints) :] + endpoints[: r % len(endpoints)]
            for e in order:
                url = f"{base}/api/v1/{e}"
                params = {} if e == "ping" else {"limit": limit}
                ok, errors, lat, secs = _window(clients, url, params, window_s)
                a = acc[e]
                a["ok"] += ok
                a["errors"] += errors
                a["seconds"] += secs
                a["lat"].extend(lat)
                a["per_window_rps"].append(round(ok / secs, 1))
            _log(f"throughput round {r + 1}/{rounds} done (load {_loadavg()})")
    finally:
        for c in clients:
            c.close()
    ping_rps = acc["ping"]["ok"] / acc["ping"]["seconds"]
    out: dict[str, Any] = {}
    for e in endpoints:
        a = acc[e]
        rps = a["ok"] / a["seconds"]
        out[e] = {
            "path": f"/api/v1/{e}" + ("" if e == "ping" else f"?limit={limit}"),
            "requests_ok": a["ok"],
            "errors": a["errors"],
            "seconds": round(a["seconds"], 2),
            "rps": round(rps, 1),
            "per_window_rps": a["per_window_rps"],
            "ratio_to_ping": round(rps / ping_rps, 4),
            "latency": _summary_ms(a["lat"]),
        }
    return {
        "concurrency": concurrency,
        "window_s": window_s,
        "rounds": rounds,
        "endpoints": out,
    }


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m perf_suite.api_pages_bench", description=__doc__)
    p.add_argument("--out", type=Path, required=True, help="Where to write the JSON result.")
    p.add_argument("--list-db", default="keja_medium", help="Database for the list throughput.")
    p.add_argument("--deep-db", default="keja_deep_bench", help="Database for the deep page.")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--limit", type=int, default=25)
    p.add_argument("--requests", type=int, default=300, help="Latency samples per page.")
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--window", type=float, default=5.0, help="Seconds per throughput window.")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)

    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    list_url, deep_url = _db_url(args.list_db), _db_url(args.deep_db)
    result: dict[str, Any] = {
        "benchmark": "api_pages",
        "issue": 4,
        "command": " ".join([Path(sys.executable).name, "-m", "perf_suite.api_pages_bench"])
        + " "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "started_utc": started,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "postgres": _pg_version(deep_url),
            "loadavg_start": _loadavg(),
        },
        "settings": {
            "gunicorn_workers": args.workers,
            "gunicorn_threads": 1,
            "keja_env": "production",
            "response_caches": False,
            "limit": args.limit,
        },
    }
    _log(f"load average {result['machine']['loadavg_start']} on {os.cpu_count()} CPUs")

    # (1) deep page
    agency = _busiest_agency(deep_url)
    _log(f"deep db {args.deep_db}: agency {agency['slug']} has {agency['payments']} payments")
    if agency["payments"] < DEEP_ROW + args.limit:
        raise SystemExit(f"{args.deep_db}: need at least {DEEP_ROW + args.limit} payments")
    from keja.platform.pagination import encode_cursor  # plain base64 + orjson, no settings

    deep_id = _nth_payment_id(deep_url, agency["id"], DEEP_ROW)
    cursor = encode_cursor("-id", deep_id, deep_id)
    result["deep"] = {
        "database": args.deep_db,
        "agency": agency,
        "row": DEEP_ROW,
        "cursor_id": deep_id,
        "cursor": cursor,
    }
    _log("EXPLAIN ANALYZE of both pages")
    result["deep"]["explain"] = _explain_pages(deep_url, agency["id"], deep_id, args.limit)
    key, prefix = _create_key(deep_url, agency["slug"])
    server = Gunicorn(deep_url, args.workers)
    result["gunicorn_command"] = " ".join(server.command[1:])
    try:
        server.start()
        _log(f"gunicorn up on {server.base}; {args.requests} first/deep pairs")
        result["deep"]["latency"] = measure_deep(
            server.base, key, cursor, args.limit, args.requests, args.warmup
        )
    finally:
        server.stop()
        _revoke_key(deep_url, agency["slug"], prefix)
    result["machine"]["loadavg_after_deep"] = _loadavg()

    # (2) list throughput
    need = (len(LISTS) + 1) * (args.rounds * args.window + 1.5) + 60
    if _remaining() < need:
        raise SystemExit(f"not enough time left for the throughput phase ({need:.0f}s)")
    lagency = _busiest_agency(list_url)
    lagency["rows"] = _list_counts(list_url, lagency["id"])
    _log(f"list db {args.list_db}: agency {lagency['slug']} {lagency['rows']}")
    key, prefix = _create_key(list_url, lagency["slug"])
    server = Gunicorn(list_url, args.workers)
    try:
        server.start()
        _log(f"gunicorn up on {server.base}; throughput at {args.concurrency} clients")
        result["throughput"] = {
            "database": args.list_db,
            "agency": lagency,
            **measure_throughput(
                server.base, key, args.concurrency, args.limit, args.window, args.rounds
            ),
        }
    finally:
        server.stop()
        _revoke_key(list_url, lagency["slug"], prefix)
    result["machine"]["loadavg_end"] = _loadavg()
    result["elapsed_s"] = round(time.monotonic() - _T0, 1)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    _print_summary(result, args.out)
    return 0


def _print_summary(r: dict[str, Any], out: Path) -> None:
    m = r["machine"]
    d = r["deep"]
    lat = d["latency"]
    print()
    print(f"API pages benchmark  ({m['cpu_count']} CPUs, PostgreSQL {m['postgres']})")
    print(
        f"load average: start {m['loadavg_start']}, after deep {m['loadavg_after_deep']}, "
        f"end {m['loadavg_end']}"
    )
    print(
        f"\nDeep page ({d['database']}, agency {d['agency']['slug']} with "
        f"{d['agency']['payments']:,} payments; cursor after row {d['row']:,}, id {d['cursor_id']})"
    )
    for name in ("first", "deep"):
        s = lat[name]
        print(f"  {name:<5} page  n={s['n']}  p50 {s['p50_ms']:.2f} ms  p95 {s['p95_ms']:.2f} ms")
    verdict = "met" if lat["goal_met_p50"] else "NOT met"
    print(
        f"  deep/first  p50 {lat['ratio_deep_over_first_p50']:.3f}  "
        f"p95 {lat['ratio_deep_over_first_p95']:.3f}  (goal <= {GOAL_RATIO}: {verdict})"
    )
    ex = d.get("explain", {})
    for name in ("first", "deep"):
        if name in ex:
            scan = next((ln.strip() for ln in ex[name]["plan"] if "Scan" in ln), "?")
            print(
                f"  SQL {name}: {scan}  exec {ex[name]['execution_ms_median_of_20']:.3f} ms (median)"
            )
    t = r["throughput"]
    print(
        f"\nList throughput ({t['database']}, agency {t['agency']['slug']}, "
        f"{t['concurrency']} clients, {t['rounds']}x{t['window_s']:g}s windows each)"
    )
    for e in t["endpoints"].values():
        print(
            f"  {e['path']:<32} {e['rps']:8.1f} req/s  ratio {e['ratio_to_ping']:.3f}  "
            f"p50 {e['latency']['p50_ms']:.1f} ms  errors {e['errors']}"
        )
    print(f"\nwritten to {out}  ({r['elapsed_s']} s)")


if __name__ == "__main__":
    sys.exit(main())
