"""API schemas for the current agency, its members and its API keys (D1)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from keja.platform.api import ListQuery, page_of
from keja.platform.api.types import Money, SafeStr


class AgencyOut(Schema):
    id: int
    name: str
    slug: str
    mpesa_shortcode: str
    late_fee_kind: str
    late_fee_value: Money
    late_fee_grace_days: int
    invoice_due_days: int
    created_at: datetime


class MemberOut(Schema):
    id: int
    user_id: int
    username: str = Field(alias="user.username")
    email: str = Field(alias="user.email")
    role: str
    created_at: datetime


MemberPage = page_of(MemberOut, "MemberPage")


class MemberQuery(ListQuery):
    order: Literal["id", "-id"] = "id"


class ApiKeyOut(Schema):
    id: int
    name: str
    prefix: str
    scope: str
    is_active: bool
    created_by_id: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(
        description="The secret key, shown this once and stored only hashed: keep it safe."
    )


ApiKeyPage = page_of(ApiKeyOut, "ApiKeyPage")


class ApiKeyQuery(ListQuery):
    order: Literal["-id", "id"] = "-id"


class ApiKeyIn(Schema):
    name: SafeStr = Field(min_length=1, max_length=80)
    scope: Literal["read", "read-write"] = "read"
