"""Domain core on PostgreSQL: rules enforced by the database and the services (D1–D7)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from keja.audit.models import AuditEntry
from keja.billing.models import Invoice
from keja.billing.services import invoice_issue, invoices_generate_for_period, late_fees_apply
from keja.kernel.errors import Conflict, NotFound, ValidationFailed
from keja.leases.models import Lease
from keja.payments.models import Payment
from keja.payments.selectors import lease_ledger, lease_ledger_ok
from keja.payments.services import payment_record, payment_reverse
from keja.properties.selectors import property_get
from keja.properties.services import property_update
from tests.factories import (
    make_agency,
    make_lease,
    make_property,
    make_tenant,
    make_unit,
    owner_actor,
)

pytestmark = pytest.mark.django_db
TODAY = date(2026, 3, 15)


@pytest.fixture
def actor():
    return owner_actor(make_agency())


def test_lease_overlap_refused_by_service(actor) -> None:
    unit = make_unit(actor)
    make_lease(actor, unit=unit, start=date(2026, 1, 1), end=date(2026, 12, 31))
    with pytest.raises(Conflict) as err:
        make_lease(actor, unit=unit, start=date(2026, 6, 1))
    assert err.value.field == "start_date"
    # adjacent (no shared day) is fine
    make_lease(actor, unit=unit, start=date(2027, 1, 1))


def test_lease_overlap_refused_by_database(actor) -> None:
    unit = make_unit(actor)
    first = make_lease(actor, unit=unit, start=date(2026, 1, 1))
    clash = Lease(
        agency_id=actor.agency_id,
        unit=unit,
        tenant=first.tenant,
        start_date=date(2026, 5, 1),
        monthly_rent=Decimal("100"),
        account_reference="CLASH1",
        status="active",
    )
    with pytest.raises(IntegrityError, match="lease_no_overlap"), transaction.atomic():
        clash.save()
    clash.status = "draft"  # drafts never conflict
    clash.save()


def test_uniqueness_rules(actor) -> None:
    make_tenant(actor, phone="0712000001", email="a@x.example")
    with pytest.raises(Conflict):
        make_tenant(actor, phone="+254 712 000 001")
    with pytest.raises(Conflict):
        make_tenant(actor, phone="0712000002", email="A@x.example")
    other = owner_actor(make_agency())
    make_tenant(other, phone="0712000001", email="a@x.example")  # unique per agency only
    lease = make_lease(actor, account_reference="ref-001")
    assert lease.account_reference == "REF001"
    with pytest.raises(Conflict):
        make_lease(actor, account_reference="REF 001")
    invoice_issue(
        agency_id=actor.agency_id, lease_id=lease.pk, period=date(2026, 1, 1), today=TODAY
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            agency_id=actor.agency_id,
            lease=lease,
            period=date(2026, 1, 1),
            amount=1,
            total=1,
            due_date=date(2026, 1, 5),
            issued_at="2026-01-01T00:00Z",
        )


def test_same_agency_enforced_by_database(actor) -> None:
    other = owner_actor(make_agency())
    unit = make_unit(actor)
    foreign_tenant = make_tenant(other)
    bad = Lease(
        agency_id=actor.agency_id,
        unit=unit,
        tenant=foreign_tenant,
        start_date=date(2026, 1, 1),
        monthly_rent=Decimal("100"),
        account_reference="MIX1",
        status="draft",
    )
    with pytest.raises(IntegrityError, match="same_agency"), transaction.atomic():
        bad.save()
        from django.db import connection

        connection.check_constraints()  # deferred constraint checked now


def test_payment_allocation_credit_and_reversal_conserve_money(actor) -> None:
    lease = make_lease(actor, rent="10000", start=date(2026, 1, 1))
    for month in (1, 2):
        invoice_issue(
            agency_id=actor.agency_id, lease_id=lease.pk, period=date(2026, month, 1), today=TODAY
        )
    p1 = payment_record(actor=actor, lease_id=lease.pk, amount="15000", method="cash")
    invoices = list(Invoice.objects.for_agency(actor).filter(lease=lease).order_by("period"))
    assert [i.amount_paid for i in invoices] == [Decimal("10000.00"), Decimal("5000.00")]
    assert [i.status for i in invoices] == ["paid", "overdue"] or invoices[
        1
    ].status == "partially_paid"
    p2 = payment_record(
        actor=actor, lease_id=lease.pk, amount="8000", method="bank", reference="BNK-1"
    )
    lease.refresh_from_db()
    assert lease.credit_balance == Decimal("3000.00")
    assert lease_ledger_ok(agency_id=actor.agency_id, lease_id=lease.pk)
    # the next invoice consumes the credit
    march = invoice_issue(
        agency_id=actor.agency_id, lease_id=lease.pk, period=date(2026, 3, 1), today=TODAY
    )
    assert march is not None
    march.refresh_from_db()
    assert march.amount_paid == Decimal("3000.00")
    lease.refresh_from_db()
    assert lease.credit_balance == Decimal("0.00")
    assert lease_ledger_ok(agency_id=actor.agency_id, lease_id=lease.pk)
    # reversing p2 takes back its allocation to February and the credit March consumed
    payment_reverse(actor=actor, payment_id=p2.pk, reason="bounced cheque")
    paid = {
        i.period.month: i.amount_paid for i in Invoice.objects.for_agency(actor).filter(lease=lease)
    }
    assert paid == {1: Decimal("10000.00"), 2: Decimal("5000.00"), 3: Decimal("0.00")}
    ledger = lease_ledger(agency_id=actor.agency_id, lease_id=lease.pk)
    assert ledger["paid"] == Decimal("15000.00") == ledger["allocated"] + ledger["credit"]
    assert lease_ledger_ok(agency_id=actor.agency_id, lease_id=lease.pk)
    with pytest.raises(Conflict):
        payment_reverse(actor=actor, payment_id=p2.pk, reason="again")
    p1.refresh_from_db()
    assert p1.status == "completed"
    actions = set(AuditEntry.objects.for_agency(actor).values_list("action", flat=True))
    assert {"payment.recorded", "payment.reversed", "invoice.issued", "lease.created"} <= actions


def test_duplicate_receipt_refused_across_agencies(actor) -> None:
    lease = make_lease(actor)
    payment_record(actor=actor, lease_id=lease.pk, amount="100", method="bank", reference="RCPT1")
    other = owner_actor(make_agency())
    other_lease = make_lease(other)
    with pytest.raises(Conflict):
        payment_record(
            actor=other, lease_id=other_lease.pk, amount="100", method="bank", reference="rcpt1"
        )
    assert Payment.objects.filter(receipt="RCPT1").count() == 1


def test_invoice_generation_is_idempotent(actor) -> None:
    for _ in range(3):
        make_lease(actor, start=date(2026, 1, 10))
    first = invoices_generate_for_period(agency_id=actor.agency_id, period=date(2026, 1, 1))
    assert first.applied == 3
    prorated = Invoice.objects.for_agency(actor).first()
    assert prorated is not None
    assert prorated.amount == Decimal("10645.16")  # 22 of 31 days of 15,000
    again = invoices_generate_for_period(agency_id=actor.agency_id, period=date(2026, 1, 1))
    assert again.applied == 0
    assert Invoice.objects.for_agency(actor).count() == 3


def test_late_fees_never_twice(actor) -> None:
    from keja.agencies.models import Agency

    Agency.objects.filter(pk=actor.agency_id).update(
        late_fee_kind="percent", late_fee_value=Decimal("10"), late_fee_grace_days=5
    )
    lease = make_lease(actor, rent="10000")
    inv = invoice_issue(
        agency_id=actor.agency_id, lease_id=lease.pk, period=date(2026, 1, 1), today=TODAY
    )
    assert inv is not None
    late_fees_apply(agency_id=actor.agency_id, today=TODAY)
    late_fees_apply(agency_id=actor.agency_id, today=TODAY)
    inv.refresh_from_db()
    assert inv.late_fee == Decimal("1000.00")
    assert inv.total == Decimal("11000.00")


def test_other_agency_invisible_to_reads_and_writes(actor) -> None:
    other = owner_actor(make_agency())
    prop = make_property(other)
    assert property_get(actor=actor, property_id=prop.pk) is None
    with pytest.raises(NotFound):
        property_update(actor=actor, property_id=prop.pk, name="Mine now")
    lease = make_lease(other)
    with pytest.raises(NotFound):
        payment_record(actor=actor, lease_id=lease.pk, amount="100", method="cash")
    with pytest.raises(NotFound):
        make_lease(actor, unit=make_unit(other))


def test_bad_input_is_refused(actor) -> None:
    lease = make_lease(actor)
    with pytest.raises(ValidationFailed):
        payment_record(actor=actor, lease_id=lease.pk, amount="-5", method="cash")
    with pytest.raises(ValidationFailed):
        payment_record(actor=actor, lease_id=lease.pk, amount="100", method="mpesa_stk")
    with pytest.raises(ValidationFailed):
        make_tenant(actor, phone="12345")


def test_lease_start_date_is_bounded(actor) -> None:
    with pytest.raises(ValidationFailed) as err:
        make_lease(actor, start=date(1990, 1, 1))
    assert err.value.field == "start_date"
