from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "keja.jobs"
    label = "jobs"
