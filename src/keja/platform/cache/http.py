"""HTTP response caching for read-only API GETs (P2.2), in front of everything but the request
context and Django's SecurityMiddleware (HTTPS redirect and security headers apply to cached
answers too).

For ``GET /api/v1/...`` with an API key, ONE Redis round trip (a Lua script) resolves the key's
agency and scope from the auth cache, reads the agency's ``http`` namespace version and looks up
the stored response for (agency, scope, path + query, version):

- ``If-None-Match`` equal to the current ETag → 304, without touching PostgreSQL;
- a stored body → 200 from Redis, without touching PostgreSQL;
- otherwise the request runs normally and a 200 JSON answer is stored (5 minutes).

Cached answers are keyed by agency AND scope, so one is never served to another agency or to a
key with other rights. Any committed write of the agency bumps its ``http`` version (see
``versioned.invalidate_agency``), so a reader never gets an answer older than the last change.
Only API keys are served from this cache; console sessions always reach the view.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import redis
import structlog
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified

from keja.platform.cache import backend, versioned
from keja.platform.cache.keys import code_version

log = structlog.get_logger("keja.cache")
HTTP_TTL = 300
AUTH_TTL = 60
EXCLUDED = ("/api/v1/ping", "/api/v1/openapi.json", "/api/v1/docs")
CACHE_CONTROL = "private, max-age=0, must-revalidate"
VARY = "Authorization, Cookie"

_LOOKUP = """
local a = redis.call('HMGET', KEYS[1], 'agency', 'scope', 'id', 'label')
if not a[1] then return nil end
local p = ARGV[1]
local e = redis.call('GET', p .. 'ns:epoch') or '0'
local v = ARGV[3] .. '.' .. e .. '.' .. (redis.call('GET', p .. 'ns:http:' .. a[1]) or '0')
local body = redis.call('GET', p .. 'http:' .. a[1] .. ':' .. a[2] .. ':' .. ARGV[2] .. ':v' .. v)
if body then redis.call('HINCRBY', p .. 'stats:http', 'hit', 1) else redis.call('HINCRBY', p .. 'stats:http', 'miss', 1) end
return {a[1], a[2], v, body or false, a[3] or false, a[4] or false}
"""
# Remember a key unless it was revoked meanwhile (the tombstone forget_api_key leaves).
_REMEMBER = """
if redis.call('HEXISTS', KEYS[1], 'revoked') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'agency', ARGV[1], 'scope', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'id', ARGV[3], 'label', ARGV[4]) end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


def key_digest(raw_key: str) -> str:
    """The API key's SHA-256, as stored in ApiKey.key_hash."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _auth_key(digest: str) -> str:
    return f"auth:{digest}"


@dataclass(frozen=True)
class CachedApiKey:
    """An API key the auth cache vouches for (it was checked against the database less than
    ``AUTH_TTL`` seconds ago and has not been revoked since: revocation forgets it)."""

    digest: str
    agency_id: int
    scope: str
    key_id: int
    label: str


def cached_api_key(request: HttpRequest) -> CachedApiKey | None:
    """The key this request's cache lookup resolved, if any (so the view need not query it)."""
    found = getattr(request, "_keja_cached_api_key", None)
    return found if isinstance(found, CachedApiKey) else None


def remember_api_key(
    *, digest: str, agency_id: int, scope: str, key_id: int | None = None, label: str = ""
) -> None:
    """Called by the API's key authentication after a successful database lookup."""
    client = versioned._redis()
    if client is None:
        return
    key = cache.make_key(_auth_key(digest))
    try:
        versioned.lua(client, _REMEMBER)(
            keys=[key],
            args=[agency_id, scope, "" if key_id is None else key_id, label, AUTH_TTL],
        )
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        backend.note_error(exc, "auth_remember")


def forget_api_key(*, digest: str) -> None:
    """A revoked key stops being served from the cache at once. What stays is a tombstone for
    ``2 × AUTH_TTL``: a request that read the key from PostgreSQL just before the revocation
    committed cannot put it back into the cache afterwards (``_REMEMBER`` refuses)."""
    client = versioned._redis()
    if client is None:
        return
    key = cache.make_key(_auth_key(digest))
    try:
        pipe = client.pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, "revoked", 1)
        pipe.expire(key, 2 * AUTH_TTL)
        pipe.execute()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        backend.note_error(exc, "auth_forget")


def _route_digest(request: HttpRequest) -> str:
    query = "&".join(sorted(f"{k}={v}" for k in request.GET for v in request.GET.getlist(k)))
    return hashlib.sha256(f"{request.path}?{query}".encode()).hexdigest()[:32]


def etag_for(agency: str, scope: str, version: str, route: str) -> str:
    tag = hashlib.sha256(f"{agency}|{scope}|{route}".encode()).hexdigest()[:20]
    return f'"{version}-{tag}"'


def _bearer(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    return token


def _decorate(response: HttpResponse, etag: str, state: str) -> HttpResponse:
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    response["Vary"] = VARY
    response["X-Keja-Cache"] = state
    return response


class ApiResponseCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            not settings.REDIS_URL
            or not settings.KEJA_RESPONSE_CACHES
            or request.method != "GET"
            or not request.path.startswith("/api/v1/")
            or request.path.startswith(EXCLUDED)
        ):
            return self.get_response(request)
        token = _bearer(request)
        if token is None:
            return self.get_response(request)
        client = versioned._redis()
        if client is None:
            return self.get_response(request)
        route = _route_digest(request)
        prefix = cache.make_key("")
        digest = key_digest(token)
        try:
            found = versioned.lua(client, _LOOKUP)(
                keys=[cache.make_key(_auth_key(digest))], args=[prefix, route, code_version()]
            )
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            backend.note_error(exc, "http_lookup")
            return self.get_response(request)
        if not found:  # the key is not in the auth cache yet: the view authenticates it
            return self.get_response(request)
        agency, scope, version, body = _s(found[0]), _s(found[1]), _s(found[2]), found[3] or None
        etag = etag_for(agency, scope, version, route)
        if etag in _if_none_match(request):
            return _decorate(HttpResponseNotModified(), etag, "revalidated")
        if body is not None:
            return _decorate(HttpResponse(body, content_type="application/json"), etag, "hit")
        if found[4]:  # the view may authenticate the key from this lookup instead of PostgreSQL
            request._keja_cached_api_key = CachedApiKey(  # type: ignore[attr-defined]
                digest, int(agency), scope, int(_s(found[4])), _s(found[5] or b"")
            )
        # what the view computes on a miss (the dashboard, a list page) is stored together with
        # this response, in one round trip when the request ends
        with versioned.batched_writes(client) as batch:
            response = self.get_response(request)
            if response.status_code == 200 and response.get("Content-Type", "").startswith(
                "application/json"
            ):
                actor = getattr(request, "auth", None)
                # store only what the view answered for this very agency and scope
                if actor is not None and str(getattr(actor, "agency_id", "")) == agency:
                    key = f"http:{agency}:{scope}:{route}:v{version}"
                    batch.store(cache.make_key(key), response.content, HTTP_TTL)
                    _decorate(response, etag, "miss")
        return response


def _s(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _if_none_match(request: HttpRequest) -> list[str]:
    raw = request.headers.get("If-None-Match", "")
    return [part.strip() for part in raw.split(",") if part.strip()]
