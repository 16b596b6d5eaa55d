"""The M-Pesa port: what the payments services need from Safaricom, as typed requests and
answers. ``DarajaClient`` (daraja.py) implements it over HTTP; the local stand-in (sandbox.py)
speaks the same protocol, so tests exercise the real client end to end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class StkPushRequest:
    phone: str  # 2547XXXXXXXX / 2541XXXXXXXX
    amount: int  # whole shillings
    account_reference: str  # at most 12 characters
    description: str  # at most 13 characters
    callback_url: str


@dataclass(frozen=True)
class StkPushAccepted:
    """The prompt was sent (never "paid": that comes by callback or status query)."""

    merchant_request_id: str
    checkout_request_id: str
    response_code: str
    response_description: str
    customer_message: str


@dataclass(frozen=True)
class StkQueryResult:
    """A status query's answer. ``pending``: Daraja is still processing (no decision yet)."""

    checkout_request_id: str
    merchant_request_id: str
    result_code: int | None
    result_desc: str
    pending: bool = False

    @property
    def succeeded(self) -> bool:
        return not self.pending and self.result_code == 0


@dataclass(frozen=True)
class C2BRegistration:
    shortcode: str
    confirmation_url: str
    validation_url: str
    response_type: str = "Completed"  # what Daraja does when validation cannot be reached


@dataclass(frozen=True)
class BreakerSnapshot:
    name: str
    state: str  # closed | open | half-open
    fail_counter: int
    fail_max: int
    reset_timeout_s: float
    opened_at: str | None
    storage: str  # redis | memory
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "fail_counter": self.fail_counter,
            "fail_max": self.fail_max,
            "reset_timeout_s": self.reset_timeout_s,
            "opened_at": self.opened_at,
            "storage": self.storage,
            **({"error": self.error} if self.error else {}),
        }


class MpesaGateway(Protocol):
    """Raises ``keja.payments.adapters.errors.DarajaError`` subclasses on failure."""

    @property
    def configured(self) -> bool: ...

    def stk_push(self, request: StkPushRequest) -> StkPushAccepted: ...

    def stk_query(self, checkout_request_id: str) -> StkQueryResult: ...

    def c2b_register(self, registration: C2BRegistration) -> str: ...

    def breaker_snapshot(self) -> BreakerSnapshot: ...
