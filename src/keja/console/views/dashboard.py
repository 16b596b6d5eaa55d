"""The dashboard: the agency's day at a glance, each figure linking to the list behind it."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from keja.console.selectors import AGING_BUCKETS
from keja.console.views.base import actor_of, console_view, page
from keja.reports.selectors import dashboard_cached


def _url(name: str, **params: str) -> str:
    return reverse(name) + (f"?{urlencode(params)}" if params else "")


@console_view()
def home(request: HttpRequest) -> HttpResponse:
    # dashboard_figures (database aggregation) behind the per-agency versioned cache (P2.1):
    # five minutes at most, and a new version as soon as any write to the agency commits.
    figures = dashboard_cached(actor=actor_of(request))
    request.nav.prime_unmatched(figures.unmatched_payments)  # type: ignore[attr-defined]
    month = figures.as_of.strftime("%Y-%m")
    links = {
        "units": _url("console:units"),
        "occupied": _url("console:units", status="occupied"),
        "billed": _url("console:invoices", period=month),
        "collected": _url("console:payments", status="completed", month=month),
        "arrears": _url("console:invoices", aging="overdue", sort="due"),
        "unmatched": _url("console:payments_unmatched"),
        "payments": _url("console:payments"),
        **{f"aging_{k}": _url("console:invoices", aging=k, sort="due") for k in AGING_BUCKETS},
    }
    aging = [
        ("0–30 days", figures.arrears_0_30, links["aging_0-30"]),
        ("31–60 days", figures.arrears_31_60, links["aging_31-60"]),
        ("61–90 days", figures.arrears_61_90, links["aging_61-90"]),
        ("Over 90 days", figures.arrears_90_plus, links["aging_90+"]),
    ]
    return page(request, "console/pages/home.html", {"d": figures, "links": links, "aging": aging})
