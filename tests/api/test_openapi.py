"""The API contract: the committed OpenAPI snapshot must match the code (a change to the API is a
deliberate, reviewed change of tests/api/openapi.snapshot.json), and the document is served.

Regenerate the snapshot after an intended change with:

    KEJA_UPDATE_SNAPSHOT=1 .venv/bin/pytest tests/api/test_openapi.py
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest

from tests.api.client import ApiClient
from tests.api.contract import openapi

SNAPSHOT = Path(__file__).with_name("openapi.snapshot.json")
UPDATE_ENV = "KEJA_UPDATE_SNAPSHOT"


def render(schema: dict[str, object]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_openapi_matches_the_committed_snapshot() -> None:
    current = render(openapi())
    if os.environ.get(UPDATE_ENV) == "1":
        SNAPSHOT.write_text(current)
        pytest.skip(f"{SNAPSHOT.name} rewritten; review the diff and commit it")
    assert SNAPSHOT.exists(), (
        f"{SNAPSHOT} is missing: create it with {UPDATE_ENV}=1 .venv/bin/pytest {__file__}"
    )
    committed = SNAPSHOT.read_text()
    if current != committed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                current.splitlines(keepends=True),
                fromfile="openapi.snapshot.json (committed)",
                tofile="openapi (code)",
                n=2,
            )
        )
        lines = diff.splitlines()
        shown = "\n".join(lines[:200]) + (
            f"\n… {len(lines) - 200} more lines" if len(lines) > 200 else ""
        )
        pytest.fail(
            "The API changed but its committed schema did not. If the change is intended, run\n"
            f"  {UPDATE_ENV}=1 .venv/bin/pytest tests/api/test_openapi.py\n"
            "and commit tests/api/openapi.snapshot.json with the code.\n\n" + shown,
            pytrace=False,
        )


def test_the_document_is_openapi_3_1_and_served(db: None) -> None:
    response = ApiClient().client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    served = response.json()
    assert served["openapi"].startswith("3.1")
    assert served == openapi()
    assert set(served["components"]["securitySchemes"]) == {"ApiKeyAuth", "SessionAuth"}


def test_docs_page_is_served(db: None) -> None:
    response = ApiClient().client.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content


def test_every_operation_has_a_unique_id_summary_and_tag() -> None:
    seen = set()
    for operations in openapi()["paths"].values():
        for operation in operations.values():
            assert operation["operationId"] not in seen
            seen.add(operation["operationId"])
            assert operation["summary"]
            assert operation.get("tags")
    assert len(seen) >= 30


def test_posts_that_create_or_move_money_accept_an_idempotency_key() -> None:
    exempt = {
        "api_key_create": "its answer holds a secret that must never be stored",
        "api_key_revoke": "creates nothing; revoking twice is already harmless",
    }
    for operations in openapi()["paths"].values():
        post = operations.get("post")
        if post is None or post["operationId"] in exempt:
            continue
        names = {p["name"] for p in post.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in names, post["operationId"]
