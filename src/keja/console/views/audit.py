"""The audit trail (D7): who did what, when, to which object."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from keja.console.selectors import audit_rows
from keja.console.views.base import actor_of, console_view
from keja.console.views.listing import Filter, ListSpec, Sort, list_response

OBJECT_TYPES = (
    ("agency", "Agency"),
    ("apikey", "API key"),
    ("invoice", "Invoice"),
    ("lease", "Lease"),
    ("membership", "Membership"),
    ("payment", "Payment"),
    ("property", "Property"),
    ("tenant", "Tenant"),
    ("unit", "Unit"),
)
AUDIT = ListSpec(
    title="Audit trail",
    url_name="console:audit",
    page_template="audit/pages/list.html",
    table_template="audit/partials/table.html",
    sorts=(Sort("newest", "Newest first", "-id"),),
    filters=(Filter("object_type", "Object", OBJECT_TYPES),),
    search_label="Search the audit trail",
    search_hint="Action, summary, person or object id",
)


@console_view()
def audit_list_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    return list_response(request, AUDIT, lambda q, f: audit_rows(actor=actor, q=q or None, **f))
