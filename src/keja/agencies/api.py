"""The API's authentication (API keys and the console session) and the agency endpoints.

Authentication lives here because this context owns API keys and memberships; ``keja.config.api``
installs both classes on the whole API, so every operation resolves an ``Actor`` (its agency and
role) before it runs, and binds the agency to the log context.
"""

from __future__ import annotations

import hmac
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.errors import AuthenticationError
from ninja.security import APIKeyCookie, HttpBearer

from keja.agencies.models import Agency, ApiKey
from keja.agencies.schemas import (
    AgencyOut,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    ApiKeyPage,
    ApiKeyQuery,
    MemberPage,
    MemberQuery,
)
from keja.agencies.selectors import (
    actor_for_user,
    agency_get,
    apikey_lookup,
    apikeys_list,
    hash_key,
    members_list,
)
from keja.agencies.services import apikey_create, apikey_revoke, apikey_touch
from keja.kernel.errors import PermissionDenied
from keja.platform.api import (
    DETAIL_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    paginate,
    problem_responses,
    request_actor,
)
from keja.platform.api.auth import SAFE_METHODS, csrf_failed
from keja.platform.api.types import PathId
from keja.platform.cache.http import cached_api_key, remember_api_key
from keja.platform.middleware import bind_agency
from keja.platform.scoping import Actor

# --- authentication ----------------------------------------------------------------------------


class ApiKeyAuth(HttpBearer):
    """``Authorization: Bearer kj_<prefix>_<secret>``: a per-agency key, scope read or read-write.

    A read key answers 403 on any write. The key's last use is recorded (at most once a minute).
    """

    openapi_bearerFormat = "kj_<prefix>_<secret>"
    openapi_description = (
        "A per-agency API key (create one in the console or with `keja apikey create`). "
        "Read keys may only GET."
    )

    def __call__(self, request: HttpRequest) -> Actor | None:
        header = request.headers.get(self.header)
        if header is None:
            return None  # no key: let the session try
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(401, "Use 'Authorization: Bearer <API key>'.")
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        cached = cached_api_key(request)
        if (
            cached is not None
            and request.method in SAFE_METHODS
            and hmac.compare_digest(cached.digest, hash_key(token))
        ):
            # The response cache's lookup already resolved this key from the auth cache (filled
            # below after a database check at most AUTH_TTL seconds ago, dropped on revocation):
            # a cache miss costs no extra query. Only GETs take this path.
            bind_agency(cached.agency_id)
            return self._actor(request, cached.agency_id, cached.scope, cached.key_id, cached.label)
        key = apikey_lookup(raw_key=token)
        if key is None:
            raise AuthenticationError(401, "The API key is invalid or has been revoked.")
        bind_agency(key.agency_id)
        read_write = key.scope == ApiKey.Scope.READ_WRITE
        if request.method not in SAFE_METHODS and not read_write:
            raise PermissionDenied(
                "This API key is read-only; writes need a read-write key.", code="read_only_key"
            )
        apikey_touch(key=key)
        label = f"api key {key.name} ({key.prefix})"[:120]
        remember_api_key(
            digest=key.key_hash,
            agency_id=key.agency_id,
            scope=key.scope,
            key_id=key.pk,
            label=label,
        )
        return self._actor(request, key.agency_id, key.scope, key.pk, label)

    @staticmethod
    def _actor(request: HttpRequest, agency_id: int, scope: str, key_id: int, label: str) -> Actor:
        return Actor(
            agency_id=agency_id,
            role="manager" if scope == ApiKey.Scope.READ_WRITE else "viewer",
            api_key_id=key_id,
            label=label,
            request_id=str(getattr(request, "request_id", "")),
        )


class SessionAuth(APIKeyCookie):
    """The console's Django session. Unsafe methods need the CSRF token (``X-CSRFToken``).

    The agency is the session's ``agency_id`` (chosen in the console), else the person's first
    membership."""

    param_name = settings.SESSION_COOKIE_NAME
    openapi_description = "The console's session cookie; writes also need the X-CSRFToken header."

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if csrf_failed(request):
            raise PermissionDenied(
                "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header.",
                code="csrf_failed",
            )
        raw = request.session.get("agency_id")
        agency_id = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        actor = actor_for_user(
            user=cast(User, user),
            agency_id=agency_id,
            request_id=str(getattr(request, "request_id", "")),
        )
        if actor is None:
            raise PermissionDenied("You are not a member of this agency.", code="no_membership")
        bind_agency(actor.agency_id)
        return actor


api_key_auth = ApiKeyAuth()
session_auth = SessionAuth()
AUTH = [api_key_auth, session_auth]

# --- endpoints ---------------------------------------------------------------------------------

router = Router(tags=["agency"])


@router.get(
    "/agency",
    response={200: AgencyOut, **problem_responses(READ_ERRORS)},
    summary="Get the current agency",
    description="The agency of the API key, or the session's chosen agency.",
)
def agency_detail(request: HttpRequest) -> Agency:
    return agency_get(scope=request_actor(request))


@router.get(
    "/agency/members",
    response={200: MemberPage, **problem_responses(READ_ERRORS)},
    summary="List members",
    description="People of the agency and their roles (owner, manager, accountant, viewer).",
)
def member_list(request: HttpRequest, query: Query[MemberQuery]) -> dict[str, Any]:
    qs = members_list(scope=request_actor(request))
    # not list-cached: a person's name or e-mail changes without an agency write
    return paginate(
        request, qs, order=query.order, cursor=query.cursor, limit=query.limit, cached=False
    )


@router.get(
    "/agency/api-keys",
    response={200: ApiKeyPage, **problem_responses(READ_ERRORS)},
    summary="List API keys",
    description="The agency's API keys: name, prefix, scope, last use; never their secrets.",
)
def api_key_list(request: HttpRequest, query: Query[ApiKeyQuery]) -> dict[str, Any]:
    qs = apikeys_list(scope=request_actor(request))
    # not list-cached: a key's last use is recorded without an audited write
    return paginate(
        request, qs, order=query.order, cursor=query.cursor, limit=query.limit, cached=False
    )


@router.post(
    "/agency/api-keys",
    response={201: ApiKeyCreated, **problem_responses(WRITE_ERRORS)},
    summary="Create an API key",
    description="Owners and managers, signed in to the console, create keys; an API key cannot "
    "create keys. The answer holds the secret `key` once: it is stored only hashed, and this "
    "operation deliberately ignores Idempotency-Key so the secret is never kept.",
)
def api_key_create(request: HttpRequest, payload: ApiKeyIn) -> Status:
    key, raw = apikey_create(actor=request_actor(request), name=payload.name, scope=payload.scope)
    return Status(201, {**ApiKeyOut.model_validate(key).model_dump(), "key": raw})


@router.post(
    "/agency/api-keys/{int:key_id}/revoke",
    response={200: ApiKeyOut, **problem_responses((*DETAIL_ERRORS, 409))},
    summary="Revoke an API key",
    description="The key stops working at once (owners and managers).",
)
def api_key_revoke(request: HttpRequest, key_id: PathId) -> ApiKey:
    return apikey_revoke(actor=request_actor(request), key_id=key_id)
