from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "keja.tenants"
    label = "tenants"
