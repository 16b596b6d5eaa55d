"""``keja daraja_sandbox``: run the local Daraja stand-in (payments/adapters/sandbox.py).

    keja daraja_sandbox --port 8765 --outcome success --delay 3

Point Keja at it with ``KEJA_DARAJA_BASE_URL=http://127.0.0.1:8765`` (the development default)
and any ``KEJA_MPESA_CONSUMER_KEY``/``SECRET`` (or the ones given here with --consumer-key).
Per request, the phone's last four digits choose the outcome (docs/payments.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from keja.payments.adapters.sandbox import (
    FAIL_MODES,
    OUTCOMES,
    PHONE_SUFFIX_OUTCOMES,
    SandboxConfig,
    SandboxServer,
)


class Command(BaseCommand):
    help = "Run a local stand-in for Safaricom's Daraja API (OAuth, STK push/query, C2B)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--outcome",
            choices=OUTCOMES,
            default="success",
            help="Default outcome of an STK push (the phone's last 4 digits can override it).",
        )
        parser.add_argument(
            "--delay", type=float, default=3.0, help="Seconds before a callback is posted."
        )
        parser.add_argument("--consumer-key", default="", help="Required key (default: any).")
        parser.add_argument("--consumer-secret", default="")
        parser.add_argument("--passkey", default="", help="Check the STK Password with it.")
        parser.add_argument("--token-ttl", type=int, default=3599, help="Token lifetime, s.")
        parser.add_argument(
            "--fail", choices=FAIL_MODES, default=None, help="Answer every API call this way."
        )
        parser.add_argument(
            "--fail-count", type=int, default=None, help="Fail only the next N API calls."
        )
        parser.add_argument(
            "--hang-seconds", type=float, default=35.0, help="How long --fail timeout holds."
        )
        parser.add_argument("--verbose-http", action="store_true", help="Log every request.")

    def handle(self, *args: Any, **options: Any) -> None:
        config = SandboxConfig(
            consumer_key=options["consumer_key"],
            consumer_secret=options["consumer_secret"],
            passkey=options["passkey"],
            outcome=options["outcome"],
            delay=options["delay"],
            token_ttl=options["token_ttl"],
            hang_seconds=options["hang_seconds"],
            fail=options["fail"],
            fail_count=options["fail_count"],
        )
        server = SandboxServer(
            options["host"], options["port"], config, verbose=options["verbose_http"]
        )
        suffixes = ", ".join(f"…{k} {v}" for k, v in PHONE_SUFFIX_OUTCOMES.items())
        self.stdout.write(
            f"Daraja stand-in on {server.url} (default outcome {config.outcome}, callbacks "
            f"after {config.delay}s; by phone suffix: {suffixes}). Ctrl-C stops it."
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.sandbox.cancel_timers()
            server.server_close()
