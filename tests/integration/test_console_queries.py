"""Every console page renders with a fixed number of queries (P1.2): the exact count is the same
for an agency with one row of everything and one with many (no N+1), for the full page and for
the HTMX partial of a list.

Counts are taken with the ORM cache (cachalot) and the response caches off (the test settings'
default): they are what the database does on a cold cache. Per page: the session's user (1),
the current actor's membership (1), the agency switcher (1), the nav's unmatched-payments count
(1), then the page's own reads. An HTMX list partial has no navigation, so it costs the user,
the actor and the page (3)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from cachalot.api import cachalot_disabled
from django.test import Client

from keja.billing.models import Invoice
from keja.payments.services import payment_record
from keja.platform.cache.versioned import bump
from tests.factories import (
    make_agency,
    make_billed_lease,
    make_member,
    make_property,
    make_tenant,
    make_unit,
    make_unmatched_payment,
)

pytestmark = pytest.mark.django_db
NAV = 4  # user, actor, switcher, unmatched count


def build(n: int) -> SimpleNamespace:
    """An agency with ``n`` of everything: units in one property, leases of one tenant (each
    billed for ``n`` months), payments to one lease, one payment spread over ``n`` invoices,
    unmatched payments (and the audit entries all of that wrote)."""
    agency = make_agency()
    user, owner = make_member(agency, "owner")
    prop = make_property(owner)
    tenant = make_tenant(owner)
    for _ in range(n - 1):
        make_tenant(owner)
        make_property(owner)
    leases = [
        make_billed_lease(
            owner, unit=make_unit(owner, prop), tenant=tenant, months=n - 1, rent="10000.00"
        )
        for _ in range(n)
    ]
    first = leases[0]
    for _ in range(n):
        payment_record(actor=owner, lease_id=first.pk, amount=Decimal("100.00"), method="cash")
    spread = payment_record(
        actor=owner, lease_id=leases[-1].pk, amount=Decimal(10000 * n), method="bank"
    )
    for _ in range(n):
        make_unmatched_payment(owner)
    invoice = Invoice.objects.filter(lease=first).order_by("period").first()
    assert invoice is not None
    return SimpleNamespace(
        n=n, user=user, property=prop, tenant=tenant, lease=first, invoice=invoice, spread=spread
    )


# page → (url, queries on top of NAV)
def pages(w: SimpleNamespace) -> dict[str, tuple[str, int]]:
    return {
        # one statement for every figure (units, billed, arrears, collected, unmatched, latest
        # payments); its unmatched count also feeds the nav, so the nav's own count is not made
        "dashboard": ("/", 1 - 1),
        "properties": ("/properties/", 1),
        "units": ("/units/?sort=rent", 1),
        "tenants": ("/tenants/?status=active", 1),
        "leases": ("/leases/?sort=start", 1),
        "invoices": ("/invoices/?sort=due", 1),
        "payments": ("/payments/?status=completed", 1),
        "unmatched": ("/payments/unmatched/", 1),
        "audit": ("/audit/?object_type=payment", 1),
        "property": (f"/properties/{w.property.pk}/", 2),  # property with counts, its units
        "tenant": (f"/tenants/{w.tenant.pk}/", 5),  # tenant, leases, credit, owed, payments
        # lease, balance, invoices, payments, allocations, statement (invoices + payments)
        "lease": (f"/leases/{w.lease.pk}/", 7),
        "invoice": (f"/invoices/{w.invoice.pk}/", 2),  # invoice, allocations
        "payment": (f"/payments/{w.spread.pk}/", 2),  # payment, allocations
        "property-form": ("/properties/new/", 0),
        "property-edit": (f"/properties/{w.property.pk}/edit/", 1),
        "tenant-form": ("/tenants/new/", 0),
        "lease-form": ("/leases/new/", 2),  # unit and tenant choices
    }


@pytest.fixture(params=[1, 12], ids=["one-row", "many-rows"])
def world(request: pytest.FixtureRequest) -> SimpleNamespace:
    return build(request.param)


@pytest.fixture
def client(world: SimpleNamespace) -> Client:
    client = Client()
    client.force_login(world.user)
    client.get("/")  # the session now holds the current agency
    return client


LISTS = ["properties", "units", "tenants", "leases", "invoices", "payments", "unmatched", "audit"]


def check_counts(client, django_assert_num_queries, cases, **headers) -> list[str]:
    """Request every page, each inside its own exact assertion; report every page that differs
    (with its SQL) rather than only the first."""
    failures = []
    for name, (url, expected) in cases.items():
        try:
            with cachalot_disabled(), django_assert_num_queries(expected):
                response = client.get(url, **headers)
        except pytest.fail.Exception as exc:
            failures.append(f"{name} ({url}): {exc}")
            continue
        assert response.status_code == 200, name
    return failures


def test_page_query_counts(world, client, django_assert_num_queries) -> None:
    cases = {name: (url, NAV + own) for name, (url, own) in pages(world).items()}
    assert not check_counts(client, django_assert_num_queries, cases)


def test_list_partial_query_counts(world, client, django_assert_num_queries) -> None:
    """An HTMX list request renders the table only: no navigation queries."""
    cases = {name: (url, 2 + own) for name, (url, own) in pages(world).items() if name in LISTS}
    assert not check_counts(client, django_assert_num_queries, cases, HTTP_HX_REQUEST="true")


def test_the_counted_pages_hold_the_rows(world, client) -> None:
    """The counts above are taken on lists and pages that really hold one row or many."""
    n = world.n
    for name in LISTS:
        html = client.get(pages(world)[name][0], HTTP_HX_REQUEST="true").content.decode()
        rows = html.count("<tr") - 1  # minus the header row
        assert rows >= n, (name, rows)
    lease = client.get(f"/leases/{world.lease.pk}/").content.decode()
    assert lease.count("data-invoice=") == n
    assert lease.count("data-payment=") == n + (1 if n == 1 else 0)  # n=1: the spread too
    assert client.get(f"/tenants/{world.tenant.pk}/").content.decode().count("data-payment=") >= n


def test_dashboard_query_count_with_the_cache(
    world, client, settings, django_assert_num_queries
) -> None:
    """With the response caches on (as in production): cold, the figures are computed by one
    statement; warm, they come from the versioned cache (P2.1) and the page costs only
    the user, the actor and the switcher."""
    settings.KEJA_RESPONSE_CACHES = True
    bump("dash", world.user.memberships.get().agency_id)
    with cachalot_disabled(), django_assert_num_queries(3 + 1):
        assert client.get("/").status_code == 200
    with cachalot_disabled(), django_assert_num_queries(3):
        assert client.get("/").status_code == 200
