"""Template filters of the console: KES money, Nairobi times, percentages, phone numbers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache

from django import template
from django.urls import reverse

from keja.kernel.clock import NAIROBI
from keja.kernel.money import format_kes

register = template.Library()
EMPTY = "—"


@register.filter
def kes(value: Decimal | int | str | None) -> str:
    """``KES 1,234.50`` (money is stored in KES with two places)."""
    if value is None or value == "":
        return EMPTY
    try:
        return format_kes(value)
    except (TypeError, ValueError):
        return EMPTY


@register.filter
def nairobi(value: datetime | date | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    """A stored UTC time shown in Africa/Nairobi (EAT); a plain date as ``30 Nov 2026``."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.strftime(fmt)
        return value.astimezone(NAIROBI).strftime(fmt)
    if isinstance(value, date):
        return value.strftime("%d %b %Y")
    return str(value)


@register.filter
def nairobi_iso(value: datetime | None) -> str:
    """Machine-readable time for ``<time datetime=…>``, in Nairobi's offset."""
    if not isinstance(value, datetime):
        return ""
    return value.astimezone(NAIROBI).isoformat(timespec="minutes")


@register.filter
def month(value: date | None) -> str:
    return value.strftime("%B %Y") if isinstance(value, date) else EMPTY


@register.filter
def pct(value: Decimal | float | int | None) -> str:
    if value is None:
        return EMPTY
    return f"{Decimal(str(value)).quantize(Decimal('0.1'))}%"


@register.filter
def phone(value: str | None) -> str:
    """``254712345678`` → ``+254 712 345 678``."""
    if not value:
        return EMPTY
    if len(value) == 12 and value.isdigit():
        return f"+{value[:3]} {value[3:6]} {value[6:9]} {value[9:]}"
    return value


@register.filter
def label(value: str | None) -> str:
    """A stored code as words: ``partially_paid`` → ``partially paid``."""
    return str(value or "").replace("_", " ") or EMPTY


_SECTIONS = {
    "home": "home",
    "properties": "properties",
    "property": "properties",
    "property_create": "properties",
    "property_edit": "properties",
    "unit_create": "properties",
    "units": "units",
    "unit_edit": "units",
    "tenants": "tenants",
    "tenant": "tenants",
    "tenant_create": "tenants",
    "tenant_edit": "tenants",
    "leases": "leases",
    "lease": "leases",
    "lease_create": "leases",
    "invoices": "invoices",
    "invoice": "invoices",
    "payments": "payments",
    "payment": "payments",
    "payments_unmatched": "unmatched",
    "audit": "audit",
}


@register.filter
def section(url_name: str | None) -> str:
    """The navigation entry a page belongs to (for ``aria-current``)."""
    return _SECTIONS.get(url_name or "", "")


_MARKER = 987_654_321_987


@cache
def _url_around_id(name: str) -> tuple[str, str]:
    """The parts of ``name``'s URL before and after its one integer argument (reversed once)."""
    url = reverse(name, args=[_MARKER])
    before, found, after = url.partition(str(_MARKER))
    if not found:  # pragma: no cover - a pattern without an <int:...> argument
        raise ValueError(f"{name} does not take one integer argument")
    return before, after


@register.simple_tag
def object_url(name: str, pk: object) -> str:
    """``{% url name pk %}`` for a URL with one integer id, without running Django's URL reverser
    for every row of a list (it was a quarter of a list page's rendering time)."""
    before, after = _url_around_id(name)
    return f"{before}{int(str(pk))}{after}"
