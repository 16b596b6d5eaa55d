"""Pure billing rules: payment allocation, lease credit, invoice status, late fees, proration,
lease transitions and billing periods.

No framework imports here: plain dataclasses, ``Decimal`` money (2 places) and ``date``. The
services layer loads rows, calls these functions and writes back what they return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from keja.kernel.clock import add_months, days_in_month, period_of
from keja.kernel.errors import ValidationFailed
from keja.kernel.money import CENT, ZERO, ensure_money

__all__ = [
    "AllocationResult",
    "InvoiceStatus",
    "LateFeePolicy",
    "OpenInvoice",
    "ReversalResult",
    "allocate_payment",
    "apply_credit_to_invoice",
    "clawback_credit",
    "invoice_status",
    "late_fee_due",
    "periods_between",
    "prorate_first_month",
    "reverse_allocations",
]

InvoiceStatus = Literal["open", "partially_paid", "paid", "overdue", "void"]
LeaseStatus = Literal["draft", "active", "ended", "terminated"]
LateFeeKind = Literal["flat", "percent"]

# ---------------------------------------------------------------------------------------------
# Payment allocation and lease credit
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    """What allocation needs to know about an invoice."""

    id: int
    period: date
    due_date: date
    total: Decimal
    paid: Decimal

    @property
    def balance(self) -> Decimal:
        """Amount still owed (negative if over-paid, which allocation treats as settled)."""
        return self.total - self.paid


@dataclass(frozen=True, slots=True)
class AllocationResult:
    """How a payment was split.

    ``allocations`` lists ``(invoice_id, amount)`` oldest invoice first, amounts > 0.
    ``credit_added`` is the remainder to add to the lease credit.
    ``credit_balance`` is the lease credit after the payment (``credit + credit_added``).
    Invariant: ``amount == sum(allocations) + credit_added``.
    """

    allocations: list[tuple[int, Decimal]]
    credit_added: Decimal
    credit_balance: Decimal = ZERO

    @property
    def allocated(self) -> Decimal:
        """Total applied to invoices."""
        return sum((amount for _, amount in self.allocations), ZERO)


def _non_negative(value: Decimal, name: str) -> Decimal:
    money = ensure_money(value, field=name)
    if money < 0:
        raise ValidationFailed(f"{name} cannot be negative.", field=name)
    return money


def _oldest_first_key(invoice: OpenInvoice) -> tuple[date, date, int]:
    return (invoice.due_date, invoice.period, invoice.id)


def allocate_payment(
    *, amount: Decimal, invoices: Sequence[OpenInvoice], credit: Decimal = ZERO
) -> AllocationResult:
    """Allocate ``amount`` to invoices with a positive balance, oldest first.

    Order is ``(due_date, period, id)``. No invoice receives more than its balance; whatever is
    left becomes lease credit. ``credit`` is the lease's existing credit: it is *not* spent here
    (credit is consumed when an invoice is issued, see :func:`apply_credit_to_invoice`), only
    carried into ``credit_balance``. ``amount`` must be > 0 with at most 2 decimal places.
    """
    amount = ensure_money(amount, field="amount")
    if amount <= 0:
        raise ValidationFailed("Payment amount must be greater than zero.", field="amount")
    credit = _non_negative(credit, "credit")
    ids = [inv.id for inv in invoices]
    if len(ids) != len(set(ids)):
        raise ValidationFailed("The same invoice was listed twice.", field="invoices")

    remaining = amount
    allocations: list[tuple[int, Decimal]] = []
    for invoice in sorted(invoices, key=_oldest_first_key):
        if remaining <= 0:
            break
        balance = invoice.balance
        if balance <= 0:
            continue
        portion = min(remaining, balance)
        allocations.append((invoice.id, portion))
        remaining -= portion
    return AllocationResult(
        allocations=allocations, credit_added=remaining, credit_balance=credit + remaining
    )


def apply_credit_to_invoice(
    *, credit: Decimal, invoice_total: Decimal, invoice_paid: Decimal
) -> Decimal:
    """Credit a newly issued invoice consumes: ``min(credit, balance)``, never below zero."""
    credit = _non_negative(credit, "credit")
    balance = ensure_money(invoice_total, field="invoice_total") - ensure_money(
        invoice_paid, field="invoice_paid"
    )
    return max(min(credit, balance), ZERO)


@dataclass(frozen=True, slots=True)
class ReversalResult:
    """What to undo when a payment is reversed.

    ``invoice_debits``: ``(invoice_id, amount)`` to subtract from each invoice's ``paid``.
    ``credit_debit``: amount to subtract from the lease credit (never more than it holds).
    ``credit_shortfall``: part of the payment's credit that a later invoice already consumed.
    The caller must claw it back from the invoice(s) that consumed credit (subtract it from their
    ``paid``), e.g. with :func:`clawback_credit`. Invariant:
    ``credit_debit + credit_shortfall == credit_added``.
    """

    invoice_debits: list[tuple[int, Decimal]]
    credit_debit: Decimal
    credit_shortfall: Decimal

    @property
    def total(self) -> Decimal:
        """Everything taken back: equals the reversed payment's amount."""
        debits = sum((amount for _, amount in self.invoice_debits), ZERO)
        return debits + self.credit_debit + self.credit_shortfall


