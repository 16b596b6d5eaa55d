"""API schema of the dashboard figures (P2.1)."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema

from keja.platform.api.types import ApiDate, DecimalText, Money


class LatestPaymentOut(Schema):
    id: int
    amount: Money
    method: str
    status: str
    paid_at: datetime | None
    receipt: str | None
    lease_reference: str | None
    tenant_name: str | None


class DashboardOut(Schema):
    agency_id: int
    as_of: date
    units_total: int
    units_occupied: int
    occupancy_rate: DecimalText = Field(description="Percent, one decimal place.")
    billed_this_month: Money
    paid_on_this_month_invoices: Money
    collected_this_month: Money
    collection_rate: DecimalText = Field(description="Percent, one decimal place.")
    arrears_total: Money
    arrears_0_30: Money
    arrears_31_60: Money
    arrears_61_90: Money
    arrears_90_plus: Money
    overdue_invoices: int
    unmatched_payments: int
    latest_payments: list[LatestPaymentOut]


class DashboardQuery(Schema):
    as_of: ApiDate | None = Field(None, description="The day the figures are for (Nairobi).")
