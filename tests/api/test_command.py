"""``keja apikey``: create prints the key alone on its last line; list and revoke."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from keja.agencies.models import Agency, ApiKey
from keja.audit.models import AuditEntry
from tests.api.client import ApiClient

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("apikey", *args, stdout=out)
    return out.getvalue()


def test_create_prints_the_key_on_its_last_line(agency: Agency) -> None:
    output = run("create", "--agency", agency.slug, "--name", "Sync", "--scope", "read-write")
    raw = output.strip().splitlines()[-1]
    assert raw.startswith("kj_")
    assert " " not in raw
    key = ApiKey.objects.get(agency=agency, name="Sync")
    assert key.scope == "read-write"
    assert key.created_by is None
    assert raw.split("_")[1] == key.prefix
    assert raw not in {key.key_hash}
    api = ApiClient(token=raw)
    assert (
        api.post("/properties", {"name": "Via CLI", "county": "C", "town": "T"}).status_code == 201
    )
    entry = AuditEntry.objects.for_agency(agency.pk).get(action="apikey.created")
    assert entry.actor_label == "keja apikey"


def test_default_scope_is_read(agency: Agency) -> None:
    raw = run("create", "--agency", agency.slug, "--name", "Reader").strip().splitlines()[-1]
    assert (
        ApiClient(token=raw)
        .post("/properties", {"name": "x", "county": "c", "town": "t"})
        .status_code
        == 403
    )


def test_list_and_revoke(agency: Agency) -> None:
    raw = run("create", "--agency", agency.slug, "--name", "Temp").strip().splitlines()[-1]
    prefix = raw.split("_")[1]
    assert prefix in run("list", "--agency", agency.slug)
    assert raw not in run("list", "--agency", agency.slug)
    run("revoke", "--agency", agency.slug, "--prefix", prefix)
    assert ApiClient(token=raw).get("/agency").status_code == 401


def test_unknown_agency_or_bad_input_is_a_command_error(agency: Agency) -> None:
    with pytest.raises(CommandError, match="No agency"):
        run("create", "--agency", "nope", "--name", "x")
    with pytest.raises(CommandError, match="1 to 80"):
        run("create", "--agency", agency.slug, "--name", "   ")
