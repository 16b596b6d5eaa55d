"""Dashboard cache (P2.1): every committed write that changes the figures makes the next read
fresh; warming fills the cache; `keja cache` inspects, warms and invalidates by namespace."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from keja.agencies.models import Agency
from keja.billing.services import invoice_issue, invoices_mark_overdue, late_fees_apply
from keja.kernel.clock import period_of, today_nairobi
from keja.leases.services import lease_end
from keja.payments.models import Payment
from keja.payments.services import payment_assign, payment_record, payment_reverse
from keja.platform.cache import versioned
from keja.platform.scoping import Actor
from keja.properties.services import unit_create, unit_update
from keja.reports.selectors import dashboard_cached, dashboard_figures
from keja.reports.warming import warm_dashboards
from tests.factories import make_agency, make_lease, make_property, owner_actor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    actor = owner_actor(make_agency())
    today = today_nairobi()
    lease = make_lease(actor, rent="10000", start=period_of(today) - timedelta(days=70))
    for back in (2, 1):
        invoice_issue(
            agency_id=actor.agency_id,
            lease_id=lease.pk,
            period=period_of(period_of(today) - timedelta(days=28 * back)),
        )
    return actor, lease


def assert_fresh(actor: Actor, change: Callable[[], object]) -> None:
    before = dashboard_cached(actor=actor)
    assert dashboard_cached(actor=actor) == before  # served from the cache
    change()
    after = dashboard_cached(actor=actor)
    assert after == dashboard_figures(actor=actor), (
        "cache served figures older than the last commit"
    )
    assert after != before, "the change did not change the figures (a useless test)"


def test_payment_recorded_and_reversed(world) -> None:
    actor, lease = world
    assert_fresh(
        actor, lambda: payment_record(actor=actor, lease_id=lease.pk, amount="2500", method="cash")
    )
    payment = Payment.objects.for_agency(actor).latest("id")
    assert_fresh(
        actor, lambda: payment_reverse(actor=actor, payment_id=payment.pk, reason="entered twice")
    )


def test_unmatched_payment_assigned(world) -> None:
    actor, lease = world
    from django.utils import timezone

    unmatched = Payment.objects.for_agency(actor).create(
        method="mpesa_paybill",
        status="completed",
        amount="700",
        paid_at=timezone.now(),
        receipt="QQQ111",
    )
    assert_fresh(
        actor, lambda: payment_assign(actor=actor, payment_id=unmatched.pk, lease_id=lease.pk)
    )


def test_invoice_issued(world) -> None:
    actor, lease = world
    assert_fresh(
        actor,
        lambda: invoice_issue(
            agency_id=actor.agency_id, lease_id=lease.pk, period=period_of(today_nairobi())
        ),
    )


def test_late_fee_charged(world) -> None:
    actor, _ = world
    Agency.objects.filter(pk=actor.agency_id).update(
        late_fee_kind="flat", late_fee_value="500", late_fee_grace_days=0
    )
    assert_fresh(actor, lambda: late_fees_apply(agency_id=actor.agency_id))


def test_overdue_marked_and_units_changed(world) -> None:
    actor, lease = world
    prop = make_property(actor)
    assert_fresh(
        actor,
        lambda: unit_create(actor=actor, property_id=prop.pk, label="B9", monthly_rent="9000"),
    )
    assert_fresh(actor, lambda: lease_end(actor=actor, lease_id=lease.pk, end_date=today_nairobi()))
    unit = lease.unit
    assert_fresh(actor, lambda: unit_update(actor=actor, unit_id=unit.pk, status="occupied"))
    invoices_mark_overdue(
        agency_id=actor.agency_id, today=date(2100, 1, 1)
    )  # runs and bumps without error


def test_cache_is_per_agency(world) -> None:
    actor, _lease = world
    other = owner_actor(make_agency())
    mine = dashboard_cached(actor=actor)
    theirs = dashboard_cached(actor=other)
    assert mine.agency_id == actor.agency_id
    assert theirs.agency_id == other.agency_id
    assert theirs.units_total == 0
    assert mine.units_total == 1


def test_warming_fills_the_cache(world) -> None:
    actor, _ = world
    versioned.bump("dash", actor.agency_id)
    name = f"figures:{today_nairobi().isoformat()}"
    assert versioned.read("dash", actor.agency_id, name)[1] is versioned.MISSING
    assert warm_dashboards([actor.agency_id]) == 1
    assert versioned.read("dash", actor.agency_id, name)[1] == dashboard_figures(actor=actor)


def test_cache_command(world) -> None:
    actor, _ = world
    dashboard_cached(actor=actor)
    out = StringIO()
    call_command("cache", "stats", stdout=out)
    stats = json.loads(out.getvalue())
    assert stats["status"] == "ok"
    assert stats["keys"]["dash"] >= 1
    assert stats["hits"]["dash"]["miss"] >= 1
    out = StringIO()
    before = versioned.current_version("dash", actor.agency_id)
    call_command(
        "cache", "invalidate", "--agency", str(actor.agency_id), "--area", "dash", stdout=out
    )
    assert versioned.current_version("dash", actor.agency_id) == before + 1
    out = StringIO()
    call_command("cache", "warm", "--agency", str(actor.agency_id), stdout=out)
    assert "dash" in out.getvalue()
