"""Writes for agencies, memberships and API keys (D1). Every write records an audit entry."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from keja.agencies.models import Agency, ApiKey, Membership
from keja.agencies.selectors import hash_key
from keja.audit.services import audit_record
from keja.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from keja.platform.cache.http import forget_api_key
from keja.platform.scoping import Actor


@transaction.atomic
def agency_create(
    *, name: str, slug: str = "", owner: User | None = None, actor: Actor | None = None
) -> Agency:
    name = name.strip()
    if not name:
        raise ValidationFailed("An agency needs a name.", field="name")
    slug = slugify(slug or name)[:60]
    if Agency.objects.filter(slug=slug).exists():
        raise Conflict(f"An agency with the slug '{slug}' exists.", field="slug")
    agency = Agency.objects.create(name=name, slug=slug)
    if owner is not None:
        Membership.objects.create(agency=agency, user=owner, role=Membership.Role.OWNER)
    audit_record(
        actor=actor,
        agency_id=agency.pk,
        action="agency.created",
        object_type="agency",
        object_id=agency.pk,
        summary=name,
    )
    return agency


@transaction.atomic
def membership_set(*, actor: Actor, user: User, role: str) -> Membership:
    if not actor.can("owner"):
        raise PermissionDenied("Only an owner can change memberships.")
    if role not in Membership.Role.values:
        raise ValidationFailed(f"Unknown role '{role}'.", field="role")
    membership, created = Membership.objects.update_or_create(
        agency_id=actor.agency_id, user=user, defaults={"role": role}
    )
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action="membership.set",
        object_type="membership",
        object_id=membership.pk,
        summary=f"{user.get_username()} is {role}",
        changes={"role": role, "created": created},
    )
    return membership


@transaction.atomic
def apikey_create(*, actor: Actor, name: str, scope: str) -> tuple[ApiKey, str]:
    """Create a key; returns it and the raw secret, which is shown once and stored only hashed."""
    if not actor.can("owner") and not actor.can("manager"):
        raise PermissionDenied("Only owners and managers can create API keys.")
    if actor.api_key_id is not None:
        raise PermissionDenied(
            "API keys cannot create API keys; use the console or `keja apikey create`."
        )
    name = name.strip()
    if not name or len(name) > 80:
        raise ValidationFailed("A key needs a name of 1 to 80 characters.", field="name")
    if scope not in ApiKey.Scope.values:
        raise ValidationFailed("scope must be 'read' or 'read-write'.", field="scope")
    for _ in range(5):
        prefix = secrets.token_hex(4)
        raw = f"kj_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    agency_id=actor.agency_id,
                    name=name,
                    prefix=prefix,
                    key_hash=hash_key(raw),
                    scope=scope,
                    created_by_id=actor.user_id,
                )
            break
        except IntegrityError:  # pragma: no cover - a prefix collision, 1 in 4 billion
            continue
    else:  # pragma: no cover
        raise Conflict("Could not allocate a key prefix; try again.")
    audit_record(
        actor=actor,
        agency_id=actor.agency_id,
        action="apikey.created",
        object_type="apikey",
        object_id=key.pk,
        summary=f"{name} ({scope})",
        changes={"prefix": prefix, "scope": scope},
    )
    return key, raw


@transaction.atomic
def apikey_revoke(*, actor: Actor, key_id: int) -> ApiKey:
    if not actor.can("manager"):
        raise PermissionDenied("Only owners and managers can revoke API keys.")
    key = ApiKey.objects.select_for_update().filter(agency_id=actor.agency_id, pk=key_id).first()
    if key is None:
        raise NotFound("API key not found.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        digest = key.key_hash
        transaction.on_commit(lambda: forget_api_key(digest=digest))
        audit_record(
            actor=actor,
            agency_id=actor.agency_id,
            action="apikey.revoked",
            object_type="apikey",
            object_id=key.pk,
            summary=key.name,
        )
    return key


def apikey_touch(*, key: ApiKey) -> None:
    """Record the key's last use, at most once a minute (no write per request)."""
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
