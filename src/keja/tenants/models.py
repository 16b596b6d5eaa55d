"""Tenants (D3): phone normalised to 254XXXXXXXXX; phone and email unique within an agency."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from keja.platform.scoping import ScopedManager


class Tenant(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"

    agency = models.ForeignKey(  # the tenant_agency_* indexes lead with it
        "agencies.Agency", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    full_name = models.CharField(max_length=120)
    phone = models.CharField(max_length=12)
    email = models.EmailField(max_length=254, blank=True, default="")
    national_id = models.CharField(max_length=20, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager["Tenant"]()

    class Meta:
        constraints = [
            # also serves newest-first pages (read backwards): no separate (agency, -id) index
            models.UniqueConstraint(fields=["agency", "id"], name="tenant_agency_id_key"),
            models.UniqueConstraint(fields=["agency", "phone"], name="tenant_agency_phone_unique"),
            models.UniqueConstraint(
                fields=["agency", "email"],
                condition=~Q(email=""),
                name="tenant_agency_email_unique",
            ),
            models.CheckConstraint(
                condition=Q(phone__regex=r"^254[0-9]{9}$"), name="tenant_phone_format"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "inactive"]), name="tenant_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "full_name"], name="tenant_agency_name"),
            models.Index(fields=["email"], name="tenant_email"),
            models.Index(fields=["phone"], name="tenant_phone"),
        ]

    def __str__(self) -> str:
        return self.full_name
