"""Strict reading of the bodies Safaricom posts to us (daraja.md §3 and §5).

Every field is checked for type and shape; anything unexpected raises ``CallbackInvalid`` (the
endpoint answers 400 and keeps the body for inspection). Callback metadata items are read by
name, never by position; ``ResultCode`` is accepted as an integer or a digit string.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from keja.kernel.clock import NAIROBI

MAX_BODY_BYTES = 64 * 1024
_ID = re.compile(r"^[A-Za-z0-9_\-.]{1,64}$")
_RECEIPT = re.compile(r"^[A-Z0-9]{6,30}$")
_SHORTCODE = re.compile(r"^[0-9]{4,10}$")
_TIMESTAMP = re.compile(r"^[0-9]{14}$")
_AMOUNT = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")


class CallbackInvalid(ValueError):
    """The body is not what Daraja sends."""


def _str(data: dict[str, Any], key: str, *, required: bool = True, max_length: int = 255) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise CallbackInvalid(f"{key} is missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise CallbackInvalid(f"{key} must be text")
    text = str(value).strip()
    if "\x00" in text:
        raise CallbackInvalid(f"{key} contains NUL")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CallbackInvalid(f"{key} is not valid Unicode") from exc
    if required and not text:
        raise CallbackInvalid(f"{key} is empty")
    if len(text) > max_length:
        raise CallbackInvalid(f"{key} is longer than {max_length} characters")
    return text


def _amount(value: object, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise CallbackInvalid(f"{key} must be a number")
    text = str(value).strip()
    if isinstance(value, float):
        text = f"{value:.2f}"
    if not _AMOUNT.match(text):
        raise CallbackInvalid(f"{key} is not an amount: {text[:20]!r}")
    try:
        amount = Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation as exc:  # pragma: no cover (the pattern already checked it)
        raise CallbackInvalid(f"{key} is not an amount") from exc
    if amount <= 0:
        raise CallbackInvalid(f"{key} must be positive")
    return amount


def parse_timestamp(value: object, key: str) -> datetime:
    """``YYYYMMDDHHmmss`` in Kenyan time (number or text) → an aware UTC datetime."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise CallbackInvalid(f"{key} must be YYYYMMDDHHmmss")
    text = str(value).strip()
    if not _TIMESTAMP.match(text):
        raise CallbackInvalid(f"{key} must be YYYYMMDDHHmmss")
    try:
        local = datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=NAIROBI)
    except ValueError as exc:
        raise CallbackInvalid(f"{key} is not a valid date") from exc
    return local.astimezone(UTC)


def _result_code(value: object) -> int:
    if isinstance(value, bool):
        raise CallbackInvalid("ResultCode must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,9}", value.strip()):
        return int(value.strip())
    raise CallbackInvalid("ResultCode must be a number")


@dataclass(frozen=True)
class StkCallback:
    merchant_request_id: str
    checkout_request_id: str
    result_code: int
    result_desc: str
    amount: Decimal | None = None
    receipt: str | None = None
    transaction_date: datetime | None = None
    phone: str = ""

    @property
    def succeeded(self) -> bool:
        return self.result_code == 0


