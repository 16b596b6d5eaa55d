"""M-Pesa background jobs: thin, idempotent wrappers around payments.services.mpesa and
mpesa_callbacks.

- ``mpesa_process_callback``: reprocess a stored callback that failed on our side (sent by the
  callback endpoint; Dramatiq retries it with exponential backoff while it keeps failing);
- ``mpesa_retry_callbacks`` (every 5 minutes): re-sends callbacks still failed or stuck, in case
  a message was lost;
- ``mpesa_reconcile_stk`` (every minute): STK status query for pushes pending too long; expires
  pushes nobody answered.
"""

from __future__ import annotations

import dramatiq
import structlog
from django.conf import settings
from dramatiq_crontab import cron

from keja.payments.services import mpesa, mpesa_callbacks

log = structlog.get_logger(__name__)


class CallbackRetryLater(Exception):
    """The callback still cannot be processed: Dramatiq retries the message with backoff."""


@dramatiq.actor(
    actor_name="mpesa_process_callback",
    max_retries=settings.KEJA_MPESA_CALLBACK_MAX_ATTEMPTS,
    min_backoff=2_000,
    max_backoff=120_000,
)
def mpesa_process_callback(callback_id: int) -> None:
    result = mpesa_callbacks.mpesa_callback_retry(callback_id=callback_id)
    log.info("mpesa_callback_retried", callback_id=callback_id, result=result)
    if result == "failed":
        raise CallbackRetryLater(f"callback {callback_id} still failing")


@cron("*/5 * * * *")
@dramatiq.actor(actor_name="mpesa_retry_callbacks", max_retries=0)
def mpesa_retry_callbacks() -> None:
    for callback_id in mpesa_callbacks.mpesa_callbacks_due_for_retry():
        mpesa_process_callback.send(callback_id)


@cron("* * * * *")
@dramatiq.actor(actor_name="mpesa_reconcile_stk", max_retries=0, time_limit=5 * 60_000)
def mpesa_reconcile_stk() -> None:
    mpesa.stk_pushes_reconcile()
