"""Stops `make test` with a clear message when PostgreSQL or Redis is unreachable.

In CI (CI=true) that is a failure, never a skip: the suite needs the real services."""

from __future__ import annotations

import os
import sys

import psycopg
import redis

HOW = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no",
}


def main() -> int:
    problems = []
    db_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/keja")
    admin_url = db_url.rsplit("/", 1)[0] + "/postgres"
    try:
        psycopg.connect(admin_url, connect_timeout=3).close()
    except Exception as exc:
        problems.append(("PostgreSQL", db_url, exc))
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as exc:
        problems.append(("Redis", redis_url, exc))
    for name, url, exc in problems:
        print(f"make test: {name} is unreachable at {url}: {exc}", file=sys.stderr)
        print(f"  start it with: {HOW[name]}", file=sys.stderr)
        print(
            f"  or point {'DATABASE_URL' if name == 'PostgreSQL' else 'REDIS_URL'}_TEST at one.",
            file=sys.stderr,
        )
    if problems:
        where = "CI" if os.environ.get("CI") == "true" else "this machine"
        print(f"make test: the suite needs real services; failing on {where}.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
