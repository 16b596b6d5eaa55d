"""M-Pesa callback endpoints (P5.1): plain Django views that Safaricom posts to.

Callbacks are not signed, so the defences are layered (daraja.md §7):
- the path carries an unguessable secret (``KEJA_MPESA_CALLBACK_SECRET``), compared in constant
  time; a wrong secret answers 404, exactly like a path that does not exist;
- an optional source-address allow-list (``KEJA_MPESA_ALLOWED_IPS``, CIDRs) answers 403;
- strict payload validation: a malformed body answers 400 and is kept for inspection.
The body is stored before it is processed; a duplicate changes nothing and is acknowledged.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

import structlog
from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from keja.payments import metrics
from keja.payments.adapters.callbacks import MAX_BODY_BYTES
from keja.payments.models import MpesaCallback
from keja.payments.services.mpesa_callbacks import mpesa_callback_receive

log = structlog.get_logger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec if item.strip())


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address: REMOTE_ADDR, or with ``KEJA_MPESA_PROXY_HOPS`` = n trusted proxies
    in front of us, the n-th address from the right of X-Forwarded-For."""
    candidate = request.META.get("REMOTE_ADDR", "")
    hops = settings.KEJA_MPESA_PROXY_HOPS
    if hops > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        candidate = forwarded[-hops] if len(forwarded) >= hops else ""
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def ip_allowed(ip: str | None) -> bool:
    allowed = _networks(tuple(settings.KEJA_MPESA_ALLOWED_IPS))
    if not allowed:
        return True
    if ip is None:
        return False
    address = ipaddress.ip_address(ip)
    return any(address in network for network in allowed)


def _secret_ok(given: str) -> bool:
    expected = settings.KEJA_MPESA_CALLBACK_SECRET
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _handle(request: HttpRequest, secret: str, kind: str) -> JsonResponse:
    if not _secret_ok(secret):
        raise Http404
    if request.method != "POST":
        response = JsonResponse({"ResultCode": 1, "ResultDesc": "POST only"}, status=405)
        response["Allow"] = "POST"
        return response
    ip = client_ip(request)
    if not ip_allowed(ip):
        metrics.CALLBACKS.labels(kind, "rejected").inc()
        log.warning("mpesa_callback_forbidden", kind=kind, source_ip=ip)
        return JsonResponse({"ResultCode": 1, "ResultDesc": "Forbidden"}, status=403)
    body = request.read(MAX_BODY_BYTES + 1)  # bounded: never the whole of an oversized body
    answer = mpesa_callback_receive(kind=kind, body=body, source_ip=ip)
    return JsonResponse(answer.body, status=answer.status)


@csrf_exempt
@never_cache
def stk_callback(request: HttpRequest, secret: str) -> JsonResponse:
    """STK push result (``Body.stkCallback``)."""
    return _handle(request, secret, MpesaCallback.Kind.STK)


@csrf_exempt
@never_cache
def c2b_validation(request: HttpRequest, secret: str) -> JsonResponse:
    """Paybill validation: accept, or reject an unknown account when the agency asks for it."""
    return _handle(request, secret, MpesaCallback.Kind.C2B_VALIDATION)


@csrf_exempt
@never_cache
def c2b_confirmation(request: HttpRequest, secret: str) -> JsonResponse:
    """Paybill confirmation: the money arrived."""
    return _handle(request, secret, MpesaCallback.Kind.C2B_CONFIRMATION)
