"""A local stand-in for Safaricom's Daraja API (standard library only: ``http.server`` and
threads), speaking the real JSON shapes (``../shared/reference/daraja-samples``). Used by the
tests (started in-process on a free port), the demo and load tests (``keja daraja_sandbox``).

Daraja endpoints:
  GET  /oauth/v1/generate?grant_type=client_credentials   (Basic auth)
  POST /mpesa/stkpush/v1/processrequest                    then POSTs the callback
  POST /mpesa/stkpushquery/v1/query
  POST /mpesa/c2b/v1/registerurl
  POST /mpesa/c2b/v1/simulate                              POSTs validation, then confirmation

The outcome of an STK push is the run's default (``outcome``), or chosen per request by the last
four digits of the phone number:
  …1032 cancelled (1032)   …1037 timeout (1037)   …0001 insufficient funds (1)
  …0002 success delivered twice   …0003 never answered   …0004 paid, callback lost
Outcomes: success, cancelled, timeout, insufficient, duplicate, never, lost.

Failure switches (for tests and drills), by Python call or ``POST /__sandbox__/config``:
  fail = "500" | "503" | "throttle" | "timeout" (hang ``hang_seconds``) | None, optionally for
  the next ``fail_count`` requests only; ``expire_tokens`` invalidates every issued token
  (next call answers 404.001.03). ``GET /__sandbox__/state`` shows pushes, C2B transactions
  and a request log; ``POST /__sandbox__/deliver`` ``{"CheckoutRequestID", "outcome"?}``
  delivers (or re-delivers) a push's callback now; ``POST /__sandbox__/canned``
  ``{"path", "status", "body"}`` answers the next request to ``path`` verbatim.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import string
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

NAIROBI = ZoneInfo("Africa/Nairobi")
OUTCOMES = ("success", "cancelled", "timeout", "insufficient", "duplicate", "never", "lost")
PHONE_SUFFIX_OUTCOMES = {
    "1032": "cancelled",
    "1037": "timeout",
    "0001": "insufficient",
    "0002": "duplicate",
    "0003": "never",
    "0004": "lost",
}
RESULTS = {
    "success": (0, "The service request is processed successfully."),
    "duplicate": (0, "The service request is processed successfully."),
    "lost": (0, "The service request is processed successfully."),
    "cancelled": (1032, "Request cancelled by user"),
    "timeout": (1037, "DS timeout user cannot be reached"),
    "insufficient": (1, "The balance is insufficient for the transaction."),
}
FAIL_MODES = ("500", "503", "throttle", "timeout")


@dataclass
class SandboxConfig:
    consumer_key: str = ""  # empty: any credentials are accepted
    consumer_secret: str = ""
    passkey: str = ""  # empty: the Password is not checked
    outcome: str = "success"
    delay: float = 1.0  # seconds before the callback is posted
    token_ttl: int = 3599
    hang_seconds: float = 35.0  # how long "timeout" failures hold a request
    fail: str | None = None
    fail_count: int | None = None  # None: every request fails while ``fail`` is set


@dataclass
class Push:
    merchant_request_id: str
    checkout_request_id: str
    amount: int
    phone: str
    account_reference: str
    callback_url: str
    outcome: str
    created: float
    decided_at: float | None
    receipt: str
    deliveries: list[int | str] = field(default_factory=list)

    def result(self, now: float) -> tuple[int, str] | None:
        if self.decided_at is None or now < self.decided_at:
            return None
        return RESULTS[self.outcome]


def _digits(n: int) -> str:
    return "".join(random.choices(string.digits, k=n))


def new_receipt() -> str:
    return "T" + "".join(random.choices(string.ascii_uppercase + string.digits, k=9))


def _timestamp() -> str:
    return datetime.now(NAIROBI).strftime("%Y%m%d%H%M%S")


def stk_callback_body(push: Push, outcome: str | None = None) -> dict[str, Any]:
    """The body Daraja posts to the CallBackURL (stk-callback-*.json shapes)."""
    code, desc = RESULTS[outcome or push.outcome]
    callback: dict[str, Any] = {
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResultCode": code,
        "ResultDesc": desc,
    }
    if code == 0:
        callback["CallbackMetadata"] = {
            "Item": [
                {"Name": "Amount", "Value": float(push.amount)},
                {"Name": "MpesaReceiptNumber", "Value": push.receipt},
                {"Name": "Balance"},
                {"Name": "TransactionDate", "Value": int(_timestamp())},
                {"Name": "PhoneNumber", "Value": int(push.phone)},
            ]
        }
    return {"Body": {"stkCallback": callback}}


def post_json(url: str, body: dict[str, Any], timeout: float = 10.0) -> tuple[int | str, Any]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 (the URL is the integrator's callback URL)
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
            status: int | str = response.status
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (OSError, ValueError) as exc:
        return f"error: {type(exc).__name__}", None
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, None


class DarajaSandbox:
    """The stand-in's state and behaviour; ``SandboxServer`` puts it on HTTP."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.lock = threading.RLock()
        self.tokens: dict[str, float] = {}
        self.pushes: dict[str, Push] = {}
        self.c2b_urls: dict[str, dict[str, str]] = {}
        self.c2b: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, int]] = []
        self.canned: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self._timers: list[threading.Timer] = []

    # --- switches -------------------------------------------------------------------------------
    def configure(self, **changes: Any) -> None:
        with self.lock:
            for key, value in changes.items():
                if not hasattr(self.config, key):
                    raise ValueError(f"unknown setting {key!r}")
                if key == "outcome" and value not in OUTCOMES:
                    raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
                if key == "fail" and value not in (None, *FAIL_MODES):
                    raise ValueError(f"fail must be one of {', '.join(FAIL_MODES)} or null")
                setattr(self.config, key, value)

    def fail(self, mode: str | None, count: int | None = None) -> None:
        self.configure(fail=mode, fail_count=count)

    def answer_next(self, path: str, status: int, body: dict[str, Any]) -> None:
        """Answer the next authorised request to ``path`` with exactly this status and body
        (e.g. a sample file verbatim). An accepted STK push answered this way is remembered
        under the body's CheckoutRequestID, with no callback scheduled."""
        with self.lock:
            self.canned.setdefault(path, []).append((status, body))

    def take_canned(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        with self.lock:
            queue = self.canned.get(path)
            if not queue:
                return None
            status, answer = queue.pop(0)
            checkout = answer.get("CheckoutRequestID")
            if path.endswith("processrequest") and status == 200 and checkout:
                phone = str(body.get("PhoneNumber", ""))
                self.pushes[str(checkout)] = Push(
                    merchant_request_id=str(answer.get("MerchantRequestID", "")),
                    checkout_request_id=str(checkout),
                    amount=int(str(body.get("Amount", "1")) or 1),
                    phone=phone,
                    account_reference=str(body.get("AccountReference", "")),
                    callback_url=str(body.get("CallBackURL", "")),
                    outcome="never",
                    created=time.monotonic(),
                    decided_at=None,
                    receipt=new_receipt(),
                )
            return status, answer

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def api_request_count(self, path_prefix: str = "/") -> int:
        with self.lock:
            return sum(1 for _m, p, _s in self.requests if p.startswith(path_prefix))

    def _take_failure(self) -> str | None:
        with self.lock:
            mode = self.config.fail
            if mode is None:
                return None
            if self.config.fail_count is not None:
                if self.config.fail_count <= 0:
                    self.config.fail, self.config.fail_count = None, None
                    return None
                self.config.fail_count -= 1
            return mode

    # --- endpoints -------------------------------------------------------------------------------
    def oauth(self, query: dict[str, list[str]], headers: Any) -> tuple[int, dict[str, Any]]:
        if query.get("grant_type") != ["client_credentials"]:
            return 400, {"errorCode": "400.008.02", "errorMessage": "Invalid grant type passed"}
        auth = headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return 400, {"errorCode": "400.008.01", "errorMessage": "Invalid Authentication passed"}
        try:
            key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return 400, {"errorCode": "400.008.01", "errorMessage": "Invalid Authentication passed"}
        cfg = self.config
        if cfg.consumer_key and (key != cfg.consumer_key or secret != cfg.consumer_secret):
            return 400, {"errorCode": "400.008.01", "errorMessage": "Invalid Authentication passed"}
        token = secrets.token_urlsafe(21)
        with self.lock:
            self.tokens[token] = time.monotonic() + cfg.token_ttl
        return 200, {"access_token": token, "expires_in": str(cfg.token_ttl)}

    def token_ok(self, headers: Any) -> bool:
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        with self.lock:
            expires = self.tokens.get(auth[7:])
        return expires is not None and time.monotonic() < expires

    def _password_ok(self, body: dict[str, Any]) -> bool:
        if not self.config.passkey:
            return True
        raw = f"{body.get('BusinessShortCode')}{self.config.passkey}{body.get('Timestamp')}"
        return body.get("Password") == base64.b64encode(raw.encode()).decode()

    def stk_push(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        def bad(what: str) -> tuple[int, dict[str, Any]]:
            return 400, {
                "requestId": f"{_digits(5)}-{_digits(7)}-1",
                "errorCode": "400.002.02",
                "errorMessage": f"Bad Request - Invalid {what}",
            }

        shortcode = str(body.get("BusinessShortCode", ""))
        if not shortcode.isdigit() or not 5 <= len(shortcode) <= 7:
            return bad("BusinessShortCode")
        timestamp = str(body.get("Timestamp", ""))
        if len(timestamp) != 14 or not timestamp.isdigit():
            return bad("Timestamp")
        if not self._password_ok(body):
            return 500, {
                "requestId": f"{_digits(5)}-{_digits(7)}-1",
                "errorCode": "500.001.1001",
                "errorMessage": "Merchant does not exist",
            }
        if body.get("TransactionType") not in ("CustomerPayBillOnline", "CustomerBuyGoodsOnline"):
            return bad("TransactionType")
        amount = body.get("Amount")
        if isinstance(amount, bool) or not isinstance(amount, int | str):
            return bad("Amount")
        if not str(amount).isdigit() or int(amount) < 1:
            return bad("Amount")
        phone = str(body.get("PhoneNumber", ""))
        if len(phone) != 12 or not phone.startswith(("2547", "2541")) or not phone.isdigit():
            return bad("PhoneNumber")
        if str(body.get("PartyA", "")) != phone:
            return bad("PartyA")
        callback_url = str(body.get("CallBackURL", ""))
        if not callback_url.startswith(("http://", "https://")):
            return bad("CallBackURL")
        reference = str(body.get("AccountReference", ""))
        if not reference or len(reference) > 12:
            return bad("AccountReference")
        if len(str(body.get("TransactionDesc", ""))) > 13:
            return bad("TransactionDesc")
        outcome = PHONE_SUFFIX_OUTCOMES.get(phone[-4:], self.config.outcome)
        now = time.monotonic()
        push = Push(
            merchant_request_id=f"{_digits(5)}-{_digits(8)}-1",
            checkout_request_id=f"ws_CO_{datetime.now(NAIROBI):%d%m%Y%H%M%S}{_digits(15)}",
            amount=int(amount),
            phone=phone,
            account_reference=reference,
            callback_url=callback_url,
            outcome=outcome,
            created=now,
            decided_at=None if outcome == "never" else now + self.config.delay,
            receipt=new_receipt(),
        )
        with self.lock:
            self.pushes[push.checkout_request_id] = push
        if outcome not in ("never", "lost"):
            self._schedule(self.config.delay, self.deliver, push.checkout_request_id)
            if outcome == "duplicate":
                self._schedule(self.config.delay + 0.05, self.deliver, push.checkout_request_id)
        return 200, {
            "MerchantRequestID": push.merchant_request_id,
            "CheckoutRequestID": push.checkout_request_id,
            "ResponseCode": "0",
            "ResponseDescription": "Success. Request accepted for processing",
            "CustomerMessage": "Success. Request accepted for processing",
        }

    def stk_query(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        checkout = str(body.get("CheckoutRequestID", ""))
        with self.lock:
            push = self.pushes.get(checkout)
        if push is None:
            return 400, {
                "requestId": f"{_digits(5)}-{_digits(7)}-1",
                "errorCode": "400.002.02",
                "errorMessage": "Bad Request - Invalid CheckoutRequestID",
            }
        result = push.result(time.monotonic())
        if result is None:
            return 500, {
                "requestId": f"{_digits(5)}-{_digits(7)}-1",
                "errorCode": "500.001.1001",
                "errorMessage": "The transaction is being processed",
            }
        code, desc = result
        return 200, {
            "ResponseCode": "0",
            "ResponseDescription": "The service request has been accepted successsfully",
            "MerchantRequestID": push.merchant_request_id,
            "CheckoutRequestID": push.checkout_request_id,
            "ResultCode": str(code),
            "ResultDesc": desc,
        }

    def deliver(self, checkout_request_id: str, outcome: str | None = None) -> int | str:
        """POST the push's callback now (``outcome`` overrides the push's own)."""
        with self.lock:
            push = self.pushes[checkout_request_id]
            if outcome is not None:
                if outcome not in RESULTS:
                    raise ValueError(f"cannot deliver outcome {outcome!r}")
                push.outcome = outcome
                push.decided_at = min(push.decided_at or time.monotonic(), time.monotonic())
            elif push.outcome not in RESULTS:
                raise ValueError(f"push {checkout_request_id} has no result to deliver")
        status, _ = post_json(push.callback_url, stk_callback_body(push))
        with self.lock:
            push.deliveries.append(status)
        return status

    def c2b_register(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        shortcode = str(body.get("ShortCode", ""))
        response_type = body.get("ResponseType")
        urls = {k: str(body.get(k, "")) for k in ("ConfirmationURL", "ValidationURL")}
        if not shortcode.isdigit() or response_type not in ("Completed", "Cancelled"):
            return 400, {
                "requestId": f"{_digits(5)}-{_digits(7)}-1",
                "errorCode": "400.002.02",
                "errorMessage": "Bad Request - Invalid ShortCode or ResponseType",
            }
        if not all(u.startswith(("http://", "https://")) for u in urls.values()):
            return 400, {
                "requestId": f"{_digits(5)}-{_digits(7)}-1",
                "errorCode": "400.002.02",
                "errorMessage": "Bad Request - Invalid URL",
            }
        with self.lock:
            self.c2b_urls[shortcode] = {**urls, "ResponseType": str(response_type)}
        return 200, {
            "OriginatorCoversationID": f"{_digits(5)}-{_digits(7)}-1",
            "ResponseCode": "0",
            "ResponseDescription": "Success",
        }

    def c2b_simulate(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        shortcode = str(body.get("ShortCode", ""))
        with self.lock:
            urls = self.c2b_urls.get(shortcode)
        amount = str(body.get("Amount", ""))
        if urls is None or not amount.isdigit() or int(amount) < 1:
            return 400, {
                "requestId": f"{_digits(5)}-{_digits(7)}-1",
                "errorCode": "400.002.02",
                "errorMessage": "Bad Request - Invalid ShortCode or Amount",
            }
        msisdn = str(body.get("Msisdn", "254708374149"))
        transaction: dict[str, Any] = {
            "TransactionType": "Pay Bill",
            "TransID": str(body.get("TransID") or new_receipt()),  # TransID: stand-in extension
            "TransTime": _timestamp(),
            "TransAmount": f"{int(amount)}.00",
            "BusinessShortCode": shortcode,
            "BillRefNumber": str(body.get("BillRefNumber", "")),
            "InvoiceNumber": "",
            "OrgAccountBalance": "",
            "ThirdPartyTransID": "",
            "MSISDN": f"{msisdn[:4]} ***** {msisdn[-3:]}",
            "FirstName": str(body.get("FirstName", "JOHN")),
            "MiddleName": "",
            "LastName": "",
        }
        record: dict[str, Any] = {
            "transaction": transaction,
            "validation": None,
            "confirmations": [],
        }
        with self.lock:
            self.c2b.append(record)
        deliveries = int(body.get("Deliveries", 1) or 1)  # stand-in extension: redeliveries
        self._schedule(self.config.delay, self._run_c2b, urls, transaction, record, deliveries)
        return 200, {
            "OriginatorCoversationID": f"{_digits(5)}-{_digits(7)}-1",
            "ResponseCode": "0",
            "ResponseDescription": "Accept the service request successfully.",
        }

    def _run_c2b(
        self,
        urls: dict[str, str],
        transaction: dict[str, Any],
        record: dict[str, Any],
        deliveries: int,
    ) -> None:
        status, answer = post_json(urls["ValidationURL"], transaction)
        record["validation"] = {"status": status, "answer": answer}
        if status == 200 and isinstance(answer, dict):
            if str(answer.get("ResultCode")) != "0":
                record["rejected"] = answer.get("ResultCode")
                return
        elif urls.get("ResponseType") == "Cancelled":
            record["rejected"] = "validation unreachable"
            return
        confirmation = {**transaction, "OrgAccountBalance": f"{random.randint(1, 10**6)}.00"}
        for _ in range(max(deliveries, 1)):
            status, _answer = post_json(urls["ConfirmationURL"], confirmation)
            record["confirmations"].append(status)

    def _schedule(self, delay: float, fn: Any, *args: Any) -> None:
        timer = threading.Timer(max(delay, 0.0), fn, args=args)
        timer.daemon = True
        with self.lock:
            self._timers = [t for t in self._timers if t.is_alive()]
            self._timers.append(timer)
        timer.start()

    def cancel_timers(self) -> None:
        with self.lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "config": asdict(self.config),
                "pushes": [asdict(p) for p in self.pushes.values()],
                "c2b_urls": dict(self.c2b_urls),
                "c2b": list(self.c2b),
                "requests": len(self.requests),
            }


class _Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: dict[str, Any] | list[Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        path = urlsplit(self.path).path
        if not path.startswith("/__sandbox__"):
            with self.server.sandbox.lock:
                self.server.sandbox.requests.append((self.command, path, status))

    def _body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _failure(self) -> bool:
        mode = self.server.sandbox._take_failure()
        if mode is None:
            return False
        if mode == "timeout":
            with self.server.sandbox.lock:
                self.server.sandbox.requests.append((self.command, urlsplit(self.path).path, 0))
            time.sleep(self.server.sandbox.config.hang_seconds)
            self.close_connection = True
            return True
        if mode == "throttle":
            self._send(
                500,
                {
                    "requestId": f"{_digits(5)}-{_digits(7)}-1",
                    "errorCode": "500.003.02",
                    "errorMessage": "Spike arrest violation",
                },
            )
            return True
        self._send(
            int(mode),
            {
                "requestId": f"{_digits(5)}-{_digits(7)}-1",
                "errorCode": f"{mode}.000.01",
                "errorMessage": "Internal Server Error" if mode == "500" else "Service Unavailable",
            },
        )
        return True

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        sandbox = self.server.sandbox
        if url.path == "/__sandbox__/state":
            self._send(200, sandbox.state())
        elif url.path == "/oauth/v1/generate":
            if not self._failure():
                self._send(*sandbox.oauth(parse_qs(url.query), self.headers))
        else:
            self._send(404, {"errorCode": "404.001.01", "errorMessage": "Resource not found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        sandbox = self.server.sandbox
        body = self._body()
        if path.startswith("/__sandbox__/"):
            self._control(path, body or {})
            return
        routes = {
            "/mpesa/stkpush/v1/processrequest": sandbox.stk_push,
            "/mpesa/stkpushquery/v1/query": sandbox.stk_query,
            "/mpesa/c2b/v1/registerurl": sandbox.c2b_register,
            "/mpesa/c2b/v1/simulate": sandbox.c2b_simulate,
        }
        handler = routes.get(path)
        if handler is None:
            self._send(404, {"errorCode": "404.001.01", "errorMessage": "Resource not found"})
            return
        if self._failure():
            return
        if not sandbox.token_ok(self.headers):
            self._send(
                404,
                {
                    "requestId": f"{_digits(5)}-{_digits(7)}-1",
                    "errorCode": "404.001.03",
                    "errorMessage": "Invalid Access Token",
                },
            )
            return
        if body is None:
            self._send(
                400,
                {
                    "requestId": f"{_digits(5)}-{_digits(7)}-1",
                    "errorCode": "400.002.01",
                    "errorMessage": "Invalid JSON",
                },
            )
            return
        self._send(*(sandbox.take_canned(path, body) or handler(body)))

    def _control(self, path: str, body: dict[str, Any]) -> None:
        sandbox = self.server.sandbox
        try:
            if path == "/__sandbox__/config":
                expire = body.pop("expire_tokens", False)
                sandbox.configure(**body)
                if expire:
                    sandbox.expire_tokens()
                self._send(200, sandbox.state()["config"])
            elif path == "/__sandbox__/canned":
                sandbox.answer_next(str(body["path"]), int(body["status"]), dict(body["body"]))
                self._send(200, {"queued": True})
            elif path == "/__sandbox__/deliver":
                status = sandbox.deliver(str(body["CheckoutRequestID"]), body.get("outcome"))
                self._send(200, {"delivered": status})
            else:
                self._send(404, {"error": "unknown control"})
        except (KeyError, ValueError) as exc:
            self._send(400, {"error": str(exc)})


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: SandboxConfig | None = None,
        *,
        verbose: bool = False,
    ) -> None:
        self.sandbox = DarajaSandbox(config)
        self.verbose = verbose
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SandboxServer:
        """Serve in a background thread (tests)."""
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="daraja-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.sandbox.cancel_timers()
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
