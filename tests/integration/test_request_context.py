"""Request ids, log context and phone masking."""

from __future__ import annotations

import pytest
from django.test import Client

from keja.platform.logging.setup import mask_phone_numbers

pytestmark = pytest.mark.django_db


def test_request_id_is_echoed(client: Client) -> None:
    response = client.get("/health/live", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


def test_request_id_is_generated_or_replaced(client: Client) -> None:
    generated = client.get("/health/live")["X-Request-ID"]
    assert len(generated) == 32
    replaced = client.get("/health/live", HTTP_X_REQUEST_ID="bad id with spaces")["X-Request-ID"]
    assert replaced != "bad id with spaces"
    assert len(replaced) == 32


def test_log_lines_carry_request_and_user(client: Client, django_user_model, caplog) -> None:
    user = django_user_model.objects.create_user("amina@keja.example", password="pw-123456")
    client.force_login(user)
    with caplog.at_level("INFO", logger="keja.request"):
        client.get("/", HTTP_X_REQUEST_ID="req-42")
    events = [
        r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "request"
    ]
    assert events, caplog.records
    assert events[-1]["request_id"] == "req-42"
    assert events[-1]["user_id"] == user.pk


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("paid by 254712345678 ok", "paid by 2547******78 ok"),
        ("+254712345678", "+2547******78"),
        ("0712345678", "07******78"),
        ("0110123456", "01******56"),
    ],
)
def test_phone_numbers_are_masked(raw: str, masked: str) -> None:
    assert mask_phone_numbers(raw) == masked


def test_other_numbers_are_left_alone() -> None:
    assert (
        mask_phone_numbers("receipt QK7ABC1234 amount 15000") == "receipt QK7ABC1234 amount 15000"
    )
