"""Payments and allocations (D6). Amounts in KES as Decimal; a receipt is unique across all
channels; completed payments are never edited (a correction is a reversal)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from keja.platform.scoping import ScopedManager


class Payment(models.Model):
    class Method(models.TextChoices):
        MPESA_STK = "mpesa_stk"
        MPESA_PAYBILL = "mpesa_paybill"
        CASH = "cash"
        BANK = "bank"

    class Status(models.TextChoices):
        PENDING = "pending"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"
        EXPIRED = "expired"
        REVERSED = "reversed"

    # The payment_agency_* indexes lead with agency, payment_lease_status with lease: no
    # single-column index of their own (fewer indexes to write on every payment).
    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # Null while unmatched: money that matches no lease waits for a person to assign it.
    lease = models.ForeignKey(
        "leases.Lease",
        on_delete=models.PROTECT,
        related_name="payments",
        null=True,
        blank=True,
        db_index=False,
    )
    method = models.CharField(max_length=14, choices=Method.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    paid_at = models.DateTimeField(null=True, blank=True)
    receipt = models.CharField(max_length=30, null=True, blank=True)
    phone = models.CharField(max_length=12, blank=True, default="")
    payer_name = models.CharField(max_length=120, blank=True, default="")
    account_reference = models.CharField(
        max_length=40, blank=True, default="", help_text="As the payer typed it."
    )
    checkout_request_id = models.CharField(max_length=64, null=True, blank=True)
    merchant_request_id = models.CharField(max_length=64, blank=True, default="")
    result_code = models.IntegerField(null=True, blank=True)
    result_description = models.CharField(max_length=255, blank=True, default="")
    note = models.CharField(max_length=255, blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager["Payment"]()

    class Meta:
        constraints = [
            # also serves newest-first pages (read backwards): no separate (agency, -id) index
            models.UniqueConstraint(fields=["agency", "id"], name="payment_agency_id_key"),
            models.UniqueConstraint(
                fields=["receipt"],
                condition=Q(receipt__isnull=False),
                name="payment_receipt_unique",
            ),
            models.UniqueConstraint(
                fields=["checkout_request_id"],
                condition=Q(checkout_request_id__isnull=False),
                name="payment_checkout_unique",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(method__in=["mpesa_stk", "mpesa_paybill", "cash", "bank"]),
                name="payment_method_valid",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "pending",
                        "completed",
                        "failed",
                        "cancelled",
                        "expired",
                        "reversed",
                    ]
                ),
                name="payment_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(paid_at__isnull=False),
                name="payment_completed_has_paid_at",
            ),
        ]
        indexes = [
            # collected this month: WHERE agency AND status='completed' AND paid_at in the month
            models.Index(
                fields=["agency", "status", "paid_at"],
                include=["amount"],
                name="payment_agency_status_paid",
            ),
            # keyset pages sorted by payment time or amount (API order=paid_at, console sort)
            models.Index(fields=["agency", "paid_at", "id"], name="payment_agency_paid"),
            models.Index(fields=["agency", "amount", "id"], name="payment_agency_amount"),
            models.Index(fields=["lease", "status"], name="payment_lease_status"),
            models.Index(fields=["status", "created_at"], name="payment_status_created"),
            models.Index(
                fields=["agency", "-id"],
                condition=Q(lease__isnull=True, status="completed"),
                name="payment_unmatched",
            ),
        ]

    def __str__(self) -> str:
        return f"PAY-{self.pk}"


class MpesaCallback(models.Model):
    """Every M-Pesa callback as it arrived (P5.1): stored before it is processed, so nothing
    Safaricom sends is ever lost, and a failure on our side can be retried from the stored body.

    The first delivery of a (kind, external_id) owns that pair (partial unique constraint);
    a redelivery is stored too, pointing at the first through ``duplicate_of``. Malformed bodies
    are kept (``status=malformed``) for inspection and own nothing."""

    class Kind(models.TextChoices):
        STK = "stk"
        C2B_VALIDATION = "c2b_validation"
        C2B_CONFIRMATION = "c2b_confirmation"

    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSED = "processed"
        DUPLICATE = "duplicate"
        FAILED = "failed"
        MALFORMED = "malformed"

    # Unknown until the callback is matched (an STK callback names no agency).
    agency = models.ForeignKey(  # mpesa_callback_agency leads with it
        "agencies.Agency",
        on_delete=models.CASCADE,
        related_name="+",
        null=True,
        blank=True,
        db_index=False,
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    external_id = models.CharField(
        max_length=64, null=True, blank=True, help_text="CheckoutRequestID (STK) or TransID (C2B)."
    )
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="redeliveries"
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    outcome = models.CharField(max_length=40, blank=True, default="")
    raw = models.TextField(help_text="The body exactly as received (bounded).")
    payload = models.JSONField(null=True, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager["MpesaCallback"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "external_id"],
                condition=Q(duplicate_of__isnull=True, external_id__isnull=False)
                & ~Q(status="malformed"),
                name="mpesa_callback_first_delivery",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["stk", "c2b_validation", "c2b_confirmation"]),
                name="mpesa_callback_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["received", "processed", "duplicate", "failed", "malformed"]
                ),
                name="mpesa_callback_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "-id"], name="mpesa_callback_agency"),
            # the retry sweep: failed (or stuck) callbacks, oldest first
            models.Index(
                fields=["received_at"],
                condition=Q(status__in=["received", "failed"]),
                name="mpesa_callback_retry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.external_id or self.pk}"
