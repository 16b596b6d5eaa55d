"""Bounded input types and exact output types for the API (P7.1).

Every number, date and string an integrator sends is bounded here, so nothing out of range reaches
PostgreSQL (an id beyond bigint, a year-1 timestamp, a NUL byte in text): the request answers 422
instead of a 500. Money goes out as a string with two places (``"15000.00"``), never a float.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja.params import P, PathEx
from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema
from pydantic.json_schema import JsonDict

MAX_ID = 2**63 - 1
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2100, 12, 31)
MIN_DATETIME = datetime(1970, 1, 1, tzinfo=UTC)
MAX_DATETIME = datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)
MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"


def clean_text(value: str) -> str:
    """Refuse what PostgreSQL cannot store in a text column: NUL bytes and lone surrogates."""
    if "\x00" in value:
        raise ValueError("text cannot contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode") from None
    return value


def _aware_in_range(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)  # a timestamp without an offset is UTC
    if not MIN_DATETIME <= value <= MAX_DATETIME:
        raise ValueError("timestamp must be between 1970-01-01 and 2100-12-31 (UTC)")
    return value.astimezone(UTC)


def _money_text(value: Decimal) -> str:
    return f"{value:.2f}"


def _decimal_text(value: Decimal) -> str:
    return str(value)


# --- inputs ------------------------------------------------------------------------------------
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A database id: 1 … 2^63-1 (PostgreSQL bigint)."""

SafeStr = Annotated[str, AfterValidator(clean_text)]
"""Text PostgreSQL can store; add ``Field(min_length=…, max_length=…)`` where it is used."""

ApiDate = Annotated[date, Field(ge=MIN_DATE, le=MAX_DATE)]
ApiDateTime = Annotated[datetime, AfterValidator(_aware_in_range)]


MONEY_INPUT = re.compile(r"^[0-9]{1,11}(\.[0-9]{1,2})?$")


def _money_input(value: Any) -> Any:
    """A money string is plain digits with at most 2 decimals (no exponent, sign or spaces)."""
    if isinstance(value, str) and not MONEY_INPUT.match(value):
        raise ValueError("an amount is written like 15000 or 15000.50")
    if isinstance(value, bool):
        raise ValueError("an amount is a number or a string, not a boolean")
    return value


def _money_schema(minimum: str, maximum: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": float(minimum), "maximum": float(maximum)},
                {"type": "string", "pattern": MONEY_INPUT.pattern},
            ],
            "examples": ["15000.00"],
        },
        mode="validation",
    )


def _money_field(minimum: str, maximum: str) -> Any:
    return Field(ge=Decimal(minimum), le=Decimal(maximum), max_digits=14, decimal_places=2)


AmountIn = Annotated[
    Decimal,
    BeforeValidator(_money_input),
    _money_field("1", "10000000"),
    _money_schema("1", "10000000"),
]
"""A payment or rent amount in KES: 1 … 10,000,000, at most 2 decimal places (number or string)."""

DepositIn = Annotated[
    Decimal,
    BeforeValidator(_money_input),
    _money_field("0", "100000000"),
    _money_schema("0", "100000000"),
]
"""A deposit in KES: 0 … 100,000,000."""


# --- outputs -----------------------------------------------------------------------------------
Money = Annotated[
    Decimal,
    PlainSerializer(_money_text, return_type=str, when_used="always"),
    WithJsonSchema(
        {"type": "string", "pattern": MONEY_PATTERN, "examples": ["15000.00"]},
        mode="serialization",
    ),
]
"""A KES amount rendered as a string with exactly two places."""

DecimalText = Annotated[
    Decimal,
    PlainSerializer(_decimal_text, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}, mode="serialization"),
]
"""A non-money decimal (a rate, a coordinate) rendered as a string."""


# --- path parameters ---------------------------------------------------------------------------
PathId = PathEx[int, P(ge=1, le=MAX_ID, description="An id: 1 to 2^63-1.")]
"""An id in the URL (``/leases/{lease_id}``), bounded like ``Id``."""


def _drop_default(schema: JsonDict) -> None:
    schema.pop("default", None)


def omittable(**constraints: Any) -> Any:
    """A PATCH field: may be left out (then it is unchanged) but, when sent, must be valid (an
    explicit ``null`` is refused unless the type allows it). Use with ``exclude_unset``."""
    return Field(None, json_schema_extra=_drop_default, **constraints)
