"""Shared API infrastructure (no business knowledge): the NinjaAPI subclass, problem+json errors,
orjson rendering, bounded input types, keyset-pagination schemas and helpers.

Authentication classes live in ``keja.agencies.api`` (they read API keys and memberships);
idempotency in ``keja.platform.idempotency``."""

from keja.platform.api.app import KejaAPI
from keja.platform.api.auth import request_actor
from keja.platform.api.pagination import ListQuery, page_of, paginate
from keja.platform.api.problems import (
    DETAIL_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    Problem,
    problem_responses,
)

__all__ = [
    "DETAIL_ERRORS",
    "READ_ERRORS",
    "WRITE_ERRORS",
    "KejaAPI",
    "ListQuery",
    "Problem",
    "page_of",
    "paginate",
    "problem_responses",
    "request_actor",
]
