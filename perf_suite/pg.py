"""PostgreSQL administration for the suite: databases built from templates, advisory locks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def db_url(base_url: str, dbname: str) -> str:
    """``base_url`` with its database replaced by ``dbname``."""
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, parts.fragment))


def conninfo(url: str) -> str:
    """psycopg accepts postgres:// URLs as they are; normalise the scheme only."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url


class PgAdmin:
    """Operations on the cluster through the maintenance database (``postgres``)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def connect(self, dbname: str | None = None) -> psycopg.Connection[Any]:
        url = db_url(self.url, dbname) if dbname else self.url
        return psycopg.connect(conninfo(url), autocommit=True, connect_timeout=10)

    def exists(self, name: str) -> bool:
        with self.connect() as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            return row is not None

    def comment(self, name: str) -> dict[str, Any]:
        with self.connect() as conn:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                (name,),
            ).fetchone()
        if not row or not row[0]:
            return {}
        try:
            data = json.loads(row[0])
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def set_comment(self, name: str, data: dict[str, Any]) -> None:
        with self.connect() as conn:
            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(name), sql.Literal(json.dumps(data, sort_keys=True))
                )
            )

    def drop(self, name: str) -> None:
        with self.connect() as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return
            conn.execute(
                sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))

    def create(self, name: str, template: str | None = None) -> None:
        with self.connect() as conn:
            if template:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(template)
                    )
                )
            else:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                        sql.Identifier(name)
                    )
                )

    def rename(self, old: str, new: str) -> None:
        with self.connect() as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(old), sql.Identifier(new)
                )
            )

    def mark_template(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(name)))

    def vacuum_analyze(self, name: str) -> None:
        with self.connect(name) as conn:
            conn.execute("VACUUM (ANALYZE)")

    def checkpoint(self) -> None:
        """Flush dirty buffers so a benchmark does not pay for the previous step's writes."""
        with self.connect() as conn:
            conn.execute("CHECKPOINT")

    def version(self) -> str:
        with self.connect() as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else "?"

    def settings(self, names: tuple[str, ...]) -> dict[str, str]:
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
                (list(names),),
            ).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    @contextmanager
    def advisory_lock(self, key: str) -> Iterator[None]:
        """Serialise template builds between concurrent suite runs (say, CI and a developer)."""
        lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        with self.connect() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (lock_id,))
