from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "keja.agencies"
    label = "agencies"
