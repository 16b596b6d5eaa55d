"""Audit trail (D7): who did what, when, to which object."""

from __future__ import annotations

from django.db import models

from keja.platform.scoping import ScopedManager


class AuditEntry(models.Model):
    # The agency is referenced by name, not imported: audit sits below agencies in the context
    # layers so that agency services (API keys, memberships) can record entries (ADR 0003).
    agency = models.ForeignKey(  # the audit_agency_* indexes lead with it
        "agencies.Agency", on_delete=models.CASCADE, related_name="+", null=True, db_index=False
    )
    actor_user = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=120, blank=True, default="")
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40, blank=True, default="")
    summary = models.CharField(max_length=255, blank=True, default="")
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)

    objects = ScopedManager["AuditEntry"]()

    class Meta:
        indexes = [
            models.Index(fields=["agency", "-id"], name="audit_agency_id_desc"),
            models.Index(fields=["agency", "object_type", "object_id"], name="audit_agency_object"),
            models.Index(fields=["agency", "action", "-id"], name="audit_agency_action"),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"
