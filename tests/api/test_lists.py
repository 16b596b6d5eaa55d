"""Lists (P1.2, P7.1): keyset pagination, bounded page sizes, filters and orderings, and an exact
query count that is the same for a page of 1 and a page of 100 (no N+1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.db.models import QuerySet

from keja.agencies.models import Agency, ApiKey, Membership
from keja.audit.models import AuditEntry
from keja.billing.models import Invoice
from keja.leases.models import Lease
from keja.payments.models import Payment
from keja.properties.models import Property, Unit
from keja.tenants.models import Tenant
from tests.api import seed
from tests.api.client import ApiClient
from tests.api.querycount import assert_num_queries

pytestmark = pytest.mark.django_db

ROWS = 101


@dataclass(frozen=True)
class Case:
    path: str
    seed: Callable[[Agency], object]
    rows: Callable[[Agency], QuerySet[Any]]
    queries: int  # API key lookup + the page (+ one prefetch where the items nest a list)


CASES = {
    "members": Case(
        "/agency/members",
        lambda a: seed.members(a, ROWS),
        lambda a: Membership.objects.filter(agency=a),
        2,
    ),
    "api-keys": Case(
        "/agency/api-keys",
        lambda a: seed.api_keys(a, ROWS),
        lambda a: ApiKey.objects.filter(agency=a),
        2,
    ),
    "properties": Case(
        "/properties",
        lambda a: seed.properties(a, ROWS),
        lambda a: Property.objects.for_agency(a.pk),
        2,
    ),
    "units": Case(
        "/units", lambda a: seed.units(a, ROWS), lambda a: Unit.objects.for_agency(a.pk), 2
    ),
    "tenants": Case(
        "/tenants", lambda a: seed.tenants(a, ROWS), lambda a: Tenant.objects.for_agency(a.pk), 2
    ),
    "leases": Case(
        "/leases", lambda a: seed.leases(a, ROWS), lambda a: Lease.objects.for_agency(a.pk), 2
    ),
    "invoices": Case(
        "/invoices",
        lambda a: seed.invoices(a, ROWS),
        lambda a: Invoice.objects.for_agency(a.pk),
        3,  # + the allocations of the page's invoices, one query
    ),
    "payments": Case(
        "/payments",
        lambda a: seed.payments(a, ROWS, lease=seed.leases(a, 1)[0]),
        lambda a: Payment.objects.for_agency(a.pk),
        2,
    ),
    "unmatched": Case(
        "/payments/unmatched",
        lambda a: (
            seed.payments(a, ROWS, unmatched=True),
            seed.payments(a, 3, lease=seed.leases(a, 1)[0]),
        ),
        lambda a: Payment.objects.for_agency(a.pk).filter(lease__isnull=True),
        2,
    ),
    "audit": Case(
        "/audit-entries",
        lambda a: seed.audit_entries(a, ROWS),
        lambda a: AuditEntry.objects.for_agency(a.pk),
        2,
    ),
}


def walk(api: ApiClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, following ``next`` links."""
    items: list[dict[str, Any]] = []
    response = api.get(path, **params)
    while True:
        body = response.json()
        items.extend(body["items"])
        if body["next"] is None:
            assert body["next_cursor"] is None
            return items
        response = api.request("GET", body["next"])


@pytest.mark.parametrize("name", CASES)
def test_list_query_count_does_not_depend_on_page_size(
    name: str, agency: Agency, other_agency: Agency, api: ApiClient
) -> None:
    case = CASES[name]
    case.seed(agency)
    case.seed(other_agency)  # never shown
    with assert_num_queries(case.queries):
        one = api.get(case.path, limit=1)
    with assert_num_queries(case.queries):
        hundred = api.get(case.path, limit=100)
    assert one.status_code == hundred.status_code == 200
    assert len(one.json()["items"]) == 1
    assert len(hundred.json()["items"]) == 100
    assert one.json()["next_cursor"]
    assert hundred.json()["next_cursor"]
    assert one.json()["items"][0] == hundred.json()["items"][0]


@pytest.mark.parametrize("name", CASES)
def test_walking_every_page_yields_each_row_once(
    name: str, agency: Agency, other_agency: Agency, api: ApiClient
) -> None:
    case = CASES[name]
    case.seed(agency)
    case.seed(other_agency)
    items = walk(api, case.path, limit=40)
    ids = [item["id"] for item in items]
    expected = sorted(case.rows(agency).values_list("id", flat=True), reverse=True)
    if name == "members":  # members list oldest first by default
        expected.reverse()
    assert ids == expected
    assert len(ids) >= ROWS


