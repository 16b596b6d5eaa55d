"""Shared machinery of the HTTP scenarios: console logins, probing which pages exist, load levels
with the bare endpoint as ceiling at the same concurrency (interleaved, see the load runner), and
per-page data-access ratios: the page's single-client latency against the bare endpoint's and
against its own SQL replayed raw, sampled in turns (paired) so that both see the same machine.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from perf_suite.context import PROXY_HEADERS, Context
from perf_suite.dbceilings import SqlReplay
from perf_suite.results import put, rate, ratio
from perf_suite.stats import summarize

PING = "/api/v1/ping"
LOGIN = "/accounts/login/"
CEILING_KEYS = ("rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "error_rate", "requests")


def client(ctx: Context, headers: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=ctx.base_url,
        headers={**PROXY_HEADERS, **(headers or {})},
        follow_redirects=False,
        timeout=60,
    )


def _cookies(resp: httpx.Response, jar: dict[str, str]) -> None:
    # Set-Cookie read by hand: the cookies are Secure (production), which a cookie jar would
    # refuse to send back over the loopback's plain HTTP.
    for raw in resp.headers.get_list("set-cookie"):
        name, _, rest = raw.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0].strip()


def cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def login(ctx: Context) -> tuple[str, float]:
    """Log in as the agency owner like a browser; returns the Cookie header and the POST's ms."""
    jar: dict[str, str] = {}
    origin = ctx.base_url.replace("http://", "https://")
    with client(ctx) as c:
        page = c.get(LOGIN)
        if page.status_code != 200:
            raise RuntimeError(f"GET {LOGIN} answered {page.status_code}")
        _cookies(page, jar)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        token = match.group(1) if match else jar.get("csrftoken", "")
        t0 = time.perf_counter()
        resp = c.post(
            LOGIN,
            data={
                "username": ctx.agency.owner_email,
                "password": ctx.agency.password,
                "csrfmiddlewaretoken": token,
            },
            headers={"Cookie": cookie_header(jar), "Origin": origin, "Referer": origin + LOGIN},
        )
        elapsed = (time.perf_counter() - t0) * 1000
        _cookies(resp, jar)
    if resp.status_code != 302 or not any("session" in k for k in jar):
        raise RuntimeError(
            f"console login as {ctx.agency.owner_email} failed: HTTP {resp.status_code} "
            f"(cookies: {sorted(jar)})"
        )
    return cookie_header(jar), elapsed


def probe(ctx: Context, path: str, headers: dict[str, str]) -> httpx.Response:
    with client(ctx, headers) as c:
        return c.get(path)


def ping_params(ctx: Context) -> dict[str, Any]:
    return {
        "headers": dict(PROXY_HEADERS),
        "mix": [{"name": PING, "paths": [PING], "weight": 1}],
        "think_time": ctx.cfg.think_time,
    }


