"""``keja cache``: inspect, warm and invalidate caches by namespace (never a global flush).

keja cache stats                      hit/miss per area, key counts, Redis memory and policy
keja cache warm [--area dash] [--agency 3 --agency 5]
keja cache invalidate --agency 3 [--area dash]
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from keja.platform.cache import info, registry, versioned


class Command(BaseCommand):
    help = "Inspect, warm and invalidate Keja's caches (by namespace; never a global flush)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["stats", "warm", "invalidate"])
        parser.add_argument("--area", choices=["dash", "list", "http"], default=None)
        parser.add_argument("--agency", type=int, action="append", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "stats":
            self.stdout.write(json.dumps(info.summary(with_keys=True), indent=2, default=str))
        elif action == "warm":
            done = registry.warm(options["area"], options["agency"])
            self.stdout.write(f"warmed: {done}")
        else:
            agencies = options["agency"]
            if not agencies:
                raise CommandError(
                    "invalidate needs --agency (namespaces are per agency; no global flush)"
                )
            areas = [options["area"]] if options["area"] else list(versioned.AGENCY_AREAS)
            for agency_id in agencies:
                for area in areas:
                    version = versioned.bump(area, agency_id)
                    self.stdout.write(f"agency {agency_id} {area}: now v{version}")
