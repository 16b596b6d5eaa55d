"""``keja demo``: migrate, seed the demo data, then serve the console and API with a worker and
the scheduler, in the foreground until Ctrl-C.

On the embedded defaults (no DATABASE_URL, no REDIS_URL) everything runs in this one process:
SQLite, an in-memory broker whose worker is a thread, and the scheduler in a thread. With Redis
configured, the worker and scheduler run as child processes, as in production."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Set up and serve a demo of Keja on http://127.0.0.1:8000 (Ctrl-C stops it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default=os.environ.get("KEJA_DEMO_ADDR", "127.0.0.1:8000"))
        parser.add_argument("--scale", default="small")
        parser.add_argument("--no-serve", action="store_true", help="Set up only.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        self._seed(options["scale"])
        if options["no_serve"]:
            return
        children = self._start_background()
        self.stdout.write(
            self.style.SUCCESS(f"Serving Keja on http://{options['addr']}/ (Ctrl-C to stop)")
        )
        try:
            call_command("runserver", options["addr"], use_reloader=False, skip_checks=True)
        finally:
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()

    def _seed(self, scale: str) -> None:
        from keja.agencies.models import Agency

        if not Agency.objects.exists():
            from django.core.management import get_commands

            if "seed_demo" in get_commands():
                call_command("seed_demo", scale=scale)
            else:
                Agency.objects.create(name="Demo Realty", slug="demo-realty")
        user_model = get_user_model()
        email = "admin@keja.example"
        if not user_model.objects.filter(username=email).exists():
            user_model.objects.create_superuser(
                username=email, email=email, password=settings.KEJA_DEMO_PASSWORD
            )
        agency = Agency.objects.order_by("pk").first()
        self.stdout.write(
            self.style.SUCCESS(f"Demo logins (password: {settings.KEJA_DEMO_PASSWORD}):")
        )
        self.stdout.write(f"  platform staff : {email}")
        if agency is not None:
            self.stdout.write(f"  agency owner   : owner@{agency.slug}.example")

    def _start_background(self) -> list[subprocess.Popen[bytes]]:
        if not settings.REDIS_URL:
            import dramatiq

            from keja.platform.jobs.broker import ensure_inprocess_worker

            ensure_inprocess_worker(dramatiq.get_broker())
            from dramatiq_crontab import scheduler

            # Actors registered their schedules when Django started; the scheduler's own command
            # installs signal handlers, which only the main thread may do, so start it directly.
            threading.Thread(target=scheduler.start, name="keja-scheduler", daemon=True).start()
            self.stdout.write("Worker and scheduler run in this process (embedded mode).")
            return []
        keja = [sys.executable, "-m", "keja.manage"]
        return [
            subprocess.Popen([*keja, "worker", "--processes", "1", "--threads", "4"]),
            subprocess.Popen([*keja, "scheduler"]),
        ]
