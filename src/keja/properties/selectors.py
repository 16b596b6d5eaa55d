"""Reads for properties and units, always agency-scoped and bounded."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from keja.platform.scoping import Actor
from keja.properties.models import Property, Unit


def property_list(
    *,
    actor: Actor | int,
    status: str | None = None,
    county: str | None = None,
    town: str | None = None,
    q: str | None = None,
) -> QuerySet[Property]:
    qs = Property.objects.for_agency(actor)
    if status:
        qs = qs.filter(status=status)
    if county:
        qs = qs.filter(county__iexact=county)
    if town:
        qs = qs.filter(town__iexact=town)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(town__icontains=q) | Q(address__icontains=q))
    return qs.annotate(
        unit_count=Count("units", distinct=True),
        occupied_count=Count("units", filter=Q(units__status=Unit.Status.OCCUPIED), distinct=True),
    )


def property_get(*, actor: Actor | int, property_id: int) -> Property | None:
    return property_list(actor=actor).filter(pk=property_id).first()


def unit_list(
    *,
    actor: Actor | int,
    property_id: int | None = None,
    status: str | None = None,
    q: str | None = None,
) -> QuerySet[Unit]:
    qs = Unit.objects.for_agency(actor).select_related("property")
    if property_id:
        qs = qs.filter(property_id=property_id)
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(label__icontains=q) | Q(property__name__icontains=q))
    return qs


def unit_get(*, actor: Actor | int, unit_id: int) -> Unit | None:
    return unit_list(actor=actor).filter(pk=unit_id).first()
