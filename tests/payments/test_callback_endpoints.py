"""The callback endpoints' defences (P5.1): the secret path, the source-address allow-list,
CSRF exemption, and strict validation — a malformed body answers 400 and is kept for
inspection, never a 500."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from keja.payments.models import MpesaCallback, Payment
from tests.payments.conftest import Books, Mpesa, c2b_confirmation, sample

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", ["stk", "c2b_validation", "c2b_confirmation"])
def test_a_wrong_secret_is_a_404_and_stores_nothing(mpesa: Mpesa, kind: str) -> None:
    good = mpesa.path(kind)
    for path in (
        good.replace(mpesa.secret, mpesa.secret[:-1] + "x"),
        good.replace(mpesa.secret, "x"),
        good.replace(mpesa.secret, mpesa.secret + "0"),
    ):
        response = Client().post(path, data="{}", content_type="application/json")
        assert response.status_code == 404
        assert Client().get(path).status_code == 404  # no hint that the endpoint exists
    assert not MpesaCallback.objects.exists()


def test_an_unset_secret_disables_the_endpoints(mpesa: Mpesa, settings) -> None:
    path = mpesa.path("stk")
    settings.KEJA_MPESA_CALLBACK_SECRET = ""
    response = Client().post(
        path, data=json.dumps(sample("stk-callback-success")), content_type="application/json"
    )
    assert response.status_code == 404


def test_only_post_is_allowed(mpesa: Mpesa) -> None:
    response = Client().get(mpesa.path("stk"))
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_csrf_is_not_required(mpesa: Mpesa, books: Books) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = mpesa.post("c2b_confirmation", sample("c2b-confirmation"), client=strict)
    assert response.status_code == 200


def test_ip_allow_list(mpesa: Mpesa, books: Books, settings) -> None:
    settings.KEJA_MPESA_ALLOWED_IPS = ["196.201.214.0/24", "2001:db8::/32"]
    body = sample("c2b-confirmation")
    refused = mpesa.post("c2b_confirmation", body)  # the test client comes from 127.0.0.1
    assert refused.status_code == 403
    assert not MpesaCallback.objects.exists()
    assert not Payment.objects.exists()
    allowed = mpesa.post("c2b_confirmation", body, REMOTE_ADDR="196.201.214.200")
    assert allowed.status_code == 200
    callback = MpesaCallback.objects.get()
    assert callback.source_ip == "196.201.214.200"
    assert mpesa.post("c2b_confirmation", body, REMOTE_ADDR="2001:db8::7").status_code == 200


def test_ip_allow_list_behind_a_proxy(mpesa: Mpesa, books: Books, settings) -> None:
    settings.KEJA_MPESA_ALLOWED_IPS = ["196.201.214.0/24"]
    settings.KEJA_MPESA_PROXY_HOPS = 1  # one trusted proxy appends the caller's address
    body = sample("c2b-confirmation")
    spoofed = mpesa.post(
        "c2b_confirmation",
        body,
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="196.201.214.9, 203.0.113.5",
    )
    assert spoofed.status_code == 403  # the caller put the allowed address first: not trusted
    real = mpesa.post(
        "c2b_confirmation", body, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="196.201.214.9"
    )
    assert real.status_code == 200


def _success() -> dict:
    return sample("stk-callback-success")


def _without_receipt() -> dict:
    body = _success()
    items = body["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    body["Body"]["stkCallback"]["CallbackMetadata"]["Item"] = [
        i for i in items if i["Name"] != "MpesaReceiptNumber"
    ]
    return body


def _with(path: tuple[str, ...], value: object) -> dict:
    body = _success()
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


MALFORMED_STK: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("not json", b"ResultCode=0"),
    ("truncated", b'{"Body": {"stkCallback": '),
    ("array", b"[1, 2]"),
    ("no Body", b'{"body": {}}'),
    ("no stkCallback", b'{"Body": {"callback": {}}}'),
    ("ResultCode text", json.dumps(_with(("Body", "stkCallback", "ResultCode"), "zero")).encode()),
    ("ResultCode bool", json.dumps(_with(("Body", "stkCallback", "ResultCode"), False)).encode()),
    (
        "no CheckoutRequestID",
        json.dumps(_with(("Body", "stkCallback", "CheckoutRequestID"), "")).encode(),
    ),
    (
        "odd CheckoutRequestID",
        json.dumps(_with(("Body", "stkCallback", "CheckoutRequestID"), "ws_CO_1'; DROP")).encode(),
    ),
    (
        "success without metadata",
        json.dumps(_with(("Body", "stkCallback", "CallbackMetadata"), None)).encode(),
    ),
    ("success without receipt", json.dumps(_without_receipt()).encode()),
    ("NaN", b'{"Body": {"stkCallback": {"ResultCode": NaN}}}'),
    ("invalid utf-8", b'{"Body": "\xff\xfe"}'),
    ("NUL", b'{"Body": {"stkCallback": {"CheckoutRequestID": "ws\\u0000x"}}}'),
    ("lone surrogate", json.dumps(_with(("Body", "stkCallback", "ResultDesc"), "\ud800")).encode()),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
    ("oversized", b'{"pad": "' + b"x" * 70_000 + b'"}'),
]


@pytest.mark.parametrize(("label", "body"), MALFORMED_STK, ids=[m[0] for m in MALFORMED_STK])
def test_malformed_stk_callbacks_are_400_and_kept(mpesa: Mpesa, label: str, body: bytes) -> None:
    response = mpesa.post("stk", body)
    assert response.status_code == 400, label
    assert response.json()["ResultCode"] == 1
    callback = MpesaCallback.objects.get()
    assert callback.status == MpesaCallback.Status.MALFORMED
    assert callback.error
    assert len(callback.raw) <= 64 * 1024
    assert "\x00" not in callback.raw
    if body and len(body) < 1000:
        assert callback.raw[:10] == body.decode("utf-8", errors="replace")[:10]
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("label", "change"),
    [
        ("no TransID", {"TransID": ""}),
        ("amount text", {"TransAmount": "eighteen"}),
        ("negative amount", {"TransAmount": "-5.00"}),
        ("zero amount", {"TransAmount": "0.00"}),
        ("three decimals", {"TransAmount": "10.005"}),
        ("bad shortcode", {"BusinessShortCode": "60-09"}),
        ("bad time", {"TransTime": "2025-03-14"}),
        ("object ref", {"BillRefNumber": {"a": 1}}),
    ],
)
def test_malformed_c2b_bodies_are_400_and_kept(
    mpesa: Mpesa, books: Books, label: str, change: dict
) -> None:
    body = {**sample("c2b-confirmation"), **change}
    response = mpesa.post("c2b_confirmation", body)
    assert response.status_code == 400, label
    validation = mpesa.post("c2b_validation", body)
    assert validation.status_code == 400
    assert validation.json() == {"ResultCode": "C2B00016", "ResultDesc": "Rejected"}
    assert MpesaCallback.objects.filter(status="malformed").count() == 2
    assert not Payment.objects.exists()


def test_a_malformed_body_does_not_block_the_valid_one(mpesa: Mpesa, books: Books) -> None:
    broken = {**sample("c2b-confirmation"), "TransAmount": "x"}
    assert mpesa.post("c2b_confirmation", broken).status_code == 400
    assert mpesa.post("c2b_confirmation", sample("c2b-confirmation")).status_code == 200
    assert Payment.objects.get().receipt == "TCE9R3LQ7X"
    statuses = sorted(MpesaCallback.objects.values_list("status", flat=True))
    assert statuses == ["malformed", "processed"]


def test_result_code_as_a_string_is_accepted(mpesa: Mpesa, books: Books) -> None:
    body = _with(("Body", "stkCallback", "ResultCode"), "1032")
    response = mpesa.post("stk", body)
    assert response.status_code == 200  # valid; unknown CheckoutRequestID: kept for a retry
    assert MpesaCallback.objects.get().status == MpesaCallback.Status.FAILED


def test_unknown_fields_and_item_order_do_not_matter(mpesa: Mpesa, books: Books) -> None:
    body = c2b_confirmation("TABCDEF123", amount=100, bill_ref="BLKBU12")
    body["SomethingNew"] = "ok"
    assert mpesa.post("c2b_confirmation", body).status_code == 200
    assert Payment.objects.get().amount == 100


def test_nul_and_surrogates_in_unknown_fields_are_stored_safely(mpesa: Mpesa, books: Books) -> None:
    body = c2b_confirmation("TNUL000001", amount=100, bill_ref="BLKBU12")
    body["Extra"] = "a\u0000b"
    body["Other"] = "\ud800"
    response = mpesa.post("c2b_confirmation", json.dumps(body).encode())
    assert response.status_code == 200
    callback = MpesaCallback.objects.get()
    assert callback.status == MpesaCallback.Status.PROCESSED
    assert callback.payload is None  # jsonb cannot hold it; the raw text is kept
    assert "TNUL000001" in callback.raw
