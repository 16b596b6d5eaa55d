"""API schemas for the audit trail (D7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from keja.platform.api import ListQuery, page_of
from keja.platform.api.types import ApiDateTime, SafeStr


class AuditEntryOut(Schema):
    id: int
    action: str = Field(description="What happened, e.g. `payment.reversed`.")
    object_type: str
    object_id: str
    summary: str
    changes: dict[str, Any]
    actor_user_id: int | None
    actor_label: str = Field(description="Who: a person, an API key, or `system`.")
    request_id: str
    created_at: datetime


AuditPage = page_of(AuditEntryOut, "AuditPage")


class AuditQuery(ListQuery):
    order: Literal["-id", "id"] = "-id"
    action: SafeStr | None = Field(None, max_length=60)
    object_type: SafeStr | None = Field(None, max_length=40)
    object_id: SafeStr | None = Field(None, max_length=40, description="With object_type.")
    since: ApiDateTime | None = Field(None, description="At or after (ISO 8601).")
    until: ApiDateTime | None = Field(None, description="Before (ISO 8601).")
