"""Writing audit entries. Every service that changes business data calls ``audit_record`` inside
its own transaction, so an entry exists exactly when the change committed."""

from __future__ import annotations

from typing import Any

from keja.audit.models import AuditEntry
from keja.platform.cache.versioned import invalidate_agency
from keja.platform.scoping import Actor


def audit_record(
    *,
    actor: Actor | None,
    agency_id: int | None,
    action: str,
    object_type: str,
    object_id: object = "",
    summary: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    if agency_id is not None:
        invalidate_agency(agency_id)
    return AuditEntry.objects.across_agencies(
        "audit entries name their agency, or none for platform actions"
    ).create(
        agency_id=agency_id,
        actor_user_id=actor.user_id if actor else None,
        actor_label=(actor.label if actor else "system")[:120],
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:40],
        summary=summary[:255],
        changes=changes or {},
        request_id=(actor.request_id if actor else "")[:128],
    )


def audit_bulk_record(entries: list[AuditEntry]) -> None:
    """For bulk operations: one INSERT per batch instead of one per row."""
    for agency_id in {e.agency_id for e in entries if e.agency_id is not None}:
        invalidate_agency(agency_id)
    AuditEntry.objects.across_agencies("bulk audit entries name their agencies").bulk_create(
        entries, batch_size=500
    )
