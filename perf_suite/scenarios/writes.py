"""Write scenarios (P8.1): payment processing under concurrent load, and bulk writes.

- ``payments``: N writers (processes) record cash payments through ``payment_record`` (row locks,
  allocation to the lease's invoices, audit) on disjoint leases; ceiling: single-row UPDATE
  transactions per second with the same number of clients (pgbench ``-n -f``).
- ``bulk``: payments written by Django ``bulk_create`` (100 per transaction) and by batch payment
  processing (``run_in_batches`` around ``payment_record``); ceiling: COPY of the same rows.

Both write into the run's own database (a copy of the template, dropped afterwards), so they run
after the read scenarios by default."""

from __future__ import annotations

import json
import time
from typing import Any

from perf_suite.context import Context
from perf_suite.dbceilings import prepare_update_table, update_tps
from perf_suite.results import put, rate, ratio
from perf_suite.scenarios.registry import scenario


def _lease_ids(ctx: Context, limit: int) -> list[int]:
    rows = ctx.query(
        "SELECT id FROM leases_lease WHERE agency_id = %s AND status = 'active' ORDER BY id LIMIT %s",
        (ctx.agency.id, limit),
    )
    return [int(r[0]) for r in rows]


@scenario("payments", description="payment_record by concurrent writers vs UPDATE TPS")
def payments(ctx: Context) -> dict[str, Any]:
    clients = ctx.cfg.payment_clients
    slices = max(1, ctx.cfg.slices)
    length = max(1, round(ctx.cfg.payment_seconds / slices))  # pgbench -T takes whole seconds
    leases = _lease_ids(ctx, clients * 100)
    if len(leases) < clients:
        return {"skipped": f"the agency has {len(leases)} active leases, need {clients}"}
    prepare_update_table(ctx.run_db_url)
    # writers in [2kL, 2kL + L), the UPDATE ceiling in [2kL + L, 2(k+1)L): side by side
    windows = [(2 * k * length, 2 * k * length + length) for k in range(slices)]
    go_file = ctx.run_dir / "payments.go"
    go_file.unlink(missing_ok=True)
    procs = []
    for i in range(clients):
        cmd, out = ctx.appside_files(
            "payments",
            {
                "agency_id": ctx.agency.id,
                "lease_ids": leases[i::clients],
                "windows": windows,
                "seed": i,
                "ready_file": str(ctx.run_dir / f"payments-{i}.ready"),
                "go_file": str(go_file),
            },
        )
        procs.append((ctx.stack.start(f"payments-writer-{i}", cmd, ctx.helper_env), out))
    deadline = time.monotonic() + 180
    while not all((ctx.run_dir / f"payments-{i}.ready").exists() for i in range(clients)):
        if any(p.poll() not in (None, 0) for p, _ in procs) or time.monotonic() > deadline:
            tails = "\n".join(ctx.stack.tail(f"payments-writer-{i}", 8) for i in range(clients))
            raise RuntimeError(f"payment writers did not get ready:\n{tails}")
        time.sleep(0.05)
    start_at = time.time() + 0.3
    tmp = go_file.with_suffix(".tmp")
    tmp.write_text(repr(start_at))
    tmp.rename(go_file)  # atomic: a writer never reads half a number
    ctx.log(
        f"payments: {clients} writers recording payments, {slices} × {length}s, alternating with "
        f"{slices} × {length}s of single-row UPDATEs ({clients} clients)"
    )
    ceilings = []
    for _begin, end in windows:
        time.sleep(max(0.0, start_at + end + 0.05 - time.time()))
        ceilings.append(
            update_tps(ctx.run_db_url, clients=clients, seconds=length, work_dir=ctx.run_dir)
        )
    for proc, _ in procs:
        proc.wait(timeout=60)
    writers = []
    for proc, out in procs:
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(
                f"a payment writer failed ({proc.returncode}); see {ctx.stack.log_dir}"
            )
        writers.append(json.loads(out.read_text()))
    tps = sum(w["count"] / max(w["elapsed_s"], 1e-9) for w in writers)
    count = sum(w["count"] for w in writers)
    failures = sum(w["failures"] for w in writers)
    errors: dict[str, int] = {}
    for w in writers:
        for k, v in w["errors"].items():
            errors[k] = errors.get(k, 0) + v
    # p50/p95 across writers: merge their percentile summaries conservatively (max of each)
    latency = {
        k: max((w["latency"].get(k) or 0) for w in writers)
        for k in ("p50_ms", "p90_ms", "p95_ms", "p99_ms")
    }
    ceiling = dict(ceilings[0])
    ceiling["tps"] = sum(c["tps"] for c in ceilings) / len(ceilings)
    ceiling["seconds"] = length * len(ceilings)
    ceiling["slices_tps"] = [round(c["tps"], 1) for c in ceilings]
    ctx.log(
        f"  payment_record: {tps:.1f} payments/s, p95 {latency['p95_ms']} ms, {failures} errors"
    )
    ctx.log(f"  ceiling: single-row UPDATE {ceiling['tps']:.0f} TPS ({ceiling['tool']})")
    ratios: dict[str, Any] = {}
    put(
        ratios,
        "record_tps_vs_update_tps",
        ratio(
            tps,
            ceiling["tps"],
            better="higher",
            unit="tx/s",
            ceiling_name=f"single-row UPDATE, {clients} clients ({ceiling['tool']}), interleaved",
            description=f"payment_record per second with {clients} writers / UPDATE TPS",
        ),
    )
    put(
        ratios,
        "error_rate",
        rate(
            failures / (count + failures) if count + failures else 1.0,
            description="failed payments",
        ),
    )
    return {
        "measurements": {
            "writers": clients,
            "seconds": length * slices,
            "slices": slices,
            "payments": count,
            "failures": failures,
            "errors": errors,
            "tps": round(tps, 2),
            "latency_worst_writer": latency,
            "ceiling_update": ceiling,
        },
        "ratios": ratios,
    }


