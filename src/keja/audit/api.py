"""The audit trail (D7): who did what, when, to which object."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from keja.audit.schemas import AuditPage, AuditQuery
from keja.audit.selectors import audit_list
from keja.platform.api import READ_ERRORS, paginate, problem_responses, request_actor

router = Router(tags=["audit"])


@router.get(
    "/audit-entries",
    response={200: AuditPage, **problem_responses(READ_ERRORS)},
    summary="List audit entries",
)
def audit_entry_list(request: HttpRequest, query: Query[AuditQuery]) -> dict[str, Any]:
    """Audit entries, newest first, by action, object or time range."""
    qs = audit_list(
        actor=request_actor(request),
        action=query.action,
        object_type=query.object_type,
        object_id=query.object_id,
        since=query.since,
        until=query.until,
    )
    return paginate(request, qs, order=query.order, cursor=query.cursor, limit=query.limit)
