from __future__ import annotations

from types import ModuleType

from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "keja.platform"
    label = "platform"
    verbose_name = "Keja platform"

    def __init__(self, app_name: str, app_module: ModuleType | None) -> None:
        super().__init__(app_name, app_module)
        # The broker must exist before any module defines an actor (dramatiq binds actors to the
        # global broker at decoration time), so it is set up while the app registry is built.
        from keja.platform.jobs.broker import setup_broker

        setup_broker()

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from keja.platform.db.pool import start_pool_stats_logger

        autodiscover_modules("actors")
        start_pool_stats_logger()
        _register_cache_recovery()


def _register_cache_recovery() -> None:
    """Invalidations made while Redis was unreachable were lost: when it answers again, drop the
    ORM cache's table stamps and start a new epoch of versioned values, so nothing cached before
    the outage is served."""
    from keja.platform.cache import backend, versioned

    def _invalidate_orm_cache() -> None:
        from cachalot.api import invalidate

        invalidate()
        versioned.new_epoch()

    backend.on_recovery(_invalidate_orm_cache)
