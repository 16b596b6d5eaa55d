"""Property and example tests for the pure billing rules in ``keja.billing.domain``."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from keja.billing.domain import (
    LateFeePolicy,
    OpenInvoice,
    allocate_payment,
    apply_credit_to_invoice,
    clawback_credit,
    invoice_status,
    late_fee_due,
    periods_between,
    prorate_first_month,
    reverse_allocations,
)
from keja.kernel.errors import Conflict, ValidationFailed
from keja.leases.domain import LEASE_TRANSITIONS, check_lease_transition, ranges_overlap

# --------------------------------------------------------------------------------------------
# Strategies: money is built from integer cents so every value has exactly 2 places.
# --------------------------------------------------------------------------------------------


def cents(c: int) -> Decimal:
    return Decimal(c) / 100


def money(min_cents: int = 0, max_cents: int = 10_000_000) -> st.SearchStrategy[Decimal]:
    return st.integers(min_cents, max_cents).map(cents)


payments = money(1, 10_000_000)
credits = money(0, 1_000_000)
dates = st.dates(date(2020, 1, 1), date(2032, 12, 31))


@st.composite
def open_invoice_lists(draw: st.DrawFn, max_size: int = 8) -> list[OpenInvoice]:
    """Invoices with unique ids; periods and due dates come from small sets so ties happen."""
    ids = draw(st.lists(st.integers(1, 10_000), max_size=max_size, unique=True))
    invoices = []
    for invoice_id in ids:
        period = date(2025, draw(st.integers(1, 6)), 1)
        due_date = period + timedelta(days=draw(st.sampled_from([0, 4, 9])))
        total_cents = draw(st.integers(0, 5_000_000))
        # Mostly partially paid; sometimes fully paid or over-paid (balance <= 0).
        paid_cents = draw(
            st.one_of(st.integers(0, total_cents), st.integers(total_cents, total_cents + 500))
        )
        invoices.append(
            OpenInvoice(
                id=invoice_id,
                period=period,
                due_date=due_date,
                total=cents(total_cents),
                paid=cents(paid_cents),
            )
        )
    return invoices


def age_key(invoice: OpenInvoice) -> tuple[date, date, int]:
    return (invoice.due_date, invoice.period, invoice.id)


def outstanding(invoices: list[OpenInvoice]) -> Decimal:
    return sum((max(inv.balance, Decimal(0)) for inv in invoices), Decimal(0))


# --------------------------------------------------------------------------------------------
# allocate_payment
# --------------------------------------------------------------------------------------------


@given(amount=payments, invoices=open_invoice_lists(), credit=credits)
def test_allocations_never_exceed_payment_or_any_balance(amount, invoices, credit):
    result = allocate_payment(amount=amount, invoices=invoices, credit=credit)
    by_id = {inv.id: inv for inv in invoices}
    allocated_ids = [invoice_id for invoice_id, _ in result.allocations]

    assert len(allocated_ids) == len(set(allocated_ids)), "an invoice was allocated twice"
    assert result.allocated <= amount
    for invoice_id, portion in result.allocations:
        assert portion > 0
        assert portion <= by_id[invoice_id].balance
        assert portion == portion.quantize(Decimal("0.01"))


@given(amount=payments, invoices=open_invoice_lists(), credit=credits)
def test_allocation_conserves_money(amount, invoices, credit):
    result = allocate_payment(amount=amount, invoices=invoices, credit=credit)

    assert result.credit_added >= 0
    assert amount == result.allocated + result.credit_added
    assert result.credit_balance == credit + result.credit_added


@given(amount=payments, invoices=open_invoice_lists())
def test_allocation_pays_everything_it_can_before_creating_credit(amount, invoices):
    result = allocate_payment(amount=amount, invoices=invoices)
    owed = outstanding(invoices)

    if amount >= owed:
        assert result.allocated == owed
        assert result.credit_added == amount - owed
    else:
        assert result.allocated == amount
        assert result.credit_added == 0


@given(amount=payments, invoices=open_invoice_lists())
def test_allocation_is_oldest_first(amount, invoices):
    result = allocate_payment(amount=amount, invoices=invoices)
    received = dict(result.allocations)
    ordered = sorted(invoices, key=age_key)

    # Allocations are listed in age order.
    position = {inv.id: i for i, inv in enumerate(ordered)}
    listed = [position[invoice_id] for invoice_id, _ in result.allocations]
    assert listed == sorted(listed)

    # An invoice gets money only if every older invoice with a balance is then fully paid.
    for i, invoice in enumerate(ordered):
        if invoice.id not in received:
            continue
        for older in ordered[:i]:
            if older.balance > 0:
                assert received.get(older.id) == older.balance, (
                    f"invoice {invoice.id} was paid before older invoice {older.id}"
                )


def test_allocation_example_oldest_first_then_credit():
    jan = OpenInvoice(1, date(2025, 1, 1), date(2025, 1, 5), Decimal("5000.00"), Decimal("0"))
    feb = OpenInvoice(2, date(2025, 2, 1), date(2025, 2, 5), Decimal("5000.00"), Decimal("2000"))
    paid = OpenInvoice(3, date(2024, 12, 1), date(2024, 12, 5), Decimal("5000"), Decimal("5000"))

    result = allocate_payment(amount=Decimal("10000.00"), invoices=[feb, paid, jan])

    assert result.allocations == [(1, Decimal("5000.00")), (2, Decimal("3000.00"))]
    assert result.credit_added == Decimal("2000.00")


def test_allocation_tie_on_due_date_breaks_by_period_then_id():
    due = date(2025, 3, 5)
    a = OpenInvoice(9, date(2025, 2, 1), due, Decimal("100"), Decimal("0"))
    b = OpenInvoice(4, date(2025, 3, 1), due, Decimal("100"), Decimal("0"))
    c = OpenInvoice(7, date(2025, 3, 1), due, Decimal("100"), Decimal("0"))

    result = allocate_payment(amount=Decimal("250"), invoices=[c, b, a])

    assert result.allocations == [(9, Decimal("100")), (4, Decimal("100")), (7, Decimal("50"))]


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5.00"), Decimal("10.005")])
def test_allocation_rejects_non_positive_or_sub_cent_amounts(amount):
    with pytest.raises(ValidationFailed) as excinfo:
        allocate_payment(amount=amount, invoices=[])
    assert excinfo.value.field == "amount"


def test_allocation_rejects_float_amount():
    with pytest.raises(TypeError):
        allocate_payment(amount=10.0, invoices=[])  # type: ignore[arg-type]


def test_allocation_rejects_duplicate_invoice_ids():
    inv = OpenInvoice(1, date(2025, 1, 1), date(2025, 1, 5), Decimal("10"), Decimal("0"))
    with pytest.raises(ValidationFailed):
        allocate_payment(amount=Decimal("5"), invoices=[inv, inv])


# --------------------------------------------------------------------------------------------
# Lease credit and reversal
# --------------------------------------------------------------------------------------------


@given(credit=credits, total=money(0, 5_000_000), paid=money(0, 5_000_000))
def test_credit_consumed_by_new_invoice_is_bounded(credit, total, paid):
    used = apply_credit_to_invoice(credit=credit, invoice_total=total, invoice_paid=paid)

    assert 0 <= used <= credit
    assert used <= max(total - paid, Decimal(0))
    # It is as large as it can be: either the credit or the balance is exhausted.
    assert used == credit or used == max(total - paid, Decimal(0))


def apply_payment(invoices, credit, amount):
    """Run an allocation and return the resulting ``paid`` by id, credit, and the result."""
    result = allocate_payment(amount=amount, invoices=invoices, credit=credit)
    paid = {inv.id: inv.paid for inv in invoices}
    for invoice_id, portion in result.allocations:
        paid[invoice_id] += portion
    return paid, credit + result.credit_added, result


@given(amount=payments, invoices=open_invoice_lists(), credit=credits)
def test_reversal_restores_previous_state_exactly(amount, invoices, credit):
    paid, credit_after, result = apply_payment(invoices, credit, amount)

    reversal = reverse_allocations(
        allocations=result.allocations,
        credit_added=result.credit_added,
        current_credit=credit_after,
    )
    for invoice_id, debit in reversal.invoice_debits:
        paid[invoice_id] -= debit

    assert reversal.credit_shortfall == 0
    assert paid == {inv.id: inv.paid for inv in invoices}
    assert credit_after - reversal.credit_debit == credit
    assert reversal.total == amount


@given(
    amount=payments,
    invoices=open_invoice_lists(),
    credit=credits,
    later_total=money(0, 20_000_000),
)
def test_reversal_after_credit_was_consumed_claws_back_only_the_payments_credit(
    amount, invoices, credit, later_total
):
    paid, credit_after, result = apply_payment(invoices, credit, amount)
    # A later invoice is issued and eats (some of) the lease credit.
    consumed = apply_credit_to_invoice(
        credit=credit_after, invoice_total=later_total, invoice_paid=Decimal(0)
    )
    credit_now = credit_after - consumed

    reversal = reverse_allocations(
        allocations=result.allocations,
        credit_added=result.credit_added,
        current_credit=credit_now,
    )
    for invoice_id, debit in reversal.invoice_debits:
        paid[invoice_id] -= debit
    final_credit = credit_now - reversal.credit_debit
    clawed = clawback_credit(
        shortfall=reversal.credit_shortfall, credit_applications=[(99_999, consumed)]
    )
    later_paid = consumed - sum((c for _, c in clawed), Decimal(0))

    assert paid == {inv.id: inv.paid for inv in invoices}
    assert final_credit >= 0
    assert later_paid >= 0
    assert reversal.credit_debit + reversal.credit_shortfall == result.credit_added
    assert reversal.total == amount
    # Only the credit that existed before the payment remains, split between the lease
    # and the later invoice.
    assert final_credit + later_paid == credit


def test_reversal_example_with_shortfall():
    reversal = reverse_allocations(
        allocations=[(1, Decimal("5000.00"))],
        credit_added=Decimal("3000.00"),
        current_credit=Decimal("1000.00"),
    )
    assert reversal.invoice_debits == [(1, Decimal("5000.00"))]
    assert reversal.credit_debit == Decimal("1000.00")
    assert reversal.credit_shortfall == Decimal("2000.00")


def test_clawback_takes_from_newest_consumer_first_and_refuses_too_much():
    applications = [(1, Decimal("500")), (2, Decimal("300"))]
    assert clawback_credit(shortfall=Decimal("600"), credit_applications=applications) == [
        (2, Decimal("300")),
        (1, Decimal("300")),
    ]
    assert clawback_credit(shortfall=Decimal("0"), credit_applications=applications) == []
    with pytest.raises(ValidationFailed):
        clawback_credit(shortfall=Decimal("800.01"), credit_applications=applications)


def test_reversal_rejects_negative_inputs():
    with pytest.raises(ValidationFailed):
        reverse_allocations(
            allocations=[(1, Decimal("-1"))], credit_added=Decimal(0), current_credit=Decimal(0)
        )
    with pytest.raises(ValidationFailed):
        reverse_allocations(allocations=[], credit_added=Decimal(-1), current_credit=Decimal(0))


# --------------------------------------------------------------------------------------------
# Invoice status
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "paid", "today", "void", "expected"),
    [
        ("1000", "0", date(2025, 1, 5), False, "open"),
        ("1000", "1", date(2025, 1, 5), False, "partially_paid"),
        ("1000", "1000", date(2025, 1, 5), False, "paid"),
        ("1000", "1200", date(2025, 2, 1), False, "paid"),
        ("1000", "0", date(2025, 1, 6), False, "overdue"),
        ("1000", "999.99", date(2025, 1, 6), False, "overdue"),
        ("1000", "1000", date(2025, 3, 1), False, "paid"),
        ("1000", "0", date(2025, 1, 6), True, "void"),
        ("1000", "1000", date(2025, 1, 1), True, "void"),
    ],
)
def test_invoice_status_examples(total, paid, today, void, expected):
    status = invoice_status(
        total=Decimal(total), paid=Decimal(paid), due_date=date(2025, 1, 5), today=today, void=void
    )
    assert status == expected


@given(total=money(1), paid=money(), due=dates, today=dates)
def test_invoice_status_is_consistent(total, paid, due, today):
    status = invoice_status(total=total, paid=paid, due_date=due, today=today)
    assert status in {"open", "partially_paid", "paid", "overdue"}
    assert (status == "paid") == (paid >= total)
    assert (status == "overdue") == (paid < total and today > due)


# --------------------------------------------------------------------------------------------
# Late fees
# --------------------------------------------------------------------------------------------


def round_half_up_div(numerator: int, denominator: int) -> int:
    """Integer oracle for non-negative numerator / denominator rounded half up."""
    return (2 * numerator + denominator) // (2 * denominator)


policies = st.one_of(
    st.builds(
        LateFeePolicy,
        grace_days=st.integers(0, 30),
        kind=st.just("flat"),
        value=money(0, 1_000_000),
    ),
    st.builds(
        LateFeePolicy,
        grace_days=st.integers(0, 30),
        kind=st.just("percent"),
        value=st.integers(0, 10_000).map(cents),  # 0.00 .. 100.00 percent
    ),
)


@given(
    policy=policies,
    total=money(),
    balance_cents=st.integers(-100_000, 10_000_000),
    due=dates,
    today=dates,
    already=st.booleans(),
)
def test_late_fee_never_negative_and_matches_policy(
    policy, total, balance_cents, due, today, already
):
    balance = cents(balance_cents)
    fee = late_fee_due(
        policy=policy,
        invoice_total=total,
        balance=balance,
        due_date=due,
        today=today,
        already_charged=already,
    )
    assert fee >= 0
    assert fee == fee.quantize(Decimal("0.01"))

    chargeable = not already and balance > 0 and today > due + timedelta(days=policy.grace_days)
    if not chargeable:
        assert fee == 0
    elif policy.kind == "flat":
        assert fee == policy.value
    else:
        value_hundredths = int(policy.value * 100)
        expected = round_half_up_div(balance_cents * value_hundredths, 10_000)
        assert fee == cents(expected)


@given(policy=policies, balance=money(1), due=dates, days_after=st.integers(0, 30))
def test_late_fee_zero_within_grace(policy, balance, due, days_after):
    assume(days_after <= policy.grace_days)
    today = due + timedelta(days=days_after)
    fee = late_fee_due(
        policy=policy,
        invoice_total=balance,
        balance=balance,
        due_date=due,
        today=today,
        already_charged=False,
    )
    assert fee == 0


@given(policy=policies, balance=money(1), due=dates)
def test_late_fee_is_charged_at_most_once_over_a_daily_run(policy, balance, due):
    charged = False
    charges = []
    for offset in range(-3, 70):
        fee = late_fee_due(
            policy=policy,
            invoice_total=balance,
            balance=balance,
            due_date=due,
            today=due + timedelta(days=offset),
            already_charged=charged,
        )
        if fee > 0:
            charges.append((offset, fee))
            charged = True
    assert len(charges) <= 1
    if charges:
        # ...and on the first day after the grace period.
        assert charges[0][0] == policy.grace_days + 1


def test_late_fee_examples():
    due = date(2025, 1, 5)
    flat = LateFeePolicy(grace_days=5, kind="flat", value=Decimal("500.00"))
    pct = LateFeePolicy(grace_days=0, kind="percent", value=Decimal("5"))

    def fee(policy, balance, today, already=False):
        return late_fee_due(
            policy=policy,
            invoice_total=Decimal("20000"),
            balance=Decimal(balance),
            due_date=due,
            today=today,
            already_charged=already,
        )

    assert fee(flat, "100", date(2025, 1, 10)) == 0  # last grace day
    assert fee(flat, "100", date(2025, 1, 11)) == Decimal("500.00")
    assert fee(flat, "100", date(2025, 1, 11), already=True) == 0
    assert fee(flat, "0", date(2025, 2, 1)) == 0
    assert fee(pct, "100.50", date(2025, 1, 5)) == 0  # due date itself is not late
    assert fee(pct, "100.50", date(2025, 1, 6)) == Decimal("5.03")  # 5.025 rounds half up


@pytest.mark.parametrize(
    "kwargs",
    [
        {"grace_days": -1, "kind": "flat", "value": Decimal("1")},
        {"grace_days": 1, "kind": "daily", "value": Decimal("1")},
        {"grace_days": 1, "kind": "flat", "value": Decimal("-1")},
        {"grace_days": 1, "kind": "flat", "value": Decimal("1.001")},
        {"grace_days": 1, "kind": "percent", "value": Decimal("100.01")},
    ],
)
def test_late_fee_policy_rejects_invalid_values(kwargs):
    with pytest.raises(ValidationFailed):
        LateFeePolicy(**kwargs)


# --------------------------------------------------------------------------------------------
# Proration
# --------------------------------------------------------------------------------------------


def month_length(d: date) -> int:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return (nxt - date(d.year, d.month, 1)).days


@given(rent_cents=st.integers(100, 100_000_000), start=dates)
def test_proration_bounds_and_value(rent_cents, start):
    rent = cents(rent_cents)
    prorated = prorate_first_month(monthly_rent=rent, start=start)

    assert Decimal(0) < prorated <= rent
    days = month_length(start)
    expected = round_half_up_div(rent_cents * (days - start.day + 1), days)
    assert prorated == cents(expected)


@given(rent=money(0), start=dates)
def test_proration_is_full_rent_on_the_first(rent, start):
    first = start.replace(day=1)
    assert prorate_first_month(monthly_rent=rent, start=first) == rent


@given(rent=money(0), start=dates)
def test_proration_never_increases_later_in_the_month(rent, start):
    assume(start.day > 1)
    earlier = prorate_first_month(monthly_rent=rent, start=start - timedelta(days=1))
    assert prorate_first_month(monthly_rent=rent, start=start) <= earlier


def test_proration_examples():
    assert prorate_first_month(monthly_rent=Decimal("30000"), start=date(2025, 6, 16)) == Decimal(
        "15000.00"
    )
    # Leap February: 15 of 29 days.
    assert prorate_first_month(monthly_rent=Decimal("30000"), start=date(2024, 2, 15)) == Decimal(
        "15517.24"
    )
    assert prorate_first_month(monthly_rent=Decimal("31000"), start=date(2025, 1, 31)) == Decimal(
        "1000.00"
    )
    with pytest.raises(ValidationFailed):
        prorate_first_month(monthly_rent=Decimal("-1"), start=date(2025, 1, 2))


# --------------------------------------------------------------------------------------------
# Lease transitions
# --------------------------------------------------------------------------------------------

STATUSES = ["draft", "active", "ended", "terminated"]


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("new", STATUSES)
def test_lease_transitions_follow_the_table(current, new):
    expected_ok = (current, new) in {
        ("draft", "active"),
        ("draft", "terminated"),
        ("active", "ended"),
        ("active", "terminated"),
    }
    if expected_ok:
        check_lease_transition(current, new)
    else:
        with pytest.raises(Conflict, match=f"'{current}' to '{new}'"):
            check_lease_transition(current, new)


def test_lease_final_states_have_no_exit():
    assert LEASE_TRANSITIONS["ended"] == set()
    assert LEASE_TRANSITIONS["terminated"] == set()
    assert set(LEASE_TRANSITIONS) == set(STATUSES)


def test_unknown_lease_status_is_a_validation_error():
    with pytest.raises(ValidationFailed):
        check_lease_transition("active", "paused")
    with pytest.raises(ValidationFailed):
        check_lease_transition("paused", "active")


# --------------------------------------------------------------------------------------------
# Periods and overlap
# --------------------------------------------------------------------------------------------

short_dates = st.dates(date(2024, 1, 1), date(2026, 12, 31))


@given(
    start=short_dates,
    end=st.one_of(st.none(), short_dates),
    until=short_dates,
)
def test_periods_between_matches_day_by_day_enumeration(start, end, until):
    last = until if end is None else min(end, until)
    expected = set()
    day = start
    while day <= last:
        expected.add(day.replace(day=1))
        day += timedelta(days=1)

    periods = periods_between(start, end, until)

    assert periods == sorted(expected)
    assert all(p.day == 1 for p in periods)


def test_periods_between_examples():
    assert periods_between(date(2025, 1, 15), None, date(2025, 3, 1)) == [
        date(2025, 1, 1),
        date(2025, 2, 1),
        date(2025, 3, 1),
    ]
    assert periods_between(date(2025, 1, 15), date(2025, 2, 10), date(2025, 12, 1)) == [
        date(2025, 1, 1),
        date(2025, 2, 1),
    ]
    assert periods_between(date(2025, 5, 1), None, date(2025, 4, 30)) == []
    assert periods_between(date(2024, 11, 20), None, date(2025, 1, 1))[-1] == date(2025, 1, 1)


HORIZON = date(2100, 1, 1)
tiny_dates = st.dates(date(2025, 1, 1), date(2025, 3, 31))


def days_of(start: date, end: date | None) -> set[date]:
    last = HORIZON if end is None else end
    return {start + timedelta(days=i) for i in range(max((last - start).days + 1, 0))}


@given(
    a_start=tiny_dates,
    a_end=st.one_of(st.none(), tiny_dates),
    b_start=tiny_dates,
    b_end=st.one_of(st.none(), tiny_dates),
)
def test_ranges_overlap_matches_shared_days(a_start, a_end, b_start, b_end):
    expected = bool(days_of(a_start, a_end) & days_of(b_start, b_end))
    assert ranges_overlap(a_start, a_end, b_start, b_end) is expected
    assert ranges_overlap(b_start, b_end, a_start, a_end) is expected


def test_ranges_overlap_examples():
    jan1, jan31, feb1 = date(2025, 1, 1), date(2025, 1, 31), date(2025, 2, 1)
    assert ranges_overlap(jan1, jan31, jan31, None)  # ends are inclusive
    assert not ranges_overlap(jan1, jan31, feb1, None)
    assert ranges_overlap(jan1, None, feb1, None)
    assert not ranges_overlap(feb1, jan1, jan1, None)  # empty range
