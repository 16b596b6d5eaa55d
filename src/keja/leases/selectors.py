"""Reads for leases."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from keja.leases.models import Lease
from keja.platform.scoping import Actor
from keja.properties.models import Unit
from keja.tenants.models import Tenant


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
        units = (
            Unit.objects.for_agency(actor)
            .filter(Q(label__icontains=q) | Q(property__name__icontains=q))
            .values("id")
        )
        qs = qs.filter(_reference_or_tenant(actor, q) | Q(unit_id__in=units))
    return qs


def _reference_or_tenant(actor: Actor | int, q: str) -> Q:
    # The tenant's name is matched in a subquery over the agency's tenants rather than through
    # a join: the planner then filters a few thousand tenants once instead of joining every row
    # of the list to its tenant before filtering (docs/database.md, searches).
    tenants = Tenant.objects.for_agency(actor).filter(full_name__icontains=q).values("id")
    return Q(account_reference__icontains=q.replace(" ", "")) | Q(tenant_id__in=tenants)


def lease_ids_matching(*, actor: Actor | int, q: str) -> QuerySet[Lease, Any]:
    """The ids of the agency's leases whose account reference or tenant's name contains ``q``:
    a subquery for searches of invoices and payments by lease (``lease_id IN (...)``)."""
    return (
        Lease.objects.for_agency(actor).filter(_reference_or_tenant(actor, q.strip())).values("id")
    )


def lease_get(*, actor: Actor | int, lease_id: int) -> Lease | None:
    return lease_list(actor=actor).filter(pk=lease_id).first()


def lease_by_reference(*, actor: Actor | int, reference: str) -> Lease | None:
    return Lease.objects.for_agency(actor).filter(account_reference=reference).first()
