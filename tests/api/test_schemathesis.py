"""A bounded schemathesis run inside the suite: every operation of the live schema gets generated
requests (through the WSGI app, against a seeded agency) and every answer must be a non-5xx,
documented status, of the documented media type, matching its schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from keja.agencies.models import Agency
from keja.billing.services import invoice_issue
from keja.payments.services import payment_record
from keja.platform.scoping import Actor
from tests.api import seed
from tests.api.conftest import make_key
from tests.factories import make_lease

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
MAX_EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@contextmanager
def same_connection() -> Iterator[None]:
    """Keep the test's transaction open across WSGI requests (as Django's test client does)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _seed(agency: Agency, actor: Actor) -> dict[str, int]:
    """A small agency; returns real ids for the path parameters of the second pass."""
    ids: dict[str, int] = {}
    for day in (1, 2, 3):
        lease = make_lease(actor, start=date(2026, 1, day))
        invoice = invoice_issue(agency_id=agency.pk, lease_id=lease.pk, period=date(2026, 1, 1))
        payment = payment_record(actor=actor, lease_id=lease.pk, amount="5000", method="cash")
        assert invoice is not None
        ids.update(
            lease_id=lease.pk,
            unit_id=lease.unit_id,
            tenant_id=lease.tenant_id,
            property_id=lease.unit.property_id,
            invoice_id=invoice.pk,
            payment_id=payment.pk,
        )
    ids["unmatched_id"] = seed.payments(agency, 3, unmatched=True)[0].pk
    ids["key_id"] = seed.api_keys(agency, 1)[0].pk
    seed.properties(agency, 3)
    seed.tenants(agency, 3)
    return ids


def _real_ids(path: str, names: list[str], ids: dict[str, int]) -> dict[str, int]:
    real = {name: ids[name] for name in names if name in ids}
    if "unmatched" in path and "payment_id" in names:
        real["payment_id"] = ids["unmatched_id"]
    return real


def test_generated_requests_never_fail_the_contract(agency: Agency, actor: Actor) -> None:
    ids = _seed(agency, actor)
    token = make_key(agency, "read-write")
    auth = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    with same_connection():
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 30
        for operation in operations:
            names = [p.name for p in operation.path_parameters]
            # generated ids (mostly unknown ones: 404), then real ids where the path has some
            passes: list[tuple[int, dict[str, int] | None]] = [(MAX_EXAMPLES, None)]
            if names:
                passes.append((MAX_EXAMPLES // 2, _real_ids(operation.path, names, ids)))
            for examples, path_parameters in passes:
                strategy = operation.as_strategy(headers=auth, path_parameters=path_parameters)

                @settings(
                    max_examples=examples,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=strategy)
                def run(case: schemathesis.Case) -> None:
                    response = case.call()
                    case.validate_response(response, checks=CHECKS)

                try:
                    run()
                except Exception as exc:  # every operation's failure is collected
                    failures.append(f"{operation.label} {path_parameters or ''}:\n{exc}")
    assert not failures, "\n\n".join(failures)
