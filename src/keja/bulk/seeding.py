"""Realistic demo data for Keja (issue 3, P1.1 evidence, P1.3): agencies with Kenyan properties,
units, tenants, leases, twelve months of invoices and payments, and a ledger that is exactly what
the services would have produced.

How it works
------------
* Every agency is built in memory on its own (``AgencyBuilder``), from a ``random.Random`` seeded
  with ``"<seed>:<agency index>"``: the same ``--seed`` and the same ``today`` give the same rows.
* The ledger is simulated per lease in time order, with the real pure rules of
  ``keja.billing.domain``: invoices are issued on the 1st (the first one on the lease's start day,
  prorated), consume the lease's credit oldest first; each completed payment is split by
  ``allocate_payment`` (oldest first) and its remainder becomes a ``CreditEntry``; late fees are
  charged by ``late_fee_due`` on the day after ``due + grace`` if something is still owed; final
  statuses are ``invoice_status(..., today)``. The per-row services are never called (too slow).
* Ids are allocated here (from ``MAX(id)`` and the identity sequence; the sequences are moved past
  them after each agency), so child rows reference parents without round trips.
* On PostgreSQL rows go in through ``COPY ... FROM STDIN`` (psycopg 3) on Django's connection, one
  transaction per agency, agency after agency: each agency's rows are contiguous on disk (the
  dashboard aggregates then read a few pages, see docs/database.md). Constraints stay on: the
  deferred same-agency foreign keys are checked at the end of each agency's transaction. On the
  embedded SQLite default the same rows go in through ``bulk_create`` in batches.

"today" is the current Nairobi date unless given; every date and timestamp is derived from it
(payments happen strictly before today). Seeding expects exclusive use of the database.
"""

from __future__ import annotations

import random
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any, Protocol

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import connection, models, transaction

from keja.agencies.models import Agency, ApiKey, Membership
from keja.audit.models import AuditEntry
from keja.billing.domain import (
    LateFeePolicy,
    OpenInvoice,
    allocate_payment,
    invoice_status,
    late_fee_due,
    prorate_first_month,
)
from keja.billing.models import Allocation, CreditEntry, Invoice
from keja.kernel.clock import NAIROBI, add_months, period_of
from keja.kernel.money import ZERO
from keja.leases.models import Lease
from keja.payments.models import Payment
from keja.properties.models import Property, Unit
from keja.tenants.models import Tenant

# ---------------------------------------------------------------------------------------------
# Scales and names
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    name: str
    agencies: int
    units: int
    months: int = 12


SCALES: dict[str, Scale] = {
    "small": Scale("small", agencies=1, units=200),
    "medium": Scale("medium", agencies=10, units=20_000),
    "large": Scale("large", agencies=100, units=200_000),
}

FIRST_NAMES = (
    "Wanjiku", "Achieng", "Atieno", "Akinyi", "Njeri", "Wambui", "Nyambura", "Chebet", "Jepkosgei",
    "Mwende", "Mueni", "Kerubo", "Moraa", "Nafula", "Awino", "Adhiambo", "Wairimu", "Nduta",
    "Auma", "Faith", "Grace", "Mercy", "Joy", "Esther", "Mary", "Ann", "Lucy", "Caroline",
    "Brenda", "Sharon", "Amina", "Fatuma", "Halima", "Zawadi", "Neema", "Purity", "Beatrice",
    "Winnie", "Cynthia", "Nancy", "John", "Peter", "James", "Joseph", "David", "Daniel", "Samuel",
    "Brian", "Kevin", "Dennis", "Collins", "Victor", "Evans", "Stephen", "Paul", "Mohamed",
    "Hassan", "Ali", "Kiprono", "Kibet", "Kipchoge", "Cheruiyot", "Otieno", "Ochieng", "Baraka",
    "Juma", "Kioko", "Musyoka", "Mutua", "Njoroge", "Kamau", "Wafula", "Barasa", "Omondi",
    "Francis", "Patrick", "George", "Charles", "Geoffrey", "Emmanuel",
)  # fmt: skip
SURNAMES = (
    "Kamau", "Mwangi", "Njoroge", "Kariuki", "Otieno", "Ochieng", "Odhiambo", "Onyango", "Omondi",
    "Owino", "Kiprotich", "Kiprono", "Cheruiyot", "Kipkemboi", "Korir", "Langat", "Rotich",
    "Mutua", "Musyoka", "Kioko", "Wafula", "Wanyama", "Barasa", "Simiyu", "Nyongesa", "Okoth",
    "Maina", "Kimani", "Ndung'u", "Githinji", "Gitau", "Macharia", "Karanja", "Mugo", "Nyaga",
    "Muriuki", "Mohamed", "Hassan", "Abdi", "Omar", "Said", "Nyamweya", "Ondieki", "Ogutu",
    "Oduor", "Kiplagat", "Chege", "Wekesa", "Juma", "Mbugua", "Ng'ang'a", "Kiptoo", "Nyakundi",
    "Wambua", "Mutiso", "Kilonzo", "Achola", "Wanjala", "Masinde", "Kosgei",
)  # fmt: skip
EMAIL_DOMAINS = ("gmail.com",) * 14 + ("yahoo.com",) * 3 + ("outlook.com", "hotmail.com")
# Safaricom, Airtel and Telkom mobile prefixes: 2547XXXXXXXX and 2541XXXXXXXX.
_MOBILE_7 = (
    "01", "02", "05", "08", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20",
    "21", "22", "23", "24", "25", "26", "27", "28", "29", "33", "35", "39", "40", "41", "42",
    "43", "45", "46", "48", "57", "58", "59", "68", "69", "71", "79", "80", "85", "90", "91",
    "92", "93", "94", "95", "97", "98",
)  # fmt: skip
PHONE_PREFIXES = (
    *("2547" + p for p in _MOBILE_7),
    *("254110", "254111", "254112", "254115", "254100"),
)


@dataclass(frozen=True)
class Region:
    county: str
    town: str
    lat: float
    lon: float
    rent_1br: int  # typical one-bedroom rent in KES


