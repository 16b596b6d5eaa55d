"""Properties and units: lists, the property page, and their forms."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from keja.console.forms import PropertyForm, UnitForm
from keja.console.views.base import (
    actor_of,
    attempt,
    console_view,
    form_page,
    get_or_404,
    navigate,
    page,
)
from keja.console.views.listing import Filter, ListSpec, Sort, list_response
from keja.properties import services
from keja.properties.models import Property, Unit
from keja.properties.selectors import property_get, property_list, unit_get, unit_list

UNITS_ON_PAGE = 200

PROPERTIES = ListSpec(
    title="Properties",
    url_name="console:properties",
    page_template="properties/pages/list.html",
    table_template="properties/partials/table.html",
    sorts=(Sort("newest", "Newest first", "-id"), Sort("name", "Name A–Z", "name")),
    filters=(Filter("status", "Status", tuple(Property.Status.choices)),),
    search_label="Search properties",
    search_hint="Name, town or address",
)
UNITS = ListSpec(
    title="Units",
    url_name="console:units",
    page_template="properties/pages/unit_list.html",
    table_template="properties/partials/unit_table.html",
    sorts=(
        Sort("newest", "Newest first", "-id"),
        Sort("label", "Label A–Z", "label"),
        Sort("rent", "Highest rent", "-monthly_rent"),
    ),
    filters=(Filter("status", "Status", tuple(Unit.Status.choices)),),
    search_label="Search units",
    search_hint="Unit label or property name",
)


@console_view()
def property_list_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    return list_response(
        request, PROPERTIES, lambda q, f: property_list(actor=actor, q=q or None, **f)
    )


@console_view()
def unit_list_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    return list_response(request, UNITS, lambda q, f: unit_list(actor=actor, q=q or None, **f))


@console_view()
def property_detail(request: HttpRequest, property_id: int) -> HttpResponse:
    actor = actor_of(request)
    prop = get_or_404(property_get(actor=actor, property_id=property_id))
    units = list(unit_list(actor=actor, property_id=prop.pk).order_by("label")[:UNITS_ON_PAGE])
    return page(
        request,
        "properties/pages/detail.html",
        {"property": prop, "units": units, "units_capped": len(units) == UNITS_ON_PAGE},
    )


def _property_initial(prop: Property) -> dict[str, Any]:
    fields = ("name", "county", "town", "address", "kind", "status", "latitude", "longitude")
    return {name: getattr(prop, name) for name in fields}


@console_view(form_role="manager")
def property_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = PropertyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        prop = attempt(form, lambda: services.property_create(actor=actor, **data))
        if prop is not None:
            url = reverse("console:property", args=[prop.pk])
            return navigate(request, url, f"{prop.name} was added.")
    return form_page(
        request,
        form,
        title="New property",
        submit="Add property",
        cancel=reverse("console:properties"),
    )


@console_view(form_role="manager")
def property_edit(request: HttpRequest, property_id: int) -> HttpResponse:
    actor = actor_of(request)
    prop = get_or_404(property_get(actor=actor, property_id=property_id))
    form = PropertyForm(request.POST or None, initial=_property_initial(prop))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = attempt(
            form, lambda: services.property_update(actor=actor, property_id=prop.pk, **data)
        )
        if done is not None:
            url = reverse("console:property", args=[prop.pk])
            return navigate(request, url, f"{done.name} was saved.")
    return form_page(
        request,
        form,
        title=f"Edit {prop.name}",
        submit="Save property",
        cancel=reverse("console:property", args=[prop.pk]),
    )


@console_view(form_role="manager")
def unit_create(request: HttpRequest, property_id: int) -> HttpResponse:
    actor = actor_of(request)
    prop = get_or_404(property_get(actor=actor, property_id=property_id))
    form = UnitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        unit = attempt(form, lambda: services.unit_create(actor=actor, property_id=prop.pk, **data))
        if unit is not None:
            url = reverse("console:property", args=[prop.pk])
            return navigate(request, url, f"Unit {unit.label} was added to {prop.name}.")
    return form_page(
        request,
        form,
        title=f"New unit in {prop.name}",
        submit="Add unit",
        cancel=reverse("console:property", args=[prop.pk]),
    )


@console_view(form_role="manager")
def unit_edit(request: HttpRequest, unit_id: int) -> HttpResponse:
    actor = actor_of(request)
    unit = get_or_404(unit_get(actor=actor, unit_id=unit_id))
    initial = {n: getattr(unit, n) for n in ("label", "bedrooms", "monthly_rent", "status")}
    form = UnitForm(request.POST or None, initial=initial)
    back = reverse("console:property", args=[unit.property_id])
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = attempt(form, lambda: services.unit_update(actor=actor, unit_id=unit.pk, **data))
        if done is not None:
            return navigate(request, back, f"Unit {done.label} was saved.")
    return form_page(
        request,
        form,
        title=f"Edit unit {unit.label} ({unit.property.name})",
        submit="Save unit",
        cancel=back,
    )
