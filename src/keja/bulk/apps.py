from django.apps import AppConfig


class BulkConfig(AppConfig):
    name = "keja.bulk"
    label = "bulk"