REGIONS = (
    Region("Nairobi", "Westlands", -1.2676, 36.8108, 55_000),
    Region("Nairobi", "Kilimani", -1.2921, 36.7835, 48_000),
    Region("Nairobi", "Kileleshwa", -1.2815, 36.7791, 45_000),
    Region("Nairobi", "South B", -1.3106, 36.8365, 24_000),
    Region("Nairobi", "Embakasi", -1.3197, 36.8947, 15_000),
    Region("Nairobi", "Kasarani", -1.2219, 36.8998, 16_000),
    Region("Nairobi", "Roysambu", -1.2187, 36.8869, 17_000),
    Region("Nairobi", "Langata", -1.3626, 36.7447, 30_000),
    Region("Kiambu", "Ruiru", -1.1466, 36.9609, 13_000),
    Region("Kiambu", "Thika", -1.0333, 37.0693, 11_000),
    Region("Kiambu", "Kikuyu", -1.2464, 36.6629, 14_000),
    Region("Kiambu", "Juja", -1.1022, 37.0144, 10_000),
    Region("Mombasa", "Nyali", -4.0347, 39.7203, 35_000),
    Region("Mombasa", "Bamburi", -3.9890, 39.7230, 18_000),
    Region("Kilifi", "Mtwapa", -3.9433, 39.7458, 15_000),
    Region("Nakuru", "Nakuru", -0.3031, 36.0800, 13_000),
    Region("Nakuru", "Naivasha", -0.7167, 36.4333, 12_000),
    Region("Kisumu", "Kisumu", -0.0917, 34.7680, 14_000),
    Region("Kisumu", "Milimani", -0.1022, 34.7617, 22_000),
    Region("Machakos", "Syokimau", -1.3630, 36.9320, 20_000),
    Region("Machakos", "Athi River", -1.4560, 36.9780, 13_000),
    Region("Kajiado", "Kitengela", -1.4750, 36.9610, 11_000),
    Region("Kajiado", "Ongata Rongai", -1.3960, 36.7440, 13_000),
    Region("Kajiado", "Ngong", -1.3527, 36.6699, 12_000),
    Region("Uasin Gishu", "Eldoret", 0.5143, 35.2698, 10_000),
    Region("Nyeri", "Nyeri", -0.4201, 36.9476, 9_000),
)
ROADS = (
    "Ngong Road", "Thika Road", "Waiyaki Way", "Mombasa Road", "Kenyatta Avenue", "Moi Avenue",
    "Kiambu Road", "Argwings Kodhek Road", "Lenana Road", "Links Road", "Oginga Odinga Street",
    "Uhuru Highway", "Eastern Bypass", "Northern Bypass", "Magadi Road", "Kangundo Road",
)  # fmt: skip
ESTATE_WORDS = (
    "Amani", "Baraka", "Neema", "Jamhuri", "Uhuru", "Tumaini", "Fahari", "Mwangaza", "Upendo",
    "Zawadi", "Imani", "Kilimani", "Sunrise", "Acacia", "Jacaranda", "Mvule", "Mugumo", "Baobab",
    "Savannah", "Riverside", "Greenpark", "Hillview", "Lakeview", "Palm", "Coral", "Tausi",
    "Nyota", "Kijani", "Umoja", "Maisha", "Simba", "Tembo", "Twiga", "Pwani", "Mlima", "Milele",
    "Bahari", "Faraja", "Heri", "Furaha", "Shalom", "Bethel", "Canaan", "Goshen", "Elgon",
    "Kenya", "Tana", "Athi", "Mara", "Rift",
)  # fmt: skip
PROPERTY_SUFFIXES = (
    "Apartments", "Court", "Heights", "Gardens", "Residency", "Towers", "Villas", "Place",
    "Park", "Homes", "Suites", "Flats",
)  # fmt: skip
AGENCY_WORDS = (
    "Jamii", "Savannah", "Baobab", "Kilele", "Mlima", "Tausi", "Simba", "Pwani", "Nyota", "Amani",
    "Bahari", "Kijani", "Umoja", "Maisha", "Zuri", "Tembo", "Faraja", "Mwamba", "Sifa", "Hodari",
    "Rafiki", "Duma", "Lulu", "Chui", "Kifaru", "Msitu", "Mvua", "Jua", "Upeo", "Ngao",
)  # fmt: skip
AGENCY_SUFFIXES = (
    "Homes", "Property Managers", "Realty", "Estates", "Lettings", "Property Agency",
)  # fmt: skip

BEDROOM_FACTOR = {0: 0.55, 1: 1.0, 2: 1.5, 3: 2.1, 4: 2.9, 5: 3.6}
PROFILES = (
    ("prompt", 62),
    ("late", 16),
    ("partial", 10),
    ("advance", 5),
    ("arrears", 5),
    ("erratic", 2),
)
METHODS = (("mpesa_paybill", 55), ("mpesa_stk", 30), ("cash", 8), ("bank", 7))
STK_FAILURES = (
    ("cancelled", 1032, "Request cancelled by user"),
    ("failed", 1, "The balance is insufficient for the transaction."),
    ("failed", 1037, "DS timeout user cannot be reached"),
    ("expired", 1019, "Transaction has expired"),
)
STK_OK = "The service request is processed successfully."
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ONE_DAY = timedelta(days=1)


