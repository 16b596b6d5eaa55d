"""Scheduled and on-demand billing jobs: thin, idempotent wrappers around billing services."""

from __future__ import annotations

import dramatiq
import structlog
from dramatiq_crontab import cron

from keja.agencies.models import Agency
from keja.billing import services
from keja.kernel.clock import today_nairobi

log = structlog.get_logger(__name__)


@dramatiq.actor(actor_name="billing_issue_lease_invoices", max_retries=5)
def billing_issue_lease_invoices(agency_id: int, lease_id: int) -> None:
    services.lease_invoices_issue(agency_id=agency_id, lease_id=lease_id)


@dramatiq.actor(
    actor_name="billing_generate_agency_invoices", max_retries=5, time_limit=30 * 60_000
)
def billing_generate_agency_invoices(agency_id: int, period: str) -> None:
    from datetime import date

    report = services.invoices_generate_for_period(
        agency_id=agency_id, period=date.fromisoformat(period)
    )
    log.info(
        "invoices_generated",
        agency_id=agency_id,
        period=period,
        issued=report.applied,
        rejected=len(report.rejected),
    )


# 00:05 in Nairobi (21:05 UTC the day before) on the 1st: fan out one message per agency.
@cron("5 21 * * *")
@dramatiq.actor(actor_name="billing_monthly_invoices")
def billing_monthly_invoices() -> None:
    today = today_nairobi()
    if today.day != 1:
        return
    for agency_id in Agency.objects.values_list("id", flat=True).order_by("id"):
        billing_generate_agency_invoices.send(agency_id, today.isoformat())


@cron("30 21 * * *")
@dramatiq.actor(actor_name="billing_daily_late_fees")
def billing_daily_late_fees() -> None:
    for agency_id in Agency.objects.values_list("id", flat=True).order_by("id"):
        services.invoices_mark_overdue(agency_id=agency_id)
        services.late_fees_apply(agency_id=agency_id)
