"""API schemas for properties and units (D2)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema

from keja.platform.api import ListQuery, page_of
from keja.platform.api.types import AmountIn, DecimalText, Id, Money, SafeStr, omittable

PropertyKind = Literal["apartment", "house", "commercial", "mixed"]
PropertyStatus = Literal["active", "inactive", "archived"]
UnitStatus = Literal["vacant", "occupied", "maintenance"]
Latitude = Annotated[Decimal, Field(ge=-90, le=90, max_digits=9, decimal_places=6)]
Longitude = Annotated[Decimal, Field(ge=-180, le=180, max_digits=9, decimal_places=6)]


class PropertyOut(Schema):
    id: int
    name: str
    county: str
    town: str
    address: str
    latitude: DecimalText | None
    longitude: DecimalText | None
    kind: str
    status: str
    unit_count: int = Field(description="Units in the property.")
    occupied_count: int = Field(description="Units with an active lease.")
    created_at: datetime
    updated_at: datetime


PropertyPage = page_of(PropertyOut, "PropertyPage")


class PropertyQuery(ListQuery):
    order: Literal["-id", "id", "name", "-name"] = "-id"
    status: PropertyStatus | None = None
    county: SafeStr | None = Field(None, max_length=40)
    town: SafeStr | None = Field(None, max_length=60)
    q: SafeStr | None = Field(None, max_length=100, description="Name, town or address contains.")


class PropertyIn(Schema):
    name: SafeStr = Field(min_length=1, max_length=120)
    county: SafeStr = Field(min_length=1, max_length=40)
    town: SafeStr = Field(min_length=1, max_length=60)
    address: SafeStr = Field("", max_length=200)
    kind: PropertyKind = "apartment"
    status: PropertyStatus = "active"
    latitude: Latitude | None = None
    longitude: Longitude | None = None


class PropertyPatch(Schema):
    """Only the fields sent are changed."""

    name: SafeStr = omittable(min_length=1, max_length=120)
    county: SafeStr = omittable(min_length=1, max_length=40)
    town: SafeStr = omittable(min_length=1, max_length=60)
    address: SafeStr = omittable(max_length=200)
    kind: PropertyKind = omittable()
    status: PropertyStatus = omittable()
    latitude: Latitude | None = None
    longitude: Longitude | None = None


class UnitOut(Schema):
    id: int
    property_id: int
    property_name: str = Field(alias="property.name")
    label: str
    bedrooms: int
    monthly_rent: Money
    status: str
    created_at: datetime
    updated_at: datetime


UnitPage = page_of(UnitOut, "UnitPage")


class UnitQuery(ListQuery):
    order: Literal["-id", "id"] = "-id"
    property_id: Id | None = None
    status: UnitStatus | None = None
    q: SafeStr | None = Field(None, max_length=100, description="Label or property name contains.")


class UnitIn(Schema):
    property_id: Id
    label: SafeStr = Field(min_length=1, max_length=30)
    monthly_rent: AmountIn
    bedrooms: int = Field(1, ge=0, le=50)
    status: UnitStatus = "vacant"


class UnitPatch(Schema):
    """Only the fields sent are changed."""

    label: SafeStr = omittable(min_length=1, max_length=30)
    monthly_rent: AmountIn = omittable()
    bedrooms: int = omittable(ge=0, le=50)
    status: UnitStatus = omittable()
