"""Sending messages by actor name, after the surrounding transaction commits.

Services sit below actors in the layers, so they never import an actor: they name it."""

from __future__ import annotations

from typing import Any

import dramatiq
from django.db import transaction


def send_on_commit(actor_name: str, /, **kwargs: Any) -> None:
    def _send() -> None:
        dramatiq.get_broker().get_actor(actor_name).send(**kwargs)

    transaction.on_commit(_send)
