"""Kenyan mobile numbers (Safaricom/Airtel/Telkom 07xx and 01xx ranges) in M-Pesa form ``254XXXXXXXXX``."""

from __future__ import annotations

import re

from keja.kernel.errors import ValidationFailed

__all__ = ["mask_phone", "normalize_phone"]

# Separators people type inside a number; removed before matching.
_SEPARATORS = re.compile(r"[\s\-.()/]")
# Optional prefix (+254, 254, +2540, 2540 or 0) then a 9-digit subscriber number starting 7 or 1.
_PATTERN = re.compile(r"(?:\+?2540?|0)?([17][0-9]{8})")
_MAX_RAW_LENGTH = 32


def normalize_phone(raw: str) -> str:
    """Return ``254XXXXXXXXX`` for any common way of writing a Kenyan mobile number.

    Accepts ``0712345678``, ``712345678``, ``+254 712 345 678``, ``254712345678``,
    ``+254 (0) 712 345678``, ``0110 123456`` … Raises ``ValidationFailed(field="phone")``
    for anything else (landlines, foreign numbers, wrong length, letters).
    """
    if not isinstance(raw, str) or len(raw) > _MAX_RAW_LENGTH:
        raise ValidationFailed("Enter a Kenyan mobile number such as 0712 345678.", field="phone")
    cleaned = _SEPARATORS.sub("", raw)
    match = _PATTERN.fullmatch(cleaned)
    if match is None:
        raise ValidationFailed(
            "Enter a Kenyan mobile number such as 0712 345678 (07xx or 01xx).", field="phone"
        )
    return "254" + match.group(1)


def mask_phone(phone: str) -> str:
    """Mask a number for logs and screens: ``2547******78``.

    Never raises (it is used while logging): input that is not a valid number is masked whole,
    keeping only its last two characters.
    """
    try:
        normalized = normalize_phone(phone)
    except ValidationFailed:
        text = str(phone)
        return "*" * max(len(text) - 2, 0) + text[-2:] if len(text) > 2 else "*" * len(text)
    return normalized[:4] + "*" * 6 + normalized[-2:]
