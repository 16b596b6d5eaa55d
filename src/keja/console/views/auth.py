"""Sign-in, sign-out, password reset (Django's views with our templates) and agency switching."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from keja.agencies.selectors import actor_for_user
from keja.console.forms import SwitchAgencyForm
from keja.console.views.base import SESSION_AGENCY

login = auth_views.LoginView.as_view(
    template_name="console/pages/login.html", redirect_authenticated_user=True
)
logout = auth_views.LogoutView.as_view()
password_reset = auth_views.PasswordResetView.as_view(
    template_name="console/pages/password_reset_form.html",
    email_template_name="console/email/password_reset_email.txt",
    subject_template_name="console/email/password_reset_subject.txt",
    success_url=reverse_lazy("console:password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="console/pages/password_reset_done.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="console/pages/password_reset_confirm.html",
    success_url=reverse_lazy("console:password_reset_complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="console/pages/password_reset_complete.html"
)


@require_POST
@login_required
def switch_agency(request: HttpRequest) -> HttpResponse:
    """Make another agency the current one: a member's agency, or any agency for staff."""
    form = SwitchAgencyForm(request.POST)
    user = request.user
    assert isinstance(user, User)
    if form.is_valid():
        actor = actor_for_user(
            user=user,
            agency_id=form.cleaned_data["agency_id"],
            request_id=getattr(request, "request_id", ""),
        )
        if actor is not None:
            request.session[SESSION_AGENCY] = actor.agency_id
            messages.success(request, "Switched agency.")
            return redirect("console:home")
    raise Http404("No such agency for you.")
