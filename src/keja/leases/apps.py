from django.apps import AppConfig


class LeasesConfig(AppConfig):
    name = "keja.leases"
    label = "leases"
