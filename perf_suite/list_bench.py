"""Console list pages on a seeded database (issue 7 list caching, P1.1 sort indexes).

For every console list and sort, as the largest agency's owner (Django's test client in this
process, production settings, response caches on), in one run:

- the page's own SQL executed raw (the LIMIT query the page sends, captured, run on the raw
  connection): the baseline,
- the page with its list namespace bumped before each request (a cold list cache: the query runs),
- the page from the list cache (no list query),

as medians, with the ratios cold/SQL and cold/cached. Query counts are checked, not assumed:
the cached page must run no list query.

    .venv/bin/python -m perf_suite.list_bench --db keja_medium \\
        --out perf_suite/results/lists-medium.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import psycopg


def median_ms(fn: Callable[[], object], rounds: int) -> float:
    for _ in range(3):
        fn()
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="keja_medium")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    os.environ.update(
        KEJA_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="testserver,127.0.0.1",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{args.db}",
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        KEJA_INSTANCE="listbench",
        KEJA_SSL_REDIRECT="false",
        KEJA_LOG_LEVEL="WARNING",
        KEJA_POOL_STATS_INTERVAL="0",
        KEJA_RESPONSE_CACHES="true",
        DJANGO_SETTINGS_MODULE="keja.config.settings",
    )
    import django

    django.setup()
    from cachalot.api import cachalot_disabled
    from django.contrib.auth.models import User
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from keja.agencies.models import Membership
    from keja.console.views import audit, billing, leases, payments, properties, tenants
    from keja.platform.cache import versioned
    from keja.properties.models import Unit

    top = Unit.objects.values("agency_id").annotate(n=Count("id")).order_by("-n", "agency_id")[0]
    agency_id = int(top["agency_id"])
    owner = Membership.objects.filter(agency_id=agency_id, role="owner").order_by("id").first()
    assert owner is not None, "no owner: seed the database with keja seed_demo"
    client = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_HX_REQUEST="true")
    client.force_login(User.objects.get(pk=owner.user_id))
    client.get("/", HTTP_HX_REQUEST=None)  # the session now holds the agency

    specs = [
        properties.PROPERTIES,
        properties.UNITS,
        tenants.TENANTS,
        leases.LEASES,
        billing.INVOICES,
        payments.PAYMENTS,
        payments.UNMATCHED,
        audit.AUDIT,
    ]
    rows: list[dict[str, Any]] = []
    # the baseline runs on its own plain connection (the app's goes back to the pool per request)
    raw = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    for spec in specs:
        for sort in spec.sorts:
            url = f"{reverse(spec.url_name)}?sort={sort.key}"

            def get(url: str = url) -> None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)

            def cold(get: Callable[[], None] = get) -> None:
                versioned.bump("list", agency_id)
                get()

            versioned.bump("list", agency_id)
            with cachalot_disabled(), CaptureQueriesContext(connection) as ctx:
                get()
            page_sql = [q["sql"] for q in ctx.captured_queries if "LIMIT 26" in q["sql"]]
            assert len(page_sql) == 1, (url, [q["sql"][:120] for q in ctx.captured_queries])
            sql = page_sql[0]
            get()  # now cached
            with CaptureQueriesContext(connection) as ctx:
                get()
            assert not any("LIMIT 26" in q["sql"] for q in ctx.captured_queries), url

            def run_sql(sql: str = sql, raw: Any = raw) -> None:
                with raw.cursor() as cur:
                    cur.execute(sql)
                    cur.fetchall()

            with cachalot_disabled():
                sql_ms = median_ms(run_sql, args.rounds)
                cold_ms = median_ms(cold, args.rounds)
                hit_ms = median_ms(get, args.rounds)
            rows.append(
                {
                    "list": spec.url_name,
                    "sort": sort.key,
                    "url": url,
                    "sql_ms": round(sql_ms, 3),
                    "cold_ms": round(cold_ms, 3),
                    "cached_ms": round(hit_ms, 3),
                    "cold_vs_sql": round(cold_ms / sql_ms, 1),
                    "cold_vs_cached": round(cold_ms / hit_ms, 2),
                }
            )
            print(f"{url:36} SQL {sql_ms:7.2f} ms  cold {cold_ms:7.2f} ms  cached {hit_ms:6.2f} ms")
    server = raw.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    raw.close()
    result = {
        "benchmark": "console lists",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python -m perf_suite.list_bench " + " ".join(argv or sys.argv[1:]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "postgres": server,
            "loadavg": os.getloadavg(),
        },
        "dataset": {"db": args.db, "agency_id": agency_id, "units": top["n"]},
        "what": "HTMX list partial (25 rows) as the agency owner, in-process test client; cold = "
        "list namespace bumped before each request; cached = served from the list cache",
        "pages": rows,
        "median_cold_vs_cached": statistics.median(r["cold_vs_cached"] for r in rows),
    }
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=2, default=str)
        fh.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
