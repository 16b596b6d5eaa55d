from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "keja.billing"
    label = "billing"
