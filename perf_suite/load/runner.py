"""``python -m perf_suite.load.runner SPEC.json OUT.json``: run load phases with locust as a
library and write per-phase statistics computed from the raw samples.

A phase measures a scenario and its ceiling side by side, with the same number of users::

    {"label", "users", "warmup", "duration", "ceiling_duration", "slices",
     "params": {...MixUser params}, "ceiling_params": {...}}

Both user sets are spawned; only one is active at a time. After a warm-up of each, the runner
alternates ``slices`` times: ceiling for ``ceiling_duration / slices`` seconds, then the scenario
for ``duration / slices`` seconds. Each switch waits until the other set's requests in flight have
finished; only requests started inside a window count. So both halves of a ratio see the same
background load (this machine is shared), which a ceiling measured minutes apart would not.

The load goes only to 127.0.0.1. On stdout the runner prints ``window-start|window-end <phase>
<kind>`` at each window's edges, for the suite to account the server's CPU time.
"""

from __future__ import annotations

from gevent import monkey  # type: ignore[import-untyped]

monkey.patch_all()

import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import gevent  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.log import setup_logging  # noqa: E402

from perf_suite.load.users import ACTIVE, IN_FLIGHT, user_class  # noqa: E402
from perf_suite.stats import summarize  # noqa: E402

KINDS = ("scenario", "ceiling")


class Recorder:
    """Raw response times per kind and request name, for requests started inside a window of
    their kind and finished before it closed."""

    def __init__(self) -> None:
        self.open_since: dict[str, float | None] = dict.fromkeys(KINDS)
        self.elapsed: dict[str, float] = dict.fromkeys(KINDS, 0.0)
        self.samples: dict[str, dict[str, list[float]]] = {k: defaultdict(list) for k in KINDS}
        self.failures: dict[str, Counter[str]] = {k: Counter() for k in KINDS}
        self.errors: dict[str, Counter[str]] = {k: Counter() for k in KINDS}

    def open(self, kind: str) -> None:
        self.open_since[kind] = time.time()

    def close(self, kind: str) -> None:
        since = self.open_since[kind]
        if since is not None:
            self.elapsed[kind] += time.time() - since
        self.open_since[kind] = None

    def on_request(
        self,
        name: str,
        response_time: float | None,
        exception: object = None,
        context: dict[str, Any] | None = None,
        start_time: float | None = None,
        **_: Any,
    ) -> None:
        kind = (context or {}).get("kind")
        if kind not in KINDS or response_time is None:
            return
        since = self.open_since[kind]
        if since is None or (start_time is not None and start_time < since):
            return
        self.samples[kind][name].append(float(response_time))
        if exception is not None:
            self.failures[kind][name] += 1
            self.errors[kind][f"{name}: {str(exception)[:160]}"] += 1

    def stats(self, kind: str) -> dict[str, Any]:
        elapsed = self.elapsed[kind]
        per_name = self.samples[kind]
        all_samples = [s for samples in per_name.values() for s in samples]
        requests = len(all_samples)
        failures = sum(self.failures[kind].values())
        endpoints = {
            name: {
                "requests": len(samples),
                "failures": self.failures[kind][name],
                "error_rate": self.failures[kind][name] / len(samples) if samples else 0.0,
                "rps": len(samples) / elapsed if elapsed else 0.0,
                **summarize(samples),
            }
            for name, samples in sorted(per_name.items())
        }
        return {
            "duration_s": round(elapsed, 3),
            "requests": requests,
            "failures": failures,
            "error_rate": failures / requests if requests else 1.0,
            "rps": requests / elapsed if elapsed else 0.0,
            **summarize(all_samples),
            "endpoints": endpoints,
            "errors": dict(self.errors[kind].most_common(10)),
        }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _mark(event: str, index: int, kind: str) -> None:
    sys.stdout.write(f"{event} {index} {kind}\n")
    sys.stdout.flush()


def _activate(kind: str) -> None:
    """Switch the active user set; wait until the other set's requests have all come back."""
    other = "ceiling" if kind == "scenario" else "scenario"
    ACTIVE["kind"] = kind
    deadline = time.monotonic() + 60
    while IN_FLIGHT[other] > 0 and time.monotonic() < deadline:
        gevent.sleep(0.01)
    gevent.sleep(0.1)


def run_phase(host: str, phase: dict[str, Any], index: int = 0) -> dict[str, Any]:
    users = int(phase["users"])
    scenario_cls = user_class(phase["label"], "scenario", host, phase["params"])
    ceiling_cls = user_class(phase["label"], "ceiling", host, phase["ceiling_params"])
    scenario_cls.fixed_count = users
    ceiling_cls.fixed_count = users
    env = Environment(user_classes=[scenario_cls, ceiling_cls], host=host)
    recorder = Recorder()
    env.events.request.add_listener(recorder.on_request)
    runner = env.create_local_runner()
    ACTIVE["kind"] = None
    runner.start(2 * users, spawn_rate=min(2 * users, 100))
    deadline = time.monotonic() + 60
    while runner.user_count < 2 * users and time.monotonic() < deadline:
        gevent.sleep(0.1)
    warmup = float(phase.get("warmup", 2))
    _activate("scenario")
    gevent.sleep(warmup)
    _activate("ceiling")
    gevent.sleep(min(warmup, 1.0))

    slices = max(1, int(phase.get("slices", 1)))
    lengths = {
        "ceiling": float(phase["ceiling_duration"]) / slices,
        "scenario": float(phase["duration"]) / slices,
    }
    cpu0 = _cpu()
    t0 = time.monotonic()
    for _ in range(slices):
        for kind in ("ceiling", "scenario"):
            _activate(kind)
            _mark("window-start", index, kind)
            recorder.open(kind)
            gevent.sleep(lengths[kind])
            recorder.close(kind)
            _mark("window-end", index, kind)
    wall = time.monotonic() - t0
    cpu = _cpu() - cpu0
    spawned = runner.user_count
    ACTIVE["kind"] = None
    runner.stop()
    runner.quit()
    task_exceptions = sum(e["count"] for e in runner.exceptions.values())
    return {
        "label": phase["label"],
        "users": users,
        "users_running": spawned // 2,
        "slices": slices,
        "think_time_s": float(phase["params"].get("think_time", 0) or 0),
        "scenario": recorder.stats("scenario"),
        "ceiling": recorder.stats("ceiling"),
        "task_exceptions": task_exceptions,
        # CPU seconds used by this (single-core) load generator per second of measurement:
        # near 1.0 means the generator, not the server, limited the throughput.
        "loadgen_cpu": round(cpu / wall, 3) if wall else None,
    }


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    host = spec["host"]
    if urlsplit(host).hostname not in {"127.0.0.1", "localhost", "::1"}:
        print(f"refusing to send load to {host}: only 127.0.0.1", file=sys.stderr)
        return 2
    setup_logging("WARNING", None)
    results = []
    for index, phase in enumerate(spec["phases"]):
        results.append(run_phase(host, phase, index))
        # written after every phase, so an interrupted run keeps what it measured
        Path(argv[1]).write_text(json.dumps({"phases": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
