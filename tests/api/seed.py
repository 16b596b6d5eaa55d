"""Fast bulk data for list tests (≥ 101 rows, so page sizes 1 and 100 are both real pages).

Rows are inserted with ``bulk_create`` straight into the tables, consistent with every database
rule (same-agency parents, unique phones and references, one active lease per unit)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User

from keja.agencies.models import Agency, ApiKey, Membership
from keja.audit.models import AuditEntry
from keja.billing.models import Allocation, Invoice
from keja.kernel.clock import add_months
from keja.leases.models import Lease
from keja.payments.models import Payment
from keja.properties.models import Property, Unit
from keja.tenants.models import Tenant

_seq = itertools.count(1)


def _t0() -> datetime:
    return datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def properties(agency: Agency, n: int, **fields: object) -> list[Property]:
    batch = next(_seq)
    return Property.objects.bulk_create(
        [
            Property(
                agency=agency,
                name=f"Seed {batch}-{i:04d}",
                county="Nairobi" if i % 2 else "Mombasa",
                town="Westlands" if i % 3 else "Kilimani",
                **fields,
            )
            for i in range(n)
        ]
    )


def units(agency: Agency, n: int, prop: Property | None = None) -> list[Unit]:
    prop = prop or properties(agency, 1)[0]
    return Unit.objects.bulk_create(
        [
            Unit(agency=agency, property=prop, label=f"S{i:04d}", monthly_rent=Decimal("15000.00"))
            for i in range(n)
        ]
    )


def tenants(agency: Agency, n: int) -> list[Tenant]:
    batch = next(_seq)
    return Tenant.objects.bulk_create(
        [
            Tenant(
                agency=agency,
                full_name=f"Seed Tenant {batch}-{i:04d}",
                phone=f"2547{batch % 100:02d}{i:06d}",
            )
            for i in range(n)
        ]
    )


def leases(agency: Agency, n: int, *, status: str = "active") -> list[Lease]:
    batch = next(_seq)
    us = units(agency, n)
    ts = tenants(agency, n)
    return Lease.objects.bulk_create(
        [
            Lease(
                agency=agency,
                unit=u,
                tenant=t,
                start_date=date(2025, 1, 1) + timedelta(days=i),
                monthly_rent=Decimal("15000.00"),
                account_reference=f"S{batch:03d}{i:05d}"[:12],
                status=status,
            )
            for i, (u, t) in enumerate(zip(us, ts, strict=True))
        ]
    )


def payments(
    agency: Agency, n: int, *, lease: Lease | None = None, unmatched: bool = False
) -> list[Payment]:
    batch = next(_seq)
    return Payment.objects.bulk_create(
        [
            Payment(
                agency=agency,
                lease=None if unmatched else lease,
                method="mpesa_paybill",
                status="completed",
                amount=Decimal("1000.00") + i,
                paid_at=_t0() + timedelta(hours=i),
                receipt=f"SD{batch:03d}X{i:05d}",
                phone="254712345678",
                account_reference="UNKNOWN"
                if unmatched
                else (lease.account_reference if lease else ""),
            )
            for i in range(n)
        ]
    )


def invoices(agency: Agency, n: int, *, allocations_each: int = 2) -> list[Invoice]:
    """``n`` invoices over ``ceil(n/12)`` leases, each paid by ``allocations_each`` payments."""
    per_lease = 12
    ls = leases(agency, (n + per_lease - 1) // per_lease)
    rows = []
    for i in range(n):
        lease = ls[i // per_lease]
        period = add_months(date(2025, 1, 1), i % per_lease)
        rows.append(
            Invoice(
                agency=agency,
                lease=lease,
                period=period,
                amount=Decimal("15000.00"),
                total=Decimal("15000.00"),
                amount_paid=Decimal("200.00") * allocations_each,
                status="partially_paid",
                due_date=period + timedelta(days=5 + (i % 7)),
                issued_at=_t0(),
            )
        )
    invs = Invoice.objects.bulk_create(rows)
    pays = payments(agency, n * allocations_each, lease=ls[0])
    Allocation.objects.bulk_create(
        [
            Allocation(
                agency=agency,
                payment=pays[i * allocations_each + j],
                invoice=inv,
                amount=Decimal("200.00"),
            )
            for i, inv in enumerate(invs)
            for j in range(allocations_each)
        ]
    )
    return invs


def audit_entries(agency: Agency, n: int) -> list[AuditEntry]:
    return AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                agency=agency,
                actor_label="seed",
                action="seed.created" if i % 2 else "seed.updated",
                object_type="seed",
                object_id=str(i),
                summary=f"seed {i}",
                changes={"i": i},
            )
            for i in range(n)
        ]
    )


def members(agency: Agency, n: int) -> list[Membership]:
    batch = next(_seq)
    users = User.objects.bulk_create(
        [
            User(username=f"seed{batch}-{i}@keja.example", email=f"seed{batch}-{i}@keja.example")
            for i in range(n)
        ]
    )
    return Membership.objects.bulk_create(
        [Membership(agency=agency, user=u, role="viewer") for u in users]
    )


def api_keys(agency: Agency, n: int) -> list[ApiKey]:
    batch = next(_seq)
    return ApiKey.objects.bulk_create(
        [
            ApiKey(
                agency=agency,
                name=f"seed key {i}",
                prefix=f"s{batch:03d}{i:04d}"[:12],
                key_hash=f"{batch:08d}{i:056d}",
                scope="read",
            )
            for i in range(n)
        ]
    )
