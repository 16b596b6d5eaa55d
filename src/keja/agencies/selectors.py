"""Reads for agencies, memberships and API keys."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import User
from django.db.models import QuerySet

from keja.agencies.models import Agency, ApiKey, Membership
from keja.kernel.errors import NotFound
from keja.platform.scoping import Actor, agency_id_of


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def agency_get(*, scope: Actor | int) -> Agency:
    try:
        return Agency.objects.get(pk=agency_id_of(scope))
    except Agency.DoesNotExist as exc:
        raise NotFound("Agency not found.") from exc


def memberships_for_user(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("agency").order_by("agency__name")


def members_list(*, scope: Actor | int) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(agency_id=agency_id_of(scope))
        .select_related("user")
        .order_by("user__username")
    )


def apikeys_list(*, scope: Actor | int) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(agency_id=agency_id_of(scope)).order_by("-created_at", "-id")


def apikey_lookup(*, raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key`` (``kj_<prefix>_<secret>``), or None."""
    parts = raw_key.split("_", 2)  # the secret itself may contain "_" (token_urlsafe)
    if len(parts) != 3 or parts[0] != "kj" or len(raw_key) > 200:
        return None
    key = ApiKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None:
        return None
    import hmac

    return key if hmac.compare_digest(key.key_hash, hash_key(raw_key)) else None


def actor_for_user(*, user: User, agency_id: int | None, request_id: str = "") -> Actor | None:
    """The actor for a signed-in person in ``agency_id`` (their first agency when None)."""
    memberships = Membership.objects.filter(user=user)
    if agency_id is not None:
        memberships = memberships.filter(agency_id=agency_id)
    membership = memberships.order_by("agency_id").first()
    if membership is None:
        if user.is_staff and agency_id is not None and Agency.objects.filter(pk=agency_id).exists():
            return Actor(
                agency_id=agency_id,
                role="viewer",
                user_id=user.pk,
                label=user.get_username(),
                is_staff=True,
                request_id=request_id,
            )
        return None
    return Actor(
        agency_id=membership.agency_id,
        role=membership.role,
        user_id=user.pk,
        label=user.get_username(),
        is_staff=user.is_staff,
        request_id=request_id,
    )
