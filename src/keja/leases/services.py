"""Writes for leases (D4). The no-overlap rule is checked here under a row lock on the unit (so the
embedded SQLite default behaves too) and enforced on PostgreSQL by the exclusion constraint
``lease_no_overlap``; a constraint violation from a concurrent writer becomes the same Conflict."""

from __future__ import annotations

import re
import secrets
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from keja.audit.services import audit_record
from keja.kernel.clock import add_months, today_nairobi
from keja.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from keja.kernel.money import to_money
from keja.leases.domain import check_lease_transition
from keja.leases.models import Lease
from keja.platform.jobs.enqueue import send_on_commit
from keja.platform.scoping import Actor
from keja.properties.models import Unit
from keja.tenants.models import Tenant

_REF = re.compile(r"^[A-Z0-9]{1,12}$")
_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MAX_BACKDATE_YEARS = 5
OVERLAP_MESSAGE = "This unit already has an active lease for part of these dates."


def normalize_reference(raw: str) -> str:
    """Account references compare case- and spacing-insensitively (M-Pesa BillRefNumber)."""
    return re.sub(r"[\s\-_./]", "", raw or "").upper()


def _require(actor: Actor, role: str) -> None:
    if not actor.can(role):
        raise PermissionDenied(f"Your role ({actor.role}) cannot do this.")


def _new_reference(actor: Actor) -> str:
    for _ in range(20):
        ref = "K" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(7))
        if not Lease.objects.for_agency(actor).filter(account_reference=ref).exists():
            return ref
    raise Conflict("Could not generate a unique account reference; pass one.")  # pragma: no cover


def _overlapping(
    actor: Actor, unit_id: int, start: date, end: date | None, exclude: int | None = None
) -> bool:
    qs = Lease.objects.for_agency(actor).filter(unit_id=unit_id, status=Lease.Status.ACTIVE)
    if exclude:
        qs = qs.exclude(pk=exclude)
    qs = qs.filter(Q(end_date__isnull=True) | Q(end_date__gte=start))
    if end is not None:
        qs = qs.filter(start_date__lte=end)
    return qs.exists()


def _save_guarded(lease: Lease, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            lease.save(**kwargs)
    except IntegrityError as exc:
        text = str(exc)
        if "lease_no_overlap" in text:
            raise Conflict(OVERLAP_MESSAGE, field="start_date", code="lease_overlap") from exc
        if "lease_agency_reference_unique" in text:
            raise Conflict(
                "Another lease of this agency uses that account reference.",
                field="account_reference",
            ) from exc
        raise


@transaction.atomic
def lease_create(
    *,
    actor: Actor,
    unit_id: int,
    tenant_id: int,
    start_date: date,
    end_date: date | None = None,
    monthly_rent: Decimal | str | None = None,
    deposit: Decimal | str = "0",
    billing_day: int = 1,
    account_reference: str = "",
    activate: bool = True,
) -> Lease:
    _require(actor, "manager")
    unit = Unit.objects.for_agency(actor).select_for_update().filter(pk=unit_id).first()
    if unit is None:
        raise NotFound("Unit not found.", field="unit_id")
    tenant = Tenant.objects.for_agency(actor).filter(pk=tenant_id).first()
    if tenant is None:
        raise NotFound("Tenant not found.", field="tenant_id")
    if end_date is not None and end_date < start_date:
        raise ValidationFailed("The end date is before the start date.", field="end_date")
    today = today_nairobi()
    if not add_months(today, -12 * MAX_BACKDATE_YEARS) <= start_date <= add_months(today, 24):
        # a lease backdated decades would issue hundreds of invoices at once
        raise ValidationFailed(
            f"The start date must be within {MAX_BACKDATE_YEARS} years back and 2 years ahead.",
            field="start_date",
        )
    if not 1 <= billing_day <= 28:
        raise ValidationFailed("The billing day is between 1 and 28.", field="billing_day")
    rent = to_money(monthly_rent if monthly_rent not in (None, "") else unit.monthly_rent)  # type: ignore[arg-type]
    if not Decimal("1") <= rent <= Decimal("10000000"):
        raise ValidationFailed(
            "Monthly rent must be between 1 and 10,000,000 KES.", field="monthly_rent"
        )
    dep = to_money(deposit)
    if not Decimal("0") <= dep <= Decimal("100000000"):
        raise ValidationFailed(
            "The deposit must be between 0 and 100,000,000 KES.", field="deposit"
        )
    ref = normalize_reference(account_reference) if account_reference else _new_reference(actor)
    if not _REF.match(ref):
        raise ValidationFailed(
            "The account reference is 1 to 12 letters or digits.", field="account_reference"
        )
    if Lease.objects.for_agency(actor).filter(account_reference=ref).exists():
        raise Conflict(
            "Another lease of this agency uses that account reference.", field="account_reference"
        )
    status = Lease.Status.ACTIVE if activate else Lease.Status.DRAFT
    if activate and _overlapping(actor, unit.pk, start_date, end_date):
        raise Conflict(OVERLAP_MESSAGE, field="start_date", code="lease_overlap")
    lease = Lease(
        agency_id=actor.agency_id,
        unit=unit,
        tenant=tenant,
        start_date=start_date,
        end_date=end_date,
        monthly_rent=rent,
        deposit=dep,
        billing_day=billing_day,
        account_reference=ref,
        status=status,
    )
    _save_guarded(lease)
    if activate:
        Unit.objects.for_agency(actor).filter(pk=unit.pk).update(status=Unit.Status.OCCUPIED)
        send_on_commit("billing_issue_lease_invoices", agency_id=actor.agency_id, lease_id=lease.pk)
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action="lease.created",
        object_type="lease",
        object_id=lease.pk,
        summary=f"{tenant.full_name} in {unit.label} from {start_date}",
        changes={"status": status, "account_reference": ref, "monthly_rent": str(rent)},
    )
    return lease


