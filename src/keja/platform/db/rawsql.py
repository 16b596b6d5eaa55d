"""Raw SQL reads that the ORM cache need not inspect.

django-cachalot scans every raw cursor execution for data-changing keywords (its
``CACHALOT_INVALIDATE_RAW``) so that raw writes invalidate the ORM cache. The scan is a regular
expression over the whole statement: about 0.2 ms per kilobyte, which is a sixth of the cold
dashboard's own statement time. ``select_only`` marks the connection the way cachalot marks its
own ORM queries while a statement that only reads runs, so the scan is skipped; anything that
writes must not run inside it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.db.backends.utils import CursorWrapper

READ_PREFIXES = ("select", "with")


@contextmanager
def _not_raw(alias: str) -> Iterator[None]:
    conn = connections[alias]
    previous = getattr(conn, "raw", True)
    conn.raw = False  # type: ignore[attr-defined]  # cachalot's flag: not a raw write to check
    try:
        yield
    finally:
        conn.raw = previous  # type: ignore[attr-defined]


def select_only(
    sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None, *, using: str = "default"
) -> tuple[Any, ...] | None:
    """Run one read-only statement and return its first row. Refuses anything that does not
    start as a query (a guard, not a parser: the statement is ours, never user input)."""
    head = sql.lstrip().split(None, 1)[0].lower() if sql.strip() else ""
    if head not in READ_PREFIXES:
        raise ValueError(f"select_only runs queries only, not {head!r}")
    with _not_raw(using), connections[using].cursor() as cur:
        assert isinstance(cur, CursorWrapper)
        cur.execute(sql, params)
        row: tuple[Any, ...] | None = cur.fetchone()
        return row
