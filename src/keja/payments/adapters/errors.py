"""Daraja error codes, in one place, and the exceptions the M-Pesa adapter raises.

Every exception says whether trying again can help (``retryable``): transport failures and
timeouts, 5xx answers and Daraja's throttling codes can; any other 4xx or business error
cannot, and is never retried. Services translate these into ``DomainError``s for people.
"""

from __future__ import annotations

# --- Daraja's error codes (``errorCode`` in an error answer) ---------------------------------
INVALID_ACCESS_TOKEN = "404.001.03"  # noqa: S105 (an error code) stale or unknown token: refresh once and retry
INVALID_CALLBACK_URL = "400.002.02"  # also "Invalid CheckoutRequestID" on a status query
BAD_REQUEST = "400.002.01"
# On a push: wrong credentials / merchant does not exist. On a status query: "The transaction
# is being processed" (still undecided). Either way a definitive answer, never an outage.
MERCHANT_OR_PROCESSING = "500.001.1001"
SPIKE_ARREST = "500.003.02"  # gateway throttling: retry later with backoff
QUOTA_VIOLATION = "500.003.03"

THROTTLING_CODES = frozenset({SPIKE_ARREST, QUOTA_VIOLATION})
# 5xx answers that carry a business meaning: not retried, not counted against the breaker.
BUSINESS_5XX_CODES = frozenset({MERCHANT_OR_PROCESSING})

# --- STK result codes (``ResultCode`` in a callback or a status query) ------------------------
RESULT_SUCCESS = 0
RESULT_INSUFFICIENT_FUNDS = 1
RESULT_SUBSCRIBER_BUSY = 1001
RESULT_EXPIRED = 1019
RESULT_CANCELLED = 1032
RESULT_UNREACHABLE = 1037
RESULT_WRONG_PIN = 2001
RESULT_DESCRIPTIONS = {
    RESULT_SUCCESS: "Paid",
    RESULT_INSUFFICIENT_FUNDS: "Insufficient M-Pesa balance",
    RESULT_SUBSCRIBER_BUSY: "The phone is busy with another M-Pesa request",
    RESULT_EXPIRED: "The prompt expired",
    1025: "The prompt could not be sent",
    9999: "The prompt could not be sent",
    RESULT_CANCELLED: "Cancelled by the payer",
    RESULT_UNREACHABLE: "The phone could not be reached",
    RESULT_WRONG_PIN: "Wrong M-Pesa PIN",
    17: "M-Pesa internal error",
}
# Result codes that get their own Prometheus label; anything else is "other".
KNOWN_RESULT_CODES = frozenset(RESULT_DESCRIPTIONS)


class DarajaError(Exception):
    """Base of every error the adapter raises."""

    retryable = False
    reason = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        http_status: int | None = None,
        request_id: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"code={self.code}")
        if self.http_status:
            parts.append(f"http={self.http_status}")
        return " ".join(parts)


class DarajaNotConfigured(DarajaError):
    """Consumer key, secret or passkey missing: nothing was sent."""

    reason = "not_configured"


class DarajaUnavailable(DarajaError):
    """Daraja could not be reached or answered 5xx: trying again later can help."""

    retryable = True
    reason = "unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class DarajaTimeout(DarajaUnavailable):
    """No answer in time. ``maybe_delivered``: the request may have reached Daraja (a read
    timeout), so a non-idempotent request (an STK push) must not be sent again."""

    reason = "timeout"

    def __init__(self, message: str, *, maybe_delivered: bool, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.maybe_delivered = maybe_delivered


class DarajaThrottled(DarajaUnavailable):
    """Spike arrest or quota violation (500.003.02 / 500.003.03)."""

    reason = "throttled"


class DarajaCircuitOpen(DarajaError):
    """The shared circuit breaker is open: Daraja was not called at all."""

    reason = "circuit_open"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DarajaRejected(DarajaError):
    """Daraja understood and refused the request (4xx or a business error): never retried."""

    reason = "rejected"


class DarajaAuthError(DarajaRejected):
    """The consumer key/secret were refused, or a fresh token was refused again."""

    reason = "auth"


class DarajaProtocolError(DarajaError):
    """An answer we cannot read (not JSON, fields missing)."""

    reason = "protocol"
