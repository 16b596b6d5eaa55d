"""Every API response in the tests is checked against the OpenAPI document (the Zulip habit): the
status must be documented for the operation, the media type too, and the body must validate
against that response's JSON schema. An operation opts out only by name, in ``OPT_OUT``."""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from typing import Any

from django.http import HttpResponse
from jsonschema import Draft202012Validator, FormatChecker

# operationId -> why its body is not checked
OPT_OUT: dict[str, str] = {"ping": "the bare performance baseline declares no response schema"}

_checker = FormatChecker()


@_checker.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value)
    if parsed.utcoffset() is None:
        raise ValueError("a timestamp without an offset")
    return True


@functools.cache
def openapi() -> dict[str, Any]:
    from keja.config.api import api

    # through JSON, as clients see it (integer status keys become strings)
    return json.loads(json.dumps(api.get_openapi_schema(), default=str))


@functools.cache
def _routes() -> list[tuple[re.Pattern[str], str]]:
    routes = []
    for template in openapi()["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template))
        routes.append((re.compile(f"^{pattern}$"), template))
    # literal paths before templated ones (/payments/unmatched before /payments/{payment_id})
    routes.sort(key=lambda r: r[1].count("{"))
    return routes


def operation_for(method: str, path: str) -> tuple[str, dict[str, Any]]:
    path = path.split("?", 1)[0]
    for pattern, template in _routes():
        if pattern.match(path) and method.lower() in openapi()["paths"][template]:
            return template, openapi()["paths"][template][method.lower()]
    raise AssertionError(f"{method} {path} is not an operation of the OpenAPI document")


@functools.cache
def _validator(schema_json: str) -> Draft202012Validator:
    schema = json.loads(schema_json)
    schema["components"] = openapi()["components"]  # so "#/components/..." refs resolve
    return Draft202012Validator(schema, format_checker=_checker)


def check_response(method: str, path: str, response: HttpResponse) -> None:
    template, operation = operation_for(method, path)
    label = f"{method.upper()} {template} ({operation['operationId']})"
    status = str(response.status_code)
    documented = operation["responses"]
    assert status in documented, (
        f"{label} answered {status}, which its schema does not declare ({sorted(documented)}):\n"
        f"{response.content[:2000]!r}"
    )
    if operation["operationId"] in OPT_OUT:
        return
    content = documented[status].get("content")
    if not content:
        return
    media_type = response["Content-Type"].split(";")[0].strip()
    assert media_type in content, f"{label} {status} answered {media_type}, not {list(content)}"
    body = json.loads(response.content)
    schema = content[media_type]["schema"]
    errors = sorted(
        _validator(json.dumps(schema, sort_keys=True)).iter_errors(body), key=lambda e: e.path
    )
    assert not errors, f"{label} {status} does not match its schema:\n" + "\n".join(
        f"  at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors[:20]
    )
