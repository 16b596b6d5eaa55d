"""Agencies, memberships with roles, and per-agency API keys (D1)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q


class Agency(models.Model):
    class LateFeeKind(models.TextChoices):
        NONE = "none"
        FLAT = "flat"
        PERCENT = "percent"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    mpesa_shortcode = models.CharField(max_length=12, blank=True, default="")
    late_fee_kind = models.CharField(
        max_length=8, choices=LateFeeKind.choices, default=LateFeeKind.NONE
    )
    late_fee_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    late_fee_grace_days = models.PositiveSmallIntegerField(default=5)
    invoice_due_days = models.PositiveSmallIntegerField(default=5)
    reject_unknown_c2b_accounts = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "agencies"
        constraints = [
            models.CheckConstraint(
                condition=Q(late_fee_value__gte=0), name="agency_late_fee_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(late_fee_grace_days__lte=60), name="agency_grace_le_60"
            ),
            models.CheckConstraint(
                condition=Q(invoice_due_days__lte=28), name="agency_due_days_le_28"
            ),
            models.UniqueConstraint(
                fields=["mpesa_shortcode"],
                condition=~Q(mpesa_shortcode=""),
                name="agency_shortcode_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        MANAGER = "manager"
        ACCOUNTANT = "accountant"
        VIEWER = "viewer"

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )  # membership_agency_role leads with it
    user = models.ForeignKey(  # membership_user_agency_unique leads with it
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        db_index=False,
    )
    role = models.CharField(max_length=12, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "agency"], name="membership_user_agency_unique"
            ),
            models.CheckConstraint(
                condition=Q(role__in=["owner", "manager", "accountant", "viewer"]),
                name="membership_role_valid",
            ),
        ]
        indexes = [models.Index(fields=["agency", "role"], name="membership_agency_role")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.agency_id}:{self.role}"


class ApiKey(models.Model):
    class Scope(models.TextChoices):
        READ = "read"
        READ_WRITE = "read-write"

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="api_keys", db_index=False
    )  # apikey_agency_created leads with it
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=["read", "read-write"]), name="apikey_scope_valid"
            ),
        ]
        indexes = [models.Index(fields=["agency", "-created_at"], name="apikey_agency_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