def test_next_link_keeps_filters(agency: Agency, api: ApiClient) -> None:
    seed.properties(agency, 5, status="archived")
    seed.properties(agency, 5)
    first = api.get("/properties", status="archived", limit=2).json()
    assert "status=archived" in first["next"]
    assert "limit=2" in first["next"]
    assert first["next"].startswith("/api/v1/properties?")
    items = walk(api, "/properties", status="archived", limit=2)
    assert len(items) == 5
    assert {i["status"] for i in items} == {"archived"}


@pytest.mark.parametrize(
    ("path", "order", "field", "make"),
    [
        ("/properties", "name", "name", lambda a: seed.properties(a, 30)),
        ("/properties", "-name", "name", lambda a: seed.properties(a, 30)),
        ("/tenants", "full_name", "full_name", lambda a: seed.tenants(a, 30)),
        ("/invoices", "due_date", "due_date", lambda a: seed.invoices(a, 30, allocations_each=1)),
        ("/invoices", "-period", "period", lambda a: seed.invoices(a, 30, allocations_each=1)),
        ("/payments", "paid_at", "paid_at", lambda a: seed.payments(a, 30, unmatched=True)),
        ("/payments", "-paid_at", "paid_at", lambda a: seed.payments(a, 30, unmatched=True)),
        (
            "/payments/unmatched",
            "paid_at",
            "paid_at",
            lambda a: seed.payments(a, 30, unmatched=True),
        ),
        ("/leases", "id", "id", lambda a: seed.leases(a, 30)),
    ],
)
def test_orderings_page_through_in_order(
    agency: Agency, api: ApiClient, path: str, order: str, field: str, make: Callable[..., object]
) -> None:
    make(agency)
    items = walk(api, path, order=order, limit=7)
    keys = [(item[field], item["id"]) for item in items]
    expected = sorted(keys, reverse=order.startswith("-"))
    assert keys == expected
    assert len({item["id"] for item in items}) == len(items) == 30


def test_ordering_by_paid_at_leaves_out_payments_without_a_payment_time(
    agency: Agency, api: ApiClient
) -> None:
    paid = seed.payments(agency, 3, unmatched=True)
    Payment.objects.filter(pk=paid[0].pk).update(status="pending", paid_at=None)
    by_id = api.get("/payments").json()["items"]
    by_time = api.get("/payments", order="paid_at").json()["items"]
    assert len(by_id) == 3
    assert [p["id"] for p in by_time] == [paid[1].pk, paid[2].pk]


def test_a_cursor_only_works_with_its_own_ordering(agency: Agency, api: ApiClient) -> None:
    seed.properties(agency, 3)
    cursor = api.get("/properties", limit=1, order="name").json()["next_cursor"]
    response = api.get("/properties", cursor=cursor, order="-id")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",  # refused by the pattern
        "bm9wZQ",  # base64 of "nope"
        "WyJuYW1lIiwxMjMsMV0",  # ["name",123,1]: a number where the name goes
        "WyJuYW1lIiwiYVx1MDAwMGIiLDFd",  # ["name","a\u0000b",1]: a NUL byte
        "WyJuYW1lIiwiYSIsOTIyMzM3MjAzNjg1NDc3NTgwOF0",  # id 2^63: beyond bigint
    ],
)
def test_forged_cursors_answer_422_not_500(agency: Agency, api: ApiClient, cursor: str) -> None:
    seed.properties(agency, 2)
    response = api.get("/properties", order="name", cursor=cursor)
    assert response.status_code == 422, response.content


def test_forged_date_cursor_is_refused(agency: Agency, api: ApiClient) -> None:
    from keja.platform.pagination import encode_cursor

    seed.invoices(agency, 3, allocations_each=1)
    for bad in ("2026-01-01", 5, {"dt": "2026-01-01T00:00:00"}):
        cursor = encode_cursor("due_date", bad, 1)
        response = api.get("/invoices", order="due_date", cursor=cursor)
        assert response.status_code == 422, (bad, response.content)
    good = encode_cursor("due_date", date(2025, 1, 1), 1)
    assert api.get("/invoices", order="due_date", cursor=good).status_code == 200


@pytest.mark.parametrize("limit", [0, 101, -1, 2**63])
def test_limit_is_bounded(agency: Agency, api: ApiClient, limit: int) -> None:
    response = api.get("/properties", limit=limit)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


# --- filters -----------------------------------------------------------------------------------


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def test_property_filters(agency: Agency, api: ApiClient) -> None:
    rows = seed.properties(agency, 12)
    Property.objects.filter(pk=rows[0].pk).update(name="Baraka Heights", address="Ngong Road")
    Property.objects.filter(pk=rows[1].pk).update(status="archived")
    nairobi = {p.pk for p in rows if p.county == "Nairobi"}
    assert ids(api.get("/properties", county="nairobi", limit=100)) == nairobi
    kilimani = {p.pk for p in rows if p.town == "Kilimani"}
    assert ids(api.get("/properties", town="Kilimani", limit=100)) == kilimani
    assert ids(api.get("/properties", status="archived")) == {rows[1].pk}
    assert ids(api.get("/properties", q="baraka")) == {rows[0].pk}
    assert ids(api.get("/properties", q="ngong")) == {rows[0].pk}
    assert api.get("/properties", status="gone").status_code == 422


