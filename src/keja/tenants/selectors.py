"""Reads for tenants."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from keja.platform.scoping import Actor
from keja.tenants.models import Tenant


def tenant_list(
    *, actor: Actor | int, status: str | None = None, q: str | None = None
) -> QuerySet[Tenant]:
    qs = Tenant.objects.for_agency(actor)
    if status:
        qs = qs.filter(status=status)
    if q:
        q = q.strip()
        digits = "".join(ch for ch in q if ch.isdigit())
        cond = Q(full_name__icontains=q) | Q(email__icontains=q)
        if len(digits) >= 3:
            cond |= Q(phone__contains=digits.lstrip("0"))
        qs = qs.filter(cond)
    return qs


def tenant_get(*, actor: Actor | int, tenant_id: int) -> Tenant | None:
    return Tenant.objects.for_agency(actor).filter(pk=tenant_id).first()
