"""CI smoke of the performance suite (P8.0): a tiny run (small dataset, a few seconds of load per
scenario) must start the app, run, stop everything and write well-formed results.

It asserts structure only, never a timing: numbers are present and finite, error rates reported.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from perf_suite import compare
from perf_suite.results import validate

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def cluster_url() -> str:
    cfg = settings.DATABASES["default"]
    return (
        f"postgres://{cfg.get('USER') or 'postgres'}@{cfg.get('HOST') or '127.0.0.1'}:"
        f"{cfg.get('PORT') or 5432}/postgres"
    )


def finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def test_perf_suite_smoke(tmp_path: Path) -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("the perf smoke needs PostgreSQL (DATABASE_URL)")
    run_db = f"keja_perf_smoke_{os.getpid()}"
    cmd = [
        sys.executable,
        "-m",
        "perf_suite",
        "--scale=small",
        "--scenarios=admin,api,payments",
        "--levels=4",
        "--duration=3",
        "--ping-duration=2",
        "--warmup=1",
        "--slices=1",
        "--seq-seconds=0.3",
        "--max-pages=3",
        "--payment-seconds=2",
        "--payment-clients=2",
        "--workers=2",
        f"--pg-url={cluster_url()}",
        f"--redis-url={settings.REDIS_URL}",
        f"--run-db={run_db}",
        f"--results-dir={tmp_path}",
        f"--baselines-dir={tmp_path / 'baselines'}",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]

    latest = tmp_path / "latest-small.json"
    data = json.loads(latest.read_text())
    assert validate(data) == [], validate(data)
    assert data["interrupted"] is False
    assert data["machine"]["cpu_count"] >= 1
    assert data["dataset"]["template"] == "keja_perf_tpl_small"
    assert data["dataset"]["tables"]["properties_unit"] > 0

    admin = data["scenarios"]["admin"]
    assert admin["status"] == "ok", admin
    (level,) = admin["levels"]
    assert level["users"] == 4
    assert level["requests"] > 0
    assert 0 <= level["error_rate"] <= 1
    for key in ("rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms"):
        assert finite(level[key]), key
    assert finite(level["ceiling"]["rps"])
    assert "u4.throughput_vs_ping" in admin["ratios"]
    assert "u4.error_rate" in admin["ratios"]
    assert "cpu_ms_per_req" in level["server_cpu"]
    assert any(k.endswith("latency_vs_sql") for k in admin["ratios"])

    api = data["scenarios"]["api"]
    assert api["status"] in ("ok", "skipped"), api
    if api["status"] == "skipped":  # only while the API is not there yet
        assert "answered" in api["reason"] or "API key" in api["reason"]
    else:
        assert "u4.error_rate" in api["ratios"]

    payments = data["scenarios"]["payments"]
    assert payments["status"] == "ok", payments
    assert payments["measurements"]["payments"] > 0
    assert "record_tps_vs_update_tps" in payments["ratios"]

    for key, entry in data["ratios"].items():
        assert finite(entry["value"]), key
        assert entry["better"] in ("higher", "lower"), key

    assert (tmp_path / "report-small.md").read_text().startswith("# Keja performance report")
    # the run database is dropped afterwards, the template kept for the next run
    assert compare.main(["--current", str(latest), "--baseline", str(latest), "--no-report"]) == 0
    # processes stopped: nothing listens on the app's port any more
    import socket

    port = int(data["app"]["base_url"].rsplit(":", 1)[1])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
