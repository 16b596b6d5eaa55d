"""The one key convention (P2.0): ``keja:{env}:{instance}:{area}:{agency}:{name}:v{version}``.

The ``keja:{env}:{instance}`` part is the cache's KEY_PREFIX (settings.CACHE_KEY_PREFIX), so
every environment, test run and xdist worker has its own keys. Django's own version number is
left out (``make_key``): our versions live in the key's ``v{version}`` part, per namespace."""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path
from typing import Any

AREAS = ("dash", "list", "http", "auth", "stats", "ns", "lock", "orm")


def make_key(key: str, key_prefix: str, version: Any) -> str:
    """Django KEY_FUNCTION: ``{prefix}:{key}`` (no Django version segment)."""
    return f"{key_prefix}:{key}" if key_prefix else key


def ns_key(area: str, agency_id: int | str) -> str:
    return f"ns:{area}:{agency_id}"


def versioned_key(area: str, agency_id: int | str, name: str, version: int | str) -> str:
    return f"{area}:{agency_id}:{name}:v{version}"


def lock_key(area: str, agency_id: int | str, name: str, version: int | str) -> str:
    return f"lock:{area}:{agency_id}:{name}:v{version}"


def stats_key(area: str) -> str:
    return f"stats:{area}"


@cache
def code_version() -> str:
    """A short digest of the running code, part of every versioned value's version (and so of
    every ETag): two releases never read each other's pickled values, even side by side during a
    rolling update, where a dataclass or model that gained a field would otherwise be read
    without it. ``KEJA_RELEASE`` (an image tag, say) replaces the digest of the source files."""
    release = os.environ.get("KEJA_RELEASE", "").strip()
    if release:
        return hashlib.sha256(release.encode()).hexdigest()[:8]
    root = Path(__file__).resolve().parents[2]  # the keja package
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]