def test_unit_filters(agency: Agency, api: ApiClient) -> None:
    mine = seed.units(agency, 3)
    seed.units(agency, 4)
    Unit.objects.filter(pk=mine[0].pk).update(status="maintenance")
    assert ids(api.get("/units", property_id=mine[0].property_id)) == {u.pk for u in mine}
    assert ids(api.get("/units", status="maintenance")) == {mine[0].pk}
    assert ids(api.get("/units", q=mine[2].label, property_id=mine[0].property_id)) == {mine[2].pk}


def test_tenant_filters(agency: Agency, api: ApiClient) -> None:
    rows = seed.tenants(agency, 5)
    Tenant.objects.filter(pk=rows[0].pk).update(
        full_name="Wanjiru Kamau", phone="254722000111", email="wanjiru@example.com"
    )
    Tenant.objects.filter(pk=rows[1].pk).update(status="inactive")
    assert ids(api.get("/tenants", q="wanjiru")) == {rows[0].pk}
    assert ids(api.get("/tenants", q="0722 000 111")) == {rows[0].pk}  # as people type it
    assert ids(api.get("/tenants", q="example.com")) == {rows[0].pk}
    assert ids(api.get("/tenants", status="inactive")) == {rows[1].pk}


def test_lease_filters(agency: Agency, api: ApiClient) -> None:
    rows = seed.leases(agency, 10)  # start dates 2025-01-01 + i days
    Lease.objects.filter(pk=rows[0].pk).update(status="draft")
    assert ids(api.get("/leases", status="draft")) == {rows[0].pk}
    assert ids(api.get("/leases", tenant_id=rows[3].tenant_id)) == {rows[3].pk}
    assert ids(api.get("/leases", unit_id=rows[4].unit_id)) == {rows[4].pk}
    window = api.get("/leases", starts_after="2025-01-03", starts_before="2025-01-05")
    assert ids(window) == {rows[2].pk, rows[3].pk, rows[4].pk}
    assert ids(api.get("/leases", q=rows[5].account_reference.lower())) == {rows[5].pk}
    assert api.get("/leases", starts_after="0001-01-01").status_code == 422


def test_invoice_filters(agency: Agency, api: ApiClient) -> None:
    rows = seed.invoices(agency, 24, allocations_each=1)  # two leases, 12 months each
    Invoice.objects.filter(pk=rows[0].pk).update(status="paid")
    assert ids(api.get("/invoices", status="paid")) == {rows[0].pk}
    lease_id = rows[13].lease_id
    assert ids(api.get("/invoices", lease_id=lease_id, limit=100)) == {
        i.pk for i in rows if i.lease_id == lease_id
    }
    march = {i.pk for i in rows if i.period == date(2025, 3, 1)}
    assert ids(api.get("/invoices", period="2025-03-01")) == march
    due = {i.pk for i in rows if date(2025, 2, 1) <= i.due_date <= date(2025, 2, 28)}
    assert due
    assert ids(api.get("/invoices", due_from="2025-02-01", due_to="2025-02-28", limit=100)) == due


def test_payment_filters(agency: Agency, api: ApiClient) -> None:
    lease = seed.leases(agency, 1)[0]
    rows = seed.payments(agency, 10, lease=lease)  # paid 2026-01-01 09:00 + i hours (UTC)
    Payment.objects.filter(pk=rows[0].pk).update(method="cash", status="reversed")
    assert ids(api.get("/payments", method="cash")) == {rows[0].pk}
    assert ids(api.get("/payments", status="reversed")) == {rows[0].pk}
    window = api.get(
        "/payments", paid_from="2026-01-01T14:00:00+03:00", paid_to="2026-01-01T14:00:00Z"
    )
    assert ids(window) == {r.pk for r in rows[2:5]}  # 11:00Z … 13:00Z
    assert ids(api.get("/payments", q=rows[7].receipt.lower())) == {rows[7].pk}
    assert ids(api.get("/payments", lease_id=lease.pk, limit=100)) == {r.pk for r in rows}
    assert api.get("/payments", paid_from="0001-01-01T00:00:00+05:00").status_code == 422


def test_audit_filters(agency: Agency, api: ApiClient) -> None:
    rows = seed.audit_entries(agency, 6)
    created = {e.pk for e in rows if e.action == "seed.created"}
    assert ids(api.get("/audit-entries", action="seed.created")) == created
    assert ids(api.get("/audit-entries", object_type="seed", object_id="3")) == {rows[3].pk}
    assert ids(api.get("/audit-entries", since="2100-01-01T00:00:00Z")) == set()
