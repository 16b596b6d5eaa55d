"""Calendar helpers. Business dates are Nairobi dates (EAT, UTC+3, no DST)."""

from __future__ import annotations

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo

__all__ = [
    "NAIROBI",
    "add_months",
    "days_in_month",
    "month_start",
    "now_nairobi",
    "period_of",
    "today_nairobi",
]

NAIROBI = ZoneInfo("Africa/Nairobi")


def now_nairobi() -> datetime:
    """The current aware datetime in Nairobi."""
    return datetime.now(NAIROBI)


def today_nairobi() -> date:
    """Today's date in Nairobi (not the server's local zone)."""
    return now_nairobi().date()


def days_in_month(year: int, month: int) -> int:
    """Number of days in ``year``-``month``."""
    return calendar.monthrange(year, month)[1]


def month_start(d: date) -> date:
    """First day of ``d``'s month (always a ``date``, even for a ``datetime``)."""
    return date(d.year, d.month, 1)


def period_of(d: date) -> date:
    """Billing period containing ``d``: the first day of its month."""
    return month_start(d)


def add_months(d: date, n: int) -> date:
    """``d`` moved ``n`` months (may be negative), clamping the day: Jan 31 + 1 → Feb 28/29."""
    index = d.year * 12 + (d.month - 1) + n
    year, month0 = divmod(index, 12)
    month = month0 + 1
    return date(year, month, min(d.day, days_in_month(year, month)))
