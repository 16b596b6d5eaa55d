"""The Daraja adapter against the stand-in over real HTTP (P5.0, P6.1): the OAuth token cached
in Redis for every process and refreshed early or on 404.001.03, timeouts, retries with
exponential backoff and jitter only where retrying can help, and the shared circuit breaker."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest
from django.test import Client

from keja.payments.adapters import DarajaClient, DarajaConfig, get_breaker
from keja.payments.adapters import errors as e
from keja.payments.adapters.breaker import SharedBreaker
from keja.payments.adapters.daraja import backoff_delay
from keja.payments.adapters.gateway import StkPushRequest
from keja.payments.models import Payment
from keja.payments.services.mpesa import MpesaUnavailable, stk_push_initiate
from tests.conftest import ROOT, free_port, keja_cmd, stop, subprocess_env, wait_for_http
from tests.payments.conftest import STK_PUSH_PATH, Books, Mpesa

pytestmark = pytest.mark.django_db

OAUTH = "/oauth/v1/generate"
QUERY = "/mpesa/stkpushquery/v1/query"


def push_request(phone: str = "254712345678") -> StkPushRequest:
    return StkPushRequest(
        phone=phone,
        amount=100,
        account_reference="K1",
        description="Rent",
        callback_url="http://127.0.0.1:9/cb",
    )


def client(sleeps: list[float] | None = None) -> DarajaClient:
    """A second client on the same configuration: another process, as far as the cache and
    the breaker are concerned (both live in Redis)."""
    config = DarajaConfig.from_settings()
    recorder = sleeps.append if sleeps is not None else time.sleep
    return DarajaClient(config, breaker=get_breaker(config), sleep=recorder)


def requests_to(mpesa: Mpesa, path: str) -> list[int]:
    return [status for _m, p, status in mpesa.sandbox.sandbox.requests if p == path]


def test_token_is_fetched_once_and_shared_through_the_cache(mpesa: Mpesa) -> None:
    first, second = client(), client()
    accepted = first.stk_push(push_request())
    assert accepted.checkout_request_id.startswith("ws_CO_")
    second.stk_push(push_request())
    assert requests_to(mpesa, OAUTH) == [200]  # one token for both "processes"
    assert requests_to(mpesa, STK_PUSH_PATH) == [200, 200]


def test_token_is_refreshed_before_it_expires(mpesa: Mpesa, settings) -> None:
    mpesa.sandbox.sandbox.configure(token_ttl=2)  # short-lived tokens: refreshed at half-life
    settings.KEJA_MPESA_TOKEN_REFRESH_MARGIN = 600
    daraja = client()
    daraja.stk_push(push_request())
    time.sleep(1.3)
    daraja.stk_push(push_request())
    assert requests_to(mpesa, OAUTH) == [200, 200]
    assert requests_to(mpesa, STK_PUSH_PATH) == [200, 200]  # never a 404.001.03


def test_invalid_token_is_refreshed_once_and_the_call_retried(mpesa: Mpesa) -> None:
    daraja = client()
    daraja.stk_push(push_request())
    mpesa.sandbox.sandbox.expire_tokens()
    daraja.stk_push(push_request())
    assert requests_to(mpesa, STK_PUSH_PATH) == [200, 404, 200]
    assert requests_to(mpesa, OAUTH) == [200, 200]


def test_wrong_credentials_are_a_clear_error(mpesa: Mpesa, settings) -> None:
    settings.KEJA_MPESA_CONSUMER_SECRET = "wrong"
    with pytest.raises(e.DarajaAuthError):
        client().stk_push(push_request())
    assert requests_to(mpesa, STK_PUSH_PATH) == []


def test_5xx_and_throttling_are_retried_with_backoff(mpesa: Mpesa) -> None:
    mpesa.sandbox.sandbox.configure(delay=0)  # the push is decided at once: queries answer 200
    sleeps: list[float] = []
    daraja = client(sleeps)
    accepted = daraja.stk_push(push_request())
    mpesa.sandbox.sandbox.fail("503", count=2)
    result = daraja.stk_query(accepted.checkout_request_id)
    assert result.pending or result.result_code == 0
    assert requests_to(mpesa, QUERY) == [503, 503, 200]
    mpesa.sandbox.sandbox.fail("throttle", count=1)
    daraja.stk_query(accepted.checkout_request_id)
    assert requests_to(mpesa, QUERY)[-2:] == [500, 200]
    # exponential with jitter: attempt n waits between half and all of base·2^(n-1)
    assert len(sleeps) == 3
    assert 0.01 <= sleeps[0] <= 0.02
    assert 0.02 <= sleeps[1] <= 0.04
    assert 0.01 <= sleeps[2] <= 0.02


def test_backoff_is_exponential_jittered_and_capped() -> None:
    delays = [backoff_delay(n, base=0.5, cap=8, retry_after=None) for n in range(1, 8)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(8, 0.5 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert backoff_delay(1, base=0.5, cap=8, retry_after=3) == 3  # Retry-After wins
    assert backoff_delay(1, base=0.5, cap=8, retry_after=60) == 8  # never above the cap
    assert len({backoff_delay(3, base=0.5, cap=8, retry_after=None) for _ in range(20)}) > 1


def test_retries_give_up_after_the_budget(mpesa: Mpesa, settings) -> None:
    settings.KEJA_MPESA_BREAKER_FAIL_MAX = 10
    sleeps: list[float] = []
    daraja = client(sleeps)
    accepted = daraja.stk_push(push_request())
    mpesa.sandbox.sandbox.fail("500", count=10)
    with pytest.raises(e.DarajaUnavailable):
        daraja.stk_query(accepted.checkout_request_id)
    assert requests_to(mpesa, QUERY) == [500] * 4  # the first attempt and 3 retries
    assert len(sleeps) == 3


def test_the_breaker_stops_retries_when_it_opens(mpesa: Mpesa) -> None:
    daraja = client()
    accepted = daraja.stk_push(push_request())
    mpesa.sandbox.sandbox.fail("500", count=10)
    with pytest.raises(e.DarajaCircuitOpen):
        daraja.stk_query(accepted.checkout_request_id)
    assert requests_to(mpesa, QUERY) == [500] * 3  # fail_max 3: the 4th attempt never left


def test_other_4xx_are_never_retried(mpesa: Mpesa) -> None:
    with pytest.raises(e.DarajaRejected) as caught:
        client().stk_query("ws_CO_unknown")
    assert caught.value.code == "400.002.02"
    assert requests_to(mpesa, QUERY) == [400]


def test_a_timed_out_query_is_retried(mpesa: Mpesa) -> None:
    mpesa.sandbox.sandbox.configure(delay=0)
    daraja = client()
    accepted = daraja.stk_push(push_request())
    mpesa.sandbox.sandbox.fail("timeout", count=1)
    started = time.monotonic()
    daraja.stk_query(accepted.checkout_request_id)
    assert time.monotonic() - started < 4
    assert requests_to(mpesa, QUERY) == [0, 200]  # 0: the hung request


def test_a_timed_out_push_is_never_sent_twice(mpesa: Mpesa, books: Books) -> None:
    daraja = client()
    daraja.stk_push(push_request())  # token cached
    mpesa.sandbox.sandbox.fail("timeout", count=1)
    payment = stk_push_initiate(
        actor=books.actor, lease_id=books.lease.pk, amount=100, phone="0712345678"
    )
    assert requests_to(mpesa, STK_PUSH_PATH) == [200, 0]  # no second prompt
    assert payment.status == Payment.Status.PENDING
    assert payment.checkout_request_id is None
    assert "may still reach the phone" in payment.result_description


def test_a_push_answered_503_is_retried(mpesa: Mpesa, books: Books) -> None:
    for fail in (False, True):
        if fail:
            mpesa.sandbox.sandbox.fail("503", count=1)  # the token is cached: the push fails
        payment = stk_push_initiate(
            actor=books.actor, lease_id=books.lease.pk, amount=100, phone="0712345678"
        )
        assert payment.checkout_request_id
    assert requests_to(mpesa, STK_PUSH_PATH) == [200, 503, 200]


def test_breaker_opens_for_every_process_and_recovers(mpesa: Mpesa, books: Books, settings) -> None:
    # pybreaker keeps opened_at in whole seconds: a cool-down of 3 s lasts 2 to 3 s
    settings.KEJA_MPESA_BREAKER_RESET_TIMEOUT = 3.0
    daraja = client()
    accepted = daraja.stk_push(push_request())
    mpesa.sandbox.sandbox.fail("503")
    with pytest.raises(e.DarajaCircuitOpen):
        daraja.stk_query(accepted.checkout_request_id)  # 3 attempts: fail_max reached
    assert get_breaker().state == "open"
    calls = mpesa.sandbox.sandbox.api_request_count()
    # another "process": a new breaker object on the same Redis state refuses at once
    config = DarajaConfig.from_settings()
    other = SharedBreaker(
        "other",
        fail_max=3,
        reset_timeout=60,
        redis_url=settings.REDIS_URL,
        namespace=f"{settings.CACHE_KEY_PREFIX}:mpesa:{config.breaker_name}",
    )
    assert other.state == "open"
    with pytest.raises(e.DarajaCircuitOpen):
        DarajaClient(config, breaker=other).stk_query(accepted.checkout_request_id)
    with pytest.raises(MpesaUnavailable) as caught:
        stk_push_initiate(
            actor=books.actor, lease_id=books.lease.pk, amount=100, phone="0712345678"
        )
    assert caught.value.code == "mpesa_circuit_open"
    assert caught.value.status == 503
    assert mpesa.sandbox.sandbox.api_request_count() == calls  # Daraja was not called at all
    # a real separate process sees the same state, and the same cached OAuth token
    assert _in_subprocess(mpesa) == ["open", "token cached"]
    # after the cool-down one probe goes through; Daraja is back, so the circuit closes
    mpesa.sandbox.sandbox.fail(None)
    deadline = time.monotonic() + 8
    while True:
        try:
            daraja.stk_query(accepted.checkout_request_id)
            break
        except e.DarajaCircuitOpen:
            assert time.monotonic() < deadline, "the breaker never let a probe through"
            time.sleep(0.2)
    assert get_breaker().state == "closed"
    assert get_breaker().snapshot().fail_counter == 0


def test_a_failed_probe_opens_the_circuit_again(mpesa: Mpesa, settings) -> None:
    settings.KEJA_MPESA_BREAKER_RESET_TIMEOUT = 2.0  # opened_at has whole-second resolution
    daraja = client()
    accepted = daraja.stk_push(push_request())
    mpesa.sandbox.sandbox.fail("500")
    with pytest.raises(e.DarajaCircuitOpen):
        daraja.stk_query(accepted.checkout_request_id)
    opened = get_breaker().snapshot().opened_at
    time.sleep(2.1)  # the cool-down is over
    calls = mpesa.sandbox.sandbox.api_request_count(QUERY)
    with pytest.raises((e.DarajaUnavailable, e.DarajaCircuitOpen)):
        daraja.stk_query(accepted.checkout_request_id)
    assert mpesa.sandbox.sandbox.api_request_count(QUERY) == calls + 1  # exactly one probe
    assert get_breaker().state == "open"
    assert get_breaker().snapshot().opened_at != opened


def test_business_errors_do_not_open_the_breaker(mpesa: Mpesa) -> None:
    daraja = client()
    for _ in range(5):
        with pytest.raises(e.DarajaRejected):
            daraja.stk_query("ws_CO_unknown")
    assert get_breaker().state == "closed"


def test_breaker_state_in_health_and_metrics(mpesa: Mpesa, settings) -> None:
    settings.KEJA_HEALTH_TOKEN = "health-token"
    web = Client()
    body = web.get("/health", HTTP_X_HEALTH_TOKEN="health-token").json()
    assert body["mpesa_breaker"]["state"] == "closed"
    assert body["mpesa_breaker"]["storage"] == "redis"
    assert body["mpesa_breaker"]["fail_max"] == 3
    assert web.get("/health").json() == {"status": "ok"}  # details only with the token
    daraja = client()
    accepted = daraja.stk_push(push_request())
    mpesa.sandbox.sandbox.fail("503")
    with pytest.raises(e.DarajaCircuitOpen):
        daraja.stk_query(accepted.checkout_request_id)
    body = web.get("/health", HTTP_X_HEALTH_TOKEN="health-token").json()
    assert body["status"] == "ok"  # Daraja being down does not make Keja unhealthy
    assert body["mpesa_breaker"]["state"] == "open"
    assert body["mpesa_breaker"]["opened_at"]
    text = web.get("/metrics", HTTP_X_HEALTH_TOKEN="health-token").content.decode()
    assert 'keja_mpesa_breaker_state{state="open"} 1.0' in text
    assert 'keja_mpesa_breaker_state{state="closed"} 0.0' in text
    assert 'keja_mpesa_daraja_requests_total{operation="stk_query",outcome="unavailable"}' in text
    assert "keja_mpesa_daraja_retries_total" in text


def _in_subprocess(mpesa: Mpesa) -> list[str]:
    from django.conf import settings

    code = (
        "import django; django.setup()\n"
        "from django.core.cache import cache\n"
        "from keja.payments.adapters import DarajaConfig, get_breaker\n"
        "print(get_breaker().state)\n"
        "key = DarajaConfig.from_settings().token_cache_key()\n"
        "print('token cached' if cache.get(key) else 'no token')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=subprocess_env(
            KEJA_DARAJA_BASE_URL=mpesa.sandbox.url,
            KEJA_MPESA_BREAKER_FAIL_MAX=str(settings.KEJA_MPESA_BREAKER_FAIL_MAX),
            KEJA_MPESA_BREAKER_RESET_TIMEOUT="60",
            KEJA_MPESA_CONSUMER_KEY=settings.KEJA_MPESA_CONSUMER_KEY,
            KEJA_MPESA_CONSUMER_SECRET=settings.KEJA_MPESA_CONSUMER_SECRET,
            KEJA_LOG_LEVEL="WARNING",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-2:]


def test_the_stand_in_runs_as_its_own_process() -> None:
    """``keja daraja_sandbox`` (as the demo and the load tests run it): real OAuth and control."""
    port = free_port()
    proc = subprocess.Popen(
        keja_cmd(
            "daraja_sandbox", "--port", str(port), "--consumer-key", "k", "--consumer-secret", "s"
        ),
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/__sandbox__/state", proc=proc)
        assert (
            httpx.get(f"{base}{OAUTH}?grant_type=client_credentials", auth=("k", "x")).status_code
            == 400
        )
        token = httpx.get(f"{base}{OAUTH}?grant_type=client_credentials", auth=("k", "s")).json()
        assert token["expires_in"] == "3599"
        changed = httpx.post(f"{base}/__sandbox__/config", json={"fail": "503", "fail_count": 1})
        assert changed.json()["fail"] == "503"
        answer = httpx.post(
            f"{base}{QUERY}",
            json={"CheckoutRequestID": "ws_CO_x"},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert answer.status_code == 503
    finally:
        output = stop(proc)
    assert "Daraja stand-in on" in output
