from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_unrouted_api_path_answers_problem_json(client: Client) -> None:
    response = client.get("/api/v1/leases/abc")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_console_404_is_a_page(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code in {302, 404}  # the console asks for a login first, or 404
