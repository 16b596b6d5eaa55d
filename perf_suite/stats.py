"""Percentiles from raw samples (milliseconds as floats; no rounding as in locust's own stats)."""

from __future__ import annotations

import math
from collections.abc import Sequence

PERCENTILES = (50, 90, 95, 99)


def percentile(sorted_samples: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    if not sorted_samples:
        return math.nan
    if len(sorted_samples) == 1:
        return float(sorted_samples[0])
    k = (len(sorted_samples) - 1) * pct / 100
    lo = math.floor(k)
    hi = min(lo + 1, len(sorted_samples) - 1)
    return float(sorted_samples[lo] + (sorted_samples[hi] - sorted_samples[lo]) * (k - lo))


def _r(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 3)


def summarize(samples: Sequence[float]) -> dict[str, float | None]:
    """p50/p90/p95/p99, mean and max in ms (None when there are no samples), and the count."""
    data = sorted(samples)
    out: dict[str, float | None] = {f"p{p}_ms": _r(percentile(data, p)) for p in PERCENTILES}
    out["mean_ms"] = _r(sum(data) / len(data)) if data else None
    out["max_ms"] = _r(data[-1]) if data else None
    out["samples"] = len(data)
    return out