def reverse_allocations(
    *,
    allocations: Sequence[tuple[int, Decimal]],
    credit_added: Decimal,
    current_credit: Decimal,
) -> ReversalResult:
    """Exact amounts to take back when reversing a payment that was allocated as given.

    Invoice allocations are undone in full. The credit the payment created is taken from the
    lease credit as far as it is still there; the rest (``credit_shortfall``) was spent by a
    later invoice and must be clawed back from that invoice by the caller.
    """
    debits: list[tuple[int, Decimal]] = []
    for invoice_id, amount in allocations:
        money = ensure_money(amount, field="allocations")
        if money <= 0:
            raise ValidationFailed("Allocation amounts must be positive.", field="allocations")
        debits.append((invoice_id, money))
    credit_added = _non_negative(credit_added, "credit_added")
    current_credit = _non_negative(current_credit, "current_credit")
    credit_debit = min(credit_added, current_credit)
    return ReversalResult(
        invoice_debits=debits,
        credit_debit=credit_debit,
        credit_shortfall=credit_added - credit_debit,
    )


def clawback_credit(
    *, shortfall: Decimal, credit_applications: Sequence[tuple[int, Decimal]]
) -> list[tuple[int, Decimal]]:
    """Split a ``credit_shortfall`` over the invoices that consumed credit, newest first.

    ``credit_applications`` is ``(invoice_id, credit_applied)`` in the order the credit was
    applied (oldest first). Returns ``(invoice_id, amount)`` to subtract from those invoices'
    ``paid``. Raises ``ValidationFailed`` if they consumed less than ``shortfall`` in total.
    """
    shortfall = _non_negative(shortfall, "shortfall")
    remaining = shortfall
    result: list[tuple[int, Decimal]] = []
    for invoice_id, applied in reversed(credit_applications):
        if remaining <= 0:
            break
        applied = _non_negative(applied, "credit_applications")
        portion = min(remaining, applied)
        if portion > 0:
            result.append((invoice_id, portion))
            remaining -= portion
    if remaining > 0:
        raise ValidationFailed(
            "Not enough applied credit to claw back the reversed payment.",
            field="credit_applications",
        )
    return result


# ---------------------------------------------------------------------------------------------
# Invoice status and late fees
# ---------------------------------------------------------------------------------------------


def invoice_status(
    *, total: Decimal, paid: Decimal, due_date: date, today: date, void: bool = False
) -> InvoiceStatus:
    """``void`` > ``paid`` (paid ≥ total) > ``overdue`` (owing after due date) >
    ``partially_paid`` > ``open``."""
    if void:
        return "void"
    if paid >= total:
        return "paid"
    if today > due_date:
        return "overdue"
    if paid > 0:
        return "partially_paid"
    return "open"


@dataclass(frozen=True, slots=True)
class LateFeePolicy:
    """A lease's late-fee rule: after ``grace_days`` past the due date, charge a flat amount or
    a percentage (0-100) of the outstanding balance, once per invoice."""

    grace_days: int
    kind: LateFeeKind
    value: Decimal

    def __post_init__(self) -> None:
        if isinstance(self.grace_days, bool) or not isinstance(self.grace_days, int):
            raise ValidationFailed("Grace days must be a whole number.", field="grace_days")
        if self.grace_days < 0:
            raise ValidationFailed("Grace days cannot be negative.", field="grace_days")
        if self.kind not in ("flat", "percent"):
            raise ValidationFailed("Late fee kind must be 'flat' or 'percent'.", field="kind")
        if not isinstance(self.value, Decimal) or not self.value.is_finite() or self.value < 0:
            raise ValidationFailed("Late fee value must be a non-negative amount.", field="value")
        if self.kind == "flat":
            ensure_money(self.value, field="value")
        elif self.value > 100:
            raise ValidationFailed("A late fee percentage cannot exceed 100.", field="value")


def late_fee_due(
    *,
    policy: LateFeePolicy,
    invoice_total: Decimal,
    balance: Decimal,
    due_date: date,
    today: date,
    already_charged: bool,
) -> Decimal:
    """Late fee to charge on an invoice today (``0.00`` when none).

    Zero if a fee was already charged for this invoice, nothing is owed, or ``today`` is within
    ``due_date + grace_days``. Flat: ``policy.value``. Percent: ``balance * value / 100`` rounded
    half-up to cents. ``invoice_total`` is accepted so policies can depend on it later; the
    current kinds only use ``balance``.
    """
    if already_charged or balance <= 0:
        return ZERO
    if today <= due_date + timedelta(days=policy.grace_days):
        return ZERO
    fee = policy.value if policy.kind == "flat" else balance * policy.value / 100
    return max(fee.quantize(CENT, rounding=ROUND_HALF_UP), ZERO)


# ---------------------------------------------------------------------------------------------
# Proration, periods and lease rules
# ---------------------------------------------------------------------------------------------


def prorate_first_month(*, monthly_rent: Decimal, start: date) -> Decimal:
    """Rent for a first month starting on ``start``: ``rent * days_left / days_in_month``
    (``days_left`` counts ``start`` itself), rounded half-up to cents. Full rent on the 1st.
    Very small rents (under ~1 KES) can prorate to ``0.00``."""
    rent = _non_negative(monthly_rent, "monthly_rent")
    if start.day == 1:
        return rent
    month_days = days_in_month(start.year, start.month)
    days_left = month_days - start.day + 1
    return (rent * days_left / month_days).quantize(CENT, rounding=ROUND_HALF_UP)


def periods_between(start: date, end: date | None, until: date) -> list[date]:
    """Billing periods (first of each month) a lease from ``start`` to ``end`` (inclusive,
    ``None`` = open-ended) covers, up to and including ``until``'s month. Empty if the lease
    starts after ``until`` or ends before it starts."""
    last = until if end is None else min(end, until)
    if last < start:
        return []
    periods: list[date] = []
    period = period_of(start)
    final = period_of(last)
    while period <= final:
        periods.append(period)
        period = add_months(period, 1)
    return periods
