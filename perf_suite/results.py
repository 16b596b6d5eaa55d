"""Results: ratio entries, machine information, the results file and its schema check.

A results file (``perf_suite/results/<timestamp>-<scale>.json``, copied to ``latest-<scale>.json``)::

    {"schema": "keja-perf/1", "run_id", "scale", "started_at", "finished_at", "duration_s",
     "command", "config", "machine", "dataset", "interrupted",
     "scenarios": {name: {"status": "ok"|"skipped"|"error", "reason"|"error", "seconds",
                          "levels": [...], "ratios": {...}, ...}},
     "ratios": {"<scenario>.<metric>": ratio entry}}   # every scenario's ratios, flattened

A ratio entry: ``{"value", "better": "higher"|"lower", "kind": "ratio"|"rate", "measured",
"ceiling", "unit", "ceiling_name", "description"}``. ``kind: ratio`` compares relatively (the
tolerance is a fraction of the baseline value); ``kind: rate`` (error rates) absolutely.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perf_suite.config import ROOT

SCHEMA = "keja-perf/1"
BETTER = ("higher", "lower")
KINDS = ("ratio", "rate")


def ratio(
    measured: float | None,
    ceiling: float | None,
    *,
    better: str,
    unit: str,
    ceiling_name: str,
    description: str,
) -> dict[str, Any] | None:
    """measured / ceiling, or None when either side is missing or zero."""
    if better not in BETTER:
        raise ValueError(f"better must be one of {BETTER}")
    if measured is None or ceiling is None or not ceiling or not math.isfinite(measured):
        return None
    value = measured / ceiling
    if not math.isfinite(value) or value <= 0:
        return None
    return {
        "value": round(value, 6),
        "better": better,
        "kind": "ratio",
        "measured": round(measured, 4),
        "ceiling": round(ceiling, 4),
        "unit": unit,
        "ceiling_name": ceiling_name,
        "description": description,
    }


def rate(value: float, *, description: str) -> dict[str, Any]:
    """An error rate (0..1), lower is better, compared with an absolute tolerance."""
    return {
        "value": round(float(value), 6),
        "better": "lower",
        "kind": "rate",
        "unit": "fraction",
        "description": description,
    }


def put(ratios: dict[str, Any], key: str, entry: dict[str, Any] | None) -> None:
    if entry is not None:
        ratios[key] = entry


# --- machine information ------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def git_commit(root: Path = ROOT) -> str | None:
    """The checked-out commit, read from .git without running git."""
    git = root / ".git"
    try:
        if git.is_file():  # a worktree: "gitdir: <path>"
            git = Path(git.read_text().split(":", 1)[1].strip())
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head
        ref = head.split(":", 1)[1].strip()
        for base in (git, Path(str(git).split("/worktrees/")[0])):
            ref_file = base / ref
            if ref_file.exists():
                return ref_file.read_text().strip()
            packed = base / "packed-refs"
            if packed.exists():
                for line in packed.read_text().splitlines():
                    if line.endswith(" " + ref):
                        return line.split()[0]
    except (OSError, IndexError):
        pass
    return None


def machine_info(pg_version: str, pg_settings: dict[str, str]) -> dict[str, Any]:
    try:
        import locust

        locust_version = locust.__version__
    except ImportError:  # pragma: no cover
        locust_version = None
    try:
        load = os.getloadavg()
    except OSError:  # pragma: no cover
        load = (0.0, 0.0, 0.0)
    return {
        "hostname": platform.node(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "postgres": pg_version,
        "postgres_settings": pg_settings,
        "locust": locust_version,
        "git_commit": git_commit(),
        "loadavg_at_start": [round(x, 2) for x in load],
    }


# --- files --------------------------------------------------------------------------------------
def flatten_ratios(scenarios: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, result in scenarios.items():
        for key, entry in (result.get("ratios") or {}).items():
            out[f"{name}.{key}"] = entry
    return out


def write(results: dict[str, Any], results_dir: Path, *, update_latest: bool) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(results["started_at"]).strftime("%Y%m%dT%H%M%SZ")
    path = results_dir / f"{stamp}-{results['scale']}.json"
    text = json.dumps(results, indent=1, sort_keys=False, allow_nan=False)
    path.write_text(text + "\n")
    if update_latest and not results.get("interrupted"):
        (results_dir / f"latest-{results['scale']}.json").write_text(text + "\n")
    return path


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    problems = validate(data)
    if problems:
        raise ValueError(f"{path}: not a valid results file: " + "; ".join(problems[:5]))
    return data


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


LEVEL_KEYS = ("users", "requests", "failures", "error_rate", "rps", "p50_ms", "p90_ms", "p95_ms")


def validate(data: Any) -> list[str]:
    """Problems with a results (or baseline) document; empty when it is well formed."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return ["not a JSON object"]
    if data.get("schema") != SCHEMA:
        problems.append(f"schema is {data.get('schema')!r}, expected {SCHEMA!r}")
    for key in ("scale", "started_at", "machine", "dataset", "scenarios", "ratios"):
        if key not in data:
            problems.append(f"missing key {key!r}")
    machine = data.get("machine") or {}
    for key in ("cpu_count", "cpu_model", "memory_gib", "python", "postgres", "git_commit"):
        if key not in machine:
            problems.append(f"machine.{key} missing")
    for name, result in (data.get("scenarios") or {}).items():
        status = result.get("status")
        if status not in ("ok", "skipped", "error"):
            problems.append(f"scenarios.{name}.status is {status!r}")
        for i, level in enumerate(result.get("levels") or []):
            for key in (*LEVEL_KEYS, "p99_ms"):
                if key not in level:
                    problems.append(f"scenarios.{name}.levels[{i}].{key} missing")
                elif level["requests"] and not _finite(level[key]):
                    problems.append(f"scenarios.{name}.levels[{i}].{key} is not a finite number")
            if _finite(level.get("error_rate")) and not 0 <= level["error_rate"] <= 1:
                problems.append(f"scenarios.{name}.levels[{i}].error_rate outside 0..1")
    for key, entry in (data.get("ratios") or {}).items():
        if not isinstance(entry, dict):
            problems.append(f"ratios.{key} is not an object")
            continue
        if not _finite(entry.get("value")):
            problems.append(f"ratios.{key}.value is not a finite number")
        if entry.get("better") not in BETTER:
            problems.append(f"ratios.{key}.better must be 'higher' or 'lower'")
        if entry.get("kind", "ratio") not in KINDS:
            problems.append(f"ratios.{key}.kind must be one of {KINDS}")
    return problems