def parse_stk_callback(data: object) -> StkCallback:
    if not isinstance(data, dict):
        raise CallbackInvalid("the body must be a JSON object")
    body = data.get("Body")
    if not isinstance(body, dict):
        raise CallbackInvalid("Body is missing")
    cb = body.get("stkCallback")
    if not isinstance(cb, dict):
        raise CallbackInvalid("Body.stkCallback is missing")
    checkout = _str(cb, "CheckoutRequestID", max_length=64)
    merchant = _str(cb, "MerchantRequestID", max_length=64)
    for key, value in (("CheckoutRequestID", checkout), ("MerchantRequestID", merchant)):
        if not _ID.match(value):
            raise CallbackInvalid(f"{key} has unexpected characters")
    if "ResultCode" not in cb:
        raise CallbackInvalid("ResultCode is missing")
    code = _result_code(cb["ResultCode"])
    desc = _str(cb, "ResultDesc", required=False, max_length=1000)[:255]
    if code != 0:
        return StkCallback(merchant, checkout, code, desc)
    meta = cb.get("CallbackMetadata")
    items = meta.get("Item") if isinstance(meta, dict) else None
    if not isinstance(items, list):
        raise CallbackInvalid("a successful callback needs CallbackMetadata.Item")
    values: dict[str, object] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
            raise CallbackInvalid("CallbackMetadata.Item entries need a Name")
        if "Value" in item:
            values[item["Name"]] = item["Value"]
    if "Amount" not in values:
        raise CallbackInvalid("Amount is missing")
    amount = _amount(values["Amount"], "Amount")
    receipt = values.get("MpesaReceiptNumber")
    if not isinstance(receipt, str) or not _RECEIPT.match(receipt.strip().upper()):
        raise CallbackInvalid("MpesaReceiptNumber is missing or malformed")
    when = None
    if values.get("TransactionDate") not in (None, ""):
        when = parse_timestamp(values["TransactionDate"], "TransactionDate")
    phone = values.get("PhoneNumber")
    phone_text = str(phone) if isinstance(phone, int | str) and not isinstance(phone, bool) else ""
    if phone_text and not re.fullmatch(r"254[17][0-9]{8}", phone_text):
        phone_text = ""  # informative only; never trusted
    return StkCallback(
        merchant_request_id=merchant,
        checkout_request_id=checkout,
        result_code=code,
        result_desc=desc,
        amount=amount,
        receipt=receipt.strip().upper(),
        transaction_date=when,
        phone=phone_text,
    )


@dataclass(frozen=True)
class C2BPayment:
    trans_id: str
    amount: Decimal
    shortcode: str
    bill_ref: str
    trans_time: datetime | None
    transaction_type: str = ""
    invoice_number: str = ""
    third_party_trans_id: str = ""
    msisdn: str = ""  # masked or hashed by Safaricom: never used as a phone number
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""

    @property
    def payer_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)[:120]


def parse_c2b(data: object) -> C2BPayment:
    """A validation or confirmation body (the same flat shape, all strings)."""
    if not isinstance(data, dict):
        raise CallbackInvalid("the body must be a JSON object")
    trans_id = _str(data, "TransID", max_length=30).upper()
    if not _RECEIPT.match(trans_id):
        raise CallbackInvalid("TransID is malformed")
    if "TransAmount" not in data:
        raise CallbackInvalid("TransAmount is missing")
    amount = _amount(data["TransAmount"], "TransAmount")
    shortcode = _str(data, "BusinessShortCode", max_length=10)
    if not _SHORTCODE.match(shortcode):
        raise CallbackInvalid("BusinessShortCode is malformed")
    trans_time = None
    if data.get("TransTime") not in (None, ""):
        trans_time = parse_timestamp(data["TransTime"], "TransTime")
    return C2BPayment(
        trans_id=trans_id,
        amount=amount,
        shortcode=shortcode,
        bill_ref=_str(data, "BillRefNumber", required=False, max_length=40),
        trans_time=trans_time,
        transaction_type=_str(data, "TransactionType", required=False, max_length=40),
        invoice_number=_str(data, "InvoiceNumber", required=False, max_length=40),
        third_party_trans_id=_str(data, "ThirdPartyTransID", required=False, max_length=64),
        msisdn=_str(data, "MSISDN", required=False, max_length=64),
        first_name=_str(data, "FirstName", required=False, max_length=60),
        middle_name=_str(data, "MiddleName", required=False, max_length=60),
        last_name=_str(data, "LastName", required=False, max_length=60),
    )


def guess_external_id(kind: str, data: object) -> str | None:
    """Best-effort id of a body that failed validation (kept beside it for inspection)."""
    try:
        if kind == "stk" and isinstance(data, dict):
            value = data["Body"]["stkCallback"]["CheckoutRequestID"]
        elif isinstance(data, dict):
            value = data["TransID"]
        else:
            return None
    except (KeyError, TypeError):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()[:64]
    return text if _ID.match(text) else None


def storable(payload: object) -> object | None:
    """``payload`` if PostgreSQL's jsonb can hold it (no NUL, no lone surrogate), else None
    (the raw text is kept either way)."""
    try:
        text = json.dumps(payload, ensure_ascii=False)
        text.encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        return None
    return None if "\x00" in text or "\\u0000" in text else payload
