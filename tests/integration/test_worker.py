"""A real Dramatiq worker on Redis processes a message end to end (it reads and writes the
test database through the pool, with connections closed around each message)."""

from __future__ import annotations

import time

import pytest

from keja.jobs.models import JobRun
from keja.jobs.services import selfcheck_enqueue
from tests.conftest import keja_cmd, spawn, stop, subprocess_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_real_worker_processes_selfcheck_job() -> None:
    worker = spawn(keja_cmd("worker", "--processes", "1", "--threads", "2"), subprocess_env())
    try:
        run = selfcheck_enqueue()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.status == JobRun.Status.SUCCEEDED:
                break
            assert worker.poll() is None, "worker exited"
            time.sleep(0.2)
        assert run.status == JobRun.Status.SUCCEEDED, stop(worker)
        assert run.message_id  # CurrentMessage middleware gave the actor its message
        assert run.finished_at is not None
    finally:
        stop(worker)
