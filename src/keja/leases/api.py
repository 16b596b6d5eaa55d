"""Leases (D4): list, detail, create, and the activate / end / terminate transitions."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from keja.kernel.errors import NotFound
from keja.leases.models import Lease
from keja.leases.schemas import (
    LeaseEndIn,
    LeaseIn,
    LeaseOut,
    LeasePage,
    LeaseQuery,
    LeaseTerminateIn,
)
from keja.leases.selectors import lease_get, lease_list
from keja.leases.services import lease_activate, lease_create, lease_end, lease_terminate
from keja.platform.api import (
    DETAIL_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    paginate,
    problem_responses,
    request_actor,
)
from keja.platform.api.types import PathId
from keja.platform.idempotency import idempotent

router = Router(tags=["leases"])


def _lease(request: HttpRequest, lease_id: int) -> Lease:
    lease = lease_get(actor=request_actor(request), lease_id=lease_id)
    if lease is None:
        raise NotFound("Lease not found.")
    return lease


@router.get(
    "/leases", response={200: LeasePage, **problem_responses(READ_ERRORS)}, summary="List leases"
)
def lease_list_view(request: HttpRequest, query: Query[LeaseQuery]) -> dict[str, Any]:
    """Leases by status, unit, tenant, property, start-date range or a text search."""
    qs = lease_list(
        actor=request_actor(request),
        status=query.status,
        unit_id=query.unit_id,
        tenant_id=query.tenant_id,
        property_id=query.property_id,
        q=query.q,
        starts_after=query.starts_after,
        starts_before=query.starts_before,
    )
    return paginate(request, qs, order=query.order, cursor=query.cursor, limit=query.limit)


@router.get(
    "/leases/{int:lease_id}",
    response={200: LeaseOut, **problem_responses(DETAIL_ERRORS)},
    summary="Get a lease",
)
def lease_detail(request: HttpRequest, lease_id: PathId) -> Lease:
    """One lease with its unit, property and tenant."""
    return _lease(request, lease_id)


@router.post(
    "/leases", response={201: LeaseOut, **problem_responses(WRITE_ERRORS)}, summary="Create a lease"
)
@idempotent()
def lease_create_view(request: HttpRequest, payload: LeaseIn) -> Status:
    """Create a lease (owners and managers), active at once unless `activate` is false. Two
    active leases never overlap on one unit (409 `lease_overlap`)."""
    lease = lease_create(actor=request_actor(request), **payload.dict())
    return Status(201, _lease(request, lease.pk))


@router.post(
    "/leases/{int:lease_id}/activate",
    response={200: LeaseOut, **problem_responses(WRITE_ERRORS)},
    summary="Activate a draft lease",
)
@idempotent()
def lease_activate_view(request: HttpRequest, lease_id: PathId) -> Lease:
    """Activate a draft lease; its invoices start being issued."""
    lease_activate(actor=request_actor(request), lease_id=lease_id)
    return _lease(request, lease_id)


@router.post(
    "/leases/{int:lease_id}/end",
    response={200: LeaseOut, **problem_responses(WRITE_ERRORS)},
    summary="End a lease",
)
@idempotent()
def lease_end_view(request: HttpRequest, lease_id: PathId, payload: LeaseEndIn) -> Lease:
    """End an active lease on `end_date` (the unit becomes vacant)."""
    lease_end(actor=request_actor(request), lease_id=lease_id, end_date=payload.end_date)
    return _lease(request, lease_id)


@router.post(
    "/leases/{int:lease_id}/terminate",
    response={200: LeaseOut, **problem_responses(WRITE_ERRORS)},
    summary="Terminate a lease",
)
@idempotent()
def lease_terminate_view(
    request: HttpRequest, lease_id: PathId, payload: LeaseTerminateIn
) -> Lease:
    """Terminate a draft or active lease early, optionally setting its end date."""
    lease_terminate(actor=request_actor(request), lease_id=lease_id, end_date=payload.end_date)
    return _lease(request, lease_id)
