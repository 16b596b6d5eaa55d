"""M-Pesa callback URLs, mounted under ``/mpesa/`` (config/urls.py). ``<secret>`` is
``KEJA_MPESA_CALLBACK_SECRET``; any other value answers 404."""

from __future__ import annotations

from django.urls import path

from keja.payments import views

urlpatterns = [
    path("<str:secret>/stk/callback", views.stk_callback, name="mpesa-stk-callback"),
    path("<str:secret>/c2b/validation", views.c2b_validation, name="mpesa-c2b-validation"),
    path("<str:secret>/c2b/confirmation", views.c2b_confirmation, name="mpesa-c2b-confirmation"),
]
