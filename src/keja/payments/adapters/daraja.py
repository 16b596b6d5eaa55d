"""``DarajaClient``: Safaricom's Daraja API over HTTP (httpx), implementing ``MpesaGateway``.

- OAuth: one token per credential set, cached in the Django cache (Redis: shared by every
  process) and refreshed early (``KEJA_MPESA_TOKEN_REFRESH_MARGIN`` before it expires); a
  ``404.001.03`` answer drops it, fetches a new one and retries once.
- Timeouts: connect 5 s, read 15 s by default, and the whole operation (every attempt and every
  backoff) within ``KEJA_MPESA_TOTAL_TIMEOUT`` (30 s ceiling).
- Retries with exponential backoff and jitter only for timeouts, connection errors, 5xx and the
  throttling codes; never for other 4xx or business errors. An STK push is not idempotent: after
  a read timeout it may have reached Daraja, so it is not sent again (a second prompt could
  charge the tenant twice); connection failures and 5xx answers are retried.
- Every HTTP attempt passes the shared circuit breaker (breaker.py).
"""

from __future__ import annotations

import base64
import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from django.conf import settings
from django.core.cache import cache

from keja.kernel.clock import now_nairobi
from keja.payments import metrics
from keja.payments.adapters import errors
from keja.payments.adapters.breaker import SharedBreaker
from keja.payments.adapters.gateway import (
    BreakerSnapshot,
    C2BRegistration,
    StkPushAccepted,
    StkPushRequest,
    StkQueryResult,
)

log = structlog.get_logger(__name__)

OAUTH_PATH = "/oauth/v1/generate?grant_type=client_credentials"
STK_PUSH_PATH = "/mpesa/stkpush/v1/processrequest"
STK_QUERY_PATH = "/mpesa/stkpushquery/v1/query"
C2B_REGISTER_PATH = "/mpesa/c2b/v1/registerurl"


@dataclass(frozen=True)
class DarajaConfig:
    base_url: str
    consumer_key: str
    consumer_secret: str
    shortcode: str
    passkey: str
    transaction_type: str = "CustomerPayBillOnline"
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 30.0
    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    token_refresh_margin: int = 600
    breaker_fail_max: int = 5
    breaker_reset_timeout: float = 30.0

    @classmethod
    def from_settings(cls) -> DarajaConfig:
        return cls(
            base_url=settings.KEJA_DARAJA_BASE_URL.rstrip("/"),
            consumer_key=settings.KEJA_MPESA_CONSUMER_KEY,
            consumer_secret=settings.KEJA_MPESA_CONSUMER_SECRET,
            shortcode=settings.KEJA_MPESA_SHORTCODE,
            passkey=settings.KEJA_MPESA_PASSKEY,
            transaction_type=settings.KEJA_MPESA_TRANSACTION_TYPE,
            connect_timeout=min(settings.KEJA_MPESA_CONNECT_TIMEOUT, 30.0),
            read_timeout=min(settings.KEJA_MPESA_READ_TIMEOUT, 30.0),
            total_timeout=min(settings.KEJA_MPESA_TOTAL_TIMEOUT, 30.0),
            max_retries=max(settings.KEJA_MPESA_MAX_RETRIES, 0),
            backoff_base=settings.KEJA_MPESA_BACKOFF_BASE,
            backoff_max=settings.KEJA_MPESA_BACKOFF_MAX,
            token_refresh_margin=settings.KEJA_MPESA_TOKEN_REFRESH_MARGIN,
            breaker_fail_max=settings.KEJA_MPESA_BREAKER_FAIL_MAX,
            breaker_reset_timeout=settings.KEJA_MPESA_BREAKER_RESET_TIMEOUT,
        )

    @property
    def configured(self) -> bool:
        return bool(self.consumer_key and self.consumer_secret and self.shortcode)

    @property
    def breaker_name(self) -> str:
        return f"daraja@{urlsplit(self.base_url).netloc or self.base_url}"

    def token_cache_key(self) -> str:
        fingerprint = hashlib.sha256(
            f"{self.base_url}|{self.consumer_key}|{self.consumer_secret}".encode()
        ).hexdigest()[:16]
        # keja:{env}:{instance} (the cache's KEY_PREFIX) : area : agency : name : version
        return f"mpesa:-:token-{fingerprint}:v1"


