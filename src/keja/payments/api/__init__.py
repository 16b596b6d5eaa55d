"""The payments part of the API: recorded payments (``payments.py``) and M-Pesa (``mpesa.py``)."""

from __future__ import annotations

from ninja import Router

from keja.payments.api import mpesa, payments

router = Router()
router.add_router("", payments.router)
router.add_router("", mpesa.router)

__all__ = ["router"]
