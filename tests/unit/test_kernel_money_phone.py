"""Property and example tests for ``keja.kernel.money``, ``keja.kernel.phone`` and
``keja.kernel.clock``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keja.kernel.clock import NAIROBI, add_months, month_start, period_of, today_nairobi
from keja.kernel.errors import ValidationFailed
from keja.kernel.money import CENT, ZERO, ensure_money, format_kes, to_money
from keja.kernel.phone import mask_phone, normalize_phone

# --------------------------------------------------------------------------------------------
# money
# --------------------------------------------------------------------------------------------

cent_amounts = st.integers(-10_000_000_000, 10_000_000_000).map(lambda c: Decimal(c) / 100)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (5, "5.00"),
        ("1234.5", "1234.50"),
        (" 7 ", "7.00"),
        ("1.005", "1.01"),  # half up, not banker's rounding
        ("2.675", "2.68"),
        ("0.125", "0.13"),
        ("-1.005", "-1.01"),
        (Decimal("19.994"), "19.99"),
        ("-0.001", "0.00"),
    ],
)
def test_to_money_examples(raw, expected):
    result = to_money(raw)
    assert str(result) == expected
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize("bad", [1.5, 0.1, True, None, [1]])
def test_to_money_rejects_floats_and_other_types(bad):
    with pytest.raises(TypeError):
        to_money(bad)


@pytest.mark.parametrize("bad", ["NaN", "inf", "-Infinity", Decimal("NaN"), "abc", "", "1e999999"])
def test_to_money_rejects_non_finite_and_junk(bad):
    with pytest.raises(ValueError):  # noqa: PT011 - message varies by cause
        to_money(bad)


@given(cent_amounts)
def test_to_money_keeps_exact_cent_values_and_is_idempotent(amount):
    once = to_money(amount)
    assert once == amount
    assert once.as_tuple().exponent == -2
    assert to_money(once) == once
    assert to_money(str(amount)) == once


@given(st.integers(-(10**12), 10**12), st.integers(0, 9))
def test_to_money_rounds_third_place_half_up_away_from_zero(cents_value, third):
    sign = -1 if cents_value < 0 else 1
    magnitude = abs(cents_value)
    raw = sign * (Decimal(magnitude) / 100 + Decimal(third) / 1000)
    expected = sign * Decimal(magnitude + (1 if third >= 5 else 0)) / 100
    assert to_money(raw) == expected


def test_ensure_money_does_not_round():
    assert ensure_money(Decimal("10.5"), field="amount") == Decimal("10.50")
    with pytest.raises(ValidationFailed) as excinfo:
        ensure_money(Decimal("10.005"), field="amount")
    assert excinfo.value.field == "amount"
    with pytest.raises(ValidationFailed):
        ensure_money(Decimal("Infinity"), field="amount")
    with pytest.raises(TypeError):
        ensure_money(10.5, field="amount")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("1234.5"), "KES 1,234.50"),
        (0, "KES 0.00"),
        ("1234567.891", "KES 1,234,567.89"),
        (Decimal("-50"), "-KES 50.00"),
        (Decimal("999.995"), "KES 1,000.00"),
    ],
)
def test_format_kes_examples(amount, expected):
    assert format_kes(amount) == expected


@given(cent_amounts)
def test_format_kes_round_trips(amount):
    text = format_kes(amount)
    assert re.fullmatch(r"-?KES \d{1,3}(,\d{3})*\.\d{2}", text)
    assert Decimal(text.replace("KES ", "").replace(",", "")) == amount


def test_constants():
    assert Decimal("0.01") == CENT
    assert Decimal(0) == ZERO
    assert str(ZERO) == "0.00"


# --------------------------------------------------------------------------------------------
# phone
# --------------------------------------------------------------------------------------------

subscribers = st.from_regex(r"[17][0-9]{8}", fullmatch=True)
prefixes = st.sampled_from(["", "0", "254", "+254", "+254 ", "+254 (0)", "2540"])


def spaced(digits: str, cuts: list[int], sep: str) -> str:
    out, last = [], 0
    for cut in sorted(set(cuts)):
        out.append(digits[last:cut])
        last = cut
    out.append(digits[last:])
    return sep.join(part for part in out if part)


@given(
    subscriber=subscribers,
    prefix=prefixes,
    cuts=st.lists(st.integers(1, 8), max_size=3),
    sep=st.sampled_from([" ", "-", "."]),
)
def test_normalize_phone_accepts_common_forms(subscriber, prefix, cuts, sep):
    raw = prefix + spaced(subscriber, cuts, sep)
    assert normalize_phone(raw) == "254" + subscriber
    assert normalize_phone(f"  {raw}  ") == "254" + subscriber


@given(st.text(max_size=20))
def test_normalize_phone_output_is_canonical_and_idempotent(raw):
    try:
        result = normalize_phone(raw)
    except ValidationFailed as exc:
        error: ValidationFailed | None = exc
    else:
        error = None
    if error is not None:
        assert error.field == "phone"
        return
    assert re.fullmatch(r"254[17][0-9]{8}", result)
    # The subscriber digits came from the input, and normalizing again changes nothing.
    assert result[3:] in re.sub(r"[^0-9]", "", raw)
    assert normalize_phone(result) == result


@given(subscriber=subscribers, prefix=prefixes)
def test_normalize_phone_is_idempotent_on_valid_input(subscriber, prefix):
    once = normalize_phone(prefix + subscriber)
    assert normalize_phone(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0712345678", "254712345678"),
        ("712345678", "254712345678"),
        ("+254 712 345 678", "254712345678"),
        ("254712345678", "254712345678"),
        ("0110 123456", "254110123456"),
        ("+254-110-123-456", "254110123456"),
        ("+254 (0) 712 345678", "254712345678"),
    ],
)
def test_normalize_phone_examples(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "   ",
        "abc",
        "0812345678",  # no 08xx mobile range
        "0201234567",  # Nairobi landline
        "07123",
        "07123456789",  # too long
        "071234567",  # too short
        "+1 712 345 6789",
        "254812345678",
        "+0712345678",
        "0712345678x",
        "0712 345 678 ext 2",
        "\u0660\u0667\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668",  # Arabic-Indic digits
        "0" * 40,
    ],
)
def test_normalize_phone_rejects_junk(junk):
    with pytest.raises(ValidationFailed) as excinfo:
        normalize_phone(junk)
    assert excinfo.value.field == "phone"


@given(subscriber=subscribers, prefix=st.sampled_from(["0", "254", "+254"]))
def test_mask_phone_hides_the_middle(subscriber, prefix):
    masked = mask_phone(prefix + subscriber)
    full = "254" + subscriber
    assert masked == full[:4] + "******" + full[-2:]
    assert len(masked) == 12


def test_mask_phone_examples():
    assert mask_phone("0712345678") == "2547******78"
    assert mask_phone("not a phone") == "*********ne"
    assert mask_phone("12") == "**"


# --------------------------------------------------------------------------------------------
# clock
# --------------------------------------------------------------------------------------------

any_dates = st.dates(date(1990, 1, 1), date(2090, 12, 31))


@given(any_dates)
def test_month_start_and_period_of(d):
    assert month_start(d) == period_of(d) == date(d.year, d.month, 1)
    assert type(month_start(datetime(d.year, d.month, d.day, 12, tzinfo=UTC))) is date


@given(any_dates, st.integers(-240, 240))
def test_add_months_moves_whole_months_and_clamps(d, n):
    moved = add_months(d, n)
    assert (moved.year * 12 + moved.month) - (d.year * 12 + d.month) == n
    assert moved.day == d.day or (moved.day < d.day and (moved + timedelta(days=1)).day == 1)
    if d.day <= 28:
        assert add_months(moved, -n) == d


@pytest.mark.parametrize(
    ("d", "n", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),
        (date(2025, 1, 15), -1, date(2024, 12, 15)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 5, 31), 0, date(2025, 5, 31)),
    ],
)
def test_add_months_examples(d, n, expected):
    assert add_months(d, n) == expected


def test_today_is_the_nairobi_date():
    before = (datetime.now(UTC) + timedelta(hours=3)).date()
    today = today_nairobi()
    after = (datetime.now(UTC) + timedelta(hours=3)).date()
    assert today in {before, after}
    assert str(NAIROBI) == "Africa/Nairobi"
