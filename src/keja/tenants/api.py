"""Tenants (D3): list, detail, create, update. No business logic here."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from keja.kernel.errors import NotFound
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
from keja.tenants.models import Tenant
from keja.tenants.schemas import TenantIn, TenantOut, TenantPage, TenantPatch, TenantQuery
from keja.tenants.selectors import tenant_get, tenant_list
from keja.tenants.services import tenant_create, tenant_update

router = Router(tags=["tenants"])


def _tenant(request: HttpRequest, tenant_id: int) -> Tenant:
    tenant = tenant_get(actor=request_actor(request), tenant_id=tenant_id)
    if tenant is None:
        raise NotFound("Tenant not found.")
    return tenant


@router.get(
    "/tenants", response={200: TenantPage, **problem_responses(READ_ERRORS)}, summary="List tenants"
)
def tenant_list_view(request: HttpRequest, query: Query[TenantQuery]) -> dict[str, Any]:
    """Tenants by status or a text search on name, email and phone; order by id or name."""
    qs = tenant_list(actor=request_actor(request), status=query.status, q=query.q)
    return paginate(request, qs, order=query.order, cursor=query.cursor, limit=query.limit)


@router.get(
    "/tenants/{int:tenant_id}",
    response={200: TenantOut, **problem_responses(DETAIL_ERRORS)},
    summary="Get a tenant",
)
def tenant_detail(request: HttpRequest, tenant_id: PathId) -> Tenant:
    """One tenant."""
    return _tenant(request, tenant_id)


@router.post(
    "/tenants",
    response={201: TenantOut, **problem_responses(WRITE_ERRORS)},
    summary="Create a tenant",
)
@idempotent()
def tenant_create_view(request: HttpRequest, payload: TenantIn) -> Status:
    """Add a tenant (owners and managers). Phone and email are unique within the agency."""
    return Status(201, tenant_create(actor=request_actor(request), **payload.dict()))


@router.patch(
    "/tenants/{int:tenant_id}",
    response={200: TenantOut, **problem_responses(WRITE_ERRORS)},
    summary="Update a tenant",
)
def tenant_update_view(request: HttpRequest, tenant_id: PathId, payload: TenantPatch) -> Tenant:
    """Change some fields of a tenant (owners and managers); fields not sent are kept."""
    return tenant_update(
        actor=request_actor(request), tenant_id=tenant_id, **payload.dict(exclude_unset=True)
    )
