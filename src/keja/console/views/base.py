"""What every console view shares: the signed-in person's ``Actor`` for the current agency
(``request.actor``), the navigation, page-or-partial rendering, and error answers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cached_property, wraps
from typing import Any, TypeVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from keja.agencies.selectors import actor_for_user
from keja.console.forms import ConsoleForm
from keja.console.selectors import (
    SwitcherEntry,
    agencies_for_switcher,
    first_agency_id,
    unmatched_count,
)
from keja.kernel.errors import DomainError, NotFound, PermissionDenied
from keja.platform.middleware import bind_agency
from keja.platform.scoping import Actor

T = TypeVar("T")
View = Callable[..., HttpResponse]
SESSION_AGENCY = "agency_id"


class Nav:
    """Navigation data, computed only when a template shows it (a partial costs no query)."""

    def __init__(self, user: User, actor: Actor) -> None:
        self._user = user
        self._actor = actor

    @cached_property
    def agencies(self) -> list[SwitcherEntry]:
        return agencies_for_switcher(user=self._user, current_agency_id=self._actor.agency_id)

    @cached_property
    def current(self) -> SwitcherEntry | None:
        return next((a for a in self.agencies if a.agency_id == self._actor.agency_id), None)

    @property
    def agency_name(self) -> str:
        return self.current.name if self.current else f"Agency {self._actor.agency_id}"

    @property
    def staff_view(self) -> bool:
        """Platform staff looking at an agency they do not belong to (read-only)."""
        return bool(self._user.is_staff) and (self.current is None or self.current.role is None)

    @cached_property
    def unmatched(self) -> int:
        return unmatched_count(actor=self._actor)

    def prime_unmatched(self, count: int) -> None:
        """The dashboard already counted unmatched payments: no second query."""
        self.__dict__["unmatched"] = count


@dataclasses.dataclass(frozen=True)
class Perms:
    """What the current person may do, for menus and buttons. The services decide anyway."""

    actor: Actor

    @property
    def manage(self) -> bool:
        return self.actor.can("manager")

    @property
    def account(self) -> bool:
        return self.actor.can("accountant")

    @property
    def own(self) -> bool:
        return self.actor.can("owner")


def resolve_actor(request: HttpRequest, user: User) -> Actor | None:
    """The actor for the agency chosen in the session (the first agency when none or no longer
    allowed). Platform staff who are not members see an agency as a viewer: ``Actor.can``
    would let staff write anywhere, and the console is read-only for them (issue 5)."""
    request_id = getattr(request, "request_id", "")
    wanted = request.session.get(SESSION_AGENCY)
    agency_id = wanted if isinstance(wanted, int) else None
    actor = actor_for_user(user=user, agency_id=agency_id, request_id=request_id)
    if actor is None and agency_id is not None:
        actor = actor_for_user(user=user, agency_id=None, request_id=request_id)
    if actor is None and user.is_staff:
        fallback = first_agency_id()
        if fallback is not None:
            actor = actor_for_user(user=user, agency_id=fallback, request_id=request_id)
    if actor is None:
        return None
    if actor.agency_id != wanted:
        request.session[SESSION_AGENCY] = actor.agency_id
    return dataclasses.replace(actor, is_staff=False)


def wants_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def page(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    ctx = {"actor": actor, "can": Perms(actor), "nav": request.nav, **(context or {})}  # type: ignore[attr-defined]
    response = render(request, template, ctx, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def flash(
    request: HttpRequest, text: str, *, level: str = "success", status: int = 200
) -> HttpResponse:
    """A message in the page's live region (``#flash``), for HTMX requests."""
    response = render(
        request, "console/partials/flash.html", {"flash": text, "level": level}, status=status
    )
    return reswap(retarget(response, "#flash"), "innerHTML")


def forbidden(request: HttpRequest, detail: str) -> HttpResponse:
    if wants_partial(request):
        return flash(request, detail, level="error", status=403)
    return page(request, "console/pages/forbidden.html", {"detail": detail}, status=403)


def navigate(request: HttpRequest, url: str, message: str = "") -> HttpResponse:
    """After a successful write: go to ``url`` (a full page), with a message shown there."""
    if message:
        messages.success(request, message)
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def form_page(
    request: HttpRequest,
    form: ConsoleForm,
    *,
    title: str,
    submit: str,
    cancel: str,
    intro: str = "",
) -> HttpResponse:
    """A page holding one form; an HTMX post that fails re-renders only the form (422)."""
    status = 422 if form.is_bound and form.errors else 200
    template = "console/partials/form.html" if wants_partial(request) else "console/pages/form.html"
    context = {"form": form, "title": title, "submit": submit, "cancel": cancel, "intro": intro}
    return page(request, template, context, status=status)


def attempt(form: ConsoleForm, call: Callable[[], T]) -> T | None:
    """Run a service; a rule it reports is shown on the form (beside the field it names).
    PermissionDenied goes on to the view decorator, which answers 403."""
    try:
        return call()
    except PermissionDenied:
        raise
    except DomainError as exc:
        form.add_domain_error(exc)
        return None


def console_view(*, form_role: str | None = None) -> Callable[[View], View]:
    """Sign-in required; gives the view ``request.actor`` and ``request.nav``, binds the agency
    to the log context, and turns PermissionDenied into 403 and NotFound into 404.

    ``form_role``: the role needed to see a form page (GET). Posts always reach the service,
    which is what refuses a write."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                if getattr(request, "htmx", False):
                    return HttpResponseClientRedirect(settings.LOGIN_URL)
                return redirect_to_login(request.get_full_path())
            assert isinstance(user, User)
            actor = resolve_actor(request, user)
            if actor is None:
                return render(request, "console/pages/no_agency.html", status=403)
            bind_agency(actor.agency_id)
            request.actor = actor  # type: ignore[attr-defined]
            request.nav = Nav(user, actor)  # type: ignore[attr-defined]
            if form_role and request.method == "GET" and not actor.can(form_role):
                return forbidden(request, f"Your role ({actor.role}) cannot do this.")
            try:
                return view(request, *args, **kwargs)
            except PermissionDenied as exc:
                return forbidden(request, exc.detail)
            except NotFound as exc:
                raise Http404(exc.detail) from exc

        return wrapped

    return decorator


def actor_of(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def get_or_404(value: T | None) -> T:
    if value is None:
        raise Http404("Not found")
    return value
