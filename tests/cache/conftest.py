from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def response_caches_on(settings) -> None:
    """These tests commit for real (transactional tests), so invalidation on commit runs: turn on
    the response caches that the rest of the suite runs without."""
    settings.KEJA_RESPONSE_CACHES = True