@scenario("bulk", description="bulk_create and batch payment processing vs COPY")
def bulk(ctx: Context) -> dict[str, Any]:
    leases = _lease_ids(ctx, 500)
    if not leases:
        return {"skipped": "the agency has no active lease"}
    ctx.log(
        f"bulk: {ctx.cfg.bulk_rows} payments by bulk_create and by COPY, "
        f"{ctx.cfg.batch_rows} by batch payment processing"
    )
    res = ctx.appside(
        "bulk",
        {
            "agency_id": ctx.agency.id,
            "lease_ids": leases,
            "bulk_rows": ctx.cfg.bulk_rows,
            "batch_rows": ctx.cfg.batch_rows,
            "db_url": ctx.run_db_url,
            "tag": time.strftime("%H%M%S"),
            "rounds": max(1, ctx.cfg.slices),
        },
    )
    per_s = {k: res[k]["rows"] / res[k]["seconds"] for k in ("bulk_create", "copy", "batch_record")}
    for k, v in per_s.items():
        ctx.log(f"  {k:<13} {v:10.0f} rows/s")
    ratios: dict[str, Any] = {}
    for k in ("bulk_create", "batch_record"):
        put(
            ratios,
            f"{k}_vs_copy",
            ratio(
                per_s[k],
                per_s["copy"],
                better="higher",
                unit="rows/s",
                ceiling_name="COPY FROM STDIN via psycopg, same rows",
                description=f"payments per second written by {k} / by COPY",
            ),
        )
    res["rows_per_s"] = {k: round(v, 1) for k, v in per_s.items()}
    put(
        ratios,
        "batch_record.error_rate",
        rate(
            res["batch_record"]["rejected"] / max(res["batch_record"]["rows"], 1),
            description="rows rejected by batch payment processing",
        ),
    )
    return {"measurements": res, "ratios": ratios}
