"""M-Pesa flows end to end (P5.0, P5.1, P5.2, D6): STK push and paybill through the stand-in and
a live server (real HTTP both ways), reconciliation of pushes nobody answered, retries of
callbacks that failed on our side, reversal, and the STK push API."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from keja.billing.models import Allocation
from keja.leases.models import Lease
from keja.payments.actors import CallbackRetryLater, mpesa_process_callback
from keja.payments.adapters.sandbox import stk_callback_body
from keja.payments.models import MpesaCallback, Payment
from keja.payments.services import payment_reverse
from keja.payments.services.mpesa import (
    c2b_urls_register,
    stk_push_initiate,
    stk_pushes_reconcile,
)
from keja.payments.services.mpesa_callbacks import mpesa_callbacks_due_for_retry
from tests.api.client import ApiClient
from tests.api.conftest import make_key
from tests.payments.conftest import (
    STK_PUSH_PATH,
    Books,
    Mpesa,
    make_books,
    sample,
    stk_success,
)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def push(books: Books, phone: str = "0712345678", amount: int = 15000) -> Payment:
    return stk_push_initiate(actor=books.actor, lease_id=books.lease.pk, amount=amount, phone=phone)


def status_of(payment: Payment) -> str:
    payment.refresh_from_db()
    return payment.status


def later(minutes: int) -> timezone.datetime:
    return timezone.now() + timedelta(minutes=minutes)


@pytest.fixture
def live_mpesa(mpesa: Mpesa, live_server, settings) -> Mpesa:
    settings.KEJA_MPESA_CALLBACK_BASE_URL = live_server.url
    # callbacks come after the push is recorded (a real one takes seconds: the tenant types a PIN)
    mpesa.sandbox.sandbox.configure(delay=0.3)
    return mpesa


# --- through the stand-in and a live server ------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_stk_push_end_to_end(live_mpesa: Mpesa) -> None:
    books = make_books()
    payment = push(books)
    assert payment.status == Payment.Status.PENDING
    wait_for(lambda: status_of(payment) == Payment.Status.COMPLETED)
    assert payment.receipt
    assert payment.amount == Decimal("15000.00")
    assert books.reload()[0].status == "paid"
    assert books.ledger_ok()
    sandbox_push = live_mpesa.sandbox.sandbox.pushes[payment.checkout_request_id or ""]
    assert sandbox_push.deliveries == [200]
    assert sandbox_push.receipt == payment.receipt


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("phone", "status", "code"),
    [
        ("0712341032", "cancelled", 1032),
        ("0712341037", "failed", 1037),
        ("0712340001", "failed", 1),
    ],
)
def test_unsuccessful_pushes_end_to_end(
    live_mpesa: Mpesa, phone: str, status: str, code: int
) -> None:
    books = make_books()
    payment = push(books, phone=phone)
    wait_for(lambda: status_of(payment) == status)
    assert payment.result_code == code
    assert books.reload()[0].amount_paid == 0
    assert not Allocation.objects.exists()
    assert books.ledger_ok()


@pytest.mark.django_db(transaction=True)
def test_duplicate_delivery_end_to_end(live_mpesa: Mpesa) -> None:
    books = make_books()
    before = (
        REGISTRY.get_sample_value(
            "keja_mpesa_callbacks_total", {"kind": "stk", "outcome": "duplicate"}
        )
        or 0
    )
    payment = push(books, phone="0712340002")  # the stand-in delivers the success twice
    sandbox_push = live_mpesa.sandbox.sandbox.pushes[payment.checkout_request_id or ""]
    wait_for(lambda: len(sandbox_push.deliveries) == 2)
    assert sandbox_push.deliveries == [200, 200]
    assert status_of(payment) == Payment.Status.COMPLETED
    assert Allocation.objects.filter(payment=payment).count() == 1
    assert sorted(MpesaCallback.objects.values_list("status", flat=True)) == [
        "duplicate",
        "processed",
    ]
    after = REGISTRY.get_sample_value(
        "keja_mpesa_callbacks_total", {"kind": "stk", "outcome": "duplicate"}
    )
    assert after == before + 1
    assert books.ledger_ok()


def sandbox_token(mpesa: Mpesa) -> str:
    answer = httpx.get(
        f"{mpesa.sandbox.url}/oauth/v1/generate?grant_type=client_credentials",
        auth=("test-key", "test-secret"),
    )
    return str(answer.json()["access_token"])


def simulate(mpesa: Mpesa, **body: str) -> None:
    answer = httpx.post(
        f"{mpesa.sandbox.url}/mpesa/c2b/v1/simulate",
        json={"ShortCode": "600984", "CommandID": "CustomerPayBillOnline", **body},
        headers={"Authorization": f"Bearer {sandbox_token(mpesa)}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["ResponseCode"] == "0"


@pytest.mark.django_db(transaction=True)
def test_paybill_end_to_end(live_mpesa: Mpesa) -> None:
    books = make_books()
    assert c2b_urls_register(actor=books.actor) == "Success"
    urls = live_mpesa.sandbox.sandbox.c2b_urls["600984"]
    assert urls["ConfirmationURL"].endswith("/c2b/confirmation")
    assert live_mpesa.secret in urls["ValidationURL"]
    simulate(live_mpesa, Amount="16000", Msisdn="254708374149", BillRefNumber="blkb u12")
    wait_for(lambda: Payment.objects.filter(status="completed").exists())
    payment = Payment.objects.get()
    assert payment.lease_id == books.lease.pk
    assert payment.method == Payment.Method.MPESA_PAYBILL
    assert books.ledger()["credit"] == Decimal("1000.00")
    assert books.ledger_ok()
    # an agency that rejects unknown accounts: validation refuses, no money arrives
    books.agency.reject_unknown_c2b_accounts = True
    books.agency.save()
    simulate(live_mpesa, Amount="500", Msisdn="254708374149", BillRefNumber="NOPE")
    record = live_mpesa.sandbox.sandbox.c2b[-1]
    wait_for(lambda: "rejected" in record or record["confirmations"])
    assert record["rejected"] == "C2B00012"
    assert Payment.objects.count() == 1


# --- reconciliation ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_reconcile_completes_a_push_whose_callback_was_lost(mpesa: Mpesa, books: Books) -> None:
    mpesa.sandbox.sandbox.configure(delay=0)
    payment = push(books, phone="0712340004", amount=20000)  # paid, but the callback is lost
    assert stk_pushes_reconcile(now=later(1)) == {}  # too young to ask about
    assert stk_pushes_reconcile(now=later(3)) == {"completed": 1}
    payment.refresh_from_db()
    assert payment.status == Payment.Status.COMPLETED
    assert payment.receipt is None  # a status query carries no receipt
    assert books.ledger()["credit"] == Decimal("5000.00")
    assert books.ledger_ok()
    # the lost callback turns up after all: it brings the receipt, and nothing else
    sandbox_push = mpesa.sandbox.sandbox.pushes[payment.checkout_request_id or ""]
    assert mpesa.post("stk", stk_callback_body(sandbox_push)).status_code == 200
    payment.refresh_from_db()
    assert payment.receipt == sandbox_push.receipt
    assert Allocation.objects.filter(payment=payment).count() == 1
    assert MpesaCallback.objects.get().outcome == "receipt_attached"
    assert books.ledger_ok()


@pytest.mark.django_db
def test_unanswered_push_expires_and_a_late_success_completes_it_once(
    mpesa: Mpesa, books: Books
) -> None:
    payment = push(books, phone="0712340003")  # nobody ever answers
    assert stk_pushes_reconcile(now=later(3)) == {"pending": 1}  # Daraja: still processing
    assert status_of(payment) == Payment.Status.PENDING
    assert stk_pushes_reconcile(now=later(11)) == {"expired": 1}
    assert status_of(payment) == Payment.Status.EXPIRED
    assert books.reload()[0].amount_paid == 0
    assert stk_pushes_reconcile(now=later(20)) == {}
    late = stk_success(payment.checkout_request_id or "", receipt="TLATE00001", amount=15000)
    for _ in range(3):
        assert mpesa.post("stk", late).json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    assert status_of(payment) == Payment.Status.COMPLETED
    assert payment.receipt == "TLATE00001"
    assert Allocation.objects.filter(payment=payment).count() == 1
    assert books.reload()[0].status == "paid"
    statuses = sorted(MpesaCallback.objects.values_list("status", "outcome"))
    assert statuses == [
        ("duplicate", "redelivery"),
        ("duplicate", "redelivery"),
        ("processed", "completed_expired"),
    ]
    assert books.ledger_ok()


@pytest.mark.django_db
def test_reconcile_reads_failures_from_the_status_query(mpesa: Mpesa, books: Books) -> None:
    mpesa.sandbox.sandbox.configure(delay=0)
    payment = push(books, phone="0712341032")  # cancelled; its callback goes nowhere
    assert stk_pushes_reconcile(now=later(3)) == {"cancelled": 1}
    payment.refresh_from_db()
    assert (payment.status, payment.result_code) == ("cancelled", 1032)


@pytest.mark.django_db
def test_reconcile_when_daraja_is_down(mpesa: Mpesa, books: Books) -> None:
    first, second = push(books, phone="0712340003"), push(books, phone="0712340003")
    mpesa.sandbox.sandbox.fail("503")
    report = stk_pushes_reconcile(now=later(3))
    assert report == {"error": 1, "pending": 2}  # one failed query stops the run: no hammering
    assert status_of(first) == status_of(second) == Payment.Status.PENDING
    report = stk_pushes_reconcile(now=later(11))
    assert report["expired"] == 2  # unknowable and too old: expired (a late success still counts)


# --- callbacks that fail on our side ------------------------------------------------------------
@pytest.mark.django_db
def test_a_callback_that_overtakes_our_commit_is_retried(mpesa: Mpesa, books: Books) -> None:
    response = mpesa.post("stk", sample("stk-callback-success"))
    assert response.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}  # it is ours now
    callback = MpesaCallback.objects.get()
    assert callback.status == MpesaCallback.Status.FAILED
    assert callback.attempts == 1
    assert "No STK push" in callback.error
    assert mpesa_callbacks_due_for_retry() == []  # too recent for the sweep: the actor has it
    assert mpesa_callbacks_due_for_retry(now=later(3)) == [callback.pk]
    mpesa.sandbox.sandbox.answer_next(STK_PUSH_PATH, 200, sample("stk-push-accepted"))
    payment = push(books, amount=18500)  # its CheckoutRequestID is the callback's
    mpesa_process_callback(callback.pk)  # the actor, run inline
    callback.refresh_from_db()
    assert (callback.status, callback.outcome) == ("processed", "completed")
    assert status_of(payment) == Payment.Status.COMPLETED
    mpesa_process_callback(callback.pk)  # again: harmless
    assert Allocation.objects.filter(payment=payment).count() == 1
    assert books.ledger_ok()


@pytest.mark.django_db
def test_a_redelivery_retries_a_failed_callback_at_once(mpesa: Mpesa, books: Books) -> None:
    mpesa.post("stk", sample("stk-callback-success"))  # overtakes the push: failed
    mpesa.sandbox.sandbox.answer_next(STK_PUSH_PATH, 200, sample("stk-push-accepted"))
    payment = push(books, amount=18500)
    mpesa.post("stk", sample("stk-callback-success"))  # Daraja delivers it again
    assert status_of(payment) == Payment.Status.COMPLETED
    statuses = sorted(MpesaCallback.objects.values_list("status", "outcome"))
    assert statuses == [("duplicate", "redelivery"), ("processed", "completed")]
    assert Allocation.objects.filter(payment=payment).count() == 1


@pytest.mark.django_db
def test_a_callback_that_keeps_failing_is_given_up_after_its_attempts(
    mpesa: Mpesa, books: Books, settings
) -> None:
    settings.KEJA_MPESA_CALLBACK_MAX_ATTEMPTS = 2
    mpesa.post("stk", sample("stk-callback-success"))
    callback = MpesaCallback.objects.get()
    with pytest.raises(CallbackRetryLater):
        mpesa_process_callback(callback.pk)  # Dramatiq retries it with backoff
    callback.refresh_from_db()
    assert callback.attempts == 2
    mpesa_process_callback(callback.pk)  # gives up: stays failed, for a person
    callback.refresh_from_db()
    assert callback.status == MpesaCallback.Status.FAILED
    assert mpesa_callbacks_due_for_retry(now=later(10)) == []


@pytest.mark.django_db
def test_a_push_in_doubt_is_adopted_by_its_callback(mpesa: Mpesa, books: Books) -> None:
    push(books, amount=100)  # token cached
    mpesa.sandbox.sandbox.fail("timeout", count=1)
    in_doubt = push(books, amount=250)
    assert in_doubt.checkout_request_id is None
    body = stk_success("ws_CO_NEVERSEEN0001", receipt="TADOPT0001", amount=250)
    assert mpesa.post("stk", body).status_code == 200
    in_doubt.refresh_from_db()
    assert in_doubt.status == Payment.Status.COMPLETED
    assert in_doubt.checkout_request_id == "ws_CO_NEVERSEEN0001"
    assert books.ledger_ok()


# --- money corrections -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_reversal_restores_balances(mpesa: Mpesa, books: Books) -> None:
    mpesa.sandbox.sandbox.answer_next(STK_PUSH_PATH, 200, sample("stk-push-accepted"))
    payment = push(books, amount=20000)
    success = stk_success(payment.checkout_request_id or "", receipt="TREV000001", amount=20000)
    mpesa.post("stk", success)
    assert books.reload()[0].status == "paid"
    assert Lease.objects.get(pk=books.lease.pk).credit_balance == Decimal("5000.00")
    payment_reverse(actor=books.actor, payment_id=payment.pk, reason="Paid by mistake")
    invoice = books.reload()[0]
    assert invoice.amount_paid == 0
    assert invoice.status != "paid"
    assert Lease.objects.get(pk=books.lease.pk).credit_balance == 0
    assert status_of(payment) == Payment.Status.REVERSED
    assert books.ledger() == {
        **books.ledger(),
        "paid": Decimal("0.00"),
        "allocated": Decimal("0.00"),
        "credit": Decimal("0.00"),
    }
    assert books.ledger_ok()
    # the same success delivered again (even after the reversal) changes nothing
    assert mpesa.post("stk", success).status_code == 200
    assert status_of(payment) == Payment.Status.REVERSED
    assert books.reload()[0].amount_paid == 0


@pytest.mark.django_db
def test_paybill_money_for_an_stk_push_fills_the_unmatched_one(mpesa: Mpesa, books: Books) -> None:
    """The receipt came first through the paybill with a mistyped account (unmatched); the STK
    callback for the same receipt then names the lease: the money goes there, once."""
    payment = push(books, amount=15000)
    c2b = {**sample("c2b-confirmation"), "TransID": "TSAME00001", "BillRefNumber": "typo"}
    c2b["TransAmount"] = "15000.00"
    mpesa.post("c2b_confirmation", c2b)
    unmatched = Payment.objects.get(receipt="TSAME00001")
    assert unmatched.lease_id is None
    stk = stk_success(payment.checkout_request_id or "", receipt="TSAME00001", amount=15000)
    mpesa.post("stk", stk)
    unmatched.refresh_from_db()
    assert unmatched.lease_id == books.lease.pk
    assert status_of(payment) == Payment.Status.CANCELLED
    assert "TSAME00001" in payment.note
    assert Payment.objects.filter(status="completed").count() == 1
    assert books.reload()[0].status == "paid"
    assert books.ledger_ok()


@pytest.mark.django_db
@pytest.mark.parametrize("bill_ref", ["BLKB-U12", "typo"], ids=["matched", "unmatched"])
def test_money_counted_by_a_status_query_and_the_paybill_is_counted_once(
    mpesa: Mpesa, books: Books, bill_ref: str
) -> None:
    """A push completed by a status query has no receipt; the same transaction then arrives as
    a paybill confirmation (reported for STK pushes to a paybill) and is counted a second time.
    When the push's callback shows the receipt, the push is superseded: the money counts once,
    on the lease, and every invoice and credit figure is what one payment makes."""
    mpesa.sandbox.sandbox.configure(delay=0)
    payment = push(books, phone="0712340004", amount=20000)  # the callback is late
    assert stk_pushes_reconcile(now=later(3)) == {"completed": 1}
    payment.refresh_from_db()
    assert payment.receipt is None
    sandbox_push = mpesa.sandbox.sandbox.pushes[payment.checkout_request_id or ""]
    c2b = {**sample("c2b-confirmation"), "TransID": sandbox_push.receipt}
    c2b.update(TransAmount="20000.00", BillRefNumber=bill_ref)
    assert mpesa.post("c2b_confirmation", c2b).status_code == 200
    paybill = Payment.objects.get(receipt=sandbox_push.receipt)
    completed = Payment.objects.filter(status="completed")
    assert completed.count() == 2  # counted twice for now (nothing can tell yet)
    assert mpesa.post("stk", stk_callback_body(sandbox_push)).status_code == 200
    assert MpesaCallback.objects.filter(kind="stk").get().outcome == "superseded_by_paybill"
    payment.refresh_from_db()
    paybill.refresh_from_db()
    assert payment.status == Payment.Status.REVERSED
    assert f"PAY-{paybill.pk}" in payment.note
    assert not Allocation.objects.filter(payment=payment, reversed_at__isnull=True).exists()
    assert paybill.status == Payment.Status.COMPLETED
    assert paybill.lease_id == books.lease.pk
    assert list(Payment.objects.filter(status="completed")) == [paybill]
    assert books.reload()[0].status == "paid"
    assert books.ledger()["credit"] == Decimal("5000.00")  # 20,000 paid for a 15,000 invoice
    assert books.ledger_ok()
    # the callback again changes nothing
    assert mpesa.post("stk", stk_callback_body(sandbox_push)).status_code == 200
    assert books.ledger()["credit"] == Decimal("5000.00")
    assert list(Payment.objects.filter(status="completed")) == [paybill]


# --- the API ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_stk_push_api_honours_the_idempotency_key(mpesa: Mpesa, books: Books) -> None:
    api = ApiClient(token=make_key(books.agency, "read-write"))
    body = {"lease_id": books.lease.pk, "amount": 15000, "phone": "0712 345 678"}
    first = api.post("/payments/stk-push", body, headers={"Idempotency-Key": "rent-jan-1"})
    again = api.post("/payments/stk-push", body, headers={"Idempotency-Key": "rent-jan-1"})
    assert first.status_code == again.status_code == 202, first.content
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    answer = first.json()
    assert answer["status"] == "pending"
    assert answer["amount"] == "15000.00"
    assert answer["phone"] == "254712345678"
    assert answer["lease_reference"] == "BLKBU12"
    assert answer["checkout_request_id"].startswith("ws_CO_")
    assert mpesa.sandbox.sandbox.api_request_count(STK_PUSH_PATH) == 1  # one prompt only


@pytest.mark.django_db
def test_stk_push_api_errors_are_problem_json(mpesa: Mpesa, books: Books) -> None:
    api = ApiClient(token=make_key(books.agency, "read-write"))
    ok = {"lease_id": books.lease.pk, "amount": 15000, "phone": "0712345678"}
    assert api.post("/payments/stk-push", {**ok, "amount": 150.5}).status_code == 422
    bad_phone = api.post("/payments/stk-push", {**ok, "phone": "020 1234567"})
    assert bad_phone.status_code == 422
    assert bad_phone.json()["errors"][0]["field"] == "phone"
    assert api.post("/payments/stk-push", {**ok, "lease_id": 10**9}).status_code == 404
    reader = ApiClient(token=make_key(books.agency, "read"))
    assert reader.post("/payments/stk-push", ok).status_code == 403
    mpesa.sandbox.sandbox.answer_next(STK_PUSH_PATH, 400, sample("stk-push-error"))
    rejected = api.post("/payments/stk-push", ok)
    assert rejected.status_code == 502
    assert rejected["Content-Type"] == "application/problem+json"
    assert rejected.json()["code"] == "mpesa_rejected"
    mpesa.sandbox.sandbox.fail("503")
    down = api.post("/payments/stk-push", ok)
    assert down.status_code == 503
    assert down.json()["code"] in ("mpesa_unavailable", "mpesa_circuit_open")
    assert Payment.objects.filter(status="failed").count() == 2  # the attempts are on record
    assert not Payment.objects.filter(status="pending").exists()
