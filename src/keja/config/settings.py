"""Keja settings, read from the environment (12-factor).

Every value comes from an environment variable (or a ``.env`` file beside the project when present).
With no ``DATABASE_URL`` the app runs on an embedded SQLite file under ``var/``; with no
``REDIS_URL`` it uses an in-process cache and an in-memory Dramatiq broker with an in-process
worker, so ``make demo`` runs on a bare machine. ``KEJA_ENV=production`` refuses to start without
a secret key, PostgreSQL and Redis. See docs/configuration.md for the full table.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[3]
env = environ.Env()
_dotenv = Path(os.environ.get("KEJA_DOTENV", BASE_DIR / ".env"))
if _dotenv.is_file():
    environ.Env.read_env(str(_dotenv), overwrite=False)

KEJA_ENV: str = env.str("KEJA_ENV", default="development")
if KEJA_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(
        f"KEJA_ENV must be development, test or production, not {KEJA_ENV!r}"
    )
PRODUCTION = KEJA_ENV == "production"
VAR_DIR = Path(env.str("KEJA_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG: bool = env.bool("DEBUG", default=KEJA_ENV == "development")
_secret = env.str("SECRET_KEY", default="")
if PRODUCTION and (not _secret or len(_secret) < 50 or _secret.startswith("django-insecure")):
    raise ImproperlyConfigured(
        "KEJA_ENV=production needs SECRET_KEY: at least 50 random characters "
        "(python -c 'import secrets; print(secrets.token_urlsafe(64))')"
    )
SECRET_KEY = _secret or "django-insecure-keja-development-only-key-never-use-in-production"
ALLOWED_HOSTS: list[str] = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver", "[::1]"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("KEJA_ENV=production needs ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Instance name: part of every Redis key prefix and of the database application name, so two
# deployments (or test runs) on one Redis/PostgreSQL never mix.
KEJA_INSTANCE: str = env.str("KEJA_INSTANCE", default="main")

# --- database (P1.0) -------------------------------------------------------------------------
DATABASE_URL: str = env.str("DATABASE_URL", default="")
DB_POOL_MIN: int = env.int("KEJA_DB_POOL_MIN", default=5)
DB_POOL_MAX: int = env.int("KEJA_DB_POOL_MAX", default=20)
DB_POOL_TIMEOUT: float = env.float("KEJA_DB_POOL_TIMEOUT", default=10.0)
DB_STATEMENT_TIMEOUT_MS: int = env.int("KEJA_DB_STATEMENT_TIMEOUT_MS", default=30_000)
# Server-side prepared statements for the few statements that ask for them (select_only(...,
# prepare=True), ADR 0009). Off for a pooler that cannot carry them (PgBouncer < 1.21, or without
# max_prepared_statements, in transaction mode).
DB_PREPARED_STATEMENTS: bool = env.bool("KEJA_DB_PREPARED_STATEMENTS", default=True)
if PRODUCTION and not DATABASE_URL.startswith(("postgres://", "postgresql://")):
    raise ImproperlyConfigured("KEJA_ENV=production needs DATABASE_URL pointing at PostgreSQL")
if DATABASE_URL:
    _db = env.db_url_config(DATABASE_URL)
    if _db["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must be a PostgreSQL URL (postgres://...)")
    _db["CONN_MAX_AGE"] = 0  # required by psycopg's pool
    _db["OPTIONS"] = {
        "pool": {
            "min_size": DB_POOL_MIN,
            "max_size": DB_POOL_MAX,
            "timeout": DB_POOL_TIMEOUT,
            "name": f"keja-{KEJA_ENV}",
        },
        # plan_cache_mode only concerns prepared statements, and only the statements that ask
        # for it are prepared: they run from their generic plan from the first run on a pooled
        # connection, instead of after five planned runs (connections are recycled hourly). The
        # index proofs check the generic plan (tests/integration/test_indexes.py).
        "options": f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
        + (" -c plan_cache_mode=force_generic_plan" if DB_PREPARED_STATEMENTS else ""),
        # Django's cursors bind client-side and never prepare; a threshold no query reaches means
        # only an explicit prepare=True prepares. None (Django's default) disables it entirely.
        "prepare_threshold": 1_000_000_000 if DB_PREPARED_STATEMENTS else None,
        "application_name": env.str(
            "KEJA_DB_APPLICATION_NAME", default=f"keja-{KEJA_ENV}-{KEJA_INSTANCE}"[:63]
        ),
    }
    DATABASES = {"default": _db}
    EMBEDDED_DB = False
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "keja.sqlite3"),
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    }
    EMBEDDED_DB = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis, cache, sessions (P2.0, P6.2) -----------------------------------------------------
REDIS_URL: str = env.str("REDIS_URL", default="")
if PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured("KEJA_ENV=production needs REDIS_URL")
# Every environment (and every test run / xdist worker) writes under its own prefix, so tests
# never read keys written by the demo or by another test worker.
CACHE_KEY_PREFIX = f"keja:{KEJA_ENV}:{KEJA_INSTANCE}"
REDIS_POOL_MAX: int = env.int("KEJA_REDIS_POOL_MAX", default=50)
REDIS_SOCKET_TIMEOUT: float = env.float("KEJA_REDIS_SOCKET_TIMEOUT", default=1.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "keja.platform.cache.backend.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "KEY_FUNCTION": "keja.platform.cache.keys.make_key",
            "TIMEOUT": 300,
            "OPTIONS": {
                "max_connections": REDIS_POOL_MAX,
                "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
    # Sessions live in PostgreSQL with Redis in front: a Redis outage or an eviction under memory
    # pressure (volatile-lru may evict anything with a TTL) does not sign anyone out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    EMBEDDED_REDIS = False
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "keja-embedded",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "KEY_FUNCTION": "keja.platform.cache.keys.make_key",
            "TIMEOUT": 300,
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
    EMBEDDED_REDIS = True
SESSION_COOKIE_AGE = 60 * 60 * 12

# ORM cache (django-cachalot) for read-mostly tables only: cachalot invalidates a whole table on
# any write, so high-write tables (payments, callbacks, allocations, invoices, credit, audit,
# jobs, sessions) are never cached by it; their aggregates are cached explicitly with versioned
# keys (keja.platform.cache.versioned). See docs/caching.md.
CACHALOT_ENABLED: bool = env.bool("KEJA_ORM_CACHE", default=True)
CACHALOT_TIMEOUT = 60 * 60
# cachalot lists supported backends by class path; ResilientRedisCache is Django's RedisCache
# with errors turned into misses, so the check's warning does not apply.
SILENCED_SYSTEM_CHECKS = ["cachalot.W001"]
CACHALOT_ONLY_CACHABLE_TABLES = frozenset(
    {
        "agencies_agency",
        "agencies_membership",
        "properties_property",
        "properties_unit",
        "tenants_tenant",
        "leases_lease",
        "auth_user",
    }
)
CACHALOT_UNCACHABLE_TABLES = frozenset(
    {
        "django_migrations",
        "django_session",
        "payments_payment",
        "payments_mpesacallback",
        "billing_invoice",
        "billing_allocation",
        "billing_creditentry",
        "audit_auditentry",
        "jobs_jobrun",
        "agencies_apikey",
        "platform_idempotency",
    }
)

# Response caches (P2.1, P2.2): the dashboard cache and the API's HTTP cache. Invalidation runs on
# transaction commit, so the test settings turn them off for tests wrapped in a never-committed
# transaction; tests/cache turns them on with real commits.
KEJA_RESPONSE_CACHES: bool = env.bool("KEJA_RESPONSE_CACHES", default=True)

# Seconds a request with an Idempotency-Key waits for a concurrent request holding the same key
# before answering 409 idempotency_in_progress (P5.0).
KEJA_IDEMPOTENCY_WAIT_SECONDS: float = env.float("KEJA_IDEMPOTENCY_WAIT_SECONDS", default=5.0)

# Server-Timing header on every response (P3.1): the application's time and its database time.
KEJA_SERVER_TIMING: bool = env.bool("KEJA_SERVER_TIMING", default=True)

# --- dramatiq (background jobs) --------------------------------------------------------------
DRAMATIQ_NAMESPACE = f"dramatiq:{KEJA_ENV}:{KEJA_INSTANCE}"
DRAMATIQ_CRONTAB = {"REDIS_URL": REDIS_URL or None}

# --- applications ----------------------------------------------------------------------------
INSTALLED_APPS = [
    "keja.platform.apps.PlatformConfig",  # first: sets up the Dramatiq broker before any actor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "dramatiq_crontab",
    "cachalot",
    "keja.agencies",
    "keja.audit",
    "keja.jobs",
    "keja.properties",
    "keja.tenants",
    "keja.leases",
    "keja.billing",
    "keja.payments",
    "keja.bulk",
    "keja.reports",
    "keja.console",
]

MIDDLEWARE = [
    "keja.platform.middleware.RequestContextMiddleware",
    # before the response cache: plain HTTP is redirected before a cached body is served, and
    # cached answers carry the same security headers (nosniff, HSTS) as computed ones
    "django.middleware.security.SecurityMiddleware",
    "keja.platform.cache.http.ApiResponseCacheMiddleware",
    "keja.platform.db.querylog.QueryLogMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "keja.platform.middleware.UserContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "keja.config.urls"
WSGI_APPLICATION = "keja.config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend_templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"  # store UTC; the console and reports display Africa/Nairobi
DISPLAY_TIME_ZONE = "Africa/Nairobi"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = True  # serve app static files without collectstatic (demo, tests)
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Keja <no-reply@keja.example>")

# --- security --------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("KEJA_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health/"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("KEJA_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- health (P3.4) ---------------------------------------------------------------------------
KEJA_HEALTH_TOKEN: str = env.str("KEJA_HEALTH_TOKEN", default="")
KEJA_HEALTH_TIMEOUT: float = env.float("KEJA_HEALTH_TIMEOUT", default=1.0)
KEJA_POOL_STATS_INTERVAL: float = env.float("KEJA_POOL_STATS_INTERVAL", default=60.0)

# --- M-Pesa (Daraja; P5.0, P5.1, P6.1) --------------------------------------------------------
import hashlib as _hashlib  # noqa: E402 (this block keeps its imports)
import ipaddress as _ipaddress  # noqa: E402

# Base URL: sandbox https://sandbox.safaricom.co.ke, production https://api.safaricom.co.ke, or
# the local stand-in (`keja daraja_sandbox`, http://127.0.0.1:8765). See docs/payments.md.
KEJA_DARAJA_BASE_URL: str = env.str("KEJA_DARAJA_BASE_URL", default="http://127.0.0.1:8765")
KEJA_MPESA_CONSUMER_KEY: str = env.str("KEJA_MPESA_CONSUMER_KEY", default="")
KEJA_MPESA_CONSUMER_SECRET: str = env.str("KEJA_MPESA_CONSUMER_SECRET", default="")
KEJA_MPESA_SHORTCODE: str = env.str("KEJA_MPESA_SHORTCODE", default="174379")
KEJA_MPESA_PASSKEY: str = env.str("KEJA_MPESA_PASSKEY", default="")
KEJA_MPESA_TRANSACTION_TYPE: str = env.str(
    "KEJA_MPESA_TRANSACTION_TYPE", default="CustomerPayBillOnline"
)
# Public base URL Safaricom posts callbacks to (HTTPS in production).
KEJA_MPESA_CALLBACK_BASE_URL: str = env.str(
    "KEJA_MPESA_CALLBACK_BASE_URL", default="http://127.0.0.1:8000"
)
# The unguessable path segment of the callback URLs. Outside production a value derived from
# SECRET_KEY is used when unset; in production, unset means the callback URLs answer 404.
KEJA_MPESA_CALLBACK_SECRET: str = env.str(
    "KEJA_MPESA_CALLBACK_SECRET",
    default=""
    if PRODUCTION
    else _hashlib.sha256(f"mpesa-callback:{SECRET_KEY}".encode()).hexdigest()[:40],
)
if KEJA_MPESA_CALLBACK_SECRET and not (
    len(KEJA_MPESA_CALLBACK_SECRET) >= (32 if PRODUCTION else 16)
    and KEJA_MPESA_CALLBACK_SECRET.replace("-", "").replace("_", "").isalnum()
    and KEJA_MPESA_CALLBACK_SECRET.isascii()
):
    raise ImproperlyConfigured(
        "KEJA_MPESA_CALLBACK_SECRET must be letters, digits, '-' or '_' (at least 32 in "
        "production): python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    )
KEJA_MPESA_ALLOWED_IPS: list[str] = env.list("KEJA_MPESA_ALLOWED_IPS", default=[])
for _network in KEJA_MPESA_ALLOWED_IPS:
    try:
        _ipaddress.ip_network(_network.strip(), strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"KEJA_MPESA_ALLOWED_IPS: {_network!r} is not an IP address or CIDR network"
        ) from _exc
KEJA_MPESA_PROXY_HOPS: int = env.int("KEJA_MPESA_PROXY_HOPS", default=0)
KEJA_MPESA_CONNECT_TIMEOUT: float = min(env.float("KEJA_MPESA_CONNECT_TIMEOUT", default=5.0), 30.0)
KEJA_MPESA_READ_TIMEOUT: float = min(env.float("KEJA_MPESA_READ_TIMEOUT", default=15.0), 30.0)
KEJA_MPESA_TOTAL_TIMEOUT: float = min(env.float("KEJA_MPESA_TOTAL_TIMEOUT", default=30.0), 30.0)
KEJA_MPESA_MAX_RETRIES: int = env.int("KEJA_MPESA_MAX_RETRIES", default=3)
KEJA_MPESA_BACKOFF_BASE: float = env.float("KEJA_MPESA_BACKOFF_BASE", default=0.5)
KEJA_MPESA_BACKOFF_MAX: float = env.float("KEJA_MPESA_BACKOFF_MAX", default=8.0)
KEJA_MPESA_TOKEN_REFRESH_MARGIN: int = env.int("KEJA_MPESA_TOKEN_REFRESH_MARGIN", default=600)
KEJA_MPESA_BREAKER_FAIL_MAX: int = env.int("KEJA_MPESA_BREAKER_FAIL_MAX", default=5)
KEJA_MPESA_BREAKER_RESET_TIMEOUT: float = env.float(
    "KEJA_MPESA_BREAKER_RESET_TIMEOUT", default=30.0
)
KEJA_MPESA_MAX_AMOUNT: int = env.int("KEJA_MPESA_MAX_AMOUNT", default=250_000)
KEJA_MPESA_RECONCILE_AFTER_MINUTES: int = env.int("KEJA_MPESA_RECONCILE_AFTER_MINUTES", default=2)
KEJA_MPESA_EXPIRE_AFTER_MINUTES: int = env.int("KEJA_MPESA_EXPIRE_AFTER_MINUTES", default=10)
KEJA_MPESA_CALLBACK_MAX_ATTEMPTS: int = env.int("KEJA_MPESA_CALLBACK_MAX_ATTEMPTS", default=8)
# --- end M-Pesa ------------------------------------------------------------------------------

# --- logging ---------------------------------------------------------------------------------
LOG_FORMAT: str = env.str("KEJA_LOG_FORMAT", default="json" if PRODUCTION else "console")
LOG_LEVEL: str = env.str("KEJA_LOG_LEVEL", default="INFO")
from keja.platform.logging.setup import logging_config  # noqa: E402

LOGGING_CONFIG = None
logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)

# --- demo ------------------------------------------------------------------------------------
KEJA_DEMO_PASSWORD: str = env.str("KEJA_DEMO_PASSWORD", default="keja-demo")
