"""``keja worker``: the Dramatiq worker for Keja's actors (Redis broker)."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run the Dramatiq worker that processes Keja's background jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--processes", type=int, default=int(os.environ.get("KEJA_WORKER_PROCESSES", "2"))
        )
        parser.add_argument(
            "--threads", type=int, default=int(os.environ.get("KEJA_WORKER_THREADS", "4"))
        )
        parser.add_argument("--queues", nargs="*", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.REDIS_URL:
            raise CommandError(
                "No REDIS_URL: in the embedded mode jobs run in a worker thread inside the web "
                "process; set REDIS_URL to run a separate worker."
            )
        argv = [
            sys.executable,
            "-m",
            "dramatiq",
            "keja.config.worker",
            "--processes",
            str(options["processes"]),
            "--threads",
            str(options["threads"]),
        ]
        if options["queues"]:
            argv += ["--queues", *options["queues"]]
        os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with the worker