def backoff_delay(attempt: int, *, base: float, cap: float, retry_after: float | None) -> float:
    """Exponential backoff with jitter ("equal jitter": half fixed, half random), or the
    server's Retry-After when it says more, never above ``cap``."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, cap)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class DarajaClient:
    """Thread-safe; one instance per configuration and process (see ``get_gateway``)."""

    def __init__(
        self,
        config: DarajaConfig,
        *,
        breaker: SharedBreaker,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.breaker = breaker
        self._sleep = sleep
        self._token_lock = threading.Lock()
        self._http = httpx.Client(
            base_url=config.base_url,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
            headers={"Accept": "application/json", "User-Agent": "keja-daraja/1"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    @property
    def configured(self) -> bool:
        return self.config.configured

    # --- the port ------------------------------------------------------------------------------
    def stk_push(self, request: StkPushRequest) -> StkPushAccepted:
        timestamp = now_nairobi().strftime("%Y%m%d%H%M%S")
        body = {
            "BusinessShortCode": self.config.shortcode,
            "Password": self.password(timestamp),
            "Timestamp": timestamp,
            "TransactionType": self.config.transaction_type,
            "Amount": int(request.amount),
            "PartyA": request.phone,
            "PartyB": self.config.shortcode,
            "PhoneNumber": request.phone,
            "CallBackURL": request.callback_url,
            "AccountReference": request.account_reference[:12],
            "TransactionDesc": request.description[:13],
        }
        data = self._call("stk_push", "POST", STK_PUSH_PATH, json=body, idempotent=False)
        try:
            accepted = StkPushAccepted(
                merchant_request_id=str(data["MerchantRequestID"]),
                checkout_request_id=str(data["CheckoutRequestID"]),
                response_code=str(data.get("ResponseCode", "")),
                response_description=str(data.get("ResponseDescription", "")),
                customer_message=str(data.get("CustomerMessage", "")),
            )
        except KeyError as exc:
            raise errors.DarajaProtocolError(f"STK push answer without {exc}") from exc
        if accepted.response_code not in ("0", ""):
            raise errors.DarajaRejected(
                accepted.response_description or "STK push not accepted",
                code=accepted.response_code,
            )
        return accepted

    def stk_query(self, checkout_request_id: str) -> StkQueryResult:
        timestamp = now_nairobi().strftime("%Y%m%d%H%M%S")
        body = {
            "BusinessShortCode": self.config.shortcode,
            "Password": self.password(timestamp),
            "Timestamp": timestamp,
            "CheckoutRequestID": checkout_request_id,
        }
        try:
            data = self._call("stk_query", "POST", STK_QUERY_PATH, json=body)
        except errors.DarajaRejected as exc:
            if exc.code == errors.MERCHANT_OR_PROCESSING:  # "The transaction is being processed"
                return StkQueryResult(
                    checkout_request_id=checkout_request_id,
                    merchant_request_id="",
                    result_code=None,
                    result_desc=exc.message,
                    pending=True,
                )
            raise
        raw_code = data.get("ResultCode")
        try:
            result_code = int(str(raw_code).strip())
        except ValueError as exc:
            raise errors.DarajaProtocolError(f"status query without ResultCode: {data}") from exc
        return StkQueryResult(
            checkout_request_id=str(data.get("CheckoutRequestID", checkout_request_id)),
            merchant_request_id=str(data.get("MerchantRequestID", "")),
            result_code=result_code,
            result_desc=str(data.get("ResultDesc", "")),
        )

    def c2b_register(self, registration: C2BRegistration) -> str:
        body = {
            "ShortCode": registration.shortcode,
            "ResponseType": registration.response_type,
            "ConfirmationURL": registration.confirmation_url,
            "ValidationURL": registration.validation_url,
        }
        data = self._call("c2b_register", "POST", C2B_REGISTER_PATH, json=body)
        return str(data.get("ResponseDescription", "Success"))

    def breaker_snapshot(self) -> BreakerSnapshot:
        return self.breaker.snapshot()

    # --- helpers ---------------------------------------------------------------------------------
    def password(self, timestamp: str) -> str:
        raw = f"{self.config.shortcode}{self.config.passkey}{timestamp}"
        return base64.b64encode(raw.encode()).decode()

    def _remaining(self, deadline: float) -> float:
        return deadline - time.monotonic()

    def _timeout(self, deadline: float) -> httpx.Timeout:
        remaining = self._remaining(deadline)
        if remaining <= 0.2:
            raise errors.DarajaTimeout(
                "M-Pesa did not answer in time.", maybe_delivered=False, code="deadline"
            )
        return httpx.Timeout(
            connect=min(self.config.connect_timeout, remaining),
            read=min(self.config.read_timeout, remaining),
            write=min(self.config.read_timeout, remaining),
            pool=min(self.config.connect_timeout, remaining),
        )

    def _send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        json: dict[str, Any] | None,
        deadline: float,
    ) -> httpx.Response:
        """One HTTP attempt through the breaker. Returns the answer when Daraja decided
        (2xx, 4xx, business 5xx); raises ``DarajaUnavailable`` (or a subclass) otherwise."""
        probe = self.breaker.before_call()
        started = time.perf_counter()
        try:
            response = self._http.request(
                method, path, headers=headers, json=json, timeout=self._timeout(deadline)
            )
        except httpx.TimeoutException as exc:
            delivered = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
            failure: errors.DarajaUnavailable = errors.DarajaTimeout(
                "M-Pesa did not answer in time.", maybe_delivered=delivered
            )
        except httpx.TransportError as exc:
            failure = errors.DarajaUnavailable(
                f"M-Pesa could not be reached ({type(exc).__name__})."
            )
        else:
            metrics.DARAJA_SECONDS.labels(operation).observe(time.perf_counter() - started)
            body = _json(response)
            code = str(body.get("errorCode", "") or "")
            message = str(body.get("errorMessage", "") or response.reason_phrase)
            request_id = str(body.get("requestId", "") or "")
            if code in errors.THROTTLING_CODES or response.status_code == 429:
                failure = errors.DarajaThrottled(
                    message,
                    code=code,
                    http_status=response.status_code,
                    request_id=request_id,
                    retry_after=_retry_after(response),
                )
            elif response.status_code >= 500 and code not in errors.BUSINESS_5XX_CODES:
                failure = errors.DarajaUnavailable(
                    message,
                    code=code,
                    http_status=response.status_code,
                    request_id=request_id,
                    retry_after=_retry_after(response),
                )
            else:
                self.breaker.record_success(probe=probe)
                outcome = "ok" if response.status_code < 400 else "rejected"
                metrics.DARAJA_REQUESTS.labels(operation, outcome).inc()
                return response
        if isinstance(failure, errors.DarajaTimeout):
            metrics.DARAJA_SECONDS.labels(operation).observe(time.perf_counter() - started)
        self.breaker.record_failure(failure, probe=probe)
        metrics.DARAJA_REQUESTS.labels(operation, failure.reason).inc()
        raise failure

    def _token(self, deadline: float, *, refresh: bool = False) -> str:
        key = self.config.token_cache_key()
        if not refresh:
            token = _cache_get(key)
            if token:
                return token
        with self._token_lock:  # one fetch per process at a time
            if not refresh:
                token = _cache_get(key)
                if token:
                    return token
            metrics.TOKEN_FETCHES.labels("invalid" if refresh else "missing").inc()
            credentials = f"{self.config.consumer_key}:{self.config.consumer_secret}"
            basic = base64.b64encode(credentials.encode()).decode()
            response = self._send(
                "oauth",
                "GET",
                OAUTH_PATH,
                headers={"Authorization": f"Basic {basic}"},
                json=None,
                deadline=deadline,
            )
            body = _json(response)
            if response.status_code >= 400 or "access_token" not in body:
                raise errors.DarajaAuthError(
                    "M-Pesa refused the consumer key and secret.",
                    code=str(body.get("errorCode", "")),
                    http_status=response.status_code,
                )
            token = str(body["access_token"])
            try:
                expires_in = int(str(body.get("expires_in", "3599")))
            except ValueError:
                expires_in = 3599
            # refresh early: `margin` before expiry, or at half-life for a short-lived token
            margin = self.config.token_refresh_margin
            ttl = max(expires_in - margin if expires_in > 2 * margin else expires_in // 2, 1)
            _cache_set(key, token, ttl)
            return token

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        if not self.config.configured:
            raise errors.DarajaNotConfigured(
                "M-Pesa is not configured (KEJA_MPESA_CONSUMER_KEY/SECRET/SHORTCODE)."
            )
        deadline = time.monotonic() + self.config.total_timeout
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            try:
                token = self._token(deadline, refresh=refreshed and attempt == 1)
                response = self._send(
                    operation,
                    method,
                    path,
                    headers={"Authorization": f"Bearer {token}"},
                    json=json,
                    deadline=deadline,
                )
            except errors.DarajaUnavailable as exc:
                if isinstance(exc, errors.DarajaTimeout) and exc.maybe_delivered and not idempotent:
                    raise  # the push may have gone out: never send a second prompt
                if attempt > self.config.max_retries:
                    raise
                delay = backoff_delay(
                    attempt,
                    base=self.config.backoff_base,
                    cap=self.config.backoff_max,
                    retry_after=exc.retry_after,
                )
                if self._remaining(deadline) - delay < 0.5:
                    raise
                metrics.DARAJA_RETRIES.labels(operation, exc.reason).inc()
                log.warning(
                    "daraja_retry",
                    operation=operation,
                    attempt=attempt,
                    reason=exc.reason,
                    code=exc.code,
                    delay_s=round(delay, 3),
                )
                self._sleep(delay)
                continue
            body = _json(response)
            code = str(body.get("errorCode", "") or "")
            if code == errors.INVALID_ACCESS_TOKEN and not refreshed:
                # stale token (revoked or expired early): drop it, fetch a new one, retry once
                _cache_delete(self.config.token_cache_key())
                refreshed = True
                attempt = 0
                continue
            if response.status_code >= 400 or code:
                error_cls = (
                    errors.DarajaAuthError
                    if code == errors.INVALID_ACCESS_TOKEN
                    else errors.DarajaRejected
                )
                raise error_cls(
                    str(body.get("errorMessage", "") or response.reason_phrase),
                    code=code,
                    http_status=response.status_code,
                    request_id=str(body.get("requestId", "") or ""),
                )
            return body


def _cache_get(key: str) -> str | None:
    try:
        value = cache.get(key)
    except Exception:  # the cache being down must not stop payments: fetch a token instead
        log.warning("daraja_token_cache_unavailable")
        return None
    return str(value) if value else None


def _cache_set(key: str, value: str, ttl: int) -> None:
    try:
        cache.set(key, value, ttl)
    except Exception:
        log.warning("daraja_token_cache_unavailable")


def _cache_delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        log.warning("daraja_token_cache_unavailable")
