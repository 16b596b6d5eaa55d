from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "keja.payments"
    label = "payments"
