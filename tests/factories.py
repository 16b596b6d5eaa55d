"""Test data built through the real services (so every rule and audit entry applies)."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User

from keja.agencies.models import Agency, Membership
from keja.agencies.services import agency_create
from keja.leases.models import Lease
from keja.leases.services import lease_create
from keja.platform.scoping import Actor
from keja.properties.models import Property, Unit
from keja.properties.services import property_create, unit_create
from keja.tenants.models import Tenant
from keja.tenants.services import tenant_create

_seq = itertools.count(1)


def make_agency(name: str | None = None) -> Agency:
    n = next(_seq)
    return agency_create(name=name or f"Agency {n}", slug=f"agency-{n}")


def make_user(email: str | None = None, *, password: str = "pw-123456", **extra: object) -> User:
    email = email or f"user{next(_seq)}@keja.example"
    return User.objects.create_user(username=email, email=email, password=password, **extra)


def make_member(
    agency: Agency, role: str = "owner", email: str | None = None
) -> tuple[User, Actor]:
    user = make_user(email)
    Membership.objects.create(agency=agency, user=user, role=role)
    return user, Actor(agency_id=agency.pk, role=role, user_id=user.pk, label=user.username)


def owner_actor(agency: Agency) -> Actor:
    return Actor(agency_id=agency.pk, role="owner", label="test-owner")


def make_property(actor: Actor, **kw: object) -> Property:
    n = next(_seq)
    data: dict[str, object] = {"name": f"Property {n}", "county": "Nairobi", "town": "Westlands"}
    data.update(kw)
    return property_create(actor=actor, **data)  # type: ignore[arg-type]


def make_unit(
    actor: Actor, prop: Property | None = None, rent: str = "15000.00", **kw: object
) -> Unit:
    prop = prop or make_property(actor)
    return unit_create(
        actor=actor,
        property_id=prop.pk,
        label=kw.pop("label", f"U{next(_seq)}"),  # type: ignore[arg-type]
        monthly_rent=rent,
        **kw,
    )  # type: ignore[arg-type]


def make_tenant(actor: Actor, **kw: object) -> Tenant:
    n = next(_seq)
    data: dict[str, object] = {"full_name": f"Tenant {n}", "phone": f"07{n:08d}"[-10:]}
    data.update(kw)
    return tenant_create(actor=actor, **data)  # type: ignore[arg-type]


def make_lease(
    actor: Actor,
    *,
    unit: Unit | None = None,
    tenant: Tenant | None = None,
    start: date = date(2026, 1, 1),
    end: date | None = None,
    rent: str | None = None,
    activate: bool = True,
    **kw: object,
) -> Lease:
    unit = unit or make_unit(actor)
    tenant = tenant or make_tenant(actor)
    return lease_create(
        actor=actor,
        unit_id=unit.pk,
        tenant_id=tenant.pk,
        start_date=start,
        end_date=end,
        monthly_rent=Decimal(rent) if rent else None,
        activate=activate,
        **kw,
    )  # type: ignore[arg-type]


# --- console (issue 5) ------------------------------------------------------------------------
# Imports kept here so the helpers above stay untouched.
from django.utils import timezone  # noqa: E402

from keja.billing.services import invoice_issue  # noqa: E402
from keja.kernel.clock import add_months, period_of, today_nairobi  # noqa: E402
from keja.payments.models import Payment  # noqa: E402


def make_unmatched_payment(
    actor: Actor,
    amount: str = "1000.00",
    *,
    receipt: str | None = None,
    account_reference: str = "WRONGREF",
    payer_name: str = "Wanjiku Kamau",
) -> Payment:
    """A paybill payment that matched no lease, as the C2B callback leaves it (D6)."""
    return Payment.objects.create(
        agency_id=actor.agency_id,
        lease=None,
        method=Payment.Method.MPESA_PAYBILL,
        status=Payment.Status.COMPLETED,
        amount=Decimal(amount),
        paid_at=timezone.now(),
        receipt=receipt or f"UNM{next(_seq):07d}",
        account_reference=account_reference,
        payer_name=payer_name,
    )


def make_billed_lease(
    actor: Actor,
    *,
    months: int = 3,
    today: date | None = None,
    rent: str = "20000.00",
    **kw: object,
) -> Lease:
    """An active lease that started on the 1st ``months`` months before this one, with every
    invoice up to this month issued (as the monthly job would have)."""
    today = today or today_nairobi()
    start = add_months(period_of(today), -months)
    lease = make_lease(actor, start=start, rent=rent, **kw)
    period = start
    while period <= today:
        invoice_issue(agency_id=actor.agency_id, lease_id=lease.pk, period=period, today=today)
        period = add_months(period, 1)
    return lease


def seed_history(*, agencies: int, units: int, today: date) -> None:
    """A realistic multi-agency dataset from the demo seeder (bulk mode, a year of history up to
    ``today``), replacing whatever the test database holds."""
    from io import StringIO

    from django.core.management import call_command

    call_command(
        "seed_demo",
        scale="small",
        agencies=agencies,
        units=units,
        load_mode="bulk",
        today=today,
        reset=True,
        no_progress=True,
        stdout=StringIO(),
    )
