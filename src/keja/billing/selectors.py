"""Reads for invoices and their allocations (D5, D6), always agency-scoped."""

from __future__ import annotations

from datetime import date

from django.db.models import Prefetch, QuerySet

from keja.billing.models import Allocation, Invoice
from keja.leases.selectors import lease_ids_matching
from keja.platform.scoping import Actor


def invoice_list(
    *,
    actor: Actor | int,
    status: str | None = None,
    lease_id: int | None = None,
    period: date | None = None,
    due_from: date | None = None,
    due_to: date | None = None,
    q: str | None = None,
    with_allocations: bool = True,
) -> QuerySet[Invoice]:
    """Invoices with their lease and tenant (one join) and, when asked, their allocations
    (one extra query per page, whatever its size)."""
    qs = Invoice.objects.for_agency(actor).select_related("lease", "lease__tenant")
    if status:
        qs = qs.filter(status=status)
    if lease_id:
        qs = qs.filter(lease_id=lease_id)
    if period:
        qs = qs.filter(period=period)
    if due_from:
        qs = qs.filter(due_date__gte=due_from)
    if due_to:
        qs = qs.filter(due_date__lte=due_to)
    if q:
        qs = qs.filter(lease_id__in=lease_ids_matching(actor=actor, q=q))
    if with_allocations:
        qs = qs.prefetch_related(
            Prefetch(
                "allocations",
                queryset=Allocation.objects.for_agency(actor).order_by("id"),
            )
        )
    return qs


def invoice_get(*, actor: Actor | int, invoice_id: int) -> Invoice | None:
    return invoice_list(actor=actor).filter(pk=invoice_id).first()