def run_levels(
    ctx: Context, scenario: str, params: dict[str, Any], levels: tuple[int, ...]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each level: the scenario's mix and the bare endpoint, with the same number of users,
    interleaved in slices. Returns the levels (the scenario's figures, with ``ceiling``) and the
    ratios."""
    phases = [
        {
            "label": f"{scenario}_u{users}",
            "users": users,
            "warmup": ctx.cfg.warmup,
            "duration": ctx.cfg.duration,
            "ceiling_duration": ctx.cfg.ping_duration,
            "slices": ctx.cfg.slices,
            "params": {**params, "think_time": ctx.cfg.think_time},
            "ceiling_params": ping_params(ctx),
        }
        for users in levels
    ]
    ctx.log(
        f"{scenario}: load levels {', '.join(map(str, levels))} users: {ctx.cfg.duration:g}s "
        f"each, interleaved in {ctx.cfg.slices} slices with {ctx.cfg.ping_duration:g}s of "
        f"GET {PING} (same users)"
    )
    out: list[dict[str, Any]] = []
    ratios: dict[str, Any] = {}
    for res in ctx.load(phases, label=scenario):
        users = res["users"]
        ping = res["ceiling"]
        ping_cpu = (ping.get("server_cpu") or {}).get("cpu_ms_per_req")
        level = {
            "users": users,
            "users_running": res["users_running"],
            "slices": res["slices"],
            **res["scenario"],
            "ceiling": {"name": PING, **{k: ping[k] for k in CEILING_KEYS}}
            | {"cpu_ms_per_req": ping_cpu, "server_cpu": ping.get("server_cpu")},
            "loadgen_cpu": res["loadgen_cpu"],
            "task_exceptions": res["task_exceptions"],
        }
        out.append(level)
        cpu = (level.get("server_cpu") or {}).get("cpu_ms_per_req")
        ctx.log(
            f"  {users:>4} users: {level['rps']:8.1f} req/s  p50 {level['p50_ms']} ms  "
            f"p95 {level['p95_ms']} ms  p99 {level['p99_ms']} ms  errors "
            f"{level['error_rate']:.2%}  CPU {cpu} ms/req  | ping {ping['rps']:.0f} req/s, "
            f"CPU {ping_cpu} ms/req"
        )
        prefix = f"u{users}"
        put(
            ratios,
            f"{prefix}.error_rate",
            rate(level["error_rate"], description=f"error rate, {users} users"),
        )
        if level["requests"] == 0 or ping["requests"] == 0:
            continue
        ceiling_name = f"GET {PING}, {users} users, interleaved"
        put(
            ratios,
            f"{prefix}.throughput_vs_ping",
            ratio(
                level["rps"],
                ping["rps"],
                better="higher",
                unit="req/s",
                ceiling_name=ceiling_name,
                description=f"throughput at {users} users / the bare endpoint's",
            ),
        )
        put(
            ratios,
            f"{prefix}.cpu_per_req_vs_ping",
            ratio(
                cpu,
                ping_cpu,
                better="lower",
                unit="CPU ms/request",
                ceiling_name=ceiling_name,
                description=f"server CPU (gunicorn + PostgreSQL) per request at {users} users "
                "/ the bare endpoint's",
            ),
        )
        for pct in ("p50", "p95"):
            put(
                ratios,
                f"{prefix}.{pct}_vs_ping",
                ratio(
                    level[f"{pct}_ms"],
                    ping[f"{pct}_ms"],
                    better="lower",
                    unit="ms",
                    ceiling_name=ceiling_name,
                    description=f"{pct} latency at {users} users / the bare endpoint's",
                ),
            )
    return out, ratios


def _paired(
    ctx: Context, path: str, headers: dict[str, str], statements: list[str]
) -> dict[str, Any]:
    """Single-client latency of GET ``path``, of GET /api/v1/ping and of the page's SQL, taken in
    turns (rotating the order) for ``seq_seconds``: each sample of one has neighbours of the
    others taken under the same conditions."""
    samples: dict[str, list[float]] = {"endpoint": [], "ping": [], "sql": []}
    statuses: dict[int, int] = {}
    replay = SqlReplay(ctx.run_db_url, statements) if statements else None
    try:
        with client(ctx, headers) as page, client(ctx) as bare:

            def get(c: httpx.Client, url: str) -> float:
                t0 = time.perf_counter()
                r = c.get(url)
                ms = (time.perf_counter() - t0) * 1000
                if c is page:
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                return ms

            takers = {
                "endpoint": lambda: get(page, path),
                "ping": lambda: get(bare, PING),
                **({"sql": replay.once} if replay else {}),
            }
            for _ in range(3):
                for take in takers.values():
                    take()
            statuses.clear()
            order = list(takers)
            deadline = time.perf_counter() + ctx.cfg.seq_seconds
            n = 0
            while time.perf_counter() < deadline or n < 5:
                for name in order[n % len(order) :] + order[: n % len(order)]:
                    samples[name].append(takers[name]())
                n += 1
    finally:
        if replay is not None:
            replay.close()
    return {
        "statuses": statuses,
        "endpoint": summarize(samples["endpoint"]),
        "ping": summarize(samples["ping"]),
        "sql": summarize(samples["sql"]) if replay else None,
    }


def data_access(
    ctx: Context,
    scenario: str,
    pages: dict[str, str],
    headers: dict[str, str],
    auth: dict[str, Any],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per page: single-client latency, the bare endpoint's, and the page's own SQL (captured in
    the app with an empty cache, replayed through psycopg in one rolled-back transaction)."""
    if ctx.cfg.max_pages and len(pages) > ctx.cfg.max_pages:
        pages = dict(list(pages.items())[: ctx.cfg.max_pages])
    if not pages:
        return [], {}
    captured = ctx.appside("capture", {"auth": auth, "paths": list(pages.values())})
    rows: list[dict[str, Any]] = []
    ratios: dict[str, Any] = {}
    for key, path in pages.items():
        cap = captured["paths"].get(path, {})
        statements = cap.get("cold") or [] if cap.get("status") == 200 else []
        row: dict[str, Any] = {
            "page": key,
            "path": path,
            "capture_status": cap.get("status"),
            "queries_cold": len(cap.get("cold") or []),
            "queries_warm": len(cap.get("warm") or []),
        }
        try:
            row.update(_paired(ctx, path, headers, statements))
        except Exception as exc:  # reported; the other pages still count
            row["error"] = f"{type(exc).__name__}: {exc}"[:300]
            rows.append(row)
            continue
        rows.append(row)
        endpoint, ping, sql = row["endpoint"], row["ping"], row["sql"]
        if set(row["statuses"]) != {200}:
            row["note"] = f"statuses {row['statuses']}: no ratio"
            continue
        put(
            ratios,
            f"page.{key}.latency_vs_ping",
            ratio(
                endpoint["p50_ms"],
                ping["p50_ms"],
                better="lower",
                unit="ms",
                ceiling_name=f"GET {PING}, 1 client, paired",
                description=f"p50 of GET {path} / the bare endpoint's, one client",
            ),
        )
        if sql:
            put(
                ratios,
                f"page.{key}.latency_vs_sql",
                ratio(
                    endpoint["p50_ms"],
                    sql["p50_ms"],
                    better="lower",
                    unit="ms",
                    ceiling_name=f"its {len(statements)} SQL statements via psycopg, paired",
                    description=f"p50 of GET {path} / p50 of its own SQL replayed raw",
                ),
            )
        ctx.log(
            f"  {key:<24} {endpoint['p50_ms']:7.2f} ms  (ping {ping['p50_ms']:.2f} ms, "
            f"{len(statements)} queries = {sql['p50_ms'] if sql else '-'} ms raw)"
        )
    return rows, ratios
