"""Invoices (D5), and the ledger that ties money to them (D6): allocations of payments to invoices
and lease credit held per payment. Payments are referenced by name, never imported: billing sits
below payments, and every shilling still traces back to the payment it came from."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from keja.platform.scoping import ScopedManager


class Invoice(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        OPEN = "open"
        PARTIALLY_PAID = "partially_paid"
        PAID = "paid"
        OVERDUE = "overdue"
        VOID = "void"

    # The invoice_agency_* indexes lead with agency, invoice_lease_period_unique with lease: no
    # single-column index of their own (fewer indexes to write on every invoice).
    agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    lease = models.ForeignKey(
        "leases.Lease", on_delete=models.PROTECT, related_name="invoices", db_index=False
    )
    period = models.DateField(help_text="First day of the billing month.")
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="Rent for the period.")
    late_fee = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    total = models.DecimalField(max_digits=14, decimal_places=2)
    amount_paid = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    due_date = models.DateField()
    issued_at = models.DateTimeField()
    late_fee_charged_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = ScopedManager["Invoice"]()

    class Meta:
        constraints = [
            # also serves newest-first pages (read backwards): no separate (agency, -id) index
            models.UniqueConstraint(fields=["agency", "id"], name="invoice_agency_id_key"),
            models.UniqueConstraint(fields=["lease", "period"], name="invoice_lease_period_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="invoice_amount_nonneg"),
            models.CheckConstraint(condition=Q(late_fee__gte=0), name="invoice_late_fee_nonneg"),
            models.CheckConstraint(
                condition=Q(total=F("amount") + F("late_fee")), name="invoice_total_sum"
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_paid__lte=F("total")),
                name="invoice_paid_within_total",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["draft", "open", "partially_paid", "paid", "overdue", "void"]
                ),
                name="invoice_status_valid",
            ),
        ]
        indexes = [
            # arrears, overdue counts and aging: WHERE agency AND status IN (...) [AND due_date < ...]
            # ``id`` is included for COUNT("id"): the dashboard's aggregate is then an index-only
            # scan (tests/integration/test_indexes.py, docs/database.md)
            models.Index(
                fields=["agency", "status", "due_date"],
                include=["total", "amount_paid", "id"],
                name="invoice_agency_status_due",
            ),
            # billed this month: WHERE agency AND period = ...
            models.Index(
                fields=["agency", "period"],
                include=["total", "amount_paid", "status"],
                name="invoice_agency_period",
            ),
            # keyset pages sorted by due date or total (console sorts, API order=due_date): the
            # index hands over the first page instead of sorting the agency's invoices
            models.Index(fields=["agency", "due_date", "id"], name="invoice_agency_due"),
            models.Index(fields=["agency", "total", "id"], name="invoice_agency_total"),
            models.Index(fields=["agency", "period", "id"], name="invoice_agency_period_id"),
            models.Index(fields=["status", "due_date"], name="invoice_status_due"),
        ]

    def __str__(self) -> str:
        return f"INV-{self.pk}"

    @property
    def balance(self) -> Decimal:
        return self.total - self.amount_paid


class Allocation(models.Model):
    agency = models.ForeignKey("agencies.Agency", on_delete=models.CASCADE, related_name="+")
    # indexed by the named allocation_payment and allocation_invoice (no duplicate of each)
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager["Allocation"]()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["payment"], name="allocation_payment"),
            models.Index(fields=["invoice"], name="allocation_invoice"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id}->{self.invoice_id}: {self.amount}"


class CreditEntry(models.Model):
    """The part of a completed payment that no invoice needed yet. ``remaining`` is consumed by
    later invoices (each consumption is an Allocation from the same payment)."""

    agency = models.ForeignKey("agencies.Agency", on_delete=models.CASCADE, related_name="+")
    lease = models.ForeignKey(
        "leases.Lease", on_delete=models.PROTECT, related_name="credit_entries"
    )
    payment = models.OneToOneField(
        "payments.Payment", on_delete=models.PROTECT, related_name="credit_entry"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    remaining = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager["CreditEntry"]()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_amount_positive"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=F("amount")),
                name="credit_remaining_within",
            ),
        ]
        indexes = [
            models.Index(
                fields=["lease", "id"], condition=Q(remaining__gt=0), name="credit_lease_open"
            ),
        ]

    def __str__(self) -> str:
        return f"credit {self.remaining}/{self.amount} of payment {self.payment_id}"
