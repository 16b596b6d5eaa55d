"""A test client for the API that checks every answer against the OpenAPI document."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from django.http import HttpResponse
from django.test import Client

from tests.api.contract import check_response

PREFIX = "/api/v1"


class ApiClient:
    """``api.get("/leases", limit=5)``, ``api.post("/leases", {...})``: paths are relative to
    /api/v1; every response is validated against the schema unless ``validate=False``."""

    def __init__(self, client: Client | None = None, *, token: str | None = None) -> None:
        self.client = client or Client()
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        raw_body: bytes | None = None,
        validate: bool = True,
    ) -> HttpResponse:
        url = path if path.startswith(PREFIX) else PREFIX + path
        if params:
            url += ("&" if "?" in url else "?") + urlencode(
                {k: v for k, v in params.items() if v is not None}
            )
        all_headers = dict(headers or {})
        if self.token is not None:
            all_headers.setdefault("Authorization", f"Bearer {self.token}")
        data: bytes | str = raw_body if raw_body is not None else b""
        if raw_body is None and body is not None:
            data = orjson.dumps(body)
        response = self.client.generic(
            method.upper(),
            url,
            data=data,
            content_type="application/json",
            headers=all_headers,
        )
        if validate:
            check_response(method, url, response)
        return response

    def get(self, path: str, **params: Any) -> HttpResponse:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> HttpResponse:
        return self.request("POST", path, {} if body is None else body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> HttpResponse:
        return self.request("PATCH", path, {} if body is None else body, **kwargs)
