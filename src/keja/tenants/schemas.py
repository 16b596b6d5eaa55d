"""API schemas for tenants (D3)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from keja.platform.api import ListQuery, page_of
from keja.platform.api.types import SafeStr, omittable

TenantStatus = Literal["active", "inactive"]


class TenantOut(Schema):
    id: int
    full_name: str
    phone: str = Field(description="Normalised to 254XXXXXXXXX.")
    email: str
    national_id: str
    status: str
    created_at: datetime
    updated_at: datetime


TenantPage = page_of(TenantOut, "TenantPage")


class TenantQuery(ListQuery):
    order: Literal["-id", "id", "full_name", "-full_name"] = "-id"
    status: TenantStatus | None = None
    q: SafeStr | None = Field(
        None, max_length=100, description="Name, email or phone (any common form) contains."
    )


class TenantIn(Schema):
    full_name: SafeStr = Field(min_length=1, max_length=120)
    phone: SafeStr = Field(
        min_length=1, max_length=32, description="A Kenyan mobile number, e.g. 0712 345678."
    )
    email: SafeStr = Field("", max_length=254)
    national_id: SafeStr = Field("", max_length=20)
    status: TenantStatus = "active"


class TenantPatch(Schema):
    """Only the fields sent are changed."""

    full_name: SafeStr = omittable(min_length=1, max_length=120)
    phone: SafeStr = omittable(min_length=1, max_length=32)
    email: SafeStr = omittable(max_length=254)
    national_id: SafeStr = omittable(max_length=20)
    status: TenantStatus = omittable()
