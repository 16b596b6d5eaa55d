"""Reads of the audit trail (D7), always agency-scoped."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from keja.audit.models import AuditEntry
from keja.platform.scoping import Actor


def audit_list(
    *,
    actor: Actor | int,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.for_agency(actor)
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
        if object_id:
            qs = qs.filter(object_id=object_id)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return qs
