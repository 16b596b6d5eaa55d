"""Fixtures for the M-Pesa tests: the Daraja stand-in on a free port (real HTTP), settings
pointing Keja at it, an agency with a lease and invoices, and the shared sample payloads.

The samples are the project's shared reference files: in a fresh clone CI puts ``shared/``
beside the repository, so they are read from ``<repo>/../shared/reference/daraja-samples``."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from keja.agencies.models import Agency
from keja.billing.models import Invoice
from keja.billing.services import invoice_issue
from keja.leases.models import Lease
from keja.payments.adapters.sandbox import SandboxConfig, SandboxServer
from keja.payments.selectors import lease_ledger, lease_ledger_ok
from keja.platform.scoping import Actor
from tests.conftest import ROOT
from tests.factories import make_agency, make_lease, owner_actor

SAMPLES = ROOT.parent / "shared" / "reference" / "daraja-samples"
SAMPLE_NAMES = (
    "c2b-confirmation",
    "c2b-validation",
    "stk-callback-cancelled",
    "stk-callback-success",
    "stk-callback-timeout",
    "stk-push-accepted",
    "stk-push-error",
)
STK_PUSH_PATH = "/mpesa/stkpush/v1/processrequest"
T = TypeVar("T")


def sample(name: str) -> dict[str, Any]:
    path = SAMPLES / f"{name}.json"
    if not path.is_file():
        pytest.fail(
            f"Daraja sample {path} not found. The tests read the project's shared reference "
            "files from ../shared/reference/daraja-samples beside the repository (as CI does)."
        )
    return json.loads(path.read_text())


def stk_success(
    checkout: str, *, receipt: str, amount: int | str, phone: int = 254712345678
) -> dict[str, Any]:
    """The success sample with another CheckoutRequestID, receipt and amount (items by name)."""
    body = sample("stk-callback-success")
    cb = body["Body"]["stkCallback"]
    cb["CheckoutRequestID"] = checkout
    values = {"Amount": float(amount), "MpesaReceiptNumber": receipt, "PhoneNumber": phone}
    for item in cb["CallbackMetadata"]["Item"]:
        if item["Name"] in values:
            item["Value"] = values[item["Name"]]
    return body


def stk_failure(checkout: str, name: str = "stk-callback-cancelled") -> dict[str, Any]:
    body = sample(name)
    body["Body"]["stkCallback"]["CheckoutRequestID"] = checkout
    return body


def c2b_confirmation(
    trans_id: str, *, amount: int | str, bill_ref: str, shortcode: str = "600984"
) -> dict[str, Any]:
    body = sample("c2b-confirmation")
    body.update(
        TransID=trans_id,
        TransAmount=f"{Decimal(amount):.2f}",
        BillRefNumber=bill_ref,
        BusinessShortCode=shortcode,
    )
    return body


def run_concurrently(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call on its own thread, all released at once by a barrier. Each thread has its
    own database connection; with more than 20 threads, the rest wait for the pool."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait(timeout=30)
        try:
            return call()
        finally:
            # as a real server does after each request (Django's test client does not): the
            # thread's connection goes back to the pool (max 20 per process; others wait)
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


@dataclass
class Mpesa:
    sandbox: SandboxServer
    secret: str

    def path(self, kind: str) -> str:
        name = {
            "stk": "mpesa-stk-callback",
            "c2b_validation": "mpesa-c2b-validation",
            "c2b_confirmation": "mpesa-c2b-confirmation",
        }[kind]
        return reverse(name, kwargs={"secret": self.secret})

    def post(
        self, kind: str, body: dict[str, Any] | bytes, client: Client | None = None, **extra: Any
    ) -> Any:
        data = body if isinstance(body, bytes) else json.dumps(body)
        return (client or Client()).post(
            self.path(kind), data=data, content_type="application/json", **extra
        )


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(
        "127.0.0.1",
        0,
        SandboxConfig(
            consumer_key="test-key",
            consumer_secret="test-secret",
            passkey="test-passkey",
            delay=0.05,
            hang_seconds=2.0,
        ),
    ).start()
    yield server
    server.stop()


@pytest.fixture
def mpesa(settings: Any, sandbox: SandboxServer) -> Mpesa:
    """Keja pointed at the stand-in, with short timeouts and backoff so failures test fast."""
    secret = "cb" + secrets.token_hex(20)
    settings.KEJA_DARAJA_BASE_URL = sandbox.url
    settings.KEJA_MPESA_CONSUMER_KEY = "test-key"
    settings.KEJA_MPESA_CONSUMER_SECRET = "test-secret"
    settings.KEJA_MPESA_PASSKEY = "test-passkey"
    settings.KEJA_MPESA_SHORTCODE = "174379"
    settings.KEJA_MPESA_CALLBACK_SECRET = secret
    settings.KEJA_MPESA_CALLBACK_BASE_URL = "http://127.0.0.1:9"  # nothing listens (discard)
    settings.KEJA_MPESA_ALLOWED_IPS = []
    settings.KEJA_MPESA_CONNECT_TIMEOUT = 1.0
    settings.KEJA_MPESA_READ_TIMEOUT = 1.0
    settings.KEJA_MPESA_TOTAL_TIMEOUT = 8.0
    settings.KEJA_MPESA_MAX_RETRIES = 3
    settings.KEJA_MPESA_BACKOFF_BASE = 0.02
    settings.KEJA_MPESA_BACKOFF_MAX = 0.1
    settings.KEJA_MPESA_BREAKER_FAIL_MAX = 3
    settings.KEJA_MPESA_BREAKER_RESET_TIMEOUT = 1.0
    return Mpesa(sandbox=sandbox, secret=secret)


@dataclass
class Books:
    agency: Agency
    actor: Actor
    lease: Lease
    invoices: list[Invoice]

    def ledger(self) -> dict[str, Decimal]:
        return lease_ledger(agency_id=self.agency.pk, lease_id=self.lease.pk)

    def ledger_ok(self) -> bool:
        return lease_ledger_ok(agency_id=self.agency.pk, lease_id=self.lease.pk)

    def reload(self) -> list[Invoice]:
        return list(Invoice.objects.filter(lease=self.lease).order_by("id"))


def make_books(months: int = 1, *, shortcode: str = "600984", reference: str = "BLKB-U12") -> Books:
    """An agency (paybill ``shortcode``) with one active lease at 15,000 a month and
    ``months`` open invoices from January 2026."""
    agency = make_agency()
    agency.mpesa_shortcode = shortcode
    agency.save(update_fields=["mpesa_shortcode"])
    actor = owner_actor(agency)
    lease = make_lease(actor, rent="15000.00", account_reference=reference)
    invoices = []
    for month in range(1, months + 1):
        invoice = invoice_issue(agency_id=agency.pk, lease_id=lease.pk, period=date(2026, month, 1))
        assert invoice is not None
        invoices.append(invoice)
    return Books(agency, actor, lease, invoices)


@pytest.fixture
def books(db: None) -> Books:
    return make_books()
