import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keja.config.settings")
application = get_asgi_application()

from keja.platform.cache.registry import run_startup_hooks  # noqa: E402

run_startup_hooks()
