import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keja.config.settings")
application = get_wsgi_application()

from keja.platform.cache.registry import run_startup_hooks  # noqa: E402

run_startup_hooks()