def _weighted(rng: random.Random, table: Sequence[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def _b36(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(_B36[r])
    return "".join(reversed(out))


def _kes(value: Decimal) -> Decimal:
    """Whole shillings, rounded up (M-Pesa amounts are whole KES)."""
    return value.to_integral_value(rounding=ROUND_CEILING).quantize(Decimal("0.01"))


def _at(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=NAIROBI)


# ---------------------------------------------------------------------------------------------
# In-memory rows of one agency
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgencySpec:
    index: int
    name: str
    slug: str
    shortcode: str
    units: int
    late_fee_kind: str
    late_fee_value: Decimal
    grace_days: int
    due_days: int
    regions: tuple[Region, ...]

    def policy(self) -> LateFeePolicy | None:
        if self.late_fee_kind == "none" or self.late_fee_value <= 0:
            return None
        return LateFeePolicy(
            grace_days=self.grace_days,
            kind=self.late_fee_kind,  # type: ignore[arg-type]
            value=self.late_fee_value,
        )


@dataclass(slots=True, eq=False)
class _Lease:
    unit: list[Any]
    start: date
    end: date | None
    status: str
    rent: Decimal
    billing_day: int
    profile: str
    method: str
    tenant: list[Any]
    reference: str = ""
    id: int = 0
    credit: Decimal = ZERO
    invoices: list[_Inv] = field(default_factory=list)
    payments: list[_Pay] = field(default_factory=list)
    last_event: datetime | None = None


@dataclass(slots=True, eq=False)
class _Inv:
    lease: _Lease
    period: date
    amount: Decimal
    due: date
    issued_at: datetime
    id: int = 0
    late_fee: Decimal = ZERO
    paid: Decimal = ZERO
    fee_at: datetime | None = None
    version: int = 1


@dataclass(slots=True, eq=False)
class _Pay:
    lease: _Lease | None
    method: str
    status: str
    amount: Decimal
    at: datetime
    phone: str = ""
    payer: str = ""
    typed_ref: str = ""
    result_code: int | None = None
    result_desc: str = ""
    note: str = ""
    settles: bool = False  # pays the whole balance shown at payment time (at least ``amount``)
    id: int = 0


class Ids:
    """Next id per table: allocated here so child rows can reference parents directly."""

    def __init__(self, starts: dict[str, int]) -> None:
        self.next = dict(starts)

    def take(self, table: str, n: int) -> int:
        first = self.next[table]
        self.next[table] = first + n
        return first


@dataclass
class AgencyRows:
    """Rows of one agency per model, as tuples in ``COLUMNS`` order."""

    agency_id: int
    rows: dict[type[models.Model], list[tuple[Any, ...]]]
    created_at: datetime
    stats: dict[str, Any]


COLUMNS: dict[type[models.Model], tuple[str, ...]] = {
    Property: (
        "id", "agency_id", "name", "county", "town", "address", "latitude", "longitude", "kind",
        "status", "created_at", "updated_at",
    ),
    Unit: (
        "id", "agency_id", "property_id", "label", "bedrooms", "monthly_rent", "status",
        "created_at", "updated_at",
    ),
    Tenant: (
        "id", "agency_id", "full_name", "phone", "email", "national_id", "status", "created_at",
        "updated_at",
    ),
    Lease: (
        "id", "agency_id", "unit_id", "tenant_id", "start_date", "end_date", "monthly_rent",
        "deposit", "billing_day", "status", "account_reference", "credit_balance", "version",
        "created_at", "updated_at",
    ),
    Invoice: (
        "id", "agency_id", "lease_id", "period", "amount", "late_fee", "total", "amount_paid",
        "status", "due_date", "issued_at", "late_fee_charged_at", "version",
    ),
    Payment: (
        "id", "agency_id", "lease_id", "method", "status", "amount", "paid_at", "receipt", "phone",
        "payer_name", "account_reference", "checkout_request_id", "merchant_request_id",
        "result_code", "result_description", "note", "version", "created_at", "updated_at",
        "reversed_at",
    ),
    Allocation: ("id", "agency_id", "payment_id", "invoice_id", "amount", "created_at", "reversed_at"),
    CreditEntry: (
        "id", "agency_id", "lease_id", "payment_id", "amount", "remaining", "created_at",
        "reversed_at",
    ),
}  # fmt: skip
LOAD_ORDER: tuple[type[models.Model], ...] = tuple(COLUMNS)


class AgencyBuilder:
    """Builds every row of one agency in memory (no database access)."""

    def __init__(
        self, spec: AgencySpec, agency_id: int, ids: Ids, today: date, seed: int, months: int = 12
    ) -> None:
        self.spec = spec
        self.agency_id = agency_id
        self.ids = ids
        self.today = today
        self.rng = random.Random(f"{seed}:{spec.index}")
        self.salt = random.Random(f"{seed}:receipts").randrange(36**8)
        self.window_start = add_months(period_of(today), -(months - 1))
        self.policy = spec.policy()
        self.phones: set[str] = set()
        self.emails: set[str] = set()
        self.refs: set[str] = set()

    # -- people ------------------------------------------------------------------------------
    def _name(self) -> tuple[str, str, str]:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        middle = rng.choice(FIRST_NAMES) if rng.random() < 0.25 else ""
        full = f"{first} {middle} {last}" if middle else f"{first} {last}"
        return full, first, last

    def _phone(self) -> str:
        rng = self.rng
        while True:
            prefix = rng.choice(PHONE_PREFIXES)
            phone = prefix + "".join(rng.choices("0123456789", k=12 - len(prefix)))
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def _email(self, first: str, last: str) -> str:
        rng = self.rng
        base = f"{first}.{last}".lower().replace("'", "")
        domain = rng.choice(EMAIL_DOMAINS)
        email = f"{base}@{domain}"
        while email in self.emails:
            email = f"{base}{rng.randint(1, 9999)}@{domain}"
        self.emails.add(email)
        return email

    def _reference(self) -> str:
        rng = self.rng
        while True:
            ref = "K" + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=7))
            if ref not in self.refs:
                self.refs.add(ref)
                return ref

    def _tenant(self, since: date, active: bool) -> list[Any]:
        rng = self.rng
        full, first, last = self._name()
        email = self._email(first, last) if rng.random() < 0.7 else ""
        national_id = str(rng.randint(10_000_000, 39_999_999)) if rng.random() < 0.85 else ""
        created = _at(
            since - timedelta(days=rng.randint(1, 10)), rng.randint(8, 17), rng.randint(0, 59)
        )
        # id, agency, name, phone, email, national_id, status, created, updated (id set later)
        return [0, self.agency_id, full, self._phone(), email, national_id,
                "active" if active else "inactive", created, created]  # fmt: skip

    # -- properties and units ----------------------------------------------------------------
    def _properties(self) -> tuple[list[tuple[Any, ...]], list[list[Any]], list[date]]:
        rng, spec = self.rng, self.spec
        props: list[tuple[Any, ...]] = []
        units: list[list[Any]] = []
        onboarded: list[date] = []
        names: set[str] = set()
        remaining = spec.units
        while remaining > 0:
            kind = _weighted(
                rng, (("apartment", 70), ("house", 14), ("commercial", 7), ("mixed", 9))
            )
            lo, hi = {
                "apartment": (8, 60),
                "house": (4, 20),
                "commercial": (5, 30),
                "mixed": (10, 40),
            }[kind]
            n = min(remaining, rng.randint(lo, hi))
            remaining -= n
            region = rng.choice(spec.regions)
            name = f"{rng.choice(ESTATE_WORDS)} {rng.choice(PROPERTY_SUFFIXES)}"
            if name in names:
                name = f"{name} {region.town}"
            base, k = name, 2
            while name in names:
                name, k = f"{base} {k}", k + 1
            names.add(name)
            pid = self.ids.take("property", 1)
            since = self.window_start - timedelta(days=rng.randint(400, 8 * 365))
            onboarded.append(since)
            created = _at(since, rng.randint(8, 17), rng.randint(0, 59))
            lat = Decimal(f"{region.lat + rng.uniform(-0.02, 0.02):.6f}")
            lon = Decimal(f"{region.lon + rng.uniform(-0.02, 0.02):.6f}")
            address = f"Plot {rng.randint(1, 999)}, {rng.choice(ROADS)}, {region.town}"
            status = "active" if rng.random() < 0.97 else "inactive"
            props.append((pid, self.agency_id, name, region.county, region.town, address, lat, lon,
                          kind, status, created, created))  # fmt: skip
            factor = rng.uniform(0.85, 1.2)
            for j in range(n):
                if kind == "house":
                    label, bedrooms = f"H{j + 1}", rng.choice((2, 3, 3, 4, 4, 5))
                elif kind == "commercial" or (kind == "mixed" and j < n // 4):
                    label, bedrooms = f"S{j + 1}", 0
                else:
                    label = f"{chr(65 + j // 8)}{j % 8 + 1}"
                    bedrooms = rng.choices((0, 1, 2, 3, 4), weights=(10, 35, 35, 15, 5))[0]
                mult = 1.3 if bedrooms == 0 and label.startswith("S") else BEDROOM_FACTOR[bedrooms]
                rent = max(3000, round(region.rent_1br * mult * factor / 500) * 500)
                # id, agency, property, label, bedrooms, rent, status, created, updated
                units.append([self.ids.take("unit", 1), self.agency_id, pid, label, bedrooms,
                              Decimal(rent).quantize(Decimal("0.01")), "vacant", created, created])  # fmt: skip
        return props, units, onboarded

    # -- leases ------------------------------------------------------------------------------
    def _new_lease(
        self, unit: list[Any], start: date, end: date | None, status: str, rent: Decimal
    ) -> _Lease:
        rng = self.rng
        billing_day = 1 if rng.random() < 0.8 else rng.choice((5, 10, 15))
        return _Lease(
            unit=unit,
            start=start,
            end=end,
            status=status,
            rent=rent,
            billing_day=billing_day,
            profile=_weighted(rng, PROFILES),
            method=_weighted(rng, METHODS),
            tenant=self._tenant(start, status == "active"),
        )

    def _random_start(self, lo: date, hi: date) -> date:
        rng = self.rng
        day = lo + timedelta(days=rng.randint(0, max(0, (hi - lo).days)))
        if rng.random() < 0.65 and period_of(day) >= lo:
            return period_of(day)
        return day.replace(day=min(day.day, 28))

    def _leases(self, units: list[list[Any]], unit_onboarded: list[date]) -> list[_Lease]:
        rng, today, ws = self.rng, self.today, self.window_start
        occupancy = rng.uniform(0.85, 0.92)
        leases: list[_Lease] = []
        for unit, since in zip(units, unit_onboarded, strict=True):
            rent = unit[5]
            earliest = since + timedelta(days=30)
            if rng.random() < occupancy:
                if rng.random() < 0.72 or today - ws < timedelta(days=40):
                    start = self._random_start(
                        max(earliest, ws - timedelta(days=4 * 365)), ws - ONE_DAY
                    )
                    previous_end = None
                else:
                    start = self._random_start(ws + ONE_DAY, today - ONE_DAY)
                    previous_end = start - ONE_DAY if rng.random() < 0.6 else None
                old_rent = rent if start >= ws else _kes(rent * Decimal(rng.uniform(0.85, 1.0)) / 500) * 500  # fmt: skip
                end = None
                if rng.random() < 0.3:
                    end = add_months(start, 12 * rng.randint(1, 3)) - ONE_DAY
                    while end < today:
                        end = add_months(end + ONE_DAY, 12) - ONE_DAY
                leases.append(self._new_lease(unit, start, end, "active", old_rent))
                unit[6] = "occupied"
                if previous_end is not None and previous_end - earliest > timedelta(days=120):
                    pstart = self._random_start(earliest, previous_end - timedelta(days=90))
                    status = "ended" if rng.random() < 0.85 else "terminated"
                    leases.append(self._new_lease(unit, pstart, previous_end, status, old_rent))
            else:
                unit[6] = "maintenance" if rng.random() < 0.15 else "vacant"
                if rng.random() < 0.35 and today - ws > timedelta(days=60):
                    end = ws + timedelta(days=rng.randint(30, (today - ws).days - 1))
                    if end - earliest > timedelta(days=120):
                        pstart = self._random_start(earliest, end - timedelta(days=90))
                        status = "ended" if rng.random() < 0.85 else "terminated"
                        leases.append(self._new_lease(unit, pstart, end, status, rent))
        leases.sort(key=lambda le: (le.start, le.unit[0]))
        first_lease = self.ids.take("lease", len(leases))
        first_tenant = self.ids.take("tenant", len(leases))
        for i, lease in enumerate(leases):
            lease.id = first_lease + i
            lease.tenant[0] = first_tenant + i
            lease.reference = self._reference()
        return leases

    # -- invoices ----------------------------------------------------------------------------
    def _invoices(self, leases: list[_Lease]) -> list[_Inv]:
        rng, spec = self.rng, self.spec
        current = period_of(self.today)
        invoices: list[_Inv] = []
        for lease in leases:
            period = max(period_of(lease.start), self.window_start)
            last = current if lease.end is None else min(current, period_of(lease.end))
            while period <= last:
                amount = lease.rent
                if period == period_of(lease.start) and lease.start.day != 1:
                    amount = prorate_first_month(monthly_rent=lease.rent, start=lease.start)
                due = max(
                    period.replace(day=lease.billing_day) + timedelta(days=spec.due_days),
                    lease.start,
                )
                if period <= lease.start:
                    issued = _at(lease.start, rng.randint(9, 16), rng.randint(0, 59))
                else:
                    issued = _at(period, 0, 5, rng.randint(0, 59))
                inv = _Inv(lease=lease, period=period, amount=amount, due=due, issued_at=issued)
                lease.invoices.append(inv)
                invoices.append(inv)
                period = add_months(period, 1)
        invoices.sort(key=lambda i: (i.issued_at, i.lease.id))
        first = self.ids.take("invoice", len(invoices))
        for n, inv in enumerate(invoices):
            inv.id = first + n
        return invoices

    # -- payments ----------------------------------------------------------------------------
    def _fee_estimate(self, amount: Decimal) -> Decimal:
        if self.policy is None:
            return ZERO
        if self.policy.kind == "flat":
            return self.policy.value
        return _kes(amount * self.policy.value / 100)

    def _pay_time(self, day: date) -> datetime:
        return _at(day, self.rng.randint(6, 21), self.rng.randint(0, 59), self.rng.randint(0, 59))

    def _plan_payments(self, lease: _Lease) -> list[tuple[date, Decimal, bool]]:
        """(day, amount, settles) per payment, following the tenant's profile."""
        rng = self.rng
        plan: list[tuple[date, Decimal, bool]] = []
        grace = self.spec.grace_days
        invoices = lease.invoices
        n = len(invoices)
        stop = n - rng.randint(1, 5) if lease.profile == "arrears" else n
        advance = rng.choice((2, 3))
        shortfall = ZERO
        for k, inv in enumerate(invoices):
            base = _kes(inv.amount)
            profile = lease.profile
            if profile == "prompt":
                amount = base
                if rng.random() < 0.07:
                    amount = _kes(base / 1000) * 1000 + (1000 if rng.random() < 0.3 else 0)
                plan.append((inv.due - timedelta(days=rng.randint(0, 6)), amount, True))
            elif profile in ("late", "arrears"):
                if k >= stop:
                    if rng.random() < 0.3:
                        token = Decimal(rng.randint(1, 5) * 1000)
                        plan.append((inv.due + timedelta(days=rng.randint(1, 20)), token, False))
                    continue
                delay = rng.randint(2, 24)
                amount = base
                if delay > grace and rng.random() < 0.7:
                    amount += self._fee_estimate(base)
                plan.append((inv.due + timedelta(days=delay), amount, profile == "late"))
            elif profile == "partial":
                amount = _kes(base * Decimal(rng.uniform(0.4, 0.9)) / 100) * 100
                shortfall += base - amount
                plan.append((inv.due + timedelta(days=rng.randint(-3, 8)), amount, False))
                if shortfall > 0 and rng.random() < 0.3:
                    extra = _kes(shortfall * Decimal(rng.uniform(0.5, 1.05)) / 100) * 100
                    if extra > 0:
                        plan.append((inv.due + timedelta(days=rng.randint(10, 25)), extra, False))
                        shortfall -= extra
            elif profile == "advance":
                if k % advance == 0:
                    day = inv.due - timedelta(days=rng.randint(0, 5))
                    plan.append((day, base * advance, True))
            elif rng.random() < 0.8:  # erratic
                amount = _kes(base * Decimal(rng.uniform(0.3, 1.8)) / 100) * 100
                plan.append((inv.due + timedelta(days=rng.randint(-5, 30)), amount, False))
        last_day = self.today - ONE_DAY
        if lease.end is not None:
            last_day = min(last_day, lease.end + timedelta(days=10))
        out: list[tuple[date, Decimal, bool]] = []
        for planned, amount, settles in plan:
            day = max(planned, lease.start)
            if amount <= 0 or day > last_day:
                continue
            if lease.profile != "partial" and amount >= 2000 and rng.random() < 0.07:
                first = _kes(amount * Decimal(rng.uniform(0.3, 0.7)) / 100) * 100
                second_day = min(day + timedelta(days=rng.randint(1, 7)), last_day)
                out.append((day, first, False))
                out.append((second_day, amount - first, settles))
            else:
                out.append((day, amount, settles and rng.random() < 0.9))
        return out

    def _payments(self, leases: list[_Lease]) -> list[_Pay]:
        rng = self.rng
        payments: list[_Pay] = []
        for lease in leases:
            phone, payer = lease.tenant[3], lease.tenant[2].upper()
            for day, amount, settles in self._plan_payments(lease):
                method = lease.method if rng.random() < 0.85 else _weighted(rng, METHODS)
                at = self._pay_time(day)
                if method == "mpesa_stk" and rng.random() < 0.05:
                    status, code, desc = rng.choice(STK_FAILURES)
                    tried = at - timedelta(minutes=rng.randint(2, 90))
                    failed = _Pay(lease, method, status, amount, tried, phone=phone,
                                  typed_ref=lease.reference, result_code=code, result_desc=desc)  # fmt: skip
                    payments.append(failed)
                pay = _Pay(lease, method, "completed", amount, at, settles=settles)
                if method == "mpesa_paybill":
                    pay.phone = phone if rng.random() < 0.8 else self._phone()
                    pay.payer = payer if pay.phone == phone else self._name()[0].upper()
                    ref = lease.reference
                    pay.typed_ref = ref.lower() if rng.random() < 0.1 else ref
                elif method == "mpesa_stk":
                    pay.phone, pay.typed_ref = phone, lease.reference
                    pay.result_code, pay.result_desc = 0, STK_OK
                elif method == "cash":
                    pay.note = "Cash received at the office"
                else:
                    pay.note = "Bank transfer"
                    pay.payer = payer
                payments.append(pay)
                lease.payments.append(pay)
        # Unmatched paybill money: a wrong or missing account number (waits for a person).
        span = max(1, (self.today - self.window_start).days)
        for _ in range(max(1, round(len(payments) * 0.003))):
            day = self.window_start + timedelta(days=rng.randint(0, span - 1))
            typed = rng.choice(("RENT", "HOUSE 4", "KODI", "B12", "A-7", "0712345678", "DEPOSIT",
                                self._reference()[:-1] + "0"))  # fmt: skip
            amount = Decimal(rng.randint(3, 60) * 500).quantize(Decimal("0.01"))
            payments.append(_Pay(None, "mpesa_paybill", "completed", amount, self._pay_time(day),
                                 phone=self._phone(), payer=self._name()[0].upper(),
                                 typed_ref=typed, note="No lease matches the account number"))  # fmt: skip
        payments.sort(key=lambda p: (p.at, p.lease.id if p.lease else 0))
        first = self.ids.take("payment", len(payments))
        for n, pay in enumerate(payments):
            pay.id = first + n
        return payments

    # -- the ledger --------------------------------------------------------------------------
    def _simulate(
        self, lease: _Lease, allocations: list[tuple[Any, ...]], credits: list[list[Any]]
    ) -> None:
        """Replay the lease's history in time order with the billing rules."""
        today, policy = self.today, self.policy
        events: list[tuple[datetime, int, int, Any]] = []
        for inv in lease.invoices:
            events.append((inv.issued_at, 0, inv.id, inv))
            overdue_day = inv.due + ONE_DAY
            if overdue_day <= today:
                events.append((_at(overdue_day, 0, 15), 1, inv.id, inv))
            if policy is not None:
                fee_day = inv.due + timedelta(days=policy.grace_days + 1)
                if fee_day <= today:
                    events.append((_at(fee_day, 0, 30), 2, inv.id, inv))
        for pay in lease.payments:
            if pay.status == "completed":
                events.append((pay.at, 3, pay.id, pay))
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        issued: list[_Inv] = []
        open_credit: list[list[Any]] = []  # [payment_id, remaining, row]
        for at, kind, _, obj in events:
            if kind == 0:
                inv = obj
                issued.append(inv)
                spent = ZERO
                for entry in open_credit:
                    need = inv.amount + inv.late_fee - inv.paid - spent
                    if need <= 0:
                        break
                    if entry[1] <= 0:
                        continue
                    take = min(need, entry[1])
                    entry[1] -= take
                    allocations.append((at, entry[0], inv.id, take))
                    spent += take
                if spent:
                    inv.paid += spent
                    inv.version += 1
                    lease.credit -= spent
                    open_credit = [e for e in open_credit if e[1] > 0]
            elif kind == 1:
                if obj.amount + obj.late_fee - obj.paid > 0:
                    obj.version += 1  # the daily job marks it overdue
            elif kind == 2:
                inv = obj
                assert policy is not None
                total = inv.amount + inv.late_fee
                fee = late_fee_due(
                    policy=policy,
                    invoice_total=total,
                    balance=total - inv.paid,
                    due_date=inv.due,
                    today=at.date(),
                    already_charged=inv.fee_at is not None,
                )
                if fee > 0:
                    inv.late_fee += fee
                    inv.fee_at = at
                    inv.version += 1
            else:
                pay = obj
                owing = [
                    OpenInvoice(
                        id=i.id,
                        period=i.period,
                        due_date=i.due,
                        total=i.amount + i.late_fee,
                        paid=i.paid,
                    )
                    for i in issued
                    if i.amount + i.late_fee > i.paid
                ]
                if pay.settles:
                    pay.amount = max(pay.amount, _kes(sum((o.balance for o in owing), ZERO)))
                result = allocate_payment(amount=pay.amount, invoices=owing)
                if result.allocations:
                    by_id = {i.id: i for i in issued}
                    for invoice_id, part in result.allocations:
                        inv = by_id[invoice_id]
                        inv.paid += part
                        inv.version += 1
                        allocations.append((at, pay.id, invoice_id, part))
                if result.credit_added > 0:
                    row = [0, self.agency_id, lease.id, pay.id, result.credit_added, ZERO, at, None]
                    credits.append(row)
                    open_credit.append([pay.id, result.credit_added, row])
                    lease.credit += result.credit_added
            lease.last_event = at
        for entry in open_credit:  # what the later invoices did not consume
            entry[2][5] = entry[1]

    # -- everything --------------------------------------------------------------------------
    def build(self) -> AgencyRows:
        agency_id, today = self.agency_id, self.today
        props, units, onboarded = self._properties()
        unit_since = []
        since_by_prop = {p[0]: day for p, day in zip(props, onboarded, strict=True)}
        for unit in units:
            unit_since.append(since_by_prop[unit[2]])
        leases = self._leases(units, unit_since)
        invoices = self._invoices(leases)
        payments = self._payments(leases)
        allocations: list[tuple[Any, ...]] = []
        credits: list[list[Any]] = []
        for lease in leases:
            self._simulate(lease, allocations, credits)

        rows: dict[type[models.Model], list[tuple[Any, ...]]] = {m: [] for m in LOAD_ORDER}
        rows[Property] = props
        rows[Unit] = [tuple(u) for u in units]
        tenants = sorted((lease.tenant for lease in leases), key=lambda t: t[0])
        rows[Tenant] = [tuple(t) for t in tenants]
        lease_rows = []
        for lease in leases:
            created = lease.tenant[7] + timedelta(minutes=20)
            updated = max(created, lease.last_event or created)
            ended = lease.status != "active"
            if ended:
                assert lease.end is not None
                updated = max(updated, _at(lease.end, 17, 0))
            deposit = lease.rent * (2 if lease.unit[4] >= 3 else 1)
            lease_rows.append((
                lease.id, agency_id, lease.unit[0], lease.tenant[0], lease.start, lease.end,
                lease.rent, deposit, lease.billing_day, lease.status, lease.reference,
                lease.credit, 2 if ended else 1, created, updated,
            ))  # fmt: skip
        rows[Lease] = lease_rows
        inv_rows = []
        status_count: dict[str, int] = {}
        for inv in invoices:
            total = inv.amount + inv.late_fee
            status = invoice_status(total=total, paid=inv.paid, due_date=inv.due, today=today)
            status_count[status] = status_count.get(status, 0) + 1
            inv_rows.append((inv.id, agency_id, inv.lease.id, inv.period, inv.amount, inv.late_fee,
                             total, inv.paid, status, inv.due, inv.issued_at, inv.fee_at,
                             inv.version))  # fmt: skip
        rows[Invoice] = inv_rows
        rows[Payment] = [self._payment_row(p) for p in payments]
        allocations.sort(key=lambda a: (a[0], a[1], a[2]))
        first = self.ids.take("allocation", len(allocations))
        rows[Allocation] = [
            (first + n, agency_id, pid, iid, amount, at, None)
            for n, (at, pid, iid, amount) in enumerate(allocations)
        ]
        credits.sort(key=lambda c: c[3])
        first = self.ids.take("creditentry", len(credits))
        for n, row in enumerate(credits):
            row[0] = first + n
        rows[CreditEntry] = [tuple(c) for c in credits]
        created_at = _at(min(onboarded) - timedelta(days=30), 9, 0)
        stats = {
            "units": len(units),
            "occupied": sum(1 for u in units if u[6] == "occupied"),
            "leases": len(leases),
            "invoices": len(invoices),
            "payments": len(payments),
            "invoice_status": status_count,
        }
        return AgencyRows(agency_id=agency_id, rows=rows, created_at=created_at, stats=stats)

    def _payment_row(self, p: _Pay) -> tuple[Any, ...]:
        receipt = checkout = None
        merchant = ""
        at = p.at
        created = updated = at
        version = 1
        if p.method in ("mpesa_paybill", "mpesa_stk") and p.status == "completed":
            mix = (p.id * 2654435761 + self.salt) % 36**8
            receipt = chr(65 + at.year - 2006) + chr(64 + at.month) + _b36(mix, 8)
        elif p.method == "bank":
            receipt = f"FT{at:%y%m%d}{_b36(p.id, 6)}"
        if p.method == "mpesa_stk":
            checkout = f"ws_CO_{at:%d%m%Y%H%M%S}{p.id:012d}"
            merchant = f"{10000 + p.id % 90000}-{p.id:08d}-1"
            created = at - timedelta(seconds=40)
            version = 2
        elif p.method == "cash":
            updated = created = at + timedelta(minutes=5)
        return (
            p.id, self.agency_id, p.lease.id if p.lease else None, p.method, p.status, p.amount,
            at if p.status == "completed" else None, receipt, p.phone, p.payer[:120],
            p.typed_ref, checkout, merchant, p.result_code, p.result_desc, p.note, version,
            created, updated, None,
        )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Agencies
# ---------------------------------------------------------------------------------------------


def plan_agencies(scale: Scale, seed: int) -> list[AgencySpec]:
    """Names, sizes (0.5x to 1.5x the mean, summing to ``scale.units``) and policies."""
    rng = random.Random(f"{seed}:agencies")
    combos = [f"{w} {s}" for w in AGENCY_WORDS for s in AGENCY_SUFFIXES]
    names = rng.sample(combos, min(scale.agencies, len(combos)))
    while len(names) < scale.agencies:
        names.append(f"{rng.choice(AGENCY_WORDS)} Homes {len(names) + 1}")
    weights = [rng.uniform(0.5, 1.5) for _ in range(scale.agencies)]
    total = sum(weights)
    sizes = [max(1, int(scale.units * w / total)) for w in weights]
    i = 0
    while sum(sizes) != scale.units:
        step = 1 if sum(sizes) < scale.units else -1
        if sizes[i % len(sizes)] + step >= 1:
            sizes[i % len(sizes)] += step
        i += 1
    specs = []
    for i, name in enumerate(names):
        slug = name.lower().replace(" ", "-")
        policy = i % 3
        kind, value = "none", Decimal("0.00")
        if policy == 0:
            kind, value = "flat", Decimal(rng.choice((500, 1000, 1500))).quantize(Decimal("0.01"))
        elif policy == 1:
            kind, value = "percent", Decimal(rng.choice((5, 10))).quantize(Decimal("0.01"))
        home = rng.randrange(len(REGIONS))
        regions = tuple({REGIONS[home], *rng.sample(REGIONS, rng.randint(1, 3))})
        specs.append(
            AgencySpec(
                index=i,
                name=name,
                slug=slug,
                shortcode=str(600_000 + i),
                units=sizes[i],
                late_fee_kind=kind,
                late_fee_value=value,
                grace_days=rng.choice((3, 5, 5, 7)),
                due_days=rng.choice((5, 5, 7, 10)),
                regions=tuple(sorted(regions, key=lambda r: (r.county, r.town))),
            )
        )
    return specs


# ---------------------------------------------------------------------------------------------
# Writing: COPY on PostgreSQL, bulk_create on SQLite
# ---------------------------------------------------------------------------------------------

TABLE_KEYS: dict[type[models.Model], str] = {
    Property: "property",
    Unit: "unit",
    Tenant: "tenant",
    Lease: "lease",
    Invoice: "invoice",
    Payment: "payment",
    Allocation: "allocation",
    CreditEntry: "creditentry",
}


class Sink(Protocol):
    def write(self, model: type[models.Model], rows: list[tuple[Any, ...]]) -> None: ...


def _extra_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """Concrete fields the generator does not set (added later by someone): their defaults."""
    known = set(COLUMNS[model])
    return [f for f in model._meta.concrete_fields if f.attname not in known]


class CopySink:
    """``COPY table (cols) FROM STDIN`` through psycopg 3 on Django's own connection."""

    def __init__(self) -> None:
        connection.ensure_connection()
        self.raw = connection.connection
        self.plans: dict[type[models.Model], tuple[str, tuple[Any, ...]]] = {}

    def _plan(self, model: type[models.Model]) -> tuple[str, tuple[Any, ...]]:
        if model not in self.plans:
            extras = _extra_fields(model)
            cols = [*COLUMNS[model], *(f.column for f in extras)]
            const = tuple(f.get_db_prep_save(f.get_default(), connection) for f in extras)
            sql = f"COPY {model._meta.db_table} ({', '.join(cols)}) FROM STDIN"
            self.plans[model] = (sql, const)
        return self.plans[model]

    def write(self, model: type[models.Model], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        sql, const = self._plan(model)
        with self.raw.cursor() as cur, cur.copy(sql) as copy:
            if const:
                for row in rows:
                    copy.write_row(row + const)
            else:
                for row in rows:
                    copy.write_row(row)


class OrmSink:
    """The embedded SQLite default: ``bulk_create`` in batches (auto_now fields become now)."""

    def __init__(self, batch_size: int = 500) -> None:
        self.batch_size = batch_size

    def write(self, model: type[models.Model], rows: list[tuple[Any, ...]]) -> None:
        cols = COLUMNS[model]
        objs = [model(**dict(zip(cols, row, strict=True))) for row in rows]
        model._default_manager.bulk_create(objs, batch_size=self.batch_size)


def _is_pg() -> bool:
    return connection.vendor == "postgresql"


def _next_ids() -> dict[str, int]:
    starts: dict[str, int] = {}
    with connection.cursor() as cur:
        for model, key in TABLE_KEYS.items():
            table = model._meta.db_table
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
            top = int(cur.fetchone()[0])
            if _is_pg():
                cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                seq = cur.fetchone()[0]
                cur.execute(f"SELECT last_value, is_called FROM {seq}")  # noqa: S608
                last, called = cur.fetchone()
                top = max(top, int(last) if called else int(last) - 1)
            starts[key] = top + 1
    return starts


def _advance_sequences(ids: Ids) -> None:
    if not _is_pg():
        return  # SQLite AUTOINCREMENT follows explicit ids by itself
    with connection.cursor() as cur:
        for model, key in TABLE_KEYS.items():
            last = ids.next[key] - 1
            if last > 0:
                cur.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                    [model._meta.db_table, last],
                )


BUSINESS_MODELS: tuple[type[models.Model], ...] = (
    AuditEntry,
    Allocation,
    CreditEntry,
    Payment,
    Invoice,
    Lease,
    Tenant,
    Unit,
    Property,
    ApiKey,
    Membership,
    Agency,
)


def _check_deferred_now() -> None:
    """Inside a transaction, run the pending deferred foreign-key checks now (not at a commit
    that may belong to an enclosing transaction), then restore the deferred mode every
    deferrable key of the schema has. TRUNCATE and ALTER TABLE refuse pending checks."""
    if _is_pg() and connection.in_atomic_block:
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute("SET CONSTRAINTS ALL DEFERRED")


def reset_business_tables() -> None:
    """Wipe the business tables (agencies and everything that belongs to them, audit entries).
    Users are kept; seeded logins are reused. PostgreSQL: one TRUNCATE ... RESTART IDENTITY
    CASCADE (tables referencing agencies are emptied too)."""
    if _is_pg():
        _check_deferred_now()
        tables = ", ".join(m._meta.db_table for m in BUSINESS_MODELS)
        with connection.cursor() as cur:
            cur.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        return
    with transaction.atomic():
        for model in BUSINESS_MODELS:
            model._default_manager.all().delete()


# ---------------------------------------------------------------------------------------------
# The command's entry point
# ---------------------------------------------------------------------------------------------


class SeedRefused(Exception):
    pass


@dataclass
class SeedReport:
    scale: str
    seed: int
    today: date
    load_mode: str
    agencies: list[dict[str, Any]]
    rows: dict[str, int]
    logins: list[tuple[str, str]]
    seconds: float
    phases: dict[str, float]


ROLES_SMALL = ("owner", "manager", "accountant", "viewer")


def _users(
    specs: Sequence[AgencySpec], agency_ids: Sequence[int], with_staff: bool
) -> list[tuple[str, str]]:
    """Owner (and, for small, manager/accountant/viewer) logins; one password hash for all."""
    wanted: list[tuple[str, int, str]] = []
    for spec, agency_id in zip(specs, agency_ids, strict=True):
        for role in ROLES_SMALL if with_staff else ("owner",):
            wanted.append((f"{role}@{spec.slug}.example", agency_id, role))
    hashed = make_password(settings.KEJA_DEMO_PASSWORD)
    emails = [w[0] for w in wanted]
    existing = dict(User.objects.filter(username__in=emails).values_list("username", "id"))
    User.objects.filter(username__in=list(existing)).update(password=hashed, is_active=True)
    new = [
        User(username=e, email=e, password=hashed, first_name=e.split("@")[0].title())
        for e in emails
        if e not in existing
    ]
    User.objects.bulk_create(new, batch_size=500)
    user_ids = dict(User.objects.filter(username__in=emails).values_list("username", "id"))
    Membership.objects.bulk_create(
        [Membership(agency_id=a, user_id=user_ids[e], role=r) for e, a, r in wanted],
        batch_size=500,
    )
    return [(e, r) for e, _, r in wanted]


def _invalidate_caches() -> None:
    """Rows written with COPY bypass the ORM: tell cachalot, if it is installed."""
    if apps.is_installed("cachalot"):
        from cachalot.api import invalidate

        invalidate()


def _vacuum_analyze() -> None:
    tables = [m._meta.db_table for m in LOAD_ORDER] + [Agency._meta.db_table]
    with connection.cursor() as cur:
        if connection.in_atomic_block:
            for table in tables:
                cur.execute(f"ANALYZE {table}")
            return
        cur.execute("SET statement_timeout = 0")
        try:
            for table in tables:
                # autovacuum may be off: set the visibility map (index-only scans) and statistics
                cur.execute(f"VACUUM (ANALYZE) {table}")
        finally:
            cur.execute("RESET statement_timeout")


@dataclass
class _Lifted:
    foreign_keys: list[tuple[str, str, str]]
    indexes: list[tuple[str, str]]


def _lift_constraints() -> _Lifted:
    """Bulk mode: drop the foreign keys and the secondary indexes of the loaded tables (their
    exact definitions are kept). Primary keys, unique and exclusion constraints stay. Must run
    in the same transaction as the load and ``_restore_constraints``: any failure rolls the
    drops back too."""
    tables = [m._meta.db_table for m in LOAD_ORDER]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) "
            "ORDER BY conrelid::regclass::text, conname",
            [tables],
        )
        fks = [(str(t), str(n), str(d)) for t, n, d in cur.fetchall()]
        cur.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY 1",
            [tables],
        )
        indexes = [(str(n), str(d)) for n, d in cur.fetchall()]
        for table, name, _ in fks:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {name}")
    return _Lifted(foreign_keys=fks, indexes=indexes)