def _transition(
    actor: Actor, lease_id: int, new_status: str, *, end_date: date | None = None
) -> Lease:
    _require(actor, "manager")
    lease = Lease.objects.for_agency(actor).select_for_update().filter(pk=lease_id).first()
    if lease is None:
        raise NotFound("Lease not found.")
    Unit.objects.for_agency(actor).select_for_update().filter(pk=lease.unit_id).first()
    check_lease_transition(lease.status, new_status)
    old = lease.status
    if new_status == Lease.Status.ACTIVE and _overlapping(
        actor, lease.unit_id, lease.start_date, lease.end_date, exclude=lease.pk
    ):
        raise Conflict(OVERLAP_MESSAGE, field="start_date", code="lease_overlap")
    lease.status = new_status
    if end_date is not None:
        if end_date < lease.start_date:
            raise ValidationFailed("The end date is before the start date.", field="end_date")
        lease.end_date = end_date
    lease.version += 1
    _save_guarded(lease)
    unit_status = Unit.Status.OCCUPIED if new_status == Lease.Status.ACTIVE else Unit.Status.VACANT
    if new_status != Lease.Status.ACTIVE and _overlapping(
        actor, lease.unit_id, lease.start_date, None, exclude=lease.pk
    ):
        unit_status = Unit.Status.OCCUPIED
    Unit.objects.for_agency(actor).filter(pk=lease.unit_id).update(status=unit_status)
    if new_status == Lease.Status.ACTIVE:
        send_on_commit("billing_issue_lease_invoices", agency_id=actor.agency_id, lease_id=lease.pk)
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action=f"lease.{new_status}",
        object_type="lease",
        object_id=lease.pk,
        summary=lease.account_reference,
        changes={"status": [old, new_status], "end_date": str(lease.end_date)},
    )
    return lease


@transaction.atomic
def lease_activate(*, actor: Actor, lease_id: int) -> Lease:
    return _transition(actor, lease_id, Lease.Status.ACTIVE)


@transaction.atomic
def lease_end(*, actor: Actor, lease_id: int, end_date: date) -> Lease:
    return _transition(actor, lease_id, Lease.Status.ENDED, end_date=end_date)


@transaction.atomic
def lease_terminate(*, actor: Actor, lease_id: int, end_date: date | None = None) -> Lease:
    return _transition(actor, lease_id, Lease.Status.TERMINATED, end_date=end_date)
