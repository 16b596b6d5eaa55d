"""Application errors. Every error a user or integrator can cause is a ``DomainError``; the API
maps them to RFC 9457 problem+json answers and the console shows the same message."""

from __future__ import annotations


class DomainError(Exception):
    """Base of all expected application errors."""

    status = 400
    code = "invalid"
    title = "Invalid request"

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        if code:
            self.code = code


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"
    title = "Validation failed"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"
    title = "Permission denied"
