"""``keja seed_demo --scale small|medium|large [--seed N] [--reset]``: realistic demo data.

small = 1 agency, ~200 units; medium = 10 agencies, 20,000 units; large = 100 agencies,
200,000 units (~2.4 million invoices and as many payments); 12 months of invoices and payments.
Refuses to run when the database already has agencies unless ``--reset`` is given, which
empties the business tables first (agencies and all their data, audit entries; users are kept).
Dates are relative to ``--today`` (default: today in Nairobi); the same ``--seed`` and ``--today``
give the same data. See keja.bulk.seeding and docs/database.md.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shlex
import sys
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from keja.bulk.seeding import LOAD_MODES, LOAD_ORDER, SCALES, Scale, SeedRefused, seed_demo
from keja.kernel.clock import today_nairobi


def _table_sizes() -> dict[str, dict[str, int]]:
    if connection.vendor != "postgresql":
        return {}
    tables = [m._meta.db_table for m in LOAD_ORDER]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_relation_size(c.oid), "
            "pg_indexes_size(c.oid), pg_total_relation_size(c.oid) "
            "FROM pg_class c WHERE c.relname = ANY(%s) ORDER BY c.relname",
            [tables],
        )
        return {
            name: {"rows": rows, "table_bytes": heap, "index_bytes": idx, "total_bytes": total}
            for name, rows, heap, idx, total in cur.fetchall()
        }


def _server_version() -> str:
    if connection.vendor != "postgresql":
        return f"sqlite {connection.Database.sqlite_version}"  # type: ignore[attr-defined]
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        return str(cur.fetchone()[0])


class Command(BaseCommand):
    help = "Seed realistic demo data (agencies, properties, tenants, leases, invoices, payments)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=sorted(SCALES), default="small")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Empty the business tables first (deletes every agency and its data).",
        )
        parser.add_argument(
            "--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)"
        )
        parser.add_argument("--agencies", type=int, default=None, help="Override the scale.")
        parser.add_argument("--units", type=int, default=None, help="Override the scale.")
        parser.add_argument(
            "--load-mode",
            choices=LOAD_MODES,
            default="auto",
            help="PostgreSQL: live = constraints on, one transaction per agency; bulk = one "
            "transaction, foreign keys and secondary indexes rebuilt at the end; auto = bulk "
            "from 10,000 units.",
        )
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument(
            "--stats-json", default=None, help="Write time, peak memory and table sizes here."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base = SCALES[options["scale"]]
        scale = Scale(
            base.name,
            agencies=options["agencies"] or base.agencies,
            units=options["units"] or base.units,
            months=base.months,
        )
        if scale.units < scale.agencies:
            raise CommandError("--units must be at least --agencies.")
        today = options["today"] or today_nairobi()
        show = not options["no_progress"] and options.get("verbosity", 1) > 0
        bar: Any = None
        if show:
            from tqdm import tqdm

            bar = tqdm(total=scale.units, unit="unit", file=sys.stderr, desc=f"seed {scale.name}")

        def progress(units: int, summary: dict[str, Any]) -> None:
            if bar is not None:
                bar.set_postfix(agency=summary["slug"][:18], refresh=False)
                bar.update(units)

        try:
            report = seed_demo(
                scale=scale,
                seed=options["seed"],
                today=today,
                reset=options["reset"],
                load_mode=options["load_mode"],
                progress=progress,
            )
        except SeedRefused as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if bar is not None:
                bar.close()

        rows = sum(report.rows.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {scale.name} (seed {report.seed}, today {report.today}): "
                f"{len(report.agencies)} agencies, {report.rows['unit']} units, "
                f"{report.rows['lease']} leases, {report.rows['invoice']} invoices, "
                f"{report.rows['payment']} payments, {report.rows['allocation']} allocations "
                f"in {report.seconds:.1f} s ({rows / report.seconds:,.0f} rows/s, "
                f"{report.load_mode} load)."
            )
        )
        self.stdout.write(f"Logins (password: {settings.KEJA_DEMO_PASSWORD}):")
        for email, role in report.logins:
            self.stdout.write(f"  {role:<10} {email}")
        if options["stats_json"]:
            self._write_stats(Path(options["stats_json"]), report, rows)

    def _write_stats(self, path: Path, report: Any, rows: int) -> None:
        maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        stats = {
            "command": "keja " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
            "date": timezone.now().isoformat(timespec="seconds"),
            "machine": {
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "database": _server_version(),
                "loadavg_1_5_15_at_end": [round(x, 2) for x in os.getloadavg()],
            },
            "scale": report.scale,
            "seed": report.seed,
            "today": report.today.isoformat(),
            "load_mode": report.load_mode,
            "seconds": round(report.seconds, 2),
            "phases_seconds": {k: round(v, 2) for k, v in report.phases.items()},
            "rows": report.rows,
            "rows_total": rows,
            "rows_per_second": round(rows / report.seconds),
            "peak_rss_mb": round(maxrss_kb / 1024, 1),
            "tables": _table_sizes(),
            "agencies": report.agencies,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stats, indent=2, default=str) + "\n")
        self.stdout.write(f"Stats written to {path}")
