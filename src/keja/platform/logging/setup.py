"""structlog configuration: JSON lines in production, readable console in development.

Every line carries the request id, agency id and user id bound by the request middleware
(through contextvars), and phone numbers are masked before anything is written.
"""

from __future__ import annotations

import logging
import logging.config
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

# Kenyan mobile numbers in the shapes they arrive in: 2547XXXXXXXX, +2547..., 07XXXXXXXX, 01XXXXXXXX.
_PHONE = re.compile(r"(?<!\d)(\+?254|0)([17]\d{2})(\d{3})(\d{3})(?!\d)")


def mask_phone_numbers(text: str) -> str:
    """Mask the middle digits of every phone number in ``text`` (2547******89 style)."""
    return _PHONE.sub(lambda m: f"{m.group(1)}{m.group(2)[0]}{'*' * 6}{m.group(4)[-2:]}", text)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_phone_numbers(value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask(v) for v in value)
    return value


def mask_phones_processor(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        event_dict[key] = _mask(value)
    return event_dict


def logging_config(*, fmt: str, level: str) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        final: list[Any] = [structlog.processors.format_exc_info, mask_phones_processor, renderer]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        final = [mask_phones_processor, renderer]
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structlog": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "foreign_pre_chain": shared,
                    "processors": [
                        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        *final,
                    ],
                }
            },
            "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "structlog"}},
            "root": {"handlers": ["default"], "level": level},
            "loggers": {
                "django.db.backends": {"level": "INFO", "propagate": True},
                "django.server": {"level": "WARNING"},
                "dramatiq": {"level": "WARNING"},
                "apscheduler": {"level": "WARNING"},
                "faker": {"level": "WARNING"},
            },
        }
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
