"""API schemas for leases (D4)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from keja.platform.api import ListQuery, page_of
from keja.platform.api.types import AmountIn, ApiDate, DepositIn, Id, Money, SafeStr

LeaseStatus = Literal["draft", "active", "ended", "terminated"]


class LeaseOut(Schema):
    id: int
    unit_id: int
    unit_label: str = Field(alias="unit.label")
    property_id: int = Field(alias="unit.property_id")
    property_name: str = Field(alias="unit.property.name")
    tenant_id: int
    tenant_name: str = Field(alias="tenant.full_name")
    start_date: date
    end_date: date | None
    monthly_rent: Money
    deposit: Money
    billing_day: int
    status: str
    account_reference: str = Field(description="What the tenant types as the M-Pesa account.")
    credit_balance: Money = Field(description="Money paid ahead, used by the next invoices.")
    version: int
    created_at: datetime
    updated_at: datetime


LeasePage = page_of(LeaseOut, "LeasePage")


class LeaseQuery(ListQuery):
    order: Literal["-id", "id"] = "-id"
    status: LeaseStatus | None = None
    unit_id: Id | None = None
    tenant_id: Id | None = None
    property_id: Id | None = None
    starts_after: ApiDate | None = Field(None, description="Start date on or after.")
    starts_before: ApiDate | None = Field(None, description="Start date on or before.")
    q: SafeStr | None = Field(
        None, max_length=100, description="Reference, tenant, unit or property contains."
    )


class LeaseIn(Schema):
    unit_id: Id
    tenant_id: Id
    start_date: ApiDate
    end_date: ApiDate | None = None
    monthly_rent: AmountIn | None = Field(None, description="Defaults to the unit's rent.")
    deposit: DepositIn = Decimal("0.00")
    billing_day: int = Field(1, ge=1, le=28)
    account_reference: SafeStr = Field(
        "",
        max_length=20,
        description="1-12 letters or digits (spaces and dashes are ignored); generated if empty.",
    )
    activate: bool = Field(True, description="Activate at once (else the lease stays a draft).")


class LeaseEndIn(Schema):
    end_date: ApiDate


class LeaseTerminateIn(Schema):
    end_date: ApiDate | None = None
