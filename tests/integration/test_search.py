"""Searches (console search boxes and the API's ``q``) find exactly what a plain reading of the
rules finds: a brute-force Python filter over every row of the agency is the oracle. The
selectors match the tenant's name and the lease reference through agency-scoped subqueries
(``leases.selectors.lease_ids_matching``) instead of joins; this checks they lost nothing."""

from __future__ import annotations

from datetime import date

import pytest

from keja.agencies.models import Agency
from keja.billing.models import Invoice
from keja.billing.selectors import invoice_list
from keja.console.selectors import invoice_rows
from keja.leases.models import Lease
from keja.leases.selectors import lease_list
from keja.payments.models import Payment
from keja.payments.selectors import payment_list
from keja.platform.scoping import Actor
from tests.factories import seed_history

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
TODAY = date(2026, 3, 17)


def has(value: str | None, q: str) -> bool:
    return bool(value) and q.upper() in str(value).upper()


def lease_hit(lease: Lease | None, q: str) -> bool:
    if lease is None:
        return False
    return has(lease.account_reference, q.replace(" ", "")) or has(lease.tenant.full_name, q)


@pytest.fixture
def seeded() -> tuple[Actor, list[str]]:
    seed_history(agencies=2, units=240, today=TODAY)
    agency = Agency.objects.order_by("id").first()
    assert agency is not None
    actor = Actor(agency_id=agency.pk, role="owner")
    lease = Lease.objects.for_agency(actor).select_related("tenant", "unit__property").first()
    payment = Payment.objects.for_agency(actor).exclude(receipt=None).order_by("id").first()
    assert lease is not None
    assert payment is not None
    surname = lease.tenant.full_name.split()[-1]
    ref = lease.account_reference
    terms = [
        surname,  # a common name: many rows
        lease.tenant.full_name,  # one tenant
        ref.lower(),  # a lease reference, any case
        f"{ref[:4]} {ref[4:]}",  # typed with a space
        str(payment.receipt)[:6],  # part of a receipt
        lease.unit.label,
        lease.unit.property.name,
        "zzzz-nothing",
    ]
    return actor, terms


def test_payment_search_matches_the_oracle(seeded) -> None:
    actor, terms = seeded
    everything = list(
        Payment.objects.for_agency(actor).select_related("lease", "lease__tenant").order_by("id")
    )
    found_any = 0
    for q in terms:
        expected = {
            p.pk
            for p in everything
            if has(p.receipt, q)
            or has(p.account_reference, q)
            or has(p.payer_name, q)
            or lease_hit(p.lease, q)
        }
        got = set(payment_list(actor=actor, q=q).values_list("id", flat=True))
        assert got == expected, q
        found_any += bool(expected)
    assert found_any >= 4  # the oracle is not comparing empty sets


def test_invoice_search_matches_the_oracle(seeded) -> None:
    actor, terms = seeded
    everything = list(
        Invoice.objects.for_agency(actor).select_related("lease", "lease__tenant").order_by("id")
    )
    found_any = 0
    for q in terms:
        expected = {i.pk for i in everything if lease_hit(i.lease, q)}
        got = set(invoice_list(actor=actor, q=q).values_list("id", flat=True))
        assert got == expected, q
        console = set(invoice_rows(actor=actor, q=q).values_list("id", flat=True))
        assert console == expected, q
        found_any += bool(expected)
    assert found_any >= 3
    number = everything[5].pk
    assert set(invoice_rows(actor=actor, q=f"INV-{number}").values_list("id", flat=True)) == {
        number
    }


def test_lease_search_matches_the_oracle(seeded) -> None:
    actor, terms = seeded
    everything = list(
        Lease.objects.for_agency(actor).select_related("tenant", "unit__property").order_by("id")
    )
    found_any = 0
    for q in terms:
        expected = {
            lease.pk
            for lease in everything
            if lease_hit(lease, q) or has(lease.unit.label, q) or has(lease.unit.property.name, q)
        }
        got = set(lease_list(actor=actor, q=q).values_list("id", flat=True))
        assert got == expected, q
        found_any += bool(expected)
    assert found_any >= 5


def test_searches_stay_in_the_agency(seeded) -> None:
    actor, _terms = seeded
    other = Agency.objects.exclude(pk=actor.agency_id).get()
    them = Actor(agency_id=other.pk, role="owner")
    their_lease = Lease.objects.for_agency(them).select_related("tenant").first()
    assert their_lease is not None
    q = their_lease.account_reference
    assert not payment_list(actor=actor, q=q).exists()
    assert not invoice_list(actor=actor, q=q).exists()
    assert not lease_list(actor=actor, q=q).exists()
    assert invoice_list(actor=them, q=q).exists()
