"""Exact query-count assertions, Zulip style (``assert_database_query_count``): a new query must
be justified, so the expected number is exact and the SQL is printed when it differs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cachalot.api import cachalot_disabled
from django.db import connections
from django.test.utils import CaptureQueriesContext


def format_queries(queries: list[dict[str, str]]) -> str:
    return "\n".join(f"{i:>3}. ({q['time']}s) {q['sql']}" for i, q in enumerate(queries, 1))


@contextmanager
def assert_num_queries(expected: int, *, using: str = "default") -> Iterator[CaptureQueriesContext]:
    """Fail unless exactly ``expected`` queries run inside the block; print them if not."""
    # Count the SQL the code asks for, not what the ORM cache (cachalot) happens to hold: a
    # cache hit would hide an N+1 that a cold cache (or a write in between) brings back.
    with cachalot_disabled(all_queries=True), CaptureQueriesContext(connections[using]) as captured:
        yield captured
    actual = len(captured.captured_queries)
    if actual != expected:
        raise AssertionError(
            f"expected {expected} queries, {actual} ran:\n{format_queries(captured.captured_queries)}"
        )
