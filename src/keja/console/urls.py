from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from keja.console import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="console/pages/login.html"),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
