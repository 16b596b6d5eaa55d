from __future__ import annotations

import dramatiq

from keja.reports import warming


@dramatiq.actor(actor_name="reports_warm_dashboards", max_retries=2, time_limit=5 * 60_000)
def reports_warm_dashboards(agency_ids: list[int] | None = None) -> None:
    warming.warm_dashboards(agency_ids)
