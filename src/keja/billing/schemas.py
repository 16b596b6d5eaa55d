"""API schemas for invoices and their allocations (D5, D6)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from keja.platform.api import ListQuery, page_of
from keja.platform.api.types import ApiDate, Id, Money, SafeStr

InvoiceStatus = Literal["draft", "open", "partially_paid", "paid", "overdue", "void"]


class AllocationOut(Schema):
    """Money from one payment applied to this invoice."""

    id: int
    payment_id: int
    amount: Money
    created_at: datetime
    reversed_at: datetime | None = Field(description="Set when the payment was reversed.")


class InvoiceOut(Schema):
    id: int
    lease_id: int
    lease_reference: str = Field(alias="lease.account_reference")
    tenant_name: str = Field(alias="lease.tenant.full_name")
    period: date = Field(description="First day of the billing month.")
    amount: Money
    late_fee: Money
    total: Money
    amount_paid: Money
    balance: Money
    status: str
    due_date: date
    issued_at: datetime
    late_fee_charged_at: datetime | None
    allocations: list[AllocationOut]


InvoicePage = page_of(InvoiceOut, "InvoicePage")


class InvoiceQuery(ListQuery):
    order: Literal["-id", "id", "due_date", "-due_date", "period", "-period"] = "-id"
    status: InvoiceStatus | None = None
    lease_id: Id | None = None
    period: ApiDate | None = Field(None, description="The billing month (its first day).")
    due_from: ApiDate | None = Field(None, description="Due on or after.")
    due_to: ApiDate | None = Field(None, description="Due on or before.")
    q: SafeStr | None = Field(None, max_length=100, description="Lease reference or tenant name.")
