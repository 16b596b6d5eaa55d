from __future__ import annotations

from django.urls import include, path

from keja.config.api import api
from keja.platform.health import views as health
from keja.platform.monitoring.metrics import metrics_view

urlpatterns = [
    path("health", health.report, name="health"),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("health/startup", health.startup, name="health-startup"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", api.urls),
    path("mpesa/", include("keja.payments.urls")),
    # Daraja refuses to register C2B URLs containing "mpesa": the same callbacks, neutral path.
    path("hooks/", include(("keja.payments.urls", "hooks"))),
    path("", include("keja.console.urls")),
]

handler404 = "keja.platform.api.problems.not_found_view"
