"""The one django-ninja API of Keja, assembled from a router per context."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(
    title="Keja API",
    version="1.0.0",
    description="Rent operations for property agencies: properties, units, tenants, leases, "
    "invoices and M-Pesa payments.",
    urls_namespace="api-v1",
)


@api.get("/ping", auth=None, tags=["meta"], summary="Bare endpoint (no database, no cache)")
def ping(request: object) -> dict[str, str]:
    return {"status": "ok"}
