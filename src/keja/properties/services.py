"""Writes for properties and units (D2)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from keja.audit.services import audit_record
from keja.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from keja.kernel.money import to_money
from keja.platform.scoping import Actor, scoped_create
from keja.properties.models import Property, Unit

PROPERTY_FIELDS = ("name", "county", "town", "address", "latitude", "longitude", "kind", "status")
UNIT_FIELDS = ("label", "bedrooms", "monthly_rent", "status")


def _require(actor: Actor, role: str) -> None:
    if not actor.can(role):
        raise PermissionDenied(f"Your role ({actor.role}) cannot do this.")


def _clean_property(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k in PROPERTY_FIELDS}
    for key in ("name", "county", "town"):
        if key in out:
            out[key] = str(out[key]).strip()
            if not out[key]:
                raise ValidationFailed(f"{key} is required.", field=key)
    if "kind" in out and out["kind"] not in Property.Kind.values:
        raise ValidationFailed(
            f"kind must be one of {', '.join(Property.Kind.values)}.", field="kind"
        )
    if "status" in out and out["status"] not in Property.Status.values:
        raise ValidationFailed(
            f"status must be one of {', '.join(Property.Status.values)}.", field="status"
        )
    for key, bound in (("latitude", 90), ("longitude", 180)):
        if out.get(key) is not None and not -bound <= Decimal(str(out[key])) <= bound:
            raise ValidationFailed(f"{key} must be between -{bound} and {bound}.", field=key)
    return out


@transaction.atomic
def property_create(
    *,
    actor: Actor,
    name: str,
    county: str,
    town: str,
    address: str = "",
    kind: str = "apartment",
    status: str = "active",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
) -> Property:
    _require(actor, "manager")
    data = _clean_property(
        {
            "name": name,
            "county": county,
            "town": town,
            "address": address,
            "kind": kind,
            "status": status,
            "latitude": latitude,
            "longitude": longitude,
        }
    )
    if Property.objects.for_agency(actor).filter(name=data["name"]).exists():
        raise Conflict(f"A property named '{data['name']}' exists already.", field="name")
    prop = scoped_create(Property, actor, **data)
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action="property.created",
        object_type="property",
        object_id=prop.pk,
        summary=prop.name,
    )
    return prop


@transaction.atomic
def property_update(*, actor: Actor, property_id: int, **changes: Any) -> Property:
    _require(actor, "manager")
    prop = Property.objects.for_agency(actor).select_for_update().filter(pk=property_id).first()
    if prop is None:
        raise NotFound("Property not found.")
    data = _clean_property(changes)
    if (
        "name" in data
        and Property.objects.for_agency(actor)
        .filter(name=data["name"])
        .exclude(pk=prop.pk)
        .exists()
    ):
        raise Conflict(f"A property named '{data['name']}' exists already.", field="name")
    for key, value in data.items():
        setattr(prop, key, value)
    prop.save()
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action="property.updated",
        object_type="property",
        object_id=prop.pk,
        summary=prop.name,
        changes={k: str(v) for k, v in data.items()},
    )
    return prop


def _clean_unit(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k in UNIT_FIELDS}
    if "label" in out:
        out["label"] = str(out["label"]).strip()
        if not out["label"] or len(out["label"]) > 30:
            raise ValidationFailed("A unit needs a label of 1 to 30 characters.", field="label")
    if "monthly_rent" in out:
        rent = to_money(out["monthly_rent"])
        if not Decimal("1") <= rent <= Decimal("10000000"):
            raise ValidationFailed(
                "Monthly rent must be between 1 and 10,000,000 KES.", field="monthly_rent"
            )
        out["monthly_rent"] = rent
    if "bedrooms" in out and not 0 <= int(out["bedrooms"]) <= 50:
        raise ValidationFailed("bedrooms must be between 0 and 50.", field="bedrooms")
    if "status" in out and out["status"] not in Unit.Status.values:
        raise ValidationFailed(
            f"status must be one of {', '.join(Unit.Status.values)}.", field="status"
        )
    return out


@transaction.atomic
def unit_create(
    *,
    actor: Actor,
    property_id: int,
    label: str,
    monthly_rent: Decimal | str,
    bedrooms: int = 1,
    status: str = "vacant",
) -> Unit:
    _require(actor, "manager")
    prop = Property.objects.for_agency(actor).filter(pk=property_id).first()
    if prop is None:
        raise NotFound("Property not found.", field="property_id")
    data = _clean_unit(
        {"label": label, "monthly_rent": monthly_rent, "bedrooms": bedrooms, "status": status}
    )
    if Unit.objects.for_agency(actor).filter(property=prop, label=data["label"]).exists():
        raise Conflict(f"Unit '{data['label']}' exists in {prop.name}.", field="label")
    try:
        with transaction.atomic():
            unit = scoped_create(Unit, actor, property=prop, **data)
    except IntegrityError as exc:
        raise Conflict(f"Unit '{data['label']}' exists in {prop.name}.", field="label") from exc
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action="unit.created",
        object_type="unit",
        object_id=unit.pk,
        summary=f"{prop.name} / {unit.label}",
    )
    return unit


@transaction.atomic
def unit_update(*, actor: Actor, unit_id: int, **changes: Any) -> Unit:
    _require(actor, "manager")
    unit = Unit.objects.for_agency(actor).select_for_update().filter(pk=unit_id).first()
    if unit is None:
        raise NotFound("Unit not found.")
    data = _clean_unit(changes)
    for key, value in data.items():
        setattr(unit, key, value)
    try:
        with transaction.atomic():
            unit.save()
    except IntegrityError as exc:
        raise Conflict("Another unit of this property has that label.", field="label") from exc
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action="unit.updated",
        object_type="unit",
        object_id=unit.pk,
        summary=unit.label,
        changes={k: str(v) for k, v in data.items()},
    )
    return unit
