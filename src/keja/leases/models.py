"""Leases (D4). Two active leases never overlap on one unit: PostgreSQL enforces it with an
exclusion constraint (migration 0002), and ``lease_create``/``lease_activate`` check the same rule
so the embedded SQLite default behaves too."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from keja.platform.scoping import ScopedManager


class Lease(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        ENDED = "ended"
        TERMINATED = "terminated"

    # lease_agency_* lead with agency, lease_unit_status with unit, lease_tenant is tenant's
    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    unit = models.ForeignKey(
        "properties.Unit", on_delete=models.PROTECT, related_name="leases", db_index=False
    )
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="leases", db_index=False
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    monthly_rent = models.DecimalField(max_digits=14, decimal_places=2)
    deposit = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    billing_day = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    account_reference = models.CharField(max_length=12)
    # Money paid beyond what was owed, waiting for the next invoice (sum over the lease's
    # completed payments of their unallocated part; kept in the same transaction).
    credit_balance = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager["Lease"]()

    class Meta:
        constraints = [
            # also serves newest-first pages (read backwards): no separate (agency, -id) index
            models.UniqueConstraint(fields=["agency", "id"], name="lease_agency_id_key"),
            models.UniqueConstraint(
                fields=["agency", "account_reference"], name="lease_agency_reference_unique"
            ),
            models.CheckConstraint(
                condition=Q(account_reference__regex=r"^[A-Z0-9]{1,12}$"),
                name="lease_reference_format",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="lease_dates_ordered",
            ),
            models.CheckConstraint(condition=Q(monthly_rent__gt=0), name="lease_rent_positive"),
            models.CheckConstraint(condition=Q(deposit__gte=0), name="lease_deposit_nonneg"),
            models.CheckConstraint(condition=Q(credit_balance__gte=0), name="lease_credit_nonneg"),
            models.CheckConstraint(
                condition=Q(billing_day__gte=1, billing_day__lte=28), name="lease_billing_day_range"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "active", "ended", "terminated"]),
                name="lease_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "status", "-id"], name="lease_agency_status"),
            # console sorts: latest start, highest rent (keyset pages without a sort)
            models.Index(fields=["agency", "start_date", "id"], name="lease_agency_start"),
            models.Index(fields=["agency", "monthly_rent", "id"], name="lease_agency_rent"),
            models.Index(fields=["unit", "status"], name="lease_unit_status"),
            models.Index(fields=["tenant"], name="lease_tenant"),
        ]

    def __str__(self) -> str:
        return self.account_reference
