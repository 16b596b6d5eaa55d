"""Console forms: they parse what a person typed and put errors beside the fields. The rules
themselves live in the services; a ``DomainError`` a service raises is shown beside the field
it names (``add_domain_error``)."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any, cast

from django import forms

from keja.kernel.clock import NAIROBI, today_nairobi
from keja.kernel.errors import DomainError
from keja.leases.models import Lease
from keja.payments.models import Payment
from keja.platform.scoping import Actor
from keja.properties.models import Property, Unit
from keja.properties.selectors import unit_list
from keja.tenants.models import Tenant
from keja.tenants.selectors import tenant_list

CHOICE_LIMIT = 1000

# Services name fields by their argument names; the forms by what a person sees.
FIELD_ALIASES = {
    "unit_id": "unit",
    "tenant_id": "tenant",
    "lease_id": "lease_reference",
    "payment_id": None,
    "property_id": None,
}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class ConsoleForm(forms.Form):
    """A form whose invalid fields carry ``aria-invalid`` and point at their error text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        first = True
        for name in self.fields:  # in field order: the first invalid field gets the focus
            attrs = self.fields[name].widget.attrs
            attrs.pop("autofocus", None)
            if name not in self.errors:
                continue
            described = [f"{self[name].auto_id}_error"]
            if self.fields[name].help_text:
                described.append(f"{self[name].auto_id}_helptext")
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = " ".join(described)
            if first:
                attrs["autofocus"] = True
                first = False

    def add_domain_error(self, exc: DomainError) -> None:
        name = FIELD_ALIASES.get(exc.field, exc.field) if exc.field else None
        self.add_error(name if name in self.fields else None, exc.detail)


class PropertyForm(ConsoleForm):
    name = forms.CharField(max_length=120)
    county = forms.CharField(max_length=40)
    town = forms.CharField(max_length=60)
    address = forms.CharField(max_length=200, required=False)
    kind = forms.ChoiceField(choices=Property.Kind.choices, initial=Property.Kind.APARTMENT)
    status = forms.ChoiceField(choices=Property.Status.choices, initial=Property.Status.ACTIVE)
    latitude = forms.DecimalField(
        max_digits=9, decimal_places=6, required=False, min_value=-90, max_value=90
    )
    longitude = forms.DecimalField(
        max_digits=9, decimal_places=6, required=False, min_value=-180, max_value=180
    )


class UnitForm(ConsoleForm):
    label = forms.CharField(max_length=30, help_text="As written on the door, e.g. A4.")
    bedrooms = forms.IntegerField(min_value=0, max_value=50, initial=1)
    monthly_rent = forms.DecimalField(
        min_value=1, label="Monthly rent (KES)", max_digits=14, decimal_places=2
    )
    status = forms.ChoiceField(choices=Unit.Status.choices, initial=Unit.Status.VACANT)


class TenantForm(ConsoleForm):
    full_name = forms.CharField(max_length=120)
    phone = forms.CharField(
        max_length=32,
        help_text="Kenyan mobile number, e.g. 0712 345678.",
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    email = forms.EmailField(required=False)
    national_id = forms.CharField(max_length=20, required=False, label="National ID")
    status = forms.ChoiceField(choices=Tenant.Status.choices, initial=Tenant.Status.ACTIVE)


class LeaseForm(ConsoleForm):
    unit = forms.TypedChoiceField(coerce=int)
    tenant = forms.TypedChoiceField(coerce=int)
    start_date = forms.DateField(widget=DateInput())
    end_date = forms.DateField(required=False, widget=DateInput(), help_text="Empty: open-ended.")
    monthly_rent = forms.DecimalField(
        required=False,
        min_value=1,
        label="Monthly rent (KES)",
        help_text="Empty: the unit's rent.",
        max_digits=14,
        decimal_places=2,
    )
    deposit = forms.DecimalField(
        min_value=0, initial=Decimal("0"), label="Deposit (KES)", max_digits=14, decimal_places=2
    )
    billing_day = forms.IntegerField(min_value=1, max_value=28, initial=1)
    account_reference = forms.CharField(
        max_length=20,
        required=False,
        help_text="What tenants type as the M-Pesa account number. Empty: generated.",
    )
    activate = forms.BooleanField(required=False, initial=True, label="Activate now")

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = unit_list(actor=actor).order_by("property__name", "label")[:CHOICE_LIMIT]
        cast(forms.ChoiceField, self.fields["unit"]).choices = [("", "Choose a unit")] + [
            (u.pk, f"{u.property.name} / {u.label} ({u.get_status_display()})") for u in units
        ]
        tenants = tenant_list(actor=actor, status="active").order_by("full_name")[:CHOICE_LIMIT]
        cast(forms.ChoiceField, self.fields["tenant"]).choices = [("", "Choose a tenant")] + [
            (t.pk, t.full_name) for t in tenants
        ]


class LeaseStatusForm(ConsoleForm):
    ACTIONS = [("end", "End the lease"), ("terminate", "Terminate early"), ("activate", "Activate")]
    action = forms.ChoiceField(choices=ACTIONS)
    end_date = forms.DateField(required=False, widget=DateInput())

    def __init__(self, *args: Any, lease: Lease, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = {"draft": {"activate", "terminate"}, "active": {"end", "terminate"}}
        cast(forms.ChoiceField, self.fields["action"]).choices = [
            c for c in self.ACTIONS if c[0] in allowed.get(lease.status, set())
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "end" and not data.get("end_date"):
            self.add_error("end_date", "Say when the lease ends.")
        return data


class PaymentRecordForm(ConsoleForm):
    amount = forms.DecimalField(min_value=1, label="Amount (KES)", max_digits=14, decimal_places=2)
    method = forms.ChoiceField(
        choices=[(Payment.Method.CASH, "Cash"), (Payment.Method.BANK, "Bank transfer")]
    )
    paid_on = forms.DateField(
        required=False, widget=DateInput(), label="Paid on", help_text="Empty: now."
    )
    reference = forms.CharField(
        max_length=30, required=False, help_text="Bank or receipt reference, if any."
    )
    note = forms.CharField(max_length=255, required=False)

    def paid_at(self) -> datetime | None:
        """The payment time: now for today (or no date), else midday in Nairobi that day."""
        day = self.cleaned_data.get("paid_on")
        if day is None or day == today_nairobi():
            return None
        return datetime.combine(day, time(12, 0), tzinfo=NAIROBI)


class PaymentReverseForm(ConsoleForm):
    reason = forms.CharField(
        max_length=200, help_text="Kept in the audit trail, e.g. 'cheque bounced'."
    )


class PaymentAssignForm(ConsoleForm):
    lease_reference = forms.CharField(
        max_length=20, label="Lease account reference", help_text="For example K7Q2M8XZ."
    )


class SwitchAgencyForm(forms.Form):
    agency_id = forms.IntegerField(min_value=1)
