from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "keja.reports"
    label = "reports"
