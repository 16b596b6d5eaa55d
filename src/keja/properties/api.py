"""Properties and units (D2): list, detail, create, update. No business logic here."""

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
from keja.properties.models import Property, Unit
from keja.properties.schemas import (
    PropertyIn,
    PropertyOut,
    PropertyPage,
    PropertyPatch,
    PropertyQuery,
    UnitIn,
    UnitOut,
    UnitPage,
    UnitPatch,
    UnitQuery,
)
from keja.properties.selectors import property_get, property_list, unit_get, unit_list
from keja.properties.services import property_create, property_update, unit_create, unit_update

router = Router(tags=["properties"])


def _property(request: HttpRequest, property_id: int) -> Property:
    prop = property_get(actor=request_actor(request), property_id=property_id)
    if prop is None:
        raise NotFound("Property not found.")
    return prop


def _unit(request: HttpRequest, unit_id: int) -> Unit:
    unit = unit_get(actor=request_actor(request), unit_id=unit_id)
    if unit is None:
        raise NotFound("Unit not found.")
    return unit


@router.get(
    "/properties",
    response={200: PropertyPage, **problem_responses(READ_ERRORS)},
    summary="List properties",
)
def property_list_view(request: HttpRequest, query: Query[PropertyQuery]) -> dict[str, Any]:
    """Properties with their unit and occupancy counts. Filter by status, county, town or a
    text search; order by id or name."""
    qs = property_list(
        actor=request_actor(request),
        status=query.status,
        county=query.county,
        town=query.town,
        q=query.q,
    )
    return paginate(request, qs, order=query.order, cursor=query.cursor, limit=query.limit)


@router.get(
    "/properties/{int:property_id}",
    response={200: PropertyOut, **problem_responses(DETAIL_ERRORS)},
    summary="Get a property",
)
def property_detail(request: HttpRequest, property_id: PathId) -> Property:
    """One property with its unit and occupancy counts."""
    return _property(request, property_id)


@router.post(
    "/properties",
    response={201: PropertyOut, **problem_responses(WRITE_ERRORS)},
    summary="Create a property",
)
@idempotent()
def property_create_view(request: HttpRequest, payload: PropertyIn) -> Status:
    """Create a property (owners and managers). The name is unique within the agency."""
    prop = property_create(actor=request_actor(request), **payload.dict())
    return Status(201, _property(request, prop.pk))


@router.patch(
    "/properties/{int:property_id}",
    response={200: PropertyOut, **problem_responses(WRITE_ERRORS)},
    summary="Update a property",
)
def property_update_view(
    request: HttpRequest, property_id: PathId, payload: PropertyPatch
) -> Property:
    """Change some fields of a property (owners and managers); fields not sent are kept."""
    property_update(
        actor=request_actor(request), property_id=property_id, **payload.dict(exclude_unset=True)
    )
    return _property(request, property_id)


@router.get(
    "/units",
    response={200: UnitPage, **problem_responses(READ_ERRORS)},
    tags=["units"],
    summary="List units",
)
def unit_list_view(request: HttpRequest, query: Query[UnitQuery]) -> dict[str, Any]:
    """Units, optionally of one property, by status or a text search."""
    qs = unit_list(
        actor=request_actor(request),
        property_id=query.property_id,
        status=query.status,
        q=query.q,
    )
    return paginate(request, qs, order=query.order, cursor=query.cursor, limit=query.limit)


@router.get(
    "/units/{int:unit_id}",
    response={200: UnitOut, **problem_responses(DETAIL_ERRORS)},
    tags=["units"],
    summary="Get a unit",
)
def unit_detail(request: HttpRequest, unit_id: PathId) -> Unit:
    """One unit."""
    return _unit(request, unit_id)


@router.post(
    "/units",
    response={201: UnitOut, **problem_responses(WRITE_ERRORS)},
    tags=["units"],
    summary="Create a unit",
)
@idempotent()
def unit_create_view(request: HttpRequest, payload: UnitIn) -> Status:
    """Add a unit to a property (owners and managers). Labels are unique within a property."""
    unit = unit_create(actor=request_actor(request), **payload.dict())
    return Status(201, _unit(request, unit.pk))


@router.patch(
    "/units/{int:unit_id}",
    response={200: UnitOut, **problem_responses(WRITE_ERRORS)},
    tags=["units"],
    summary="Update a unit",
)
def unit_update_view(request: HttpRequest, unit_id: PathId, payload: UnitPatch) -> Unit:
    """Change some fields of a unit (owners and managers); fields not sent are kept."""
    unit_update(actor=request_actor(request), unit_id=unit_id, **payload.dict(exclude_unset=True))
    return _unit(request, unit_id)
