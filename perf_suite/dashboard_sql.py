"""Dashboard SQL timing on a seeded database (issue 3, P1.1, P2.1 groundwork).

Captures the SQL ``keja.reports.selectors.dashboard_figures`` sends for the largest agency (one
statement on PostgreSQL; ``--orm`` captures the six queries of ``dashboard_figures_orm`` instead),
then executes it directly on the raw psycopg connection: 3 warm-up rounds, then 5 timed
rounds; reports the median round (sum of the queries) and per-query medians, the server-side
execution times and the index each query uses. For the one statement it also times the same
statement as a server-side prepared statement (``prepared_median_ms``: what the application runs
since ADR 0009, and the baseline of the cold-cache ratio): parsed once, executed from PostgreSQL's
generic plan. Compare with the ceiling in
../shared/reference/ceilings.md (7-sum dashboard aggregate: 84 ms interleaved, 16 ms clustered).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keja_large \\
        .venv/bin/python -m perf_suite.dashboard_sql --scale large \\
        --out perf_suite/results/dashboard-sql-large.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import date
from typing import Any

GOAL_MS = 20.0
CEILING = {"interleaved_ms": 84, "clustered_ms": 16, "source": "shared/reference/ceilings.md"}
LABELS = (
    ("WITH units AS", "dashboard_statement"),
    ('FROM "properties_unit"', "units"),
    ('"billing_invoice"."period" = ', "billed_this_month"),
    ('"billing_invoice"."status" IN', "arrears_aging"),
    ('"payments_payment"."paid_at" >= ', "collected_this_month"),
    ('"lease_id" IS NULL', "unmatched_count"),
    ("LIMIT", "latest_payments"),
)


def _label(sql: str) -> str:
    return next((name for marker, name in LABELS if marker in sql), "other")


def _scans(plan: Any, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(plan, dict):
        if "Scan" in str(plan.get("Node Type", "")) and plan.get("Relation Name"):
            out.append(
                {
                    "node": plan["Node Type"],
                    "table": plan["Relation Name"],
                    "index": plan.get("Index Name"),
                    "heap_fetches": plan.get("Heap Fetches"),
                    "rows": plan.get("Actual Rows"),
                }
            )
        for value in plan.values():
            _scans(value, out)
    elif isinstance(plan, list):
        for value in plan:
            _scans(value, out)
    return out


def _cold_cache_rounds(
    cur: Any, queries: list[str], prepared: Any, agency_id: int, rounds: int
) -> dict[str, Any]:
    """Interleaved: the raw SQL on the raw connection (as text, planned on every run, and
    prepared), then ``dashboard_cached`` after bumping the agency's dashboard namespace (so it
    misses, takes the lock, runs the statement through Django and stores the figures): the
    in-application cost of a cold dashboard against its SQL."""
    from django.conf import settings

    from keja.platform.cache import versioned
    from keja.reports.selectors import dashboard_cached

    assert settings.KEJA_RESPONSE_CACHES, "set KEJA_RESPONSE_CACHES=true for --cold-cache"
    raw_ms: list[float] = []
    prepared_ms: list[float] = []
    cold_ms: list[float] = []
    for i in range(rounds + 6):
        t0 = time.perf_counter()
        for sql in queries:
            cur.execute(sql)
            cur.fetchall()
        raw_elapsed = (time.perf_counter() - t0) * 1000
        prepared_elapsed = 0.0
        if prepared is not None:
            t0 = time.perf_counter()
            prepared()
            prepared_elapsed = (time.perf_counter() - t0) * 1000
        versioned.bump("dash", agency_id)
        t0 = time.perf_counter()
        dashboard_cached(actor=agency_id)
        cold_elapsed = (time.perf_counter() - t0) * 1000
        if i >= 6:  # the first rounds warm the pool, the script cache and the plans
            raw_ms.append(raw_elapsed)
            prepared_ms.append(prepared_elapsed)
            cold_ms.append(cold_elapsed)
    raw_median, cold_median = statistics.median(raw_ms), statistics.median(cold_ms)
    prepared_median = statistics.median(prepared_ms) if prepared is not None else None
    baseline = prepared_median or raw_median
    return {
        "rounds": rounds,
        "raw_sql_median_ms": round(raw_median, 3),
        "raw_sql_prepared_median_ms": round(prepared_median, 3) if prepared_median else None,
        "cold_dashboard_cached_median_ms": round(cold_median, 3),
        "ratio": round(cold_median / baseline, 3),
        "ratio_baseline": "prepared" if prepared_median else "text",
        "ratio_vs_text_sql": round(cold_median / raw_median, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--today", type=date.fromisoformat, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--orm", action="store_true", help="time the ORM reference path (six queries)"
    )
    parser.add_argument(
        "--cold-cache",
        action="store_true",
        help="also time a cold dashboard_cached call (namespace bumped: Redis read and lock, "
        "the statement, store) interleaved with the raw SQL (needs Redis and response caches)",
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keja.config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext

    from keja.billing.models import Invoice
    from keja.kernel.clock import today_nairobi
    from keja.reports.selectors import (
        dashboard_figures,
        dashboard_figures_orm,
        dashboard_statement,
    )

    today = args.today or today_nairobi()
    top = Invoice.objects.values("agency_id").annotate(n=Count("id")).order_by("-n", "agency_id")[0]
    agency_id = int(top["agency_id"])
    with CaptureQueriesContext(connection) as ctx:
        figures = (dashboard_figures_orm if args.orm else dashboard_figures)(
            actor=agency_id, today=today
        )
    queries = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
    ]

    raw = connection.connection
    with raw.cursor() as cur:
        cur.execute("SHOW server_version")
        server = cur.fetchone()[0]
        sizes = {}
        for table in ("billing_invoice", "payments_payment", "properties_unit"):
            cur.execute(
                "SELECT count(*), pg_total_relation_size(%s::regclass) FROM " + table,  # noqa: S608
                [table],
            )
            rows, size = cur.fetchone()
            sizes[table] = {"rows": rows, "total_bytes": size}
        for _ in range(3):  # warm-up: pages in shared buffers / the OS cache, plans cached
            for sql in queries:
                cur.execute(sql)
                cur.fetchall()
        rounds: list[dict[str, float]] = []
        for _ in range(args.rounds):
            timings: dict[str, float] = {}
            for sql in queries:
                t0 = time.perf_counter()
                cur.execute(sql)
                cur.fetchall()
                timings[_label(sql)] = (time.perf_counter() - t0) * 1000
            rounds.append(timings)
        prepared = None
        prepared_rounds: list[float] = []
        if not args.orm:  # the statement as the application runs it: prepared (ADR 0009)
            import psycopg

            statement, params = dashboard_statement(agency_id, today)
            server_cursor = psycopg.Cursor(raw)

            def prepared() -> None:
                server_cursor.execute(statement, params, prepare=True)
                server_cursor.fetchall()

            for _ in range(6):  # five custom plans, then PostgreSQL's generic plan
                prepared()
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                prepared()
                prepared_rounds.append((time.perf_counter() - t0) * 1000)
        cold_cache: dict[str, Any] | None = None
        if args.cold_cache:
            cold_cache = _cold_cache_rounds(cur, queries, prepared, agency_id, max(args.rounds, 30))
        plans = {}
        for sql in queries:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            plan = cur.fetchone()[0][0]
            plans[_label(sql)] = {
                "execution_ms": plan["Execution Time"],
                "planning_ms": plan["Planning Time"],
                "shared_hit_blocks": plan["Plan"].get("Shared Hit Blocks"),
                "shared_read_blocks": plan["Plan"].get("Shared Read Blocks"),
                "scans": _scans(plan["Plan"], []),
            }
    totals = [sum(r.values()) for r in rounds]
    median_total = statistics.median(totals)
    result = {
        "what": "dashboard_figures"
        + ("_orm" if args.orm else "")
        + " SQL for the largest agency, executed directly, warm",
        "command": " ".join(
            [
                os.path.basename(sys.executable),
                "-m",
                "perf_suite.dashboard_sql",
                *(argv or sys.argv[1:]),
            ]
        ),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "postgres": server,
        },
        "scale": args.scale,
        "today": today.isoformat(),
        "agency_id": agency_id,
        "agency_invoices": top["n"],
        "units": figures.units_total,
        "tables": sizes,
        "queries": len(queries),
        "rounds": args.rounds,
        "median_total_ms": round(median_total, 2),
        "min_total_ms": round(min(totals), 2),
        "max_total_ms": round(max(totals), 2),
        "prepared_median_ms": (
            round(statistics.median(prepared_rounds), 2) if prepared_rounds else None
        ),
        "per_query_median_ms": {
            k: round(statistics.median(r[k] for r in rounds), 3) for k in rounds[0]
        },
        "server_execution_ms": {k: round(v["execution_ms"], 3) for k, v in plans.items()},
        "goal_ms": GOAL_MS,
        "meets_goal": median_total < GOAL_MS,
        "ceiling": CEILING,
        "plans": plans,
    }
    if cold_cache is not None:
        result["cold_cache"] = cold_cache
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=2, default=str)
        fh.write("\n")
    print(
        f"dashboard SQL, agency {agency_id} ({top['n']} invoices, {figures.units_total} units): "
        f"median {median_total:.2f} ms over {args.rounds} rounds "
        f"(goal < {GOAL_MS:.0f} ms; ceiling 84 ms interleaved / 16 ms clustered)"
    )
    if prepared_rounds:
        print(f"  prepared (as the application runs it): median {result['prepared_median_ms']} ms")
    if cold_cache is not None:
        print(
            f"  cold dashboard_cached {cold_cache['cold_dashboard_cached_median_ms']:.2f} ms vs raw "
            f"SQL prepared {cold_cache['raw_sql_prepared_median_ms']} ms: ratio "
            f"{cold_cache['ratio']} (vs the SQL as text, planned each run: "
            f"{cold_cache['raw_sql_median_ms']:.2f} ms, {cold_cache['ratio_vs_text_sql']})"
        )
    per_query: dict[str, float] = result["per_query_median_ms"]
    server_ms: dict[str, float] = result["server_execution_ms"]
    for k, v in per_query.items():
        print(f"  {k:<22} {v:8.3f} ms   server {server_ms.get(k, 0):7.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
