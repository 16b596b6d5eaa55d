"""Concurrency on PostgreSQL with real threads: the database decides, exactly one wins."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connections

from keja.billing.services import invoice_issue
from keja.kernel.errors import Conflict
from keja.leases.models import Lease
from keja.payments.selectors import lease_ledger_ok
from keja.payments.services import payment_record
from tests.factories import make_agency, make_lease, make_tenant, make_unit, owner_actor

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(n: int, target) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def wrapper(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrapper, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_threads_creating_overlapping_leases_exactly_one_wins() -> None:
    actor = owner_actor(make_agency())
    unit = make_unit(actor)
    tenants = [make_tenant(actor), make_tenant(actor)]
    starts = [date(2026, 1, 1), date(2026, 3, 1)]
    results = run_threads(
        2, lambda i: make_lease(actor, unit=unit, tenant=tenants[i], start=starts[i])
    )
    winners = [r for r in results if isinstance(r, Lease)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    assert Lease.objects.for_agency(actor).filter(unit=unit, status="active").count() == 1


def test_concurrent_payments_on_one_lease_keep_the_ledger_exact() -> None:
    actor = owner_actor(make_agency())
    lease = make_lease(actor, rent="5000", start=date(2026, 1, 1))
    for month in (1, 2, 3):
        invoice_issue(agency_id=actor.agency_id, lease_id=lease.pk, period=date(2026, month, 1))
    results = run_threads(
        12, lambda i: payment_record(actor=actor, lease_id=lease.pk, amount="1500", method="cash")
    )
    assert all(not isinstance(r, BaseException) for r in results), results
    lease.refresh_from_db()
    assert lease.credit_balance == Decimal("3000.00")  # 18,000 paid against 15,000 owed
    assert lease_ledger_ok(agency_id=actor.agency_id, lease_id=lease.pk)
