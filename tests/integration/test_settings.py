"""Configuration from the environment: production refuses to start without its services, and is
clean under `check --deploy`; keys are prefixed per environment and test worker."""

from __future__ import annotations

import subprocess

import pytest
from django.conf import settings

from tests.conftest import ROOT, keja_cmd, subprocess_env

GOOD_SECRET = "k" * 20 + "Z9x!q" * 10


def run_check(*args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        keja_cmd("check", *args),
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    ("missing", "message"),
    [("SECRET_KEY", "SECRET_KEY"), ("DATABASE_URL", "DATABASE_URL"), ("REDIS_URL", "REDIS_URL")],
)
def test_production_refuses_to_start_without(missing: str, message: str) -> None:
    env: dict[str, str | None] = {
        "KEJA_ENV": "production",
        "SECRET_KEY": GOOD_SECRET,
        "ALLOWED_HOSTS": "keja.example",
    }
    env[missing] = None
    result = run_check(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_rejects_sqlite_url() -> None:
    result = run_check(
        KEJA_ENV="production",
        SECRET_KEY=GOOD_SECRET,
        ALLOWED_HOSTS="keja.example",
        DATABASE_URL="sqlite:///tmp/x.db",
    )
    assert result.returncode != 0
    assert "PostgreSQL" in result.stderr


def test_check_deploy_is_clean_in_production() -> None:
    result = run_check(
        "--deploy",
        "--fail-level",
        "WARNING",
        KEJA_ENV="production",
        SECRET_KEY=GOOD_SECRET,
        ALLOWED_HOSTS="keja.example",
        DEBUG="false",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_keys_are_prefixed_per_environment_and_run() -> None:
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    assert prefix.startswith("keja:test:")
    assert settings.KEJA_INSTANCE in prefix
    assert settings.DRAMATIQ_NAMESPACE.startswith("dramatiq:test:")


def test_sessions_are_read_from_redis_and_kept_in_postgres() -> None:
    # P6.2: stateless web processes (sessions read from Redis), and nothing lost when Redis
    # evicts or goes away (tests/integration/test_sessions.py)
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")


def test_pool_configuration() -> None:
    db = settings.DATABASES["default"]
    assert db["CONN_MAX_AGE"] == 0
    assert db["OPTIONS"]["pool"]["min_size"] == 5
    assert db["OPTIONS"]["pool"]["max_size"] == 20
