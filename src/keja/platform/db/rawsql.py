"""Raw SQL reads that the ORM cache need not inspect.

django-cachalot scans every raw cursor execution for data-changing keywords (its
``CACHALOT_INVALIDATE_RAW``) so that raw writes invalidate the ORM cache. The scan is a regular
expression over the whole statement: about 0.2 ms per kilobyte, which is a sixth of the cold
dashboard's own statement time. ``select_only`` marks the connection the way cachalot marks its
own ORM queries while a statement that only reads runs, so the scan is skipped; anything that
writes must not run inside it.

``select_only(..., prepare=True)`` also makes the statement a server-side prepared statement on
PostgreSQL (ADR 0009). Django sends every query with client-side binding, so PostgreSQL plans it
on every run; for a statement as wide as the dashboard's, planning costs about as much as
executing it. A prepared statement is parsed once per pooled connection and runs from PostgreSQL's
generic plan from its first run (the connection sets ``plan_cache_mode=force_generic_plan``,
which only prepared statements obey). ``KEJA_DB_PREPARED_STATEMENTS=false`` (a connection pooler
that cannot carry prepared statements) turns it off: the same statement is then sent unprepared.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

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


class _PreparedCursor(psycopg.Cursor[Any]):
    """Server-side binding, prepared on its first run on a connection (psycopg keeps the names of
    the statements it prepared on each connection and reuses them)."""

    def execute(
        self,
        query: Any,
        params: Any = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> _PreparedCursor:
        super().execute(query, params, prepare=True, binary=binary)
        return self


def _cursor(using: str, prepare: bool) -> CursorWrapper:
    conn = connections[using]
    if not (prepare and conn.vendor == "postgresql"):
        cur = conn.cursor()
        assert isinstance(cur, CursorWrapper)
        return cur
    # Django's own cursors bind client-side and never prepare; this one, on the same pooled
    # connection and inside the same wrappers (query log, debug capture), binds server-side.
    conn.ensure_connection()
    conn.validate_thread_sharing()
    raw = _PreparedCursor(conn.connection)
    if conn.queries_logged:
        return _PreparedDebugWrapper(raw, conn)
    return CursorWrapper(raw, conn)  # what conn.make_cursor does


class _PreparedDebugWrapper(CursorDebugWrapper):
    """Records the statement with its parameters written in (as Django's own cursors record
    theirs), not the ``$1`` form PostgreSQL receives, so a captured query can be read, logged
    and EXPLAINed."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return CursorWrapper.execute(self, sql, params)


def select_only(
    sql: str,
    params: Mapping[str, Any] | Sequence[Any] | None = None,
    *,
    using: str = "default",
    prepare: bool = False,
) -> tuple[Any, ...] | None:
    """Run one read-only statement and return its first row. Refuses anything that does not
    start as a query (a guard, not a parser: the statement is ours, never user input).
    ``prepare=True``: a server-side prepared statement on PostgreSQL (module docstring)."""
    head = sql.lstrip().split(None, 1)[0].lower() if sql.strip() else ""
    if head not in READ_PREFIXES:
        raise ValueError(f"select_only runs queries only, not {head!r}")
    with _not_raw(using), _cursor(using, prepare) as cur:
        cur.execute(sql, params)
        row: tuple[Any, ...] | None = cur.fetchone()
        return row
