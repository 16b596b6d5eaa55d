"""What the indexes of ``payments_payment`` cost a write (P1.1): inserting N payments (copies of
the largest agency's own rows, new receipts) with the table's current indexes, against the same
insert with the indexes that ``*_drop_redundant_indexes`` removed built back for the round.
Interleaved rounds in one run, each in a transaction that is rolled back; the aborted rows are
vacuumed away at the end (without it the index-only scans of that agency's dashboard slow down
several-fold until the next vacuum).

    .venv/bin/python -m perf_suite.index_write_bench --db keja_medium \\
        --out perf_suite/results/index-writes-medium.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import psycopg

DROPPED = (  # the payments indexes the redundant-index migrations dropped
    "CREATE INDEX bench_payment_agency ON payments_payment (agency_id)",
    "CREATE INDEX bench_payment_lease ON payments_payment (lease_id)",
    "CREATE INDEX bench_payment_agency_desc ON payments_payment (agency_id, id DESC)",
)
UNIQUE_TEXT = ("receipt", "checkout_request_id")  # unique columns: made distinct in the copies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="keja_medium")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    conn = psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{args.db}")
    columns = [
        name
        for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'payments_payment' AND column_name <> 'id' ORDER BY ordinal_position"
        )
    ]
    agency = conn.execute(
        "SELECT agency_id FROM payments_payment GROUP BY agency_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    assert agency is not None, "no payments: seed the database first"
    select = ", ".join(f"{c} || '-bench'" if c in UNIQUE_TEXT else c for c in columns)
    insert = (
        f"INSERT INTO payments_payment ({', '.join(columns)}) "  # noqa: S608 - catalog names
        f"SELECT {select} FROM payments_payment WHERE agency_id = %s LIMIT %s"
    )
    indexes_now = conn.execute(
        "SELECT count(*) FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid "
        "WHERE t.relname = 'payments_payment'"
    ).fetchone()[0]  # type: ignore[index]

    def insert_round(with_dropped: bool) -> float:
        with conn.transaction(force_rollback=True):
            if with_dropped:
                for ddl in DROPPED:
                    conn.execute(ddl)
            started = time.perf_counter()
            conn.execute(insert, [agency[0], args.rows])
            return (time.perf_counter() - started) * 1000

    now_ms: list[float] = []
    before_ms: list[float] = []
    for _ in range(args.rounds):
        now_ms.append(insert_round(False))
        before_ms.append(insert_round(True))
    now, before = statistics.median(now_ms), statistics.median(before_ms)
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM (ANALYZE) payments_payment")  # the rolled-back rows' dead tuples
    result = {
        "benchmark": "index_writes",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python -m perf_suite.index_write_bench " + " ".join(argv or sys.argv[1:]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg": os.getloadavg(),
        },
        "rows": args.rows,
        "rounds": args.rounds,
        "payments_indexes": {"now": indexes_now, "before": indexes_now + len(DROPPED)},
        "insert_ms_median": {"now": round(now, 1), "before": round(before, 1)},
        "insert_ms_rounds": {"now": now_ms, "before": before_ms},
        "ratio_now_vs_before": round(now / before, 3),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{args.rows} payment inserts: {now:.0f} ms with {indexes_now} indexes, {before:.0f} ms "
        f"with the {len(DROPPED)} dropped ones back: ratio {now / before:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
