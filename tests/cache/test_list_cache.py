"""List caching (P2.1): console and API list pages come from the agency's ``list`` namespace,
keyed by search, filters, sort and cursor; never across agencies; fresh after every committed
write that changes a list."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from keja.billing.services import invoice_issue
from keja.kernel.clock import add_months, period_of, today_nairobi
from keja.leases.services import lease_terminate
from keja.payments.models import Payment
from keja.payments.services import payment_assign, payment_record
from keja.platform.cache import versioned
from keja.properties.models import Property
from keja.properties.services import property_create, property_update, unit_update
from keja.tenants.services import tenant_create
from tests.factories import (
    make_agency,
    make_billed_lease,
    make_member,
    make_property,
    make_unmatched_payment,
)

pytestmark = pytest.mark.django_db(transaction=True)
HX = {"HTTP_HX_REQUEST": "true"}


def signed_in(agency, role: str = "owner"):
    user, actor = make_member(agency, role)
    client = Client()
    client.force_login(user)
    client.get("/")  # the session now holds the agency
    return client, actor


def table(client: Client, url: str) -> str:
    response = client.get(url, **HX)
    assert response.status_code == 200, response.content[:500]
    # CSRF tokens are masked afresh on every render: take them out before comparing pages
    return re.sub(r'(csrfmiddlewaretoken" value=")[^"]+', r"\1", response.content.decode())


def names(html: str) -> list[str]:
    return re.findall(r'data-name="([^"]+)"', html) or re.findall(r"<a [^>]*>([^<]+)</a>", html)


def queries_touching(table_name: str, fn: Callable[[], object]) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return [q["sql"] for q in ctx.captured_queries if f'"{table_name}"' in q["sql"]]


def test_a_console_list_is_served_from_the_cache_until_a_write() -> None:
    agency = make_agency()
    client, actor = signed_in(agency)
    make_property(actor, name="Amani Court")
    stats_before = versioned.hit_stats()["list"]
    first = table(client, "/properties/")
    assert "Amani Court" in first
    touching = queries_touching("properties_property", lambda: table(client, "/properties/"))
    assert touching == [], touching  # the second read ran no list query
    stats = versioned.hit_stats()["list"]
    assert stats["hit"] >= stats_before["hit"] + 1
    assert stats["miss"] >= stats_before["miss"] + 1
    assert table(client, "/properties/") == first
    property_create(actor=actor, name="Baraka Flats", county="Nairobi", town="Kilimani")
    fresh = table(client, "/properties/")
    assert "Baraka Flats" in fresh
    assert "Amani Court" in fresh


def test_keys_hold_search_filters_sort_and_cursor() -> None:
    agency = make_agency()
    client, actor = signed_in(agency)
    for i in range(30):  # more than one page (25)
        make_property(actor, name=f"Block {i:02d}", town="Kilimani" if i % 2 else "Westlands")
    property_update(
        actor=actor, property_id=Property.objects.get(name="Block 07").pk, status="inactive"
    )
    for url in ("/properties/", "/properties/?sort=name"):
        table(client, url)  # fill the cache
    newest, by_name = table(client, "/properties/"), table(client, "/properties/?sort=name")
    assert newest.index("Block 29") < newest.index("Block 10")
    assert by_name.index("Block 00") < by_name.index("Block 10")
    assert "Block 29" not in by_name  # page one by name ends before it
    searched = table(client, "/properties/?q=Westlands")
    assert "Block 00" in searched
    assert "Block 01" not in searched
    inactive = table(client, "/properties/?status=inactive")
    assert "Block 07" in inactive
    assert "Block 08" not in inactive
    cursor = re.search(r"cursor=([A-Za-z0-9_-]+)", by_name)
    assert cursor is not None, "no next-page link"
    page_two = table(client, f"/properties/?sort=name&cursor={cursor.group(1)}")
    assert "Block 29" in page_two
    assert "Block 00" not in page_two
    # each answer, served again from the cache, is the same as the first
    assert table(client, "/properties/?q=Westlands") == searched
    assert table(client, f"/properties/?sort=name&cursor={cursor.group(1)}") == page_two


def test_never_served_to_another_agency() -> None:
    mine, theirs = make_agency(), make_agency()
    my_client, me = signed_in(mine)
    their_client, them = signed_in(theirs)
    make_property(me, name="Mine Only")
    make_property(them, name="Theirs Only")
    for _ in range(2):
        assert "Mine Only" in table(my_client, "/properties/")
    for _ in range(2):
        answer = table(their_client, "/properties/")
        assert "Theirs Only" in answer
        assert "Mine Only" not in answer


def test_a_bad_cursor_shows_the_first_page_and_stores_nothing_wrong() -> None:
    agency = make_agency()
    client, actor = signed_in(agency)
    make_property(actor, name="Amani Court")
    for _ in range(2):
        html = table(client, "/properties/?cursor=not-a-cursor")
        assert "no longer fits" in html
        assert "Amani Court" in html


@pytest.fixture
def books():
    agency = make_agency()
    client, actor = signed_in(agency)
    today = today_nairobi()
    lease = make_billed_lease(actor, months=2, rent="20000.00", today=today)
    other = make_billed_lease(actor, months=1, rent="9000.00", today=today)
    unmatched = make_unmatched_payment(actor, "1500.00", receipt="UNMATCH001")
    return client, actor, lease, other, unmatched


def test_every_console_list_is_fresh_after_a_write(books) -> None:
    """Each list: read it (now cached), commit a write through the service, read again."""
    client, actor, lease, other, unmatched = books
    today = today_nairobi()

    def check(url: str, change: Callable[[], object], present: str, absent: str = "") -> None:
        before = table(client, url)
        assert table(client, url) == before  # served from the cache
        assert present not in before or absent in before, (url, "the change is already shown")
        change()
        after = table(client, url)
        assert present in after, (url, present)
        if absent:
            assert absent not in after, (url, absent)

    check(
        "/properties/",
        lambda: property_create(actor=actor, name="Zawadi Towers", county="Nairobi", town="Ruaka"),
        "Zawadi Towers",
    )
    check(
        "/units/?sort=rent",
        lambda: unit_update(actor=actor, unit_id=lease.unit_id, monthly_rent=Decimal("987654.00")),
        "987,654",
    )
    check(
        "/tenants/",
        lambda: tenant_create(actor=actor, full_name="Halima Njeri Wekesa", phone="0712345678"),
        "Halima Njeri Wekesa",
    )
    check(
        "/leases/?status=terminated",
        lambda: lease_terminate(actor=actor, lease_id=other.pk, end_date=today),
        other.account_reference,
    )
    next_period = add_months(period_of(today), 1)
    check(
        f"/invoices/?period={next_period:%Y-%m}",
        lambda: invoice_issue(agency_id=actor.agency_id, lease_id=lease.pk, period=next_period),
        lease.account_reference,
    )
    check(
        "/payments/",
        lambda: payment_record(
            actor=actor, lease_id=lease.pk, amount=Decimal("4321.00"), method="cash"
        ),
        "4,321",
    )
    check(
        "/payments/unmatched/",
        lambda: payment_assign(actor=actor, payment_id=unmatched.pk, lease_id=lease.pk),
        present="every payment is matched",
        absent="UNMATCH001",
    )
    shown = re.search(
        r'data-testid="shown">(\d+) shown', table(client, "/audit/?object_type=payment")
    )
    assert shown is not None
    check(
        "/audit/?object_type=payment",
        lambda: payment_record(
            actor=actor, lease_id=other.pk, amount=Decimal("1111.00"), method="bank"
        ),
        f'data-testid="shown">{int(shown.group(1)) + 1} shown',
    )
    assert Payment.objects.for_agency(actor).filter(amount=Decimal("1111.00")).exists()


def test_api_lists_are_cached_and_fresh_for_session_callers(books) -> None:
    client, actor, lease, _other, _unmatched = books
    url = "/api/v1/payments?limit=5"
    first = client.get(url)
    assert first.status_code == 200, first.content
    touching = queries_touching("payments_payment", lambda: client.get(url))
    assert touching == [], touching
    assert client.get(url).json() == first.json()
    payment_record(actor=actor, lease_id=lease.pk, amount=Decimal("777.00"), method="cash")
    fresh = client.get(url).json()
    assert fresh["items"][0]["amount"] == "777.00"
    assert fresh != first.json()


def test_lists_with_unaudited_changes_are_not_cached(books) -> None:
    client, *_ = books
    client.get("/api/v1/agency/api-keys")
    touching = queries_touching("agencies_apikey", lambda: client.get("/api/v1/agency/api-keys"))
    assert touching, "the API keys list must be read from PostgreSQL every time"


def test_list_keys_hold_every_parameter_and_the_day() -> None:
    """A list cached today is not served tomorrow (filters such as overdue read the date), and
    no two parameter sets share a key."""
    from keja.platform.cache.lists import list_key

    day = date(2026, 3, 17)
    base = {"q": "", "sort": "newest", "cursor": None, "limit": 25}
    key = list_key("console:invoices", base, day)
    assert list_key("console:invoices", dict(reversed(base.items())), day) == key  # order-free
    assert list_key("console:invoices", base, day + timedelta(days=1)) != key
    variants = [
        {**base, "q": "x"},
        {**base, "sort": "due"},
        {**base, "cursor": "abc"},
        {**base, "limit": 50},
        {**base, "status": "open"},
    ]
    keys = {list_key("console:invoices", v, day) for v in variants}
    assert len(keys) == len(variants)
    assert key not in keys
    assert list_key("console:payments", base, day) != key
