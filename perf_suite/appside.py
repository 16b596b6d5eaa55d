"""Work done inside the application (Django set up with the run's production settings), in a child
process of the suite: ``python -m perf_suite.appside <command> <spec.json> <out.json>``.

Commands:
- ``fallback_seed``: a small, valid dataset through the ORM, used only while ``keja seed_demo``
  is not available (results then say ``dataset.source = "fallback"``);
- ``apikey``: an API key through the agencies service, when ``keja apikey create`` is missing;
- ``capture``: the SQL an endpoint really runs (Django test client + CaptureQueriesContext), so the
  suite can replay exactly that SQL through psycopg as the endpoint's data-access ceiling;
- ``payments``: one concurrent payment writer (``payment_record``) for the payments scenario;
- ``bulk``: bulk writes of payments (bulk_create, run_in_batches + payment_record) and, as their
  ceiling, COPY of the same rows through psycopg.
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any


def _setup() -> None:
    import django

    django.setup()


def _percentiles(samples: list[float]) -> dict[str, float | None]:
    from perf_suite.stats import summarize

    return summarize(samples)


# --- fallback dataset ----------------------------------------------------------------------------
FALLBACK_SIZES = {"small": (40, 8), "medium": (200, 10), "large": (600, 12)}


def fallback_seed(spec: dict[str, Any]) -> dict[str, Any]:
    """Two agencies; the first (``perf-realty``) gets properties × units, a lease per occupied
    unit, six months of invoices and payments (with allocations), and an owner login."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from keja.agencies.models import Agency, Membership
    from keja.billing.models import Allocation, Invoice
    from keja.kernel.clock import NAIROBI, add_months, period_of, today_nairobi
    from keja.leases.models import Lease
    from keja.payments.models import Payment
    from keja.properties.models import Property, Unit
    from keja.tenants.models import Tenant

    rng = random.Random(spec.get("seed", 1))
    n_props, units_per = FALLBACK_SIZES.get(spec.get("scale", "small"), FALLBACK_SIZES["small"])
    towns = [("Nairobi", "Westlands"), ("Nairobi", "Kilimani"), ("Mombasa", "Nyali")]
    towns += [("Kiambu", "Ruiru"), ("Nakuru", "Milimani"), ("Kisumu", "Milimani")]
    words = ["Acacia", "Baobab", "Cedar", "Jacaranda", "Mvule", "Mugumo", "Meru", "Savanna"]
    first = ["Wanjiru", "Otieno", "Achieng", "Kamau", "Njeri", "Mwangi", "Chebet", "Omondi"]
    last = ["Kariuki", "Odhiambo", "Mutua", "Wekesa", "Kiprono", "Njoroge", "Atieno", "Maina"]
    today = today_nairobi()
    periods = [add_months(period_of(today), -k) for k in range(5, -1, -1)]
    users = get_user_model()
    created: dict[str, int] = {}
    with transaction.atomic():
        agencies = [
            Agency.objects.create(name="Perf Realty", slug="perf-realty", invoice_due_days=5),
            Agency.objects.create(name="Other Homes", slug="other-homes", invoice_due_days=5),
        ]
        for idx, agency in enumerate(agencies):
            email = f"owner@{agency.slug}.example"
            user = users.objects.create_user(
                username=email, email=email, password=settings.KEJA_DEMO_PASSWORD
            )
            Membership.objects.create(agency=agency, user=user, role="owner")
            props_n = n_props if idx == 0 else max(4, n_props // 8)
            props = Property.objects.bulk_create(
                Property(
                    agency=agency,
                    name=f"{rng.choice(words)} {kind} {i + 1}",
                    county=towns[i % len(towns)][0],
                    town=towns[i % len(towns)][1],
                    address=f"{i + 1} {rng.choice(words)} Road",
                    kind=kind.lower(),
                    status="active",
                )
                for i in range(props_n)
                for kind in [rng.choice(["Apartment", "House", "Commercial"])]
            )
            units = Unit.objects.bulk_create(
                Unit(
                    agency=agency,
                    property=p,
                    label=f"{chr(65 + j // 10)}{j % 10 + 1}",
                    bedrooms=1 + j % 4,
                    monthly_rent=Decimal(8000 + 2500 * (j % 6)),
                    status="occupied" if rng.random() < 0.9 else "vacant",
                )
                for p in props
                for j in range(units_per)
            )
            occupied = [u for u in units if u.status == "occupied"]
            tenants = Tenant.objects.bulk_create(
                Tenant(
                    agency=agency,
                    full_name=f"{rng.choice(first)} {rng.choice(last)}",
                    phone=f"2547{idx}{k:07d}",
                    email=f"tenant{k}@{agency.slug}.example",
                    status="active",
                )
                for k in range(len(occupied))
            )
            leases = Lease.objects.bulk_create(
                Lease(
                    agency=agency,
                    unit=u,
                    tenant=t,
                    start_date=periods[0],
                    monthly_rent=u.monthly_rent,
                    deposit=u.monthly_rent,
                    billing_day=1,
                    status="active",
                    account_reference=f"L{idx}{k:06d}",
                )
                for k, (u, t) in enumerate(zip(occupied, tenants, strict=True))
            )
            invoices: list[Invoice] = []
            for lease in leases:
                for period in periods:
                    due = period + timedelta(days=agency.invoice_due_days)
                    roll = rng.random()
                    paid = lease.monthly_rent if roll < 0.75 else Decimal("0.00")
                    if 0.75 <= roll < 0.85:
                        paid = (lease.monthly_rent / 2).quantize(Decimal("0.01"))
                    if paid == lease.monthly_rent:
                        status = "paid"
                    elif due < today:
                        status = "overdue"
                    else:
                        status = "partially_paid" if paid else "open"
                    invoices.append(
                        Invoice(
                            agency=agency,
                            lease=lease,
                            period=period,
                            amount=lease.monthly_rent,
                            late_fee=Decimal("0.00"),
                            total=lease.monthly_rent,
                            amount_paid=paid,
                            status=status,
                            due_date=due,
                            issued_at=datetime.combine(period, datetime.min.time(), NAIROBI),
                        )
                    )
            invoices = Invoice.objects.bulk_create(invoices, batch_size=2000)
            payments: list[Payment] = []
            paid_invoices = [inv for inv in invoices if inv.amount_paid > 0]
            for k, inv in enumerate(paid_invoices):
                paid_at = datetime.combine(
                    inv.due_date - timedelta(days=rng.randint(0, 4)), datetime.min.time(), NAIROBI
                ) + timedelta(hours=rng.randint(7, 20))
                payments.append(
                    Payment(
                        agency=agency,
                        lease=inv.lease,
                        method="mpesa_paybill",
                        status="completed",
                        amount=inv.amount_paid,
                        paid_at=min(paid_at, datetime.now(NAIROBI)),
                        receipt=f"FB{idx}{k:08d}",
                        phone=inv.lease.tenant.phone,
                        account_reference=inv.lease.account_reference,
                    )
                )
            for k in range(max(3, len(leases) // 50)):  # unmatched money waiting for a person
                payments.append(
                    Payment(
                        agency=agency,
                        lease=None,
                        method="mpesa_paybill",
                        status="completed",
                        amount=Decimal(5000),
                        paid_at=datetime.now(NAIROBI) - timedelta(days=k),
                        receipt=f"FU{idx}{k:08d}",
                        account_reference=f"X{k}",
                    )
                )
            payments = Payment.objects.bulk_create(payments, batch_size=2000)
            Allocation.objects.bulk_create(
                (
                    Allocation(agency=agency, payment=pay, invoice=inv, amount=inv.amount_paid)
                    for pay, inv in zip(payments, paid_invoices, strict=False)
                ),
                batch_size=2000,
            )
            created[agency.slug] = len(units)
    return {"source": "fallback", "units": created}


# --- API key ------------------------------------------------------------------------------------
def apikey(spec: dict[str, Any]) -> dict[str, Any]:
    from keja.agencies.models import Agency
    from keja.agencies.services import apikey_create
    from keja.platform.scoping import Actor

    agency = Agency.objects.get(slug=spec["agency"])
    _, raw = apikey_create(
        actor=Actor.system(agency.pk, label="perf_suite"),
        name=spec.get("name", "perf"),
        scope=spec.get("scope", "read-write"),
    )
    return {"key": raw}


# --- SQL capture --------------------------------------------------------------------------------
def capture(spec: dict[str, Any]) -> dict[str, Any]:
    """GET every path twice as the given user or key; record each request's SQL exactly as sent
    (Django binds parameters client-side with psycopg 3, so the text is the statement run).

    The cache is a fresh in-process one here, so the first ("cold") request runs every query
    the page needs, whatever the load before left in Redis; the second ("warm") shows what
    remains once the page's data is cached."""
    from django.conf import settings
    from django.test.utils import override_settings

    fresh_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "perf-suite-capture",
            "KEY_PREFIX": settings.CACHE_KEY_PREFIX,
        }
    }
    with override_settings(CACHES=fresh_cache):
        return _capture(spec)


def _capture(spec: dict[str, Any]) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    headers: dict[str, str] = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https"}
    auth = spec["auth"]
    if auth["kind"] == "bearer":
        headers["Authorization"] = f"Bearer {auth['key']}"
    client = Client(headers=headers)
    login_status = None
    if auth["kind"] == "session":
        client.get(auth["login_path"], secure=True)
        r = client.post(
            auth["login_path"],
            {"username": auth["username"], "password": auth["password"]},
            secure=True,
        )
        login_status = r.status_code
    out: dict[str, Any] = {"login_status": login_status, "paths": {}}
    for path in spec["paths"]:
        with CaptureQueriesContext(connection) as cold:
            r1 = client.get(path, secure=True)
        with CaptureQueriesContext(connection) as warm:
            r2 = client.get(path, secure=True)
        out["paths"][path] = {
            "status": r1.status_code,
            "status_warm": r2.status_code,
            "bytes": len(r1.content),
            "cold": [q["sql"] for q in cold.captured_queries],
            "warm": [q["sql"] for q in warm.captured_queries],
        }
    return out


# --- payment writers ----------------------------------------------------------------------------
def payments(spec: dict[str, Any]) -> dict[str, Any]:
    """Record cash payments on this writer's own leases during the given windows (seconds after
    the common start: each writer reports ready, the suite then writes the start time)."""
    from keja.payments.services import payment_record
    from keja.platform.scoping import Actor

    actor = Actor.system(int(spec["agency_id"]), label="perf_suite")
    leases: list[int] = spec["lease_ids"]
    rng = random.Random(spec.get("seed", 1))

    def one(i: int) -> None:
        payment_record(
            actor=actor,
            lease_id=leases[i % len(leases)],
            amount=Decimal(rng.randrange(500, 5000)),
            method="cash",
            note="perf_suite",
        )

    one(0)  # opens the pool's connections and warms the code path, before the clock starts
    Path(spec["ready_file"]).write_text("ready")
    go = Path(spec["go_file"])  # written by the suite once every writer is ready
    deadline = time.time() + 300
    while not go.exists():
        if time.time() > deadline:
            raise TimeoutError("no start signal from the suite")
        time.sleep(0.02)
    start_at = float(go.read_text())
    latencies: list[float] = []
    errors: dict[str, int] = {}
    active = 0.0
    i = 1
    # Write only inside the windows; the suite runs the UPDATE ceiling in the gaps between.
    for begin, end in spec["windows"]:
        time.sleep(max(0.0, start_at + begin - time.time()))
        t_begin = time.time()
        while time.time() < start_at + end:
            t0 = time.perf_counter()
            try:
                one(i)
                latencies.append((time.perf_counter() - t0) * 1000)
            except Exception as exc:  # counted and reported, the run goes on
                key = f"{type(exc).__name__}: {str(exc)[:120]}"
                errors[key] = errors.get(key, 0) + 1
            i += 1
        active += time.time() - t_begin
    return {
        "count": len(latencies),
        "failures": sum(errors.values()),
        "errors": errors,
        "elapsed_s": active,
        "latency": _percentiles(latencies),
    }


# --- bulk writes --------------------------------------------------------------------------------
def bulk(spec: dict[str, Any]) -> dict[str, Any]:
    import psycopg
    from django.db import transaction
    from django.utils import timezone

    from keja.payments.models import Payment
    from keja.payments.services import payment_record
    from keja.platform.batching import run_in_batches
    from keja.platform.scoping import Actor

    agency_id = int(spec["agency_id"])
    leases: list[int] = spec["lease_ids"]
    n = int(spec["bulk_rows"])
    tag = spec.get("tag", "B")
    rng = random.Random(spec.get("seed", 1))
    now = timezone.now()

    def rows(prefix: str, count: int) -> list[Payment]:
        return [
            Payment(
                agency_id=agency_id,
                lease_id=leases[i % len(leases)],
                method="bank",
                status="completed",
                amount=Decimal(rng.randrange(500, 50_000)),
                paid_at=now - timedelta(minutes=i),
                receipt=f"{prefix}{tag}{i:09d}"[:30],
                note="perf_suite bulk",
            )
            for i in range(count)
        ]

    fields = [f for f in Payment._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    actor = Actor.system(agency_id, label="perf_suite")
    m = int(spec["batch_rows"])
    rounds = max(1, int(spec.get("rounds", 1)))
    totals: dict[str, dict[str, float]] = {
        k: {"rows": 0, "seconds": 0.0} for k in ("bulk_create", "copy", "batch_record")
    }
    rejected = 0
    # The three paths take turns, ``rounds`` times, so that each sees the same machine.
    with psycopg.connect(spec["db_url"]) as conn:
        for r in range(rounds):
            n_r = n // rounds
            # 1. Django bulk_create, 100 rows per transaction (the P1.3 batch size).
            objs = rows(f"PB{r}", n_r)
            t0 = time.perf_counter()
            for i in range(0, n_r, 100):
                with transaction.atomic():
                    Payment.objects.bulk_create(objs[i : i + 100])
            totals["bulk_create"]["seconds"] += time.perf_counter() - t0
            totals["bulk_create"]["rows"] += n_r

            # 2. Ceiling: COPY of the same rows (same columns and indexes) through psycopg.
            copy_rows = [
                tuple(f.pre_save(o, add=True) for f in fields) for o in rows(f"PC{r}", n_r)
            ]
            t0 = time.perf_counter()
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY payments_payment ({columns}) FROM STDIN") as cp,
            ):
                for row in copy_rows:
                    cp.write_row(row)
            conn.commit()
            totals["copy"]["seconds"] += time.perf_counter() - t0
            totals["copy"]["rows"] += n_r

            # 3. Batch payment processing: run_in_batches (100 per transaction) around
            #    payment_record, which allocates each payment and writes the audit trail.
            m_r = m // rounds
            batch = [
                (leases[(r * m_r + i) % len(leases)], Decimal(rng.randrange(500, 5000)))
                for i in range(m_r)
            ]
            t0 = time.perf_counter()
            report = run_in_batches(
                batch,
                lambda row: payment_record(
                    actor=actor, lease_id=row[0], amount=row[1], method="bank"
                ),
                batch_size=100,
            )
            totals["batch_record"]["seconds"] += time.perf_counter() - t0
            totals["batch_record"]["rows"] += report.applied
            rejected += len(report.rejected)
    totals["batch_record"]["rejected"] = rejected
    return {"rows": n, "rounds": rounds, **totals}


COMMANDS = {
    "fallback_seed": fallback_seed,
    "apikey": apikey,
    "capture": capture,
    "payments": payments,
    "bulk": bulk,
}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in COMMANDS:
        print(f"usage: python -m perf_suite.appside {{{','.join(COMMANDS)}}} SPEC OUT")
        return 2
    spec = json.loads(Path(argv[1]).read_text())
    _setup()
    result = COMMANDS[argv[0]](spec)
    Path(argv[2]).write_text(json.dumps(result, default=_json_default))
    return 0


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