def _restore_constraints(lifted: _Lifted) -> None:
    """Rebuild the indexes (unique ones re-check uniqueness) and re-add the foreign keys, which
    PostgreSQL validates with one join per key instead of one lookup per row."""
    with connection.cursor() as cur:
        cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _, ddl in lifted.indexes:
            cur.execute(ddl)
        for table, name, ddl in lifted.foreign_keys:
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {ddl}')


LOAD_MODES = ("auto", "live", "bulk")
BULK_THRESHOLD_UNITS = 10_000


def seed_demo(
    *,
    scale: Scale,
    seed: int,
    today: date,
    reset: bool = False,
    load_mode: str = "auto",
    progress: Callable[[int, dict[str, Any]], None] | None = None,
) -> SeedReport:
    """Seed ``scale`` into the default database. Refuses (``SeedRefused``) when agencies exist
    unless ``reset``, which first empties the business tables.

    ``load_mode`` (PostgreSQL): ``live`` keeps every constraint and index in place and commits
    agency by agency; ``bulk`` loads everything in one transaction with the foreign keys and
    secondary indexes lifted and rebuilt at the end (writing 2.7x faster; docs/database.md);
    ``auto`` is bulk from 10,000 units. SQLite always loads live through ``bulk_create``."""
    if load_mode not in LOAD_MODES:
        raise ValueError(f"load_mode must be one of {LOAD_MODES}")
    started = _time.perf_counter()
    phases: dict[str, float] = {}
    if reset:
        reset_business_tables()  # always: ids restart at 1, so a seed gives the same rows
    elif Agency.objects.exists():
        raise SeedRefused(
            "The database already has agencies; seed_demo only fills an empty database. "
            "Pass --reset to empty the business tables first (this deletes their data)."
        )
    phases["reset"] = _time.perf_counter() - started

    specs = plan_agencies(scale, seed)
    agencies = Agency.objects.bulk_create(
        [
            Agency(
                name=s.name,
                slug=s.slug,
                mpesa_shortcode=s.shortcode,
                late_fee_kind=s.late_fee_kind,
                late_fee_value=s.late_fee_value,
                late_fee_grace_days=s.grace_days,
                invoice_due_days=s.due_days,
            )
            for s in specs
        ]
    )
    if any(a.pk is None for a in agencies):  # pragma: no cover - backends without RETURNING
        by_slug = dict(Agency.objects.values_list("slug", "id"))
        for a in agencies:
            a.pk = by_slug[a.slug]
    agency_ids = [int(a.pk) for a in agencies]
    logins = _users(specs, agency_ids, with_staff=scale.agencies == 1)
    phases["agencies_users"] = _time.perf_counter() - started - phases["reset"]

    pg = _is_pg()
    bulk = pg and (
        load_mode == "bulk" or (load_mode == "auto" and scale.units >= BULK_THRESHOLD_UNITS)
    )
    sink: Sink = CopySink() if pg else OrmSink()
    ids = Ids(_next_ids())
    counts: dict[str, int] = {TABLE_KEYS[m]: 0 for m in LOAD_ORDER}
    summaries: list[dict[str, Any]] = []
    audit: list[AuditEntry] = []
    clock = {"build": 0.0, "write": 0.0}

    def load(spec: AgencySpec, agency_id: int) -> None:
        t0 = _time.perf_counter()
        built = AgencyBuilder(spec, agency_id, ids, today, seed, scale.months).build()
        t1 = _time.perf_counter()
        for model in LOAD_ORDER:
            sink.write(model, built.rows[model])
            counts[TABLE_KEYS[model]] += len(built.rows[model])
        Agency.objects.filter(pk=agency_id).update(created_at=built.created_at)
        clock["build"] += t1 - t0
        clock["write"] += _time.perf_counter() - t1
        summary = {"id": agency_id, "slug": spec.slug, **built.stats}
        summaries.append(summary)
        audit.append(
            AuditEntry(
                agency_id=agency_id,
                actor_label="seed_demo",
                action="bulk.seed_demo",
                object_type="agency",
                object_id=str(agency_id),
                summary=f"Demo data ({scale.name}, seed {seed}): {built.stats['units']} units, "
                f"{built.stats['invoices']} invoices, {built.stats['payments']} payments",
                changes={k: v for k, v in built.stats.items() if isinstance(v, int)},
            )
        )
        if progress is not None:
            progress(spec.units, summary)

    def no_statement_timeout() -> None:
        if pg:
            with connection.cursor() as cur:
                cur.execute("SET LOCAL statement_timeout = 0")

    if bulk:
        with transaction.atomic():
            no_statement_timeout()
            _check_deferred_now()
            lifted = _lift_constraints()
            for spec, agency_id in zip(specs, agency_ids, strict=True):
                load(spec, agency_id)
            t = _time.perf_counter()
            _restore_constraints(lifted)
            phases["rebuild_constraints"] = _time.perf_counter() - t
            _advance_sequences(ids)
    else:
        for spec, agency_id in zip(specs, agency_ids, strict=True):
            with transaction.atomic():
                no_statement_timeout()
                load(spec, agency_id)
                _check_deferred_now()
                _advance_sequences(ids)
    AuditEntry.objects.bulk_create(audit)
    phases["build"] = clock["build"]
    phases["write"] = clock["write"]
    t3 = _time.perf_counter()
    if pg:
        _vacuum_analyze()
    _invalidate_caches()
    phases["vacuum_analyze"] = _time.perf_counter() - t3
    counts["agency"] = len(agency_ids)
    counts["membership"] = len(logins)
    counts["auditentry"] = len(audit)
    return SeedReport(
        scale=scale.name,
        seed=seed,
        today=today,
        load_mode="bulk" if bulk else "live",
        agencies=summaries,
        rows=counts,
        logins=logins,
        seconds=_time.perf_counter() - started,
        phases=phases,
    )
