"""`keja scheduler` runs the dramatiq-crontab scheduler with every actor's schedule and holds
the Redis lock, so a second scheduler does not start firing too."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.conftest import ROOT, keja_cmd, spawn, stop, subprocess_env

pytestmark = pytest.mark.slow


def test_scheduler_starts_with_the_lock_and_a_second_one_waits() -> None:
    env = subprocess_env()
    first = spawn(keja_cmd("scheduler"), env)
    try:
        time.sleep(6)
        assert first.poll() is None, "the scheduler exited"
        second = subprocess.run(
            keja_cmd("scheduler"),
            env={**env, "PYTHONUNBUFFERED": "1"},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert "Another scheduler is already running" in second.stderr + second.stdout
    finally:
        out = stop(first)
    assert "Starting scheduler" in out, out
