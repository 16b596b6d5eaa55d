"""M-Pesa callback storm against gunicorn (GitHub issue 6).

Fires ``--count`` callbacks (20 % exact redeliveries, 5 % unknown ids) at ``--concurrency``
against a production-configured gunicorn on loopback, measures the bare endpoint
(``GET /api/v1/ping``) with the same client set-up in the same run (interleaved: ping burst,
callbacks half, ping burst, callbacks half), and then checks the money invariants in SQL:
every lease's ledger balances, every distinct callback made exactly one payment (zero lost),
no receipt counted twice (zero double credits), unknown ids ended unmatched / not applied.

    .venv/bin/python -m perf_suite.callbacks_bench --db keja_cb_bench \
        --out perf_suite/results/callbacks-<date>.json

Unknown ids, both channels:
- C2B confirmation with a BillRefNumber no lease has: a completed, *unmatched* payment
  (lease NULL, callback outcome ``unmatched``), never allocated;
- STK callback with a CheckoutRequestID no push has: nothing is applied; the callback is kept
  ``failed`` for the retry actor (``_Deferred``), still acknowledged; no payment is created.

Only 127.0.0.1 is ever contacted. gunicorn is always stopped (ProcessStack, try/finally).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import string
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from perf_suite.config import ROOT
from perf_suite.pg import PgAdmin, conninfo, db_url
from perf_suite.procs import ProcessStack, app_env, free_port, keja_cmd, wait_http

PG_BASE = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
HOST = "127.0.0.1"
ACK_C2B = {"ResultCode": 0, "ResultDesc": "Success"}
ACK_STK = {"ResultCode": 0, "ResultDesc": "Accepted"}
# (method, path, body, expected JSON acknowledgement or None)
Item = tuple[str, str, bytes | None, dict[str, Any] | None]


# --- bodies ------------------------------------------------------------------------------------
@dataclass
class Call:
    kind: str  # "c2b" | "stk"
    body: bytes
    external_id: str
    receipt: str
    amount: Decimal
    lease_id: int | None  # the lease it should credit (None: unknown id)
    duplicate: bool = False
    unknown: bool = False


@dataclass
class Plan:
    calls: list[Call]
    originals: list[Call]
    shortcode: str
    n_duplicates: int
    n_unknown_c2b: int
    n_unknown_stk: int


def _receipt_factory(rng: random.Random, taken: set[str]) -> Any:
    alphabet = string.ascii_uppercase + string.digits

    def make() -> str:
        while True:
            value = "ZB" + "".join(rng.choice(alphabet) for _ in range(8))
            if value not in taken:
                taken.add(value)
                return value

    return make


def build_plan(
    *,
    count: int,
    dup_ratio: float,
    unknown_ratio: float,
    shortcode: str,
    leases: list[tuple[int, str]],
    taken_receipts: set[str],
    taken_refs: set[str],
    seed: int,
) -> Plan:
    rng = random.Random(seed)
    receipt = _receipt_factory(rng, set(taken_receipts))
    n_dup = round(count * dup_ratio)
    n_unknown = round(count * unknown_ratio)
    n_unknown_stk = n_unknown // 2
    n_unknown_c2b = n_unknown - n_unknown_stk
    n_known = count - n_dup - n_unknown
    when = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    originals: list[Call] = []

    def c2b(ref: str, lease_id: int | None, unknown: bool) -> Call:
        trans_id = receipt()
        amount = Decimal(rng.randrange(50, 4000) * 5)
        data = {
            "TransactionType": "Pay Bill",
            "TransID": trans_id,
            "TransTime": when,
            "TransAmount": f"{amount:.2f}",
            "BusinessShortCode": shortcode,
            "BillRefNumber": ref,
            "InvoiceNumber": "",
            "OrgAccountBalance": "0.00",
            "ThirdPartyTransID": "",
            "MSISDN": "2547 ***** 678",
            "FirstName": "BENCH",
            "MiddleName": "",
            "LastName": "",
        }
        body = json.dumps(data).encode()
        return Call("c2b", body, trans_id, trans_id, amount, lease_id, unknown=unknown)

    for _ in range(n_known):
        lease_id, ref = rng.choice(leases)
        originals.append(c2b(ref, lease_id, False))
    for _ in range(n_unknown_c2b):
        while True:
            ref = "ZZ" + "".join(rng.choice(string.digits) for _ in range(8))
            if ref not in taken_refs:
                break
        originals.append(c2b(ref, None, True))
    for _ in range(n_unknown_stk):
        checkout = "ws_CO_BENCH_" + secrets.token_hex(8)
        rcpt = receipt()
        amount = Decimal(rng.randrange(1000, 99999)) / 100  # odd amounts: nothing to adopt
        data = {
            "Body": {
                "stkCallback": {
                    "MerchantRequestID": "bench-" + secrets.token_hex(4),
                    "CheckoutRequestID": checkout,
                    "ResultCode": 0,
                    "ResultDesc": "The service request is processed successfully.",
                    "CallbackMetadata": {
                        "Item": [
                            {"Name": "Amount", "Value": float(amount)},
                            {"Name": "MpesaReceiptNumber", "Value": rcpt},
                            {"Name": "Balance"},
                            {"Name": "TransactionDate", "Value": int(when)},
                            {"Name": "PhoneNumber", "Value": 254799000000 + rng.randrange(99999)},
                        ]
                    },
                }
            }
        }
        body = json.dumps(data).encode()
        originals.append(Call("stk", body, checkout, rcpt, amount, None, unknown=True))
    rng.shuffle(originals)
    # Each redelivery goes right after its original: within the same concurrent window for
    # about half of them (arrives while the original may still be in flight), later otherwise.
    keyed: list[tuple[float, Call]] = [(float(i), c) for i, c in enumerate(originals)]
    for _ in range(n_dup):
        i = rng.randrange(len(originals))
        o = originals[i]
        dup = Call(o.kind, o.body, o.external_id, o.receipt, o.amount, o.lease_id, True, o.unknown)
        offset = rng.uniform(0.01, 3.0) if rng.random() < 0.5 else rng.uniform(3.0, 600.0)
        keyed.append((i + offset, dup))
    keyed.sort(key=lambda kv: kv[0])
    return Plan(
        calls=[c for _, c in keyed],
        originals=originals,
        shortcode=shortcode,
        n_duplicates=n_dup,
        n_unknown_c2b=n_unknown_c2b,
        n_unknown_stk=n_unknown_stk,
    )


# --- load --------------------------------------------------------------------------------------
@dataclass
class Burst:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    bad_ack: int = 0
    errors: int = 0
    wall: float = 0.0
    sent: int = 0


class Loader:
    """``concurrency`` threads, each with its own keep-alive httpx client."""

    def __init__(self, base: str, concurrency: int, deadline: float) -> None:
        assert base.startswith(f"http://{HOST}:"), "loopback only"
        self.base = base
        self.concurrency = concurrency
        self.deadline = deadline
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=concurrency)

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(
                base_url=self.base,
                timeout=60.0,
                headers={"X-Forwarded-Proto": "https"},
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def run(self, items: Sequence[Item]) -> Burst:
        """items: (method, path, body, expected JSON ack or None)."""
        burst = Burst()
        it = iter(items)
        lock = threading.Lock()

        def worker() -> None:
            client = self._client()
            while True:
                if time.monotonic() > self.deadline:
                    return
                with lock:
                    item = next(it, None)
                if item is None:
                    return
                method, path, body, ack = item
                started = time.perf_counter()
                try:
                    if method == "POST":
                        r = client.post(
                            path, content=body, headers={"Content-Type": "application/json"}
                        )
                    else:
                        r = client.get(path)
                    elapsed = time.perf_counter() - started
                    ok_ack = ack is None or _json(r) == ack
                    with lock:
                        burst.latencies.append(elapsed)
                        burst.statuses[str(r.status_code)] += 1
                        burst.sent += 1
                        burst.bad_ack += 0 if ok_ack else 1
                except httpx.HTTPError:
                    with lock:
                        burst.errors += 1
                        burst.sent += 1
                        burst.statuses["error"] += 1

        started = time.perf_counter()
        futures = [self.pool.submit(worker) for _ in range(self.concurrency)]
        for f in futures:
            f.result()
        burst.wall = time.perf_counter() - started
        return burst

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for c in self._clients:
            c.close()


def _json(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def merge(bursts: list[Burst]) -> Burst:
    out = Burst()
    for b in bursts:
        out.latencies += b.latencies
        out.statuses.update(b.statuses)
        out.bad_ack += b.bad_ack
        out.errors += b.errors
        out.wall += b.wall
        out.sent += b.sent
    return out


def summary(b: Burst) -> dict[str, Any]:
    ms = [x * 1000 for x in b.latencies]
    return {
        "requests": b.sent,
        "wall_seconds": round(b.wall, 3),
        "throughput_rps": round(b.sent / b.wall, 1) if b.wall else 0.0,
        "latency_ms": {
            "p50": round(percentile(ms, 0.50), 2),
            "p90": round(percentile(ms, 0.90), 2),
            "p95": round(percentile(ms, 0.95), 2),
            "p99": round(percentile(ms, 0.99), 2),
            "max": round(max(ms), 2) if ms else None,
        },
        "statuses": dict(b.statuses),
        "bad_ack": b.bad_ack,
        "transport_errors": b.errors,
    }


# --- database ----------------------------------------------------------------------------------
LEDGER_SQL = """
WITH paid AS (
  SELECT lease_id, SUM(amount) s FROM payments_payment
  WHERE status = 'completed' AND lease_id IS NOT NULL GROUP BY lease_id),
