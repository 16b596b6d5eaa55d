"""The platform's own tables (no business data)."""

from __future__ import annotations

from django.db import models


class IdempotencyRecord(models.Model):
    """One ``Idempotency-Key`` of one agency and credential (``platform.idempotency``): the
    request's fingerprint, and its answer once it has one. Kept in PostgreSQL, not in the cache:
    an evicted record would let a retried payment run twice."""

    slot = models.CharField(max_length=200, primary_key=True)
    fingerprint = models.CharField(max_length=64)
    token = models.CharField(max_length=32)
    state = models.CharField(max_length=12)  # "in_progress" or "done"
    status = models.PositiveSmallIntegerField(null=True)
    body = models.BinaryField(default=b"")
    content_type = models.CharField(max_length=100, default="")
    headers = models.JSONField(default=dict)
    locked_until = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        db_table = "platform_idempotency"
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expires")]

    def __str__(self) -> str:
        return f"{self.slot} ({self.state})"
