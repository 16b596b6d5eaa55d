"""Helpers shared by the API's authentication classes (which live in ``keja.agencies.api``, the
context that owns API keys and memberships) and its operations."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.utils import check_csrf

from keja.platform.scoping import Actor

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def request_actor(request: HttpRequest) -> Actor:
    """The actor the authentication step resolved for this request."""
    actor = getattr(request, "auth", None)
    if not isinstance(actor, Actor):
        raise AuthenticationError()
    return actor


def csrf_failed(request: HttpRequest) -> bool:
    """Django's CSRF check (token and origin) for a session-authenticated unsafe request."""
    if request.method in SAFE_METHODS or getattr(request, "_ninja_csrf_exempt", False):
        return False
    return check_csrf(request) is not None
