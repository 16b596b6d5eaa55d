from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from keja.jobs.models import JobRun
from keja.platform.jobs.enqueue import send_on_commit


@transaction.atomic
def selfcheck_enqueue() -> JobRun:
    """Queue the self-check job: proves a worker picks messages up and can write to the database."""
    run = JobRun.objects.create(kind="selfcheck")
    send_on_commit("jobs_selfcheck", run_id=run.pk)
    return run


def selfcheck_run(*, run_id: int, message_id: str = "") -> None:
    now = timezone.now()
    updated = JobRun.objects.filter(pk=run_id, status=JobRun.Status.QUEUED).update(
        status=JobRun.Status.SUCCEEDED,
        started_at=now,
        finished_at=now,
        progress=1,
        total=1,
        message="worker reached the database",
        message_id=message_id,
    )
    if not updated and not JobRun.objects.filter(pk=run_id).exists():
        raise LookupError(f"job run {run_id} does not exist")
