"""Query logging (P1.2, P3.2): each request logs its query count and total time with its request
id; a query slower than the threshold is logged on its own."""

from __future__ import annotations

import pytest
from django.test import override_settings

from keja.agencies.models import Agency
from tests.api.client import ApiClient

pytestmark = pytest.mark.django_db


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, object]]:
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == name]


def test_each_request_logs_its_query_count_and_time(
    agency: Agency, api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="keja.db.queries"):
        api.request("GET", "/properties", headers={"X-Request-ID": "q-1"})
    (event,) = events(caplog, "db_queries")
    assert event["request_id"] == "q-1"
    assert event["agency_id"] == agency.pk
    assert event["count"] == 2
    assert isinstance(event["total_ms"], float)
    assert event["total_ms"] >= 0
    assert not events(caplog, "slow_query")


def test_slow_queries_are_logged_with_their_sql(
    agency: Agency, api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(KEJA_SLOW_QUERY_MS=0), caplog.at_level("INFO", logger="keja.db.queries"):
        api.request("GET", "/properties", headers={"X-Request-ID": "q-2"})
    slow = events(caplog, "slow_query")
    assert len(slow) == 2
    assert all(e["request_id"] == "q-2" and "SELECT" in str(e["sql"]) for e in slow)
    assert events(caplog, "db_queries")[0]["slow"] == 2


def test_requests_without_queries_log_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="keja.db.queries"):
        ApiClient().get("/ping")
    assert not events(caplog, "db_queries")


def _timings(header: str) -> dict[str, str]:
    return {part.split(";", 1)[0].strip(): part.strip() for part in header.split(",")}


def test_responses_carry_server_timing_with_the_database_share(
    agency: Agency, api: ApiClient
) -> None:
    """Server-Timing (P3.1): the application's time and the database's, with the query count,
    parsed as the header's grammar says (metric;dur=<ms>;desc="...")."""
    response = api.request("GET", "/properties")
    timings = _timings(response["Server-Timing"])
    assert set(timings) == {"db", "app"}
    app_ms = float(timings["app"].split("dur=")[1])
    db_part = timings["db"]
    db_ms = float(db_part.split("dur=")[1].split(";")[0])
    assert db_part.endswith('desc="2 queries"')
    assert 0 <= db_ms <= app_ms


def test_a_request_without_queries_reports_only_the_application_time(api: ApiClient) -> None:
    response = api.client.get("/health/live")
    assert list(_timings(response["Server-Timing"])) == ["app"]


def test_server_timing_can_be_turned_off(agency: Agency, api: ApiClient) -> None:
    with override_settings(KEJA_SERVER_TIMING=False):
        response = api.request("GET", "/properties")
    assert "Server-Timing" not in response
