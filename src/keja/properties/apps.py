from django.apps import AppConfig


class PropertiesConfig(AppConfig):
    name = "keja.properties"
    label = "properties"
