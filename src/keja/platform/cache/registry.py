"""Warmers and startup hooks registered by business contexts (the platform names none)."""

from __future__ import annotations

from collections.abc import Callable

import structlog

log = structlog.get_logger("keja.cache")
_warmers: dict[str, Callable[[list[int] | None], int]] = {}
_startup: list[Callable[[], None]] = []


def register_warmer(area: str, warm: Callable[[list[int] | None], int]) -> None:
    """``warm(agency_ids or None for "the most active") -> number of entries warmed``."""
    _warmers[area] = warm


def warmers() -> dict[str, Callable[[list[int] | None], int]]:
    return dict(_warmers)


def warm(area: str | None = None, agency_ids: list[int] | None = None) -> dict[str, int]:
    done = {}
    for name, fn in _warmers.items():
        if area is None or name == area:
            done[name] = fn(agency_ids)
    return done


def on_startup(hook: Callable[[], None]) -> None:
    _startup.append(hook)


def run_startup_hooks() -> None:
    """Called once per web process (keja.config.wsgi / asgi)."""
    for hook in list(_startup):
        try:
            hook()
        except Exception:  # never keep a web process from starting
            log.exception("startup_hook_failed")
