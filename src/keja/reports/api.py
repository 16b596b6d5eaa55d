"""Reports: the dashboard figures, computed by database aggregation (a fixed number of queries
whatever the agency's size)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from keja.kernel.clock import today_nairobi
from keja.platform.api import READ_ERRORS, problem_responses, request_actor
from keja.reports.schemas import DashboardOut, DashboardQuery
from keja.reports.selectors import Dashboard, dashboard_cached, dashboard_figures

router = Router(tags=["reports"])


@router.get(
    "/reports/dashboard",
    response={200: DashboardOut, **problem_responses(READ_ERRORS)},
    summary="Dashboard figures",
)
def dashboard(request: HttpRequest, query: Query[DashboardQuery]) -> Dashboard:
    """Occupancy, billing and collection this month, arrears by age, overdue invoices,
    unmatched payments and the latest payments."""
    actor = request_actor(request)
    if query.as_of is None or query.as_of == today_nairobi():
        return dashboard_cached(actor=actor)  # P2.1: cached 5 minutes, fresh after any change
    return dashboard_figures(actor=actor, today=query.as_of)
