from __future__ import annotations

import dramatiq
from dramatiq.middleware import CurrentMessage

from keja.jobs import services


@dramatiq.actor(actor_name="jobs_selfcheck", max_retries=3)
def jobs_selfcheck(run_id: int) -> None:
    message = CurrentMessage.get_current_message()
    services.selfcheck_run(run_id=run_id, message_id=message.message_id if message else "")
