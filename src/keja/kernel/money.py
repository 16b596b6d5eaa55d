"""Money is a ``decimal.Decimal`` with exactly two places (KES cents). Never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from keja.kernel.errors import ValidationFailed

__all__ = ["CENT", "ZERO", "ensure_money", "format_kes", "to_money"]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_money(value: Decimal | int | str) -> Decimal:
    """Convert ``value`` to a 2-place Decimal, rounding half up.

    Floats (and bools) are refused with ``TypeError``: they cannot represent cents exactly.
    NaN, infinities and unparseable strings raise ``ValueError``. ``-0.00`` becomes ``0.00``.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"money must be Decimal, int or str, not {type(value).__name__}")
    try:
        dec = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not a valid amount: {value!r}") from None
    if not dec.is_finite():
        raise ValueError(f"amount must be finite, got {value!r}")
    try:
        result = dec.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"amount out of range: {value!r}") from None
    return ZERO if result.is_zero() else result


def ensure_money(value: Decimal, *, field: str) -> Decimal:
    """Check that ``value`` is already a finite Decimal with at most 2 places; return it quantized.

    Unlike :func:`to_money` this never rounds: a sub-cent amount is a ``ValidationFailed`` (so a
    payment of 10.005 is refused rather than silently changed). Non-Decimal input is a TypeError.
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"{field} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValidationFailed(f"{field} must be a finite amount.", field=field)
    try:
        quantized = value.quantize(CENT)
    except InvalidOperation:
        raise ValidationFailed(f"{field} is out of range.", field=field) from None
    if quantized != value:
        raise ValidationFailed(f"{field} cannot have more than 2 decimal places.", field=field)
    return ZERO if quantized.is_zero() else quantized


def format_kes(amount: Decimal | int | str) -> str:
    """Human form: ``KES 1,234.50``; negatives as ``-KES 1,234.50``."""
    money = to_money(amount)
    sign = "-" if money < 0 else ""
    return f"{sign}KES {abs(money):,.2f}"
