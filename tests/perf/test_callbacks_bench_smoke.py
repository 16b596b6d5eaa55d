"""Smoke of the M-Pesa callback storm (issue 6): a tiny run (200 callbacks, 10 concurrent) must
seed, start gunicorn, fire, stop, and write well-formed JSON whose money invariants passed.

Asserts structure and invariants only, never a timing."""

from __future__ import annotations

import json
import math
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from perf_suite.pg import PgAdmin

ROOT = Path(__file__).resolve().parents[2]
PG_BASE = "postgresql://postgres@127.0.0.1:5432/postgres"
pytestmark = pytest.mark.slow


def test_callbacks_bench_smoke(tmp_path: Path) -> None:
    token = secrets.token_hex(4)
    db = f"keja_cb_smoke_{token}"
    out = tmp_path / "callbacks.json"
    cmd = [
        sys.executable,
        "-m",
        "perf_suite.callbacks_bench",
        "--db",
        db,
        "--out",
        str(out),
        "--count",
        "200",
        "--concurrency",
        "10",
        "--pings",
        "400",
        "--workers",
        "2",
        "--instance",
        f"cbsmoke{token}",
        "--time-limit",
        "60",
        "--log-dir",
        str(tmp_path / "logs"),
        "--drop-db",
    ]
    try:
        done = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
        )
    finally:
        PgAdmin(PG_BASE).drop(db)
    assert out.exists(), done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    for key in ("machine", "command", "bare_endpoint", "callbacks", "invariants"):
        assert key in report
    cb = report["callbacks"]
    assert cb["requests"] == 200
    assert cb["statuses"] == {"200": 200}
    assert cb["bad_ack"] == 0
    for q in ("p50", "p90", "p95", "p99"):
        assert math.isfinite(cb["latency_ms"][q])
    assert math.isfinite(report["throughput_ratio"])
    inv = report["invariants"]
    assert inv["passed"] is True
    assert inv["lost"] == 0
    assert inv["double_credits"] == 0
    assert inv["ledger_violations_after"] == 0
    assert inv["callback_redeliveries_stored"] == report["dataset"]["duplicates"]
    assert report["passed"] is True