alloc AS (
  SELECT i.lease_id, SUM(a.amount) s FROM billing_allocation a
  JOIN billing_invoice i ON i.id = a.invoice_id JOIN payments_payment p ON p.id = a.payment_id
  WHERE a.reversed_at IS NULL AND p.status = 'completed' GROUP BY i.lease_id),
credit AS (
  SELECT lease_id, SUM(remaining) s FROM billing_creditentry
  WHERE reversed_at IS NULL GROUP BY lease_id),
inv AS (
  SELECT lease_id, SUM(amount_paid) s, COUNT(*) FILTER (WHERE amount_paid > total) n_over
  FROM billing_invoice GROUP BY lease_id)
SELECT l.id, COALESCE(paid.s, 0), COALESCE(alloc.s, 0), COALESCE(credit.s, 0),
       l.credit_balance, COALESCE(inv.s, 0), COALESCE(inv.n_over, 0)
FROM leases_lease l
LEFT JOIN paid ON paid.lease_id = l.id LEFT JOIN alloc ON alloc.lease_id = l.id
LEFT JOIN credit ON credit.lease_id = l.id LEFT JOIN inv ON inv.lease_id = l.id
"""


def ledger(conn: Any) -> dict[int, tuple[Decimal, ...]]:
    return {row[0]: tuple(row[1:]) for row in conn.execute(LEDGER_SQL).fetchall()}


def ledger_violations(rows: dict[int, tuple[Decimal, ...]]) -> list[int]:
    bad = []
    for lease_id, (paid, alloc, credit, lease_credit, inv_paid, over) in rows.items():
        if paid != alloc + credit or credit != lease_credit or alloc != inv_paid or over:
            bad.append(lease_id)
    return bad


def check_invariants(conn: Any, plan: Plan, before: dict[int, tuple[Decimal, ...]]) -> dict:
    after = ledger(conn)
    bad_after = ledger_violations(after)
    bad_before = set(ledger_violations(before))
    new_bad = [lid for lid in bad_after if lid not in bad_before]

    receipts = [c.receipt for c in plan.originals]
    rows = conn.execute(
        "SELECT receipt, lease_id, status, amount FROM payments_payment WHERE receipt = ANY(%s)",
        (receipts,),
    ).fetchall()
    per_receipt = Counter(r[0] for r in rows)
    double = sum(1 for n in per_receipt.values() if n > 1)
    by_receipt = {r[0]: r for r in rows}
    c2b = [c for c in plan.originals if c.kind == "c2b"]
    lost = [c.receipt for c in c2b if c.receipt not in by_receipt]
    wrong = [
        c.receipt
        for c in c2b
        if c.receipt in by_receipt
        and (
            by_receipt[c.receipt][1] != c.lease_id
            or by_receipt[c.receipt][2] != "completed"
            or by_receipt[c.receipt][3] != c.amount
        )
    ]
    stk_unknown = [c for c in plan.originals if c.kind == "stk"]
    stk_paid = [c.receipt for c in stk_unknown if c.receipt in by_receipt]

    # Money per lease: the paid delta equals what the distinct known callbacks carried.
    expected: Counter[int] = Counter()
    for c in c2b:
        if c.lease_id is not None:
            expected[c.lease_id] += c.amount  # type: ignore[assignment]
    zero = Decimal(0)
    delta_mismatch = [
        lid
        for lid in set(after) | set(expected)
        if after.get(lid, (zero,))[0] - before.get(lid, (zero,))[0] != expected.get(lid, zero)
    ]

    # Callback rows: every delivery stored; unknown C2B unmatched; unknown STK kept for retry.
    ext_ids = [c.external_id for c in plan.originals]
    cb_rows = conn.execute(
        "SELECT kind, external_id, status, outcome, duplicate_of_id IS NOT NULL "
        "FROM payments_mpesacallback WHERE external_id = ANY(%s)",
        (ext_ids,),
    ).fetchall()
    stored = len(cb_rows)
    statuses = Counter(f"{r[0]}:{r[2]}:{r[3] or '-'}" for r in cb_rows)
    owners = {(r[0], r[1]): r for r in cb_rows if not r[4]}
    redeliveries = sum(1 for r in cb_rows if r[4])
    unknown_c2b_ok = all(
        by_receipt.get(c.receipt) is not None
        and by_receipt[c.receipt][1] is None
        and owners.get(("c2b_confirmation", c.external_id), (0, 0, 0, ""))[3] == "unmatched"
        for c in c2b
        if c.unknown
    )
    unknown_stk_ok = not stk_paid and all(
        owners.get(("stk", c.external_id), (0, 0, ""))[2] == "failed" for c in stk_unknown
    )
    result = {
        "ledger_leases_checked": len(after),
        "ledger_violations_before": len(bad_before),
        "ledger_violations_after": len(bad_after),
        "ledger_new_violations": len(new_bad),
        "ledger_new_violation_ids": new_bad[:20],
        "distinct_c2b_callbacks": len(c2b),
        "payments_created": len(rows),
        "lost": len(lost),
        "lost_receipts": lost[:20],
        "double_credits": double,
        "wrong_payments": len(wrong),
        "lease_paid_delta_mismatches": len(delta_mismatch),
        "unknown_c2b": sum(1 for c in c2b if c.unknown),
        "unknown_c2b_all_unmatched": unknown_c2b_ok,
        "unknown_stk": len(stk_unknown),
        "unknown_stk_no_payment_and_kept_failed": unknown_stk_ok,
        "callbacks_stored": stored,
        "callback_owners": len(owners),
        "callback_redeliveries_stored": redeliveries,
        "callback_status_outcomes": dict(statuses),
    }
    result["passed"] = (
        not new_bad
        and not bad_after
        and not lost
        and double == 0
        and not wrong
        and not delta_mismatch
        and len(owners) == len(plan.originals)
        and redeliveries == plan.n_duplicates
        and unknown_c2b_ok
        and unknown_stk_ok
    )
    return result


# --- orchestration -----------------------------------------------------------------------------
def machine_info(conn: Any) -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgres": conn.execute("SHOW server_version").fetchone()[0],
        "loadavg_start": list(os.getloadavg()),
    }


def cleanup_redis(instance: str) -> int:
    """Drop the retry messages this run's unknown STK callbacks enqueued (no worker runs)."""
    try:
        import redis
    except ImportError:  # pragma: no cover
        return 0
    client = redis.Redis.from_url(REDIS_URL)
    n = 0
    for pattern in (f"dramatiq:production:{instance}*", f"keja:production:{instance}*"):
        keys = list(client.scan_iter(match=pattern, count=500))
        if keys:
            n += client.delete(*keys)
    client.close()
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="keja_cb_bench")
    ap.add_argument("--out", default=None)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--pings", type=int, default=5000, help="bare-endpoint GETs (total)")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--dup-ratio", type=float, default=0.20)
    ap.add_argument("--unknown-ratio", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--instance", default="cbbench")
    ap.add_argument("--time-limit", type=float, default=240.0, help="seconds of load, at most")
    ap.add_argument("--log-dir", default=None, help="child logs (default results/tmp/...)")
    ap.add_argument("--drop-db", action="store_true", help="drop the database at the end")
    args = ap.parse_args(argv)
    if not args.db.replace("_", "").isalnum():
        ap.error("--db: letters, digits and _ only")

    import psycopg

    today = datetime.now(UTC).strftime("%Y-%m-%d")
    out = Path(args.out or f"perf_suite/results/callbacks-{today}.json")
    if not out.is_absolute():
        out = ROOT / out
    url = db_url(PG_BASE, args.db)
    admin = PgAdmin(PG_BASE)
    secret = secrets.token_urlsafe(32).replace("-", "a").replace("_", "b")
    env = app_env(
        database_url=url,
        redis_url=REDIS_URL,
        instance=args.instance,
        KEJA_MPESA_CALLBACK_SECRET=secret,
        KEJA_WEB_THREADS="1",
    )
    log_dir = (
        Path(args.log_dir)
        if args.log_dir
        else ROOT / "perf_suite" / "results" / "tmp" / f"callbacks-{args.instance}"
    )
    t0 = time.monotonic()
    report: dict[str, Any] = {
        "scenario": "mpesa_callbacks_storm",
        "issue": 6,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python -m perf_suite.callbacks_bench", *sys.argv[1:]])
        if argv is None
        else " ".join(["perf_suite.callbacks_bench", *argv]),
        "params": vars(args) | {"db": args.db},
    }
    try:
        with ProcessStack(log_dir) as stack:
            admin.drop(args.db)
            admin.create(args.db)
            for name, cmd in (
                ("migrate", keja_cmd("migrate", "--no-input")),
                ("seed", keja_cmd("seed_demo", "--scale", "small", "--seed", str(args.seed))),
            ):
                done = stack.run(name, cmd, env, timeout=600)
                if done.returncode != 0:
                    raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
            report["setup_seconds"] = round(time.monotonic() - t0, 1)

            conn = psycopg.connect(conninfo(url), autocommit=True)
            report["machine"] = machine_info(conn)
            agencies = conn.execute(
                "SELECT id, mpesa_shortcode FROM agencies_agency "
                "WHERE mpesa_shortcode IS NOT NULL AND mpesa_shortcode <> '' ORDER BY id"
            ).fetchall()
            agency_id, shortcode = agencies[0]
            leases = conn.execute(
                "SELECT id, account_reference FROM leases_lease WHERE agency_id = %s "
                "AND account_reference ~ '^[A-Z0-9]{1,12}$' ORDER BY id",
                (agency_id,),
            ).fetchall()
            all_refs = {r[0] for r in conn.execute("SELECT account_reference FROM leases_lease")}
            taken = {
                r[0]
                for r in conn.execute(
                    "SELECT receipt FROM payments_payment WHERE receipt IS NOT NULL"
                )
            }
            plan = build_plan(
                count=args.count,
                dup_ratio=args.dup_ratio,
                unknown_ratio=args.unknown_ratio,
                shortcode=shortcode,
                leases=[(r[0], r[1]) for r in leases],
                taken_receipts=taken,
                taken_refs=all_refs,
                seed=args.seed,
            )
            before = ledger(conn)

            port = free_port()
            base = f"http://{HOST}:{port}"
            gunicorn = stack.start(
                "gunicorn",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "keja.config.wsgi:application",
                    "-c",
                    "python:keja.config.gunicorn",
                    "--no-control-socket",
                    "--bind",
                    f"{HOST}:{port}",
                    "--workers",
                    str(args.workers),
                ],
                env,
            )
            wait_http(f"{base}/health/ready", proc=gunicorn, timeout=90)
            report["dataset"] = {
                "agency_id": agency_id,
                "shortcode": shortcode,
                "leases_targeted": len(leases),
                "callbacks": len(plan.calls),
                "distinct": len(plan.originals),
                "duplicates": plan.n_duplicates,
                "unknown_c2b": plan.n_unknown_c2b,
                "unknown_stk": plan.n_unknown_stk,
            }

            paths = {
                "c2b": f"/mpesa/{secret}/c2b/confirmation",
                "stk": f"/mpesa/{secret}/stk/callback",
            }
            acks = {"c2b": ACK_C2B, "stk": ACK_STK}
            cb_items: list[Item] = [
                ("POST", paths[c.kind], c.body, acks[c.kind]) for c in plan.calls
            ]
            ping_items: list[Item] = [("GET", "/api/v1/ping", None, None)] * args.pings
            deadline = time.monotonic() + args.time_limit
            loader = Loader(base, args.concurrency, deadline)
            try:
                # warm-up: connections, worker imports (not measured)
                loader.run([("GET", "/api/v1/ping", None, None)] * (args.concurrency * 4))
                half_cb = len(cb_items) // 2
                half_ping = len(ping_items) // 2
                pings = [loader.run(ping_items[:half_ping])]
                cbs = [loader.run(cb_items[:half_cb])]
                pings.append(loader.run(ping_items[half_ping:]))
                cbs.append(loader.run(cb_items[half_cb:]))
            finally:
                loader.close()
            report["loadavg_end"] = list(os.getloadavg())
            ping, cb = merge(pings), merge(cbs)
            report["bare_endpoint"] = summary(ping) | {"path": "GET /api/v1/ping"}
            report["callbacks"] = summary(cb)
            report["callbacks"]["halves_rps"] = [
                round(b.sent / b.wall, 1) if b.wall else 0 for b in cbs
            ]
            report["bare_endpoint"]["halves_rps"] = [
                round(b.sent / b.wall, 1) if b.wall else 0 for b in pings
            ]
            complete = cb.sent == len(cb_items) and ping.sent == len(ping_items)
            report["complete"] = complete
            ping_rps = report["bare_endpoint"]["throughput_rps"]
            report["throughput_ratio"] = (
                round(report["callbacks"]["throughput_rps"] / ping_rps, 4) if ping_rps else None
            )
            all_ok = cb.statuses.get("200", 0) == len(cb_items) and cb.bad_ack == 0
            report["all_callbacks_200_with_ack"] = all_ok
            stack.stop(gunicorn)  # let in-flight work finish before the SQL checks

            report["invariants"] = (
                check_invariants(conn, plan, before)
                if complete
                else {"passed": False, "reason": "run cut short by --time-limit"}
            )
            conn.close()
            report["passed"] = bool(report["invariants"]["passed"] and all_ok and complete)
    finally:
        report["redis_keys_removed"] = cleanup_redis(args.instance)
        if args.drop_db:
            admin.drop(args.db)
        report["total_seconds"] = round(time.monotonic() - t0, 1)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, default=str) + "\n")

    _print_summary(report, out)
    return 0 if report.get("passed") else 1


def _print_summary(r: dict[str, Any], out: Path) -> None:
    cb, ping, inv = r["callbacks"], r["bare_endpoint"], r["invariants"]
    lat = cb["latency_ms"]
    print(f"callbacks: {cb['requests']} in {cb['wall_seconds']}s = {cb['throughput_rps']} req/s")
    print(
        f"bare ping: {ping['requests']} in {ping['wall_seconds']}s = {ping['throughput_rps']} req/s"
    )
    print(f"ratio callbacks/ping: {r['throughput_ratio']}")
    print(
        f"callback latency ms p50 {lat['p50']} p90 {lat['p90']} p95 {lat['p95']} "
        f"p99 {lat['p99']} max {lat['max']}"
    )
    print(f"statuses {cb['statuses']} bad acks {cb['bad_ack']}")
    print(
        f"invariants passed={inv['passed']} lost={inv.get('lost')} "
        f"double={inv.get('double_credits')} ledger_after={inv.get('ledger_violations_after')}"
    )
    print(f"load average start {r['machine']['loadavg_start']} end {r.get('loadavg_end')}")
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
