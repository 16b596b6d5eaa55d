"""Errors (RFC 9457): one shape, ``application/problem+json``, the right status for each kind of
failure, field errors, the request id, and never a 500 for out-of-range input."""

from __future__ import annotations

import json

import pytest

from keja.agencies.models import Agency
from keja.platform.scoping import Actor
from tests.api.client import ApiClient
from tests.factories import make_lease, make_property

pytestmark = pytest.mark.django_db
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id", "errors"}


def test_validation_errors_name_each_field(api: ApiClient) -> None:
    response = api.post(
        "/properties",
        {"name": "", "county": "Nairobi", "kind": "castle"},
        headers={"X-Request-ID": "req-7"},
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) == PROBLEM_KEYS
    assert body["status"] == 422
    assert body["code"] == "validation_failed"
    assert body["type"] == "urn:keja:problem:validation_failed"
    assert body["request_id"] == "req-7" == response["X-Request-ID"]
    assert {e["field"] for e in body["errors"]} == {"name", "town", "kind"}
    assert all(e["message"] for e in body["errors"])


def test_query_parameter_errors_name_the_parameter(api: ApiClient) -> None:
    body = api.get("/leases", starts_after="yesterday").json()
    assert body["errors"][0]["field"] == "starts_after"


def test_domain_errors_keep_their_status_code_and_field(actor: Actor, api: ApiClient) -> None:
    lease = make_lease(actor)
    response = api.post(f"/leases/{lease.pk}/activate")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_lease_transition"
    assert body["title"] == "Conflict"
    assert body["errors"] == [{"field": "status", "message": body["detail"]}]


def test_unknown_object_answers_404_problem(api: ApiClient) -> None:
    response = api.get("/leases/999999")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["detail"] == "Lease not found."


@pytest.mark.parametrize(
    "path",
    ["/leases/9223372036854775808", "/leases/0", "/properties/99999999999999999999999"],
)
def test_ids_out_of_range_answer_422_not_500(api: ApiClient, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] in {"lease_id", "property_id"}


@pytest.mark.parametrize(
    "body",
    [
        {"lease_id": 2**63, "amount": 1, "method": "cash"},
        {"lease_id": 1, "amount": "99999999999999999999", "method": "cash"},
        {"lease_id": 1, "amount": 1, "method": "cash", "paid_at": "0001-01-01T00:00:00+05:00"},
        {"lease_id": 1, "amount": 1, "method": "cash", "paid_at": "9999-12-31T23:59:59-05:00"},
        {"lease_id": 1, "amount": 1, "method": "cash", "reference": "A\u0000B"},
        {"lease_id": 1, "amount": 1, "method": "cash", "note": "x" * 256},
        {"lease_id": 10**40, "amount": 1, "method": "cash"},
        {"lease_id": 1, "amount": 10**40, "method": "cash"},
    ],
)
def test_out_of_range_bodies_answer_422(api: ApiClient, body: dict[str, object]) -> None:
    raw = json.dumps(body).encode()  # the stdlib writes integers of any size
    response = api.request("POST", "/payments", raw_body=raw)
    assert response.status_code == 422, response.content


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"name": "\\ud800", "county": "x", "town": "y"}',  # a lone surrogate
        b"\xff\xfe",
    ],
)
def test_malformed_json_answers_400(api: ApiClient, raw: bytes) -> None:
    response = api.request("POST", "/properties", raw_body=raw)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"


def test_nul_in_a_query_parameter_answers_422(api: ApiClient) -> None:
    assert api.get("/tenants", q="a\x00b").status_code == 422


def test_unexpected_errors_answer_500_problem_without_details(
    agency: Agency,
    api: ApiClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A real failure below the view (the properties table is gone, inside this test's
    transaction): 500 problem+json with the request id, no internals, logged."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ALTER TABLE properties_property RENAME TO properties_property_gone")
    with caplog.at_level("ERROR", logger="keja.api"):
        response = api.request(
            "GET", "/properties", headers={"X-Request-ID": "boom-1"}, validate=False
        )
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) == PROBLEM_KEYS
    assert body["code"] == "internal_error"
    text = response.content.decode()
    assert "properties_property" not in text
    assert "relation" not in text
    assert body["request_id"] == "boom-1"
    assert any(
        isinstance(r.msg, dict) and r.msg.get("event") == "api_unhandled_error"
        for r in caplog.records
    )


def test_money_is_a_string_with_two_places_and_times_are_utc(actor: Actor, api: ApiClient) -> None:
    from tests.factories import make_unit

    unit = make_unit(actor, rent="15000")
    body = api.get(f"/units/{unit.pk}").json()
    assert body["monthly_rent"] == "15000.00"
    assert body["created_at"].endswith("Z")
    assert "+" not in body["created_at"]


def test_every_operation_declares_its_error_answers() -> None:
    from tests.api.contract import openapi

    for path, operations in openapi()["paths"].items():
        for method, operation in operations.items():
            if operation["operationId"] == "ping":
                continue
            statuses = set(operation["responses"])
            assert {"400", "401", "403", "422", "429"} <= statuses, (method, path)
            if "{" in path or method != "get":
                assert "404" in statuses, (method, path)
            if method != "get":
                assert "409" in statuses, (method, path)
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    schema = answer["content"]["application/problem+json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Problem"}


def test_property_detail_of_a_missing_property(actor: Actor, api: ApiClient) -> None:
    prop = make_property(actor)
    assert api.get(f"/properties/{prop.pk + 1000}").status_code == 404
