"""Platform housekeeping jobs."""

from __future__ import annotations

import dramatiq
import structlog
from dramatiq_crontab import cron

from keja.platform import idempotency

log = structlog.get_logger(__name__)


# 03:47 in Nairobi (00:47 UTC): idempotency records past their 24 hours leave the database.
@cron("47 0 * * *")
@dramatiq.actor(actor_name="platform_clear_idempotency_records")
def platform_clear_idempotency_records() -> None:
    deleted = idempotency.clear_expired()
    log.info("idempotency_records_cleared", deleted=deleted)
