"""Money under real concurrency on PostgreSQL (P5.1, P5.2, D6): real threads, each with its own
database connection from the pool, hitting the callback endpoint at the same moment.

Invariants checked after every scenario (``lease_ledger_ok``): per lease, completed payments =
allocations + credit, credit = the lease's credit balance, allocations = what the invoices
record as paid, and no invoice is paid beyond its total."""

from __future__ import annotations

import itertools
import time
from decimal import Decimal

import pytest
from django.db.models import Sum
from prometheus_client import REGISTRY

from keja.billing.models import Allocation, CreditEntry
from keja.payments.models import MpesaCallback, Payment
from keja.payments.services.mpesa import stk_push_initiate
from tests.factories import make_lease
from tests.payments.conftest import (
    Books,
    Mpesa,
    c2b_confirmation,
    make_books,
    run_concurrently,
    stk_success,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def handling_seconds(kind: str) -> tuple[float, float]:
    """(sum, count) of the callback-handling histogram, for a measured average."""
    total = REGISTRY.get_sample_value("keja_mpesa_callback_processing_seconds_sum", {"kind": kind})
    count = REGISTRY.get_sample_value(
        "keja_mpesa_callback_processing_seconds_count", {"kind": kind}
    )
    return total or 0.0, count or 0.0


def pending_pushes(mpesa: Mpesa, books: Books, amounts: list[int]) -> list[Payment]:
    mpesa.sandbox.sandbox.configure(outcome="never")  # nobody answers: the test does
    return [
        stk_push_initiate(
            actor=books.actor, lease_id=books.lease.pk, amount=amount, phone="0712345678"
        )
        for amount in amounts
    ]


def test_200_concurrent_deliveries_of_one_success_complete_it_once(mpesa: Mpesa) -> None:
    books = make_books(months=1)
    [payment] = pending_pushes(mpesa, books, [20000])
    body = stk_success(payment.checkout_request_id or "", receipt="TQK7N2P4RZ", amount=20000)
    before = handling_seconds("stk")
    started = time.perf_counter()
    responses = run_concurrently([lambda: mpesa.post("stk", body) for _ in range(200)])
    elapsed = time.perf_counter() - started
    assert {r.status_code for r in responses} == {200}
    assert all(r.json() == {"ResultCode": 0, "ResultDesc": "Accepted"} for r in responses)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.COMPLETED
    assert payment.receipt == "TQK7N2P4RZ"
    assert payment.version == 3  # created, CheckoutRequestID recorded, completed: nothing else
    assert Allocation.objects.filter(payment=payment).count() == 1
    assert CreditEntry.objects.filter(payment=payment).get().amount == Decimal("5000.00")
    assert books.reload()[0].amount_paid == Decimal("15000.00")
    assert books.ledger()["paid"] == Decimal("20000.00")
    assert books.ledger_ok()
    callbacks = MpesaCallback.objects.filter(external_id=payment.checkout_request_id)
    assert callbacks.count() == 200  # every delivery is kept
    assert callbacks.filter(status="processed").count() == 1
    assert callbacks.filter(status="duplicate").count() == 199
    assert callbacks.filter(duplicate_of__isnull=True).count() == 1
    after = handling_seconds("stk")
    average_ms = (after[0] - before[0]) / (after[1] - before[1]) * 1000
    print(f"200 concurrent deliveries answered in {elapsed:.2f}s, {average_ms:.1f} ms on average")


def test_100_concurrent_payments_on_one_lease_keep_the_ledger(mpesa: Mpesa) -> None:
    books = make_books(months=3)  # 45,000 owed
    stk_amounts = [500 + 10 * i for i in range(60)]
    pushes = pending_pushes(mpesa, books, stk_amounts)
    bodies = [
        ("stk", stk_success(p.checkout_request_id or "", receipt=f"TS{i:08d}", amount=a))
        for i, (p, a) in enumerate(zip(pushes, stk_amounts, strict=True))
    ]
    refs = ["BLKBU12", "blkb-u12", " Blkb U12 ", "BLKB.U12"]
    c2b_amounts = [300 + 7 * i for i in range(40)]
    bodies += [
        ("c2b_confirmation", c2b_confirmation(f"TC{i:08d}", amount=a, bill_ref=refs[i % 4]))
        for i, a in enumerate(c2b_amounts)
    ]
    started = time.perf_counter()
    responses = run_concurrently([lambda k=k, b=b: mpesa.post(k, b) for k, b in bodies])
    print(f"100 concurrent payments on one lease settled in {time.perf_counter() - started:.2f}s")
    assert [r.status_code for r in responses] == [200] * 100
    total = Decimal(sum(stk_amounts) + sum(c2b_amounts))
    completed = Payment.objects.filter(lease=books.lease, status=Payment.Status.COMPLETED)
    assert completed.count() == 100
    assert completed.aggregate(s=Sum("amount"))["s"] == total
    ledger = books.ledger()
    assert ledger["paid"] == total
    assert ledger["allocated"] == min(total, Decimal("45000.00"))
    assert ledger["credit"] == max(total - Decimal("45000.00"), Decimal("0.00"))
    assert books.ledger_ok()
    for invoice in books.reload():
        assert invoice.amount_paid <= invoice.total
        paid = Allocation.objects.filter(invoice=invoice, reversed_at__isnull=True)
        assert paid.aggregate(s=Sum("amount"))["s"] == invoice.amount_paid
    assert MpesaCallback.objects.filter(status="processed").count() == 100
    # oldest first: earlier invoices are paid before later ones get anything
    invoices = books.reload()
    for earlier, later in itertools.pairwise(invoices):
        assert later.amount_paid == 0 or earlier.amount_paid == earlier.total


def test_same_receipt_by_stk_and_c2b_at_once_is_one_payment(mpesa: Mpesa) -> None:
    books = make_books(months=1)
    [push] = pending_pushes(mpesa, books, [18500])
    receipt = "TCE4K7PZ2M"
    stk = stk_success(push.checkout_request_id or "", receipt=receipt, amount=18500)
    c2b = c2b_confirmation(receipt, amount=18500, bill_ref="BLKBU12")
    calls = [lambda: mpesa.post("stk", stk)] * 10 + [
        lambda: mpesa.post("c2b_confirmation", c2b)
    ] * 10
    responses = run_concurrently(calls)
    assert {r.status_code for r in responses} == {200}
    completed = Payment.objects.filter(status=Payment.Status.COMPLETED)
    assert completed.count() == 1
    assert completed.get().receipt == receipt
    assert Allocation.objects.count() == 1
    assert books.ledger()["paid"] == Decimal("18500.00")
    assert books.ledger_ok()
    push.refresh_from_db()
    # either the push completed (STK first) or it stands aside for the paybill payment
    assert push.status in (Payment.Status.COMPLETED, Payment.Status.CANCELLED)
    if push.status == Payment.Status.CANCELLED:
        assert receipt in push.note


def test_concurrent_paybill_payments_on_two_leases(
    mpesa: Mpesa,
) -> None:
    first = make_books(months=2, reference="AAA1")
    second_lease_books = Books(
        agency=first.agency,
        actor=first.actor,
        lease=make_lease(first.actor, rent="15000.00", account_reference="BBB2"),
        invoices=[],
    )
    bodies = []
    for i in range(30):
        ref = "AAA1" if i % 2 else "BBB2"
        bodies.append(c2b_confirmation(f"TD{i:08d}", amount=1000, bill_ref=ref))
    responses = run_concurrently([lambda b=b: mpesa.post("c2b_confirmation", b) for b in bodies])
    assert {r.status_code for r in responses} == {200}
    assert first.ledger_ok()
    assert second_lease_books.ledger_ok()
    assert Payment.objects.filter(status="completed").count() == 30
