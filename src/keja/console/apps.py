from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "keja.console"
    label = "console"
