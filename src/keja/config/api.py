"""The one django-ninja API of Keja, assembled from a router per context.

Every operation needs an API key (``Authorization: Bearer kj_…``) or the console's session (with
CSRF on writes), except ``/ping``. Errors are RFC 9457 problem+json (``keja.platform.api``);
lists use keyset pagination; POSTs that create or move money honour ``Idempotency-Key``.
OpenAPI 3.1 at ``/api/v1/openapi.json``, interactive docs at ``/api/v1/docs``; see docs/api.md.
"""

from __future__ import annotations

from keja.agencies.api import AUTH
from keja.agencies.api import router as agencies_router
from keja.audit.api import router as audit_router
from keja.billing.api import router as billing_router
from keja.leases.api import router as leases_router
from keja.payments.api import router as payments_router
from keja.platform.api import KejaAPI
from keja.properties.api import router as properties_router
from keja.reports.api import router as reports_router
from keja.tenants.api import router as tenants_router

api = KejaAPI(
    title="Keja API",
    version="1.0.0",
    description="Rent operations for property agencies: properties, units, tenants, leases, "
    "invoices and M-Pesa payments. Authenticate with `Authorization: Bearer <API key>` (or the "
    "console session); errors are `application/problem+json`; lists are keyset-paginated "
    "(`limit`, `cursor`); money is a string in KES with two decimals; timestamps are UTC.",
    urls_namespace="api-v1",
    auth=AUTH,
)


@api.get("/ping", auth=None, tags=["meta"], summary="Bare endpoint (no database, no cache)")
def ping(request: object) -> dict[str, str]:
    return {"status": "ok"}


api.add_router("", agencies_router)
api.add_router("", properties_router)
api.add_router("", tenants_router)
api.add_router("", leases_router)
api.add_router("", billing_router)
api.add_router("", payments_router)
api.add_router("", audit_router)
api.add_router("", reports_router)
