from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "keja.payments"
    label = "payments"

    def ready(self) -> None:
        # The Daraja circuit breaker in the detailed /health report and in /metrics (P6.1).
        from keja.payments.adapters import breaker_report, register_breaker_collector
        from keja.platform.health.extras import register_report_provider

        register_report_provider("mpesa_breaker", breaker_report)
        register_breaker_collector()
