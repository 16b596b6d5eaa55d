"""The bulk rule (P1.3): batches of N in their own transactions, every rejected row reported
with its position and reason, never a half-applied batch."""

from __future__ import annotations

import pytest

from keja.kernel.errors import ValidationFailed
from keja.platform.batching import run_in_batches
from keja.tenants.models import Tenant
from keja.tenants.services import tenant_create
from tests.factories import make_agency, owner_actor

pytestmark = pytest.mark.django_db


def rows(n: int, bad: dict[int, str]) -> list[dict[str, str]]:
    out = []
    for i in range(1, n + 1):
        phone = bad.get(i, f"0711{i:06d}")
        out.append({"full_name": f"Tenant {i}", "phone": phone})
    return out


def test_valid_rows_of_a_failing_batch_commit_without_the_bad_row() -> None:
    actor = owner_actor(make_agency())
    data = rows(250, {7: "not-a-phone", 150: "0711000001"})  # 150 duplicates row 1's phone
    report = run_in_batches(data, lambda r: tenant_create(actor=actor, **r), batch_size=100)
    assert report.batches == 3
    assert [r.position for r in report.rejected] == [7, 150]
    assert all(r.reason for r in report.rejected)
    assert "phone number" in report.rejected[1].reason  # the duplicate names the clash
    assert report.applied == 248
    assert Tenant.objects.for_agency(actor).count() == 248
    assert (
        not Tenant.objects.for_agency(actor)
        .filter(full_name__in=["Tenant 7", "Tenant 150"])
        .exists()
    )


def test_validation_rejects_before_database_work_and_positions_are_1_based() -> None:
    actor = owner_actor(make_agency())

    def validate(row: dict[str, str]) -> None:
        if not row["full_name"].endswith(("1", "2", "3")):
            raise ValidationFailed("name must end in 1, 2 or 3", field="full_name")

    report = run_in_batches(
        rows(5, {}), lambda r: tenant_create(actor=actor, **r), validate_row=validate, batch_size=2
    )
    assert [r.position for r in report.rejected] == [4, 5]
    assert report.applied == 3


def test_a_batch_is_never_half_applied() -> None:
    """A row that fails after earlier rows of its batch wrote something: those writes roll back
    with the batch and are re-applied once, so every tenant exists exactly once."""
    actor = owner_actor(make_agency())
    data = rows(10, {10: "0711000003"})  # the last row of the batch collides with row 3
    report = run_in_batches(data, lambda r: tenant_create(actor=actor, **r), batch_size=10)
    assert [r.position for r in report.rejected] == [10]
    phones = list(Tenant.objects.for_agency(actor).values_list("phone", flat=True))
    assert len(phones) == len(set(phones)) == 9


def test_batch_size_is_bounded() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        run_in_batches([], lambda r: r, batch_size=0)
