"""Settings for the test suite: the production settings module with test defaults.

Tests use the real PostgreSQL and Redis (``DATABASE_URL``/``REDIS_URL`` default to 127.0.0.1).
Each run, and each xdist worker inside it, writes Redis keys under its own prefix, so a test never
reads keys written by the demo or by another worker.
"""

import os
import uuid

os.environ.setdefault("KEJA_ENV", "test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/keja")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("KEJA_POOL_STATS_INTERVAL", "0")
if "KEJA_INSTANCE" not in os.environ:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    os.environ["KEJA_INSTANCE"] = f"t{uuid.uuid4().hex[:8]}-{worker}"

from keja.config.settings import *  # noqa: F403
from keja.config.settings import DATABASES, KEJA_INSTANCE, MIDDLEWARE

# Each run gets its own test database, so parallel runs (several developers or agents on one
# machine) never collide on "test_keja".
DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get(
    "KEJA_TEST_DB_NAME", f"test_keja_{KEJA_INSTANCE.replace('-', '_')}"
)

# Cache invalidation happens on commit; most tests run inside a transaction that never commits, so
# they run without the response caches. tests/cache enables them with transactional tests.
KEJA_RESPONSE_CACHES = False

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MIDDLEWARE = [m for m in MIDDLEWARE if "whitenoise" not in m]
