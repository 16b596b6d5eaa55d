"""Clients of the outside world for payments: the M-Pesa port (gateway.py), its Daraja
implementation (daraja.py), error codes (errors.py), the shared circuit breaker (breaker.py),
strict parsing of callback bodies (callbacks.py) and the local Daraja stand-in (sandbox.py).

``get_gateway()`` returns the process's client for the current settings (one per
configuration, so a test that points ``KEJA_DARAJA_BASE_URL`` at a stand-in gets its own)."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from prometheus_client import REGISTRY

from keja.payments.adapters.breaker import BreakerCollector, SharedBreaker
from keja.payments.adapters.daraja import DarajaClient, DarajaConfig
from keja.payments.adapters.gateway import MpesaGateway

__all__ = [
    "DarajaClient",
    "DarajaConfig",
    "MpesaGateway",
    "breaker_report",
    "get_breaker",
    "get_gateway",
    "register_breaker_collector",
]

_lock = threading.Lock()
_clients: dict[DarajaConfig, DarajaClient] = {}
_breakers: dict[tuple[str, int, float, str], SharedBreaker] = {}
_collector: BreakerCollector | None = None


def get_breaker(config: DarajaConfig | None = None) -> SharedBreaker:
    """The shared breaker of the configured Daraja (state in Redis under this environment's
    cache prefix, or in memory in the embedded mode)."""
    config = config or DarajaConfig.from_settings()
    key = (
        config.breaker_name,
        config.breaker_fail_max,
        config.breaker_reset_timeout,
        settings.REDIS_URL,
    )
    with _lock:
        breaker = _breakers.get(key)
        if breaker is None:
            breaker = SharedBreaker(
                config.breaker_name,
                fail_max=config.breaker_fail_max,
                reset_timeout=config.breaker_reset_timeout,
                redis_url=settings.REDIS_URL,
                namespace=f"{settings.CACHE_KEY_PREFIX}:mpesa:{config.breaker_name}",
            )
            _breakers[key] = breaker
        return breaker


def get_gateway() -> MpesaGateway:
    config = DarajaConfig.from_settings()
    with _lock:
        client = _clients.get(config)
    if client is None:
        breaker = get_breaker(config)
        with _lock:
            client = _clients.get(config)
            if client is None:
                client = DarajaClient(config, breaker=breaker)
                _clients[config] = client
    return client


def breaker_report() -> dict[str, Any]:
    """The ``mpesa_breaker`` section of the detailed /health report."""
    return get_breaker().snapshot().as_dict()


def register_breaker_collector() -> None:
    """``keja_mpesa_breaker_state`` and ``keja_mpesa_breaker_failures`` in /metrics."""
    global _collector
    with _lock:
        if _collector is not None:
            return
        _collector = BreakerCollector(get_breaker)
    # outside the lock; the collector's describe() means registering reads no breaker state
    REGISTRY.register(_collector)
