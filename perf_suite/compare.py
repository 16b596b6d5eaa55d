"""``python -m perf_suite.compare`` (``make perf-compare``): regression detection (P8.2).

Compares every ratio of a results file (default ``perf_suite/results/latest-<scale>.json``) with
the committed baseline (``perf_suite/baselines/<scale>.json``). Ratios are measured against
ceilings taken in the same run, so they travel between runs far better than absolute figures.

Direction is explicit per metric (``better`` in each ratio entry, taken from the baseline):
- ``better: higher`` (throughput ratios): worse when current < baseline × (1 − tolerance);
- ``better: lower`` (latency ratios): worse when current > baseline × (1 + tolerance);
- ``kind: rate`` (error rates): worse when current > baseline + rate tolerance (absolute).
A baseline entry may carry its own ``tolerance``. A ratio missing from a scenario that ran (or a
scenario that failed) is a failure too; scenarios not run this time are listed, not failed.

Exit status: 0 no regression, 1 regression or missing ratio, 2 unusable input (missing file,
other scale, other kind of dataset).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perf_suite.config import BASELINES_DIR, RESULTS_DIR, SCALES
from perf_suite.results import load

FAILING = ("regressed", "missing")


@dataclass(frozen=True)
class Row:
    key: str
    status: str  # ok | improved | regressed | missing | not run | new
    better: str
    kind: str
    baseline: float | None
    current: float | None
    change: float | None  # relative (ratio) or absolute (rate) change, + means worse
    tolerance: float

    @property
    def failing(self) -> bool:
        return self.status in FAILING


def parse_tolerance(text: str | float) -> float:
    """``0.15``, ``15`` and ``15%`` all mean 15 %."""
    raw = str(text).strip().rstrip("%")
    value = float(raw)
    if str(text).strip().endswith("%") or value >= 1:
        value /= 100
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError("tolerance must be between 0 and 100 %")
    return value


def incompatibility(current: dict[str, Any], baseline: dict[str, Any]) -> str | None:
    if current.get("scale") != baseline.get("scale"):
        return f"scale {current.get('scale')} vs baseline {baseline.get('scale')}"
    cur_src = (current.get("dataset") or {}).get("source")
    base_src = (baseline.get("dataset") or {}).get("source")
    if cur_src != base_src:
        return f"dataset source {cur_src} vs baseline {base_src}"
    cur_cfg, base_cfg = current.get("config") or {}, baseline.get("config") or {}
    for key in ("levels", "workers", "threads", "think_time"):
        if key in cur_cfg and key in base_cfg and cur_cfg[key] != base_cfg[key]:
            return f"{key} {cur_cfg[key]} vs baseline {base_cfg[key]} (run with the same options)"
    return None


def compare(
    current: dict[str, Any],
    baseline: dict[str, Any],
    *,
    tolerance: float = 0.15,
    rate_tolerance: float = 0.01,
) -> list[Row]:
    rows: list[Row] = []
    cur_ratios: dict[str, Any] = current.get("ratios") or {}
    scenarios: dict[str, Any] = current.get("scenarios") or {}
    for key, base in (baseline.get("ratios") or {}).items():
        better = base["better"]
        kind = base.get("kind", "ratio")
        tol = float(base.get("tolerance", rate_tolerance if kind == "rate" else tolerance))
        b = float(base["value"])
        scenario = key.split(".", 1)[0]
        if scenario not in scenarios:
            rows.append(Row(key, "not run", better, kind, b, None, None, tol))
            continue
        entry = cur_ratios.get(key)
        if entry is None:
            rows.append(Row(key, "missing", better, kind, b, None, None, tol))
            continue
        c = float(entry["value"])
        if kind == "rate":
            worse_by = c - b
        elif b == 0:
            worse_by = 0.0
        else:
            worse_by = (b - c) / b if better == "higher" else (c - b) / b
        if worse_by > tol:
            status = "regressed"
        elif worse_by < -tol:
            status = "improved"
        else:
            status = "ok"
        rows.append(Row(key, status, better, kind, b, c, worse_by, tol))
    for key, entry in cur_ratios.items():
        if key not in (baseline.get("ratios") or {}):
            rows.append(
                Row(
                    key,
                    "new",
                    entry["better"],
                    entry.get("kind", "ratio"),
                    None,
                    float(entry["value"]),
                    None,
                    tolerance,
                )
            )
    return rows


def format_rows(rows: list[Row]) -> str:
    lines = [
        f"{'':2}{'metric':<54} {'better':>6} {'baseline':>10} {'current':>10} {'worse by':>9}  status"
    ]
    marks = {"regressed": "✗", "missing": "✗", "improved": "+", "ok": " ", "new": "·"}
    for r in rows:
        if r.kind == "rate":
            change = f"{r.change * 100:+.2f}pt" if r.change is not None else ""
        else:
            change = f"{r.change:+.1%}" if r.change is not None else ""
        base = f"{r.baseline:.4f}" if r.baseline is not None else "-"
        cur = f"{r.current:.4f}" if r.current is not None else "-"
        lines.append(
            f"{marks.get(r.status, ' '):2}{r.key:<54} {r.better:>6} {base:>10} {cur:>10} "
            f"{change:>9}  {r.status}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m perf_suite.compare", description="Compare perf results to a baseline."
    )
    p.add_argument("--scale", choices=SCALES, default="medium")
    p.add_argument("--current", type=Path, help="results file (default: latest-<scale>.json)")
    p.add_argument("--baseline", type=Path, help="baseline (default: baselines/<scale>.json)")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--baselines-dir", type=Path, default=BASELINES_DIR)
    p.add_argument(
        "--tolerance",
        type=parse_tolerance,
        default=0.15,
        help="allowed worsening of a ratio: 0.15, 15 or 15%% (default 15%%)",
    )
    p.add_argument(
        "--rate-tolerance",
        type=float,
        default=0.01,
        help="allowed absolute increase of an error rate (default 0.01 = 1 point)",
    )
    p.add_argument("--no-report", action="store_true", help="do not rewrite the markdown report")
    ns = p.parse_args(argv)
    current_path = ns.current or ns.results_dir / f"latest-{ns.scale}.json"
    baseline_path = ns.baseline or ns.baselines_dir / f"{ns.scale}.json"
    for what, path in (("results", current_path), ("baseline", baseline_path)):
        if not path.exists():
            print(f"perf-compare: no {what} file {path}", file=sys.stderr)
            return 2
    try:
        current = load(current_path)
        baseline = load(baseline_path)
    except ValueError as exc:
        print(f"perf-compare: {exc}", file=sys.stderr)
        return 2
    problem = incompatibility(current, baseline)
    if problem:
        print(f"perf-compare: results not comparable with the baseline: {problem}", file=sys.stderr)
        return 2
    rows = compare(current, baseline, tolerance=ns.tolerance, rate_tolerance=ns.rate_tolerance)
    print(
        f"current:  {current_path} ({current.get('started_at')}, commit "
        f"{(current.get('machine') or {}).get('git_commit')})"
    )
    print(f"baseline: {baseline_path} ({baseline.get('started_at')})")
    print(
        f"tolerance: ratios {ns.tolerance:.0%} relative, error rates {ns.rate_tolerance:.2%} absolute\n"
    )
    print(format_rows(rows))
    failing = [r for r in rows if r.failing]
    if not ns.no_report:
        try:
            from perf_suite.report import write_report

            report = write_report(
                current,
                ns.results_dir,
                ns.baselines_dir,
                ns.tolerance,
                baseline=baseline,
                rate_tolerance=ns.rate_tolerance,
            )
            print(f"\nreport: {report}")
        except Exception as exc:  # the verdict stands without the report
            print(f"\nreport not written: {type(exc).__name__}: {exc}")
    for scenario, result in (current.get("scenarios") or {}).items():
        if result.get("status") == "error":
            print(f"\nscenario {scenario} failed in this run: {result.get('error', '')[:300]}")
    if failing:
        print(f"\nREGRESSION: {len(failing)} metric(s) worse than the baseline beyond tolerance:")
        for r in failing:
            print(f"  {r.key}: {r.status}")
        return 1
    print(
        f"\nno regression ({len([r for r in rows if r.status in ('ok', 'improved')])} metrics checked)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
