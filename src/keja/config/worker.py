"""Module the ``dramatiq`` command loads: ``dramatiq keja.config.worker``. Setting Django up
builds the broker (platform app) and discovers every context's actors."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keja.config.settings")
django.setup()
