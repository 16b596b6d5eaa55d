"""Every shared Daraja sample payload (../shared/reference/daraja-samples), through the real
code: the STK push answers served verbatim by the stand-in to our client, the callbacks posted
to our endpoints (P5.0, P5.1, D6)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from keja.billing.models import Allocation
from keja.payments.models import MpesaCallback, Payment
from keja.payments.services.mpesa import MpesaRejected, stk_push_initiate
from tests.payments.conftest import (
    SAMPLE_NAMES,
    STK_PUSH_PATH,
    Books,
    Mpesa,
    make_books,
    sample,
)

pytestmark = pytest.mark.django_db


def test_the_samples_are_all_there() -> None:
    for name in SAMPLE_NAMES:
        assert sample(name)


def push_answered_with(mpesa: Mpesa, books: Books, answer: dict, amount: int = 18500) -> Payment:
    mpesa.sandbox.sandbox.answer_next(STK_PUSH_PATH, 200, answer)
    return stk_push_initiate(
        actor=books.actor, lease_id=books.lease.pk, amount=amount, phone="0712345678"
    )


def test_stk_push_accepted_sample(mpesa: Mpesa, books: Books) -> None:
    accepted = sample("stk-push-accepted")
    payment = push_answered_with(mpesa, books, accepted)
    assert payment.status == Payment.Status.PENDING
    assert payment.checkout_request_id == accepted["CheckoutRequestID"]
    assert payment.merchant_request_id == accepted["MerchantRequestID"]
    assert payment.result_description == accepted["CustomerMessage"]
    assert payment.amount == Decimal("18500.00")
    assert payment.phone == "254712345678"


def test_stk_push_error_sample(mpesa: Mpesa, books: Books) -> None:
    mpesa.sandbox.sandbox.answer_next(STK_PUSH_PATH, 400, sample("stk-push-error"))
    with pytest.raises(MpesaRejected) as caught:
        stk_push_initiate(
            actor=books.actor, lease_id=books.lease.pk, amount=18500, phone="0712345678"
        )
    assert caught.value.status == 502
    assert "Invalid CallBackURL" in caught.value.detail
    payment = Payment.objects.get(lease=books.lease)
    assert payment.status == Payment.Status.FAILED
    assert payment.checkout_request_id is None
    assert mpesa.sandbox.sandbox.api_request_count(STK_PUSH_PATH) == 1  # a 4xx is never retried


def test_stk_callback_success_sample(mpesa: Mpesa, books: Books) -> None:
    payment = push_answered_with(mpesa, books, sample("stk-push-accepted"))
    response = mpesa.post("stk", sample("stk-callback-success"))
    assert response.status_code == 200
    assert response.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    payment.refresh_from_db()
    assert payment.status == Payment.Status.COMPLETED
    assert payment.receipt == "TCE4K7PZ2M"
    assert payment.amount == Decimal("18500.00")
    # TransactionDate 20250314091538 is Kenyan time (UTC+3)
    assert payment.paid_at == datetime(2025, 3, 14, 6, 15, 38, tzinfo=UTC)
    invoice = books.reload()[0]
    assert invoice.amount_paid == Decimal("15000.00")
    assert invoice.status == "paid"
    assert books.ledger()["credit"] == Decimal("3500.00")
    assert books.ledger_ok()
    callback = MpesaCallback.objects.get(kind="stk")
    assert callback.status == MpesaCallback.Status.PROCESSED
    assert callback.outcome == "completed"
    assert callback.payment_id == payment.pk
    assert callback.agency_id == books.agency.pk
    assert callback.external_id == "ws_CO_14032025091502417712345678"
    assert json.loads(callback.raw) == sample("stk-callback-success")  # the body as received
    assert callback.payload["Body"]["stkCallback"]["ResultCode"] == 0


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [("stk-callback-cancelled", "cancelled", 1032), ("stk-callback-timeout", "failed", 1037)],
)
def test_stk_callback_failure_samples_leave_the_invoice_untouched(
    mpesa: Mpesa, books: Books, name: str, status: str, code: int
) -> None:
    body = sample(name)
    cb = body["Body"]["stkCallback"]
    accepted = {
        **sample("stk-push-accepted"),
        "CheckoutRequestID": cb["CheckoutRequestID"],
        "MerchantRequestID": cb["MerchantRequestID"],
    }
    payment = push_answered_with(mpesa, books, accepted)
    response = mpesa.post("stk", body)
    assert response.status_code == 200
    assert response.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    payment.refresh_from_db()
    assert payment.status == status
    assert payment.result_code == code
    assert payment.result_description == cb["ResultDesc"]
    assert payment.receipt is None
    assert payment.paid_at is None
    invoice = books.reload()[0]
    assert invoice.amount_paid == Decimal("0.00")
    assert invoice.status == books.invoices[0].status
    assert not Allocation.objects.filter(payment=payment).exists()
    assert books.ledger_ok()
    # the same result again changes nothing
    assert mpesa.post("stk", body).json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    payment.refresh_from_db()
    assert payment.status == status
    assert MpesaCallback.objects.filter(status="duplicate").count() == 1


def test_c2b_validation_sample_accepts_a_known_account(mpesa: Mpesa, books: Books) -> None:
    response = mpesa.post("c2b_validation", sample("c2b-validation"))
    assert response.status_code == 200
    assert response.json() == {"ResultCode": "0", "ResultDesc": "Accepted"}
    callback = MpesaCallback.objects.get(kind="c2b_validation")
    assert (callback.status, callback.outcome) == ("processed", "accepted")
    assert callback.agency_id == books.agency.pk
    assert not Payment.objects.exists()  # validation never moves money


def test_c2b_validation_rejects_unknown_accounts_only_when_the_agency_asks(mpesa: Mpesa) -> None:
    books = make_books(reference="OTHER1")
    response = mpesa.post("c2b_validation", sample("c2b-validation"))
    assert response.json() == {"ResultCode": "0", "ResultDesc": "Accepted"}
    books.agency.reject_unknown_c2b_accounts = True
    books.agency.save()
    other = dict(sample("c2b-validation"), TransID="TCE9R3LQ7Y")
    response = mpesa.post("c2b_validation", other)
    assert response.status_code == 200
    assert response.json() == {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}
    unknown_shortcode = dict(
        sample("c2b-validation"), TransID="TCE9R3LQ7Z", BusinessShortCode="999999"
    )
    assert mpesa.post("c2b_validation", unknown_shortcode).json()["ResultCode"] == "C2B00015"


def test_c2b_confirmation_sample_is_matched_to_the_lease(mpesa: Mpesa, books: Books) -> None:
    response = mpesa.post("c2b_confirmation", sample("c2b-confirmation"))
    assert response.status_code == 200
    assert response.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    payment = Payment.objects.get()
    assert payment.method == Payment.Method.MPESA_PAYBILL
    assert payment.status == Payment.Status.COMPLETED
    assert payment.lease_id == books.lease.pk  # "BLKB-U12" matched lease reference "BLKBU12"
    assert payment.receipt == "TCE9R3LQ7X"
    assert payment.amount == Decimal("18500.00")
    assert payment.payer_name == "AMINA"
    assert payment.account_reference == "BLKB-U12"
    assert payment.phone == ""  # MSISDN is masked: never stored as a phone number
    assert payment.paid_at == datetime(2025, 3, 14, 15, 30, 45, tzinfo=UTC)
    assert books.reload()[0].status == "paid"
    assert books.ledger()["credit"] == Decimal("3500.00")
    assert books.ledger_ok()


def test_c2b_confirmation_with_an_unknown_account_waits_unmatched(mpesa: Mpesa) -> None:
    make_books(reference="ZZ9")
    body = dict(sample("c2b-confirmation"), BillRefNumber="blkb u12 ")
    assert mpesa.post("c2b_confirmation", body).status_code == 200
    payment = Payment.objects.get()
    assert payment.lease_id is None
    assert payment.status == Payment.Status.COMPLETED
    assert payment.amount == Decimal("18500.00")
    assert MpesaCallback.objects.get().outcome == "unmatched"


def test_c2b_reference_matching_ignores_case_and_spacing(mpesa: Mpesa, books: Books) -> None:
    body = dict(sample("c2b-confirmation"), BillRefNumber=" blkb u12")
    mpesa.post("c2b_confirmation", body)
    assert Payment.objects.get().lease_id == books.lease.pk


def test_the_stand_in_speaks_the_sample_shapes(mpesa: Mpesa, books: Books) -> None:
    """What the stand-in answers and posts has exactly the keys of the shared samples."""
    from keja.payments.adapters.sandbox import Push, stk_callback_body

    sandbox = mpesa.sandbox.sandbox
    sandbox.configure(outcome="never")
    payment = stk_push_initiate(
        actor=books.actor, lease_id=books.lease.pk, amount=100, phone="0712345678"
    )
    push: Push = sandbox.pushes[payment.checkout_request_id or ""]
    accepted = sample("stk-push-accepted")
    assert payment.result_description == accepted["CustomerMessage"]

    def keys(body: dict) -> set[str]:
        return set(body["Body"]["stkCallback"])

    def items(body: dict) -> list[str]:
        return [i["Name"] for i in body["Body"]["stkCallback"]["CallbackMetadata"]["Item"]]

    success = stk_callback_body(push, "success")
    assert keys(success) == keys(sample("stk-callback-success"))
    assert items(success) == items(sample("stk-callback-success"))
    for outcome, name in (
        ("cancelled", "stk-callback-cancelled"),
        ("timeout", "stk-callback-timeout"),
    ):
        body = stk_callback_body(push, outcome)
        assert keys(body) == keys(sample(name))
        assert (
            body["Body"]["stkCallback"]["ResultCode"]
            == sample(name)["Body"]["stkCallback"]["ResultCode"]
        )
    sandbox.configure(passkey="")  # the direct calls below send no Password
    status, error = sandbox.stk_push({"BusinessShortCode": "174379"})
    assert status == 400
    assert set(error) == set(sample("stk-push-error"))
    _, answer = sandbox.stk_push(
        {
            "BusinessShortCode": "174379",
            "Timestamp": "20250314091502",
            "Password": "",
            "TransactionType": "CustomerPayBillOnline",
            "Amount": 1,
            "PartyA": "254712345678",
            "PhoneNumber": "254712345678",
            "CallBackURL": "http://127.0.0.1:9/cb",
            "AccountReference": "K1",
            "TransactionDesc": "Rent",
        }
    )
    assert set(answer) == set(accepted)
    sandbox.c2b_register(
        {
            "ShortCode": "600984",
            "ResponseType": "Completed",
            "ConfirmationURL": "http://127.0.0.1:9/c",
            "ValidationURL": "http://127.0.0.1:9/v",
        }
    )
    sandbox.c2b_simulate({"ShortCode": "600984", "Amount": "100", "BillRefNumber": "X"})
    assert set(sandbox.c2b[-1]["transaction"]) == set(sample("c2b-validation"))
    assert set(sample("c2b-validation")) == set(sample("c2b-confirmation"))


def test_callbacks_also_answer_on_the_neutral_hooks_path(mpesa: Mpesa, books: Books) -> None:
    """Daraja refuses C2B URLs containing "mpesa": /hooks/<secret>/... serves the same views."""
    from django.test import Client

    path = mpesa.path("c2b_confirmation").replace("/mpesa/", "/hooks/", 1)
    assert path.startswith("/hooks/")
    response = Client().post(
        path, data=json.dumps(sample("c2b-confirmation")), content_type="application/json"
    )
    assert response.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    assert Payment.objects.get().lease_id == books.lease.pk
    wrong = Client().post(
        "/hooks/not-the-secret/c2b/confirmation", data="{}", content_type="application/json"
    )
    assert wrong.status_code == 404
