"""Agency scoping (D1): the one way business data is read and written.

Every business model uses ``ScopedManager``; selectors and services reach rows only through
``Model.objects.for_agency(actor)`` (an architecture test rejects any other ``.objects`` use in
selectors, services, APIs and views). An object of another agency is therefore never found, so
it answers 404 — never 403, never the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.db import models

ROLE_RANK = {"viewer": 0, "accountant": 1, "manager": 2, "owner": 3}


@dataclass(frozen=True)
class Actor:
    """Who is acting, for which agency: resolved once per request (session or API key) or job."""

    agency_id: int
    role: str
    user_id: int | None = None
    api_key_id: int | None = None
    label: str = ""
    is_staff: bool = False
    request_id: str = field(default="", compare=False)

    def can(self, minimum_role: str) -> bool:
        return self.is_staff or ROLE_RANK[self.role] >= ROLE_RANK[minimum_role]

    @classmethod
    def system(cls, agency_id: int, label: str = "system") -> Actor:
        return cls(agency_id=agency_id, role="owner", label=label)


M = TypeVar("M", bound=models.Model)


def agency_id_of(scope: Actor | int) -> int:
    agency_id = scope.agency_id if isinstance(scope, Actor) else scope
    if not isinstance(agency_id, int) or isinstance(agency_id, bool):
        raise TypeError("an agency scope is an Actor or an agency id")
    return agency_id


class ScopedQuerySet(models.QuerySet[M], Generic[M]):
    _scope_agency_id: int | None = None

    def for_agency(self, scope: Actor | int) -> ScopedQuerySet[M]:
        qs = self.filter(agency_id=agency_id_of(scope))
        qs._scope_agency_id = agency_id_of(scope)
        return qs

    def _clone(self) -> ScopedQuerySet[M]:
        clone = super()._clone()  # type: ignore[misc]
        clone._scope_agency_id = self._scope_agency_id
        return clone

    def _stamp(self, fields: dict[str, Any]) -> None:
        if self._scope_agency_id is None:
            return
        given = fields.get("agency_id", self._scope_agency_id)
        if given != self._scope_agency_id:
            raise ValueError("a scoped create cannot write into another agency")
        fields["agency_id"] = self._scope_agency_id

    def create(self, **kwargs: Any) -> M:
        """``Model.objects.for_agency(actor).create(...)``: the row lands in the scope's agency."""
        self._stamp(kwargs)
        return super().create(**kwargs)

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[M]:
        objs = list(objs)
        if self._scope_agency_id is not None:
            for obj in objs:
                if obj.agency_id is None:
                    obj.agency_id = self._scope_agency_id
                elif obj.agency_id != self._scope_agency_id:
                    raise ValueError("a scoped bulk_create cannot write into another agency")
        return super().bulk_create(objs, *args, **kwargs)


class ScopedManager(models.Manager[M]):
    def get_queryset(self) -> ScopedQuerySet[M]:
        return ScopedQuerySet(self.model, using=self._db)

    def for_agency(self, scope: Actor | int) -> ScopedQuerySet[M]:
        return self.get_queryset().for_agency(scope)

    def across_agencies(self, reason: str) -> ScopedQuerySet[M]:
        """The deliberate exception: a query over every agency (say why, it is greppable),
        e.g. receipts are unique across all agencies."""
        if not reason.strip():
            raise ValueError("say why this query crosses agencies")
        return self.get_queryset()


def scoped_create(model: type[M], scope: Actor | int, **fields: Any) -> M:
    """Create a row of ``model`` in the scope's agency (the agency cannot be passed in)."""
    if "agency" in fields or "agency_id" in fields:
        raise TypeError("the agency comes from the scope")
    return model._default_manager.create(agency_id=agency_id_of(scope), **fields)
