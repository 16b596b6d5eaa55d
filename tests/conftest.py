from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from django.conf import settings
from django.db import connections

ROOT = Path(__file__).resolve().parents[1]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove this run's Redis keys (cache, sessions, queues): each run has its own prefix."""
    if not settings.REDIS_URL:
        return
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        for pattern in (f"*{settings.CACHE_KEY_PREFIX}*", f"{settings.DRAMATIQ_NAMESPACE}*"):
            keys = list(client.scan_iter(match=pattern, count=1000))
            for i in range(0, len(keys), 500):
                client.delete(*keys[i : i + 500])
    except redis.RedisError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_database_url() -> str:
    """URL of the database the tests run against (pytest-django's test database)."""
    cfg = connections["default"].settings_dict
    return f"postgres://{cfg['USER'] or 'postgres'}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}"


test_database_url.__test__ = False  # type: ignore[attr-defined]


def subprocess_env(**overrides: str | None) -> dict[str, str]:
    """Environment for a child process of the app that shares this run's database and Redis
    prefix; a value of None removes the variable."""
    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests' process only
    env.update(
        {
            "KEJA_ENV": "test",
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "KEJA_INSTANCE": settings.KEJA_INSTANCE,
            "DJANGO_SETTINGS_MODULE": "keja.config.settings",
            "KEJA_POOL_STATS_INTERVAL": "0",
            "KEJA_DB_POOL_MIN": "1",
            "KEJA_DB_POOL_MAX": "4",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def wait_for_http(
    url: str, *, status: int = 200, timeout: float = 60.0, proc: subprocess.Popen | None = None
) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = output_of(proc)
            raise AssertionError(
                f"process exited with {proc.returncode} before {url} answered:\n{out}"
            )
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == status:
                return response
            last = response.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer {status} within {timeout}s (last: {last})")


def keja_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "keja.manage", *args]


def spawn(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start a child whose output goes to a temporary file (a pipe nobody drains would fill up
    and block the child); ``stop`` returns that output."""
    log = tempfile.NamedTemporaryFile(prefix="keja-child-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    proc.keja_log = log.name  # type: ignore[attr-defined]
    log.close()
    return proc


def output_of(proc: subprocess.Popen) -> str:
    path = getattr(proc, "keja_log", None)
    if path is None:
        return proc.stdout.read() if proc.stdout else ""
    return Path(path).read_text(errors="replace")


def stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    if getattr(proc, "keja_log", None):
        text = output_of(proc)
        Path(proc.keja_log).unlink(missing_ok=True)  # type: ignore[attr-defined]
        return text
    return out or ""


@pytest.fixture
def live_gunicorn(request: pytest.FixtureRequest) -> Iterator[callable]:  # type: ignore[valid-type]
    """Start gunicorn (the production entry point) with extra environment; stopped afterwards."""
    procs: list[subprocess.Popen] = []

    def start(**env: str | None) -> str:
        port = free_port()
        proc = spawn(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "keja.config.wsgi:application",
                "-c",
                "python:keja.config.gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--no-control-socket",
            ],
            subprocess_env(**env),
        )
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/health/live", proc=proc)
        return base

    yield start
    for proc in procs:
        stop(proc)
