from __future__ import annotations

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "keja.reports"
    label = "reports"

    def ready(self) -> None:
        from keja.platform.cache import registry, versioned
        from keja.reports import warming

        registry.register_warmer("dash", warming.warm_dashboards)
        registry.on_startup(warming.request_startup_warm)
        versioned.on_bump(warming.after_bump)
