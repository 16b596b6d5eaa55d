"""Writes for tenants (D3): phone normalised, phone and email unique within the agency."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from keja.audit.services import audit_record
from keja.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from keja.kernel.phone import normalize_phone
from keja.platform.scoping import Actor, scoped_create
from keja.tenants.models import Tenant

FIELDS = ("full_name", "phone", "email", "national_id", "status")


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k in FIELDS}
    if "full_name" in out:
        out["full_name"] = " ".join(str(out["full_name"]).split())
        if not out["full_name"] or len(out["full_name"]) > 120:
            raise ValidationFailed(
                "A tenant needs a name of 1 to 120 characters.", field="full_name"
            )
    if "phone" in out:
        out["phone"] = normalize_phone(str(out["phone"]))
    if "email" in out:
        out["email"] = str(out["email"] or "").strip().lower()
        if out["email"]:
            try:
                validate_email(out["email"])
            except DjangoValidationError as exc:
                raise ValidationFailed("Enter a valid email address.", field="email") from exc
    if "national_id" in out:
        out["national_id"] = str(out["national_id"] or "").strip()
        if len(out["national_id"]) > 20:
            raise ValidationFailed(
                "The national ID has at most 20 characters.", field="national_id"
            )
    if "status" in out and out["status"] not in Tenant.Status.values:
        raise ValidationFailed("status must be active or inactive.", field="status")
    return out


def _check_unique(actor: Actor, data: dict[str, Any], exclude_pk: int | None = None) -> None:
    qs = Tenant.objects.for_agency(actor)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    if "phone" in data and qs.filter(phone=data["phone"]).exists():
        raise Conflict("Another tenant of this agency has that phone number.", field="phone")
    if data.get("email") and qs.filter(email=data["email"]).exists():
        raise Conflict("Another tenant of this agency has that email address.", field="email")


@transaction.atomic
def tenant_create(
    *,
    actor: Actor,
    full_name: str,
    phone: str,
    email: str = "",
    national_id: str = "",
    status: str = "active",
) -> Tenant:
    if not actor.can("manager"):
        raise PermissionDenied(f"Your role ({actor.role}) cannot add tenants.")
    data = _clean(
        {
            "full_name": full_name,
            "phone": phone,
            "email": email,
            "national_id": national_id,
            "status": status,
        }
    )
    _check_unique(actor, data)
    try:
        with transaction.atomic():
            tenant = scoped_create(Tenant, actor, **data)
    except IntegrityError as exc:  # a concurrent insert won the race
        raise Conflict(
            "Another tenant of this agency has that phone number or email.", field="phone"
        ) from exc
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action="tenant.created",
        object_type="tenant",
        object_id=tenant.pk,
        summary=tenant.full_name,
    )
    return tenant


@transaction.atomic
def tenant_update(*, actor: Actor, tenant_id: int, **changes: Any) -> Tenant:
    if not actor.can("manager"):
        raise PermissionDenied(f"Your role ({actor.role}) cannot edit tenants.")
    tenant = Tenant.objects.for_agency(actor).select_for_update().filter(pk=tenant_id).first()
    if tenant is None:
        raise NotFound("Tenant not found.")
    data = _clean(changes)
    _check_unique(actor, data, exclude_pk=tenant.pk)
    for key, value in data.items():
        setattr(tenant, key, value)
    try:
        with transaction.atomic():
            tenant.save()
    except IntegrityError as exc:
        raise Conflict(
            "Another tenant of this agency has that phone number or email.", field="phone"
        ) from exc
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action="tenant.updated",
        object_type="tenant",
        object_id=tenant.pk,
        summary=tenant.full_name,
        changes={k: str(v) for k, v in data.items()},
    )
    return tenant
