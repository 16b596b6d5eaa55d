"""The embedded default: no DATABASE_URL and no REDIS_URL means SQLite under var/, an
in-process cache and an in-memory broker whose worker runs inside the process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port, keja_cmd, spawn, stop, subprocess_env, wait_for_http

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import time, django
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    assert settings.EMBEDDED_DB and settings.EMBEDDED_REDIS, "not embedded"
    assert settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
    call_command("migrate", verbosity=0)
    response = Client().get("/health/ready")
    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert checks["redis"]["status"] == "embedded" and checks["broker"]["status"] == "embedded", checks
    from keja.jobs.models import JobRun
    from keja.jobs.services import selfcheck_enqueue
    run = selfcheck_enqueue()
    for _ in range(200):
        run.refresh_from_db()
        if run.status == "succeeded":
            break
        time.sleep(0.05)
    assert run.status == "succeeded", run.status
    # idempotency records on SQLite (INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING)
    from tests.api.conftest import make_key
    from tests.factories import make_agency
    from keja.properties.models import Property
    agency = make_agency()
    api = Client(headers={"Authorization": "Bearer " + make_key(agency), "Idempotency-Key": "e-1"})
    body = '{"name": "Embedded Court", "county": "Nairobi", "town": "Kilimani"}'
    first = api.post("/api/v1/properties", body, content_type="application/json")
    again = api.post("/api/v1/properties", body, content_type="application/json")
    assert first.status_code == 201 and again.status_code == 201, (first.content, again.content)
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    other = api.post("/api/v1/properties", body.replace("Embedded", "Other"), content_type="application/json")
    assert other.status_code == 409, other.content
    assert Property.objects.filter(agency=agency).count() == 1
    print("EMBEDDED-OK", settings.DATABASES["default"]["NAME"])
    """
)


def embedded_env(var_dir: Path) -> dict[str, str]:
    return subprocess_env(
        DATABASE_URL=None,
        REDIS_URL=None,
        KEJA_ENV="development",
        KEJA_VAR_DIR=str(var_dir),
        KEJA_DOTENV=str(var_dir / "no.env"),
    )


def test_embedded_migrate_request_and_job(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=embedded_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "EMBEDDED-OK" in result.stdout
    assert str(tmp_path) in result.stdout  # the SQLite file lives under the configured var/


def test_demo_serves_ready_and_login_on_embedded_defaults(tmp_path: Path) -> None:
    """What `make demo` runs: migrate, seed, serve; /health/ready answers 200 and the login
    page is served, with no PostgreSQL or Redis configured."""
    port = free_port()
    proc = spawn(keja_cmd("demo", "--addr", f"127.0.0.1:{port}"), embedded_env(tmp_path))
    try:
        ready = wait_for_http(f"http://127.0.0.1:{port}/health/ready", timeout=170, proc=proc)
        assert ready.json()["status"] == "ok"
        login = httpx.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=10)
        assert login.status_code == 200
        assert "Sign in" in login.text
    finally:
        out = stop(proc)
    assert "admin@keja.example" in out, out
