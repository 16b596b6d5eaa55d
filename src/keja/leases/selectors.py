"""Reads for leases."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from keja.leases.models import Lease
from keja.platform.scoping import Actor


def lease_list(
    *,
    actor: Actor | int,
    status: str | None = None,
    unit_id: int | None = None,
    tenant_id: int | None = None,
    property_id: int | None = None,
    q: str | None = None,
    starts_after: date | None = None,
    starts_before: date | None = None,
) -> QuerySet[Lease]:
    qs = Lease.objects.for_agency(actor).select_related("unit", "unit__property", "tenant")
    if status:
        qs = qs.filter(status=status)
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    if tenant_id:
        qs = qs.filter(tenant_id=tenant_id)
    if property_id:
        qs = qs.filter(unit__property_id=property_id)
    if starts_after:
        qs = qs.filter(start_date__gte=starts_after)
    if starts_before:
        qs = qs.filter(start_date__lte=starts_before)
    if q:
        q = q.strip()
        qs = qs.filter(
            Q(account_reference__icontains=q.replace(" ", ""))
            | Q(tenant__full_name__icontains=q)
            | Q(unit__label__icontains=q)
            | Q(unit__property__name__icontains=q)
        )
    return qs


def lease_get(*, actor: Actor | int, lease_id: int) -> Lease | None:
    return lease_list(actor=actor).filter(pk=lease_id).first()


def lease_by_reference(*, actor: Actor | int, reference: str) -> Lease | None:
    return Lease.objects.for_agency(actor).filter(account_reference=reference).first()
