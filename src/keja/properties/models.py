"""Properties and units (D2)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from keja.platform.scoping import ScopedManager


class Property(models.Model):
    class Kind(models.TextChoices):
        APARTMENT = "apartment"
        HOUSE = "house"
        COMMERCIAL = "commercial"
        MIXED = "mixed"

    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"
        ARCHIVED = "archived"

    agency = models.ForeignKey(  # the property_agency_* indexes lead with it
        "agencies.Agency", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    name = models.CharField(max_length=120)
    county = models.CharField(max_length=40)
    town = models.CharField(max_length=60)
    address = models.CharField(max_length=200, blank=True, default="")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.APARTMENT)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager["Property"]()

    class Meta:
        verbose_name_plural = "properties"
        constraints = [
            # also serves newest-first pages (read backwards): no separate (agency, -id) index
            models.UniqueConstraint(fields=["agency", "id"], name="property_agency_id_key"),
            models.UniqueConstraint(fields=["agency", "name"], name="property_agency_name_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["active", "inactive", "archived"]),
                name="property_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="property_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="property_longitude_range",
            ),
        ]
        indexes = [
            # agency-scoped list, newest first (keyset on id)
            models.Index(fields=["agency", "status", "-id"], name="property_agency_status"),
            models.Index(fields=["agency", "county", "town"], name="property_agency_location"),
            # property_list filters county/town case-insensitively (UPPER(county::text) = ...)
            models.Index(
                F("agency"), Upper("county"), Upper("town"), name="property_agency_location_ci"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    class Status(models.TextChoices):
        VACANT = "vacant"
        OCCUPIED = "occupied"
        MAINTENANCE = "maintenance"

    # unit_agency_* lead with agency, unit_property_label_unique with property
    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    property = models.ForeignKey(
        Property, on_delete=models.PROTECT, related_name="units", db_index=False
    )
    label = models.CharField(max_length=30)
    bedrooms = models.PositiveSmallIntegerField(default=1)
    monthly_rent = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.VACANT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager["Unit"]()

    class Meta:
        constraints = [
            # also serves newest-first pages (read backwards): no separate (agency, -id) index
            models.UniqueConstraint(fields=["agency", "id"], name="unit_agency_id_key"),
            models.UniqueConstraint(
                fields=["property", "label"], name="unit_property_label_unique"
            ),
            models.CheckConstraint(
                condition=Q(monthly_rent__gt=Decimal("0")), name="unit_rent_positive"
            ),
            models.CheckConstraint(condition=Q(bedrooms__lte=50), name="unit_bedrooms_le_50"),
            models.CheckConstraint(
                condition=Q(status__in=["vacant", "occupied", "maintenance"]),
                name="unit_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "status"], name="unit_agency_status"),
            # console sorts: label, highest rent (keyset pages without a sort)
            models.Index(fields=["agency", "label", "id"], name="unit_agency_label"),
            models.Index(fields=["agency", "monthly_rent", "id"], name="unit_agency_rent"),
        ]

    def __str__(self) -> str:
        return self.label
