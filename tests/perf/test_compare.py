"""perf-compare (P8.2): a ratio worse than its baseline beyond the tolerance fails, in the
direction written in each metric; the baseline compared with itself passes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from perf_suite import compare as cmp
from perf_suite.results import SCHEMA, flatten_ratios, rate, ratio, validate

BASELINES = Path(__file__).resolve().parents[2] / "perf_suite" / "baselines"


def _level(users: int, rps: float, p50: float, p95: float) -> dict[str, Any]:
    return {
        "users": users,
        "requests": int(rps * 10),
        "failures": 0,
        "error_rate": 0.0,
        "rps": rps,
        "p50_ms": p50,
        "p90_ms": p95 * 0.9,
        "p95_ms": p95,
        "p99_ms": p95 * 1.5,
        "ceiling": {"rps": 1000.0, "p50_ms": 4.0, "p95_ms": 9.0},
    }


def results_doc() -> dict[str, Any]:
    admin_ratios = {
        "u10.throughput_vs_ping": ratio(
            300.0, 1000.0, better="higher", unit="req/s", ceiling_name="ping", description="t"
        ),
        "u10.p95_vs_ping": ratio(
            36.0, 9.0, better="lower", unit="ms", ceiling_name="ping", description="l"
        ),
        "u10.error_rate": rate(0.0, description="errors"),
    }
    bulk_ratios = {
        "bulk_create_vs_copy": ratio(
            20_000.0,
            200_000.0,
            better="higher",
            unit="rows/s",
            ceiling_name="COPY",
            description="b",
        ),
    }
    scenarios = {
        "admin": {
            "status": "ok",
            "levels": [_level(10, 300.0, 30.0, 36.0)],
            "ratios": admin_ratios,
        },
        "bulk": {"status": "ok", "ratios": bulk_ratios},
    }
    return {
        "schema": SCHEMA,
        "run_id": "test",
        "scale": "medium",
        "started_at": "2026-01-01T00:00:00+00:00",
        "machine": {
            "cpu_count": 2,
            "cpu_model": "test",
            "memory_gib": 1.0,
            "python": "3.11",
            "postgres": "15",
            "git_commit": None,
        },
        "dataset": {"source": "seed_demo", "scale": "medium"},
        "scenarios": scenarios,
        "ratios": flatten_ratios(scenarios),
    }


def worsen(doc: dict[str, Any], key: str, by: float) -> dict[str, Any]:
    """A copy of ``doc`` whose ratio ``key`` is ``by`` (0.30 = 30 %) worse, in its direction."""
    out = copy.deepcopy(doc)
    scenario, metric = key.split(".", 1)
    entry = out["scenarios"][scenario]["ratios"][metric]
    entry["value"] *= (1 - by) if entry["better"] == "higher" else (1 + by)
    out["ratios"] = flatten_ratios(out["scenarios"])
    return out


def run_cli(tmp_path: Path, current: dict[str, Any], baseline: dict[str, Any], *args: str) -> int:
    cur_path, base_path = tmp_path / "current.json", tmp_path / "baseline.json"
    cur_path.write_text(json.dumps(current))
    base_path.write_text(json.dumps(baseline))
    return cmp.main(
        ["--current", str(cur_path), "--baseline", str(base_path), "--no-report", *args]
    )


def test_documents_are_well_formed() -> None:
    assert validate(results_doc()) == []


def test_baseline_against_itself_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = results_doc()
    assert run_cli(tmp_path, doc, doc) == 0
    assert "no regression" in capsys.readouterr().out
    assert {r.status for r in cmp.compare(doc, doc)} == {"ok"}


@pytest.mark.parametrize(
    "key", ["admin.u10.throughput_vs_ping", "admin.u10.p95_vs_ping", "bulk.bulk_create_vs_copy"]
)
def test_a_slowed_scenario_30_percent_worse_is_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    baseline = results_doc()
    slowed = worsen(baseline, key, 0.30)
    assert run_cli(tmp_path, slowed, baseline) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out
    assert key in out.split("REGRESSION", 1)[1]
    flagged = {r.key for r in cmp.compare(slowed, baseline) if r.failing}
    assert flagged == {key}


def test_direction_is_per_metric(tmp_path: Path) -> None:
    """Throughput ratio going up and latency ratio going down are improvements, not failures."""
    baseline = results_doc()
    better = worsen(
        worsen(baseline, "admin.u10.throughput_vs_ping", -0.3), "admin.u10.p95_vs_ping", -0.3
    )
    rows = {r.key: r.status for r in cmp.compare(better, baseline)}
    assert rows["admin.u10.throughput_vs_ping"] == "improved"
    assert rows["admin.u10.p95_vs_ping"] == "improved"
    assert run_cli(tmp_path, better, baseline) == 0


def test_tolerance_is_configurable(tmp_path: Path) -> None:
    baseline = results_doc()
    slowed = worsen(baseline, "admin.u10.throughput_vs_ping", 0.10)
    assert run_cli(tmp_path, slowed, baseline) == 0  # within the default 15 %
    assert run_cli(tmp_path, slowed, baseline, "--tolerance", "5") == 1
    assert (
        run_cli(
            tmp_path,
            worsen(baseline, "bulk.bulk_create_vs_copy", 0.3),
            baseline,
            "--tolerance",
            "40%",
        )
        == 0
    )


def test_error_rate_increase_is_flagged_absolutely(tmp_path: Path) -> None:
    baseline = results_doc()
    broken = copy.deepcopy(baseline)
    broken["scenarios"]["admin"]["ratios"]["u10.error_rate"]["value"] = 0.05
    broken["ratios"] = flatten_ratios(broken["scenarios"])
    assert run_cli(tmp_path, broken, baseline) == 1


def test_missing_ratio_of_a_run_scenario_fails_but_unrun_scenario_does_not(tmp_path: Path) -> None:
    baseline = results_doc()
    failed = copy.deepcopy(baseline)
    failed["scenarios"]["bulk"] = {"status": "error", "error": "boom", "ratios": {}}
    failed["ratios"] = flatten_ratios(failed["scenarios"])
    assert run_cli(tmp_path, failed, baseline) == 1
    partial = copy.deepcopy(baseline)
    del partial["scenarios"]["bulk"]
    partial["ratios"] = flatten_ratios(partial["scenarios"])
    assert run_cli(tmp_path, partial, baseline) == 0
    assert {r.status for r in cmp.compare(partial, baseline) if r.key.startswith("bulk.")} == {
        "not run"
    }


def test_incomparable_inputs_exit_2(tmp_path: Path) -> None:
    baseline = results_doc()
    other = copy.deepcopy(baseline)
    other["dataset"]["source"] = "fallback"
    assert run_cli(tmp_path, other, baseline) == 2
    bad = copy.deepcopy(baseline)
    bad["ratios"]["admin.u10.throughput_vs_ping"]["value"] = None
    assert run_cli(tmp_path, bad, baseline) == 2
    assert cmp.main(["--current", str(tmp_path / "nope.json"), "--no-report"]) == 2


@pytest.mark.parametrize(("text", "value"), [("0.15", 0.15), ("15", 0.15), ("15%", 0.15)])
def test_tolerance_parsing(text: str, value: float) -> None:
    assert cmp.parse_tolerance(text) == pytest.approx(value)


def test_report_is_written_with_plots(tmp_path: Path) -> None:
    from perf_suite.report import write_report

    baseline = results_doc()
    slowed = worsen(baseline, "admin.u10.throughput_vs_ping", 0.30)
    report = write_report(slowed, tmp_path, tmp_path, 0.15, baseline=baseline)
    text = report.read_text()
    assert "regressed" in text
    assert (tmp_path / "report-medium-latency.png").stat().st_size > 1000
    assert (tmp_path / "report-medium-ratios.png").stat().st_size > 1000


def test_committed_baseline_flags_a_slowed_scenario(tmp_path: Path) -> None:
    """The real baseline: valid, passes against itself, fails when any throughput ratio of it
    is made 30 % worse."""
    path = BASELINES / "medium.json"
    assert path.exists(), "perf_suite/baselines/medium.json is committed"
    baseline = json.loads(path.read_text())
    assert validate(baseline) == []
    assert run_cli(tmp_path, baseline, baseline) == 0
    key = next(
        k
        for k, v in baseline["ratios"].items()
        if v["better"] == "higher" and v.get("kind", "ratio") == "ratio"
    )
    assert run_cli(tmp_path, worsen(baseline, key, 0.30), baseline) == 1


def test_runs_with_other_load_levels_are_not_compared(tmp_path: Path) -> None:
    baseline = results_doc()
    baseline["config"] = {"levels": [10, 50, 100], "workers": 4}
    other = copy.deepcopy(baseline)
    other["config"]["levels"] = [5]
    assert run_cli(tmp_path, other, baseline) == 2
