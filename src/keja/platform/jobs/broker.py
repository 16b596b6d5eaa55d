"""The Dramatiq broker: Redis when ``REDIS_URL`` is set, otherwise an in-memory broker whose
messages are processed by a worker thread inside the same process (the embedded default)."""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
import structlog
from dramatiq.broker import MessageProxy
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AgeLimit, Callbacks, CurrentMessage, Pipelines, Retries, TimeLimit

log = structlog.get_logger(__name__)
_lock = threading.Lock()
_inprocess_worker: dramatiq.Worker | None = None


class DbConnectionMiddleware(dramatiq.Middleware):
    """Closes Django's database connections around each message, so a worker thread never
    keeps a broken or stale connection (with the pool, closing returns it to the pool)."""

    def _close(self) -> None:
        from django.db import close_old_connections, connections

        close_old_connections()
        for conn in connections.all(initialized_only=True):
            conn.close()

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._close()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        self._close()

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._close()


class InProcessWorkerMiddleware(dramatiq.Middleware):
    """Embedded mode only: the first enqueue starts a worker thread in this process."""

    def after_enqueue(
        self, broker: dramatiq.Broker, message: dramatiq.Message, delay: int | None
    ) -> None:
        ensure_inprocess_worker(broker)


def ensure_inprocess_worker(broker: dramatiq.Broker) -> None:
    global _inprocess_worker
    with _lock:
        if _inprocess_worker is None:
            _inprocess_worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
            _inprocess_worker.start()
            log.info("inprocess_worker_started")


def build_broker() -> dramatiq.Broker:
    from django.conf import settings

    middleware = [
        AgeLimit(),
        TimeLimit(),
        Callbacks(),
        Pipelines(),
        Retries(min_backoff=1000, max_backoff=300_000, max_retries=8),
    ]
    broker: dramatiq.Broker
    if settings.REDIS_URL:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(
            url=settings.REDIS_URL, namespace=settings.DRAMATIQ_NAMESPACE, middleware=middleware
        )
    else:
        broker = StubBroker(middleware=middleware)
        broker.emit_after("process_boot")
        broker.add_middleware(InProcessWorkerMiddleware())
    broker.add_middleware(CurrentMessage())
    broker.add_middleware(DbConnectionMiddleware())
    return broker


def setup_broker() -> dramatiq.Broker:
    broker = build_broker()
    dramatiq.set_broker(broker)
    return broker


def broker_is_embedded() -> bool:
    return isinstance(dramatiq.get_broker(), StubBroker)
