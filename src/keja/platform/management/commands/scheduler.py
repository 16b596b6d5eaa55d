"""``keja scheduler``: fires the cron-scheduled actors (dramatiq-crontab).

With Redis, the scheduler holds a Redis lock, so two schedulers never double-fire."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Run the scheduler that sends Keja's periodic jobs (one active scheduler per deployment)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Actors (and their schedules) were discovered when Django started (platform app).
        call_command("crontab", no_heartbeat=True)
