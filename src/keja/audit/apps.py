from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "keja.audit"
    label = "audit"
