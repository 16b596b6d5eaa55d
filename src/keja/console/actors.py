"""Console housekeeping jobs."""

from __future__ import annotations

from importlib import import_module

import dramatiq
import structlog
from django.conf import settings
from dramatiq_crontab import cron

log = structlog.get_logger(__name__)


# 03:17 in Nairobi (00:17 UTC): expired console sessions leave the database (cached_db sessions
# keep a row per session; Redis entries expire on their own).
@cron("17 0 * * *")
@dramatiq.actor(actor_name="console_clear_expired_sessions")
def console_clear_expired_sessions() -> None:
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
    log.info("expired_sessions_cleared")
