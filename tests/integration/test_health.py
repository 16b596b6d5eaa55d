"""Health endpoints (P3.4): liveness, readiness, startup and the detailed report."""

from __future__ import annotations

import httpx
import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_live_checks_no_dependency(client: Client) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_every_dependency(client: Client) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert set(checks) == {"database", "redis", "broker"}
    assert all(c["status"] == "ok" for c in checks.values())
    assert all(c["latency_ms"] >= 0 for c in checks.values())


def test_ready_names_redis_when_unreachable(client: Client, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert "redis" in body["failed"]
    assert "database" not in body["failed"]
    assert client.get("/health/live").status_code == 200


def test_startup_reports_migrations_applied(client: Client) -> None:
    response = client.get("/health/startup")
    assert response.status_code == 200
    assert response.json()["checks"]["migrations"]["status"] == "ok"


def test_report_hides_details_from_anonymous(client: Client) -> None:
    body = client.get("/health").json()
    assert body == {"status": "ok"}


def test_report_details_with_token(client: Client, settings) -> None:
    settings.KEJA_HEALTH_TOKEN = "s3cret-token"
    assert client.get("/health", HTTP_X_HEALTH_TOKEN="wrong").json() == {"status": "ok"}
    body = client.get("/health", HTTP_X_HEALTH_TOKEN="s3cret-token").json()
    assert body["status"] == "ok"
    assert {"database", "redis", "broker", "migrations"} <= set(body["checks"])
    assert body["checks"]["database"]["latency_ms"] >= 0
    assert body["version"]
    assert body["uptime_s"] >= 0
    assert body["db_pool"]["pool_max"] == 20
    assert {"pool_size", "idle", "waiting", "requests_wait_ms", "requests_errors"} <= set(
        body["db_pool"]
    )


def test_report_details_for_staff(client: Client, django_user_model) -> None:
    staff = django_user_model.objects.create_user(
        "ops@keja.example", password="pw-123456", is_staff=True
    )
    client.force_login(staff)
    assert "checks" in client.get("/health").json()


@pytest.mark.slow
def test_real_server_with_redis_down(live_gunicorn) -> None:
    """gunicorn with REDIS_URL pointing nowhere: ready is 503 naming redis, live stays 200."""
    base = live_gunicorn(REDIS_URL="redis://127.0.0.1:1/0")
    assert httpx.get(f"{base}/health/live").status_code == 200
    ready = httpx.get(f"{base}/health/ready", timeout=10)
    assert ready.status_code == 503
    assert "redis" in ready.json()["failed"]
    assert "database" not in ready.json()["failed"]


def test_metrics_expose_pool_statistics(client: Client, settings) -> None:
    settings.KEJA_HEALTH_TOKEN = "metrics-token"
    assert client.get("/metrics").status_code == 403
    client.get("/health/ready")  # makes sure this process's pool is open
    body = client.get("/metrics", HTTP_X_HEALTH_TOKEN="metrics-token").content.decode()
    assert "keja_db_pool_max 20.0" in body
    assert "keja_db_requests_waiting" in body
