"""API schemas for payments and unmatched payments (D6)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from keja.platform.api import ListQuery, page_of
from keja.platform.api.types import AmountIn, ApiDateTime, Id, Money, SafeStr

PaymentStatus = Literal["pending", "completed", "failed", "cancelled", "expired", "reversed"]
PaymentMethod = Literal["mpesa_stk", "mpesa_paybill", "cash", "bank"]
PAYMENT_ORDERS = Literal["-id", "id", "paid_at", "-paid_at"]


class PaymentOut(Schema):
    id: int
    lease_id: int | None = Field(description="Null while the payment is unmatched.")
    lease_reference: str | None
    tenant_name: str | None
    method: str
    status: str
    amount: Money
    paid_at: datetime | None
    receipt: str | None = Field(description="M-Pesa receipt or bank/cash reference.")
    phone: str
    payer_name: str
    account_reference: str = Field(description="The account the payer typed (M-Pesa).")
    result_code: int | None
    result_description: str
    note: str
    created_at: datetime
    updated_at: datetime
    reversed_at: datetime | None

    @staticmethod
    def resolve_lease_reference(obj: object) -> str | None:
        lease = getattr(obj, "lease", None)
        return lease.account_reference if lease is not None else None

    @staticmethod
    def resolve_tenant_name(obj: object) -> str | None:
        lease = getattr(obj, "lease", None)
        return lease.tenant.full_name if lease is not None else None


PaymentPage = page_of(PaymentOut, "PaymentPage")


class PaymentQuery(ListQuery):
    order: PAYMENT_ORDERS = Field(
        "-id", description="`paid_at` orders list only payments that have a payment time."
    )
    status: PaymentStatus | None = None
    method: PaymentMethod | None = None
    lease_id: Id | None = None
    paid_from: ApiDateTime | None = Field(None, description="Paid at or after (ISO 8601).")
    paid_to: ApiDateTime | None = Field(None, description="Paid before (ISO 8601).")
    q: SafeStr | None = Field(
        None, max_length=100, description="Receipt, account, payer, lease reference or tenant."
    )


class UnmatchedQuery(ListQuery):
    order: PAYMENT_ORDERS = "-id"
    q: SafeStr | None = Field(None, max_length=100, description="Receipt, account or payer.")


class PaymentIn(Schema):
    lease_id: Id
    amount: AmountIn
    method: Literal["cash", "bank"]
    paid_at: ApiDateTime | None = Field(None, description="When it was paid; default now.")
    reference: SafeStr = Field(
        "", max_length=30, description="Bank or cash receipt reference, unique across channels."
    )
    note: SafeStr = Field("", max_length=255)


class PaymentReverseIn(Schema):
    reason: SafeStr = Field(min_length=1, max_length=200)


class PaymentAssignIn(Schema):
    lease_id: Id
