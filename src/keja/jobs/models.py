"""Background job runs: status, progress and history (P4.3 builds on this)."""

from __future__ import annotations

from django.db import models


class JobRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    agency_id = models.BigIntegerField(null=True, blank=True)  # jobrun_agency_created leads
    kind = models.CharField(max_length=80)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, default="")
    message_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["agency_id", "-created_at"], name="jobrun_agency_created")]

    def __str__(self) -> str:
        return f"{self.kind}#{self.pk} {self.status}"
