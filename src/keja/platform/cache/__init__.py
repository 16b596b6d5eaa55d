"""Keja's caching layer (P2.0–P2.3). See docs/caching.md.

- ``backend.ResilientRedisCache``: Django's Redis cache that degrades to "miss" when Redis is
  unreachable (requests keep answering from PostgreSQL; health shows degraded).
- ``keys``: the one key convention, ``keja:{env}:{instance}:{area}:{agency}:{name}:v{version}``.
- ``versioned``: per-agency namespaces invalidated by bumping a version on commit, read in ONE
  Redis round trip (a Lua script returns the version, the value and counts the hit), with
  stampede protection (one process computes, the others wait briefly).
- ``registry``: warmers registered by business contexts (the platform knows none of them).
"""
