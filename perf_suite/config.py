"""Run configuration: scale profiles and the options of ``python -m perf_suite``."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
SUITE_DIR = Path(__file__).resolve().parent
RESULTS_DIR = SUITE_DIR / "results"
BASELINES_DIR = SUITE_DIR / "baselines"
SCALES = ("small", "medium", "large")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Profile:
    """Per-scale defaults: short enough that ``make perf SCALE=medium`` ends in ~10 minutes."""

    levels: tuple[int, ...]  # concurrent users per load level (admin and api scenarios)
    duration: float  # seconds measured per load level
    ping_duration: float  # seconds measured per level for the bare-endpoint ceiling
    warmup: float  # seconds of load before measuring (users spawned, caches warm)
    slices: int  # the scenario and its ceiling alternate this many times per load level
    seq_seconds: float  # seconds per endpoint for single-client latency and SQL replay
    payment_seconds: float  # seconds of concurrent payment recording (and of pgbench)
    payment_clients: int  # concurrent payment writers (and pgbench clients)
    bulk_rows: int  # rows for bulk_create and COPY
    batch_rows: int  # rows for the batch payment recording path (run_in_batches)


PROFILES: dict[str, Profile] = {
    "small": Profile((10, 50, 100), 10, 5, 2, 2, 1.0, 6, 4, 5_000, 200),
    "medium": Profile((10, 50, 100), 30, 12, 3, 3, 3.0, 15, 4, 20_000, 600),
    "large": Profile((10, 50, 100), 60, 20, 5, 4, 4.0, 30, 4, 50_000, 1_200),
}


def check_loopback(url: str, what: str) -> None:
    """Load and benchmarks only ever go to this machine."""
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"{what} must point at 127.0.0.1 (got host {host!r}): load stays local")


@dataclass
class RunConfig:
    scale: str = "medium"
    scenarios: list[str] = field(default_factory=list)
    seed: int = 1
    workers: int = 4
    threads: int = 1
    worker_processes: int = 1
    pool_min: int = 2  # KEJA_DB_POOL_MIN of the web and worker processes (max stays 20)
    levels: tuple[int, ...] = ()
    duration: float = 0.0
    ping_duration: float = 0.0
    warmup: float = 0.0
    slices: int = 0
    seq_seconds: float = 0.0
    think_time: float = 0.0
    payment_seconds: float = 0.0
    payment_clients: int = 0
    bulk_rows: int = 0
    batch_rows: int = 0
    max_pages: int = 0  # pages per scenario for the single-client data-access ratios; 0 = all
    pg_url: str = DEFAULT_PG_URL
    redis_url: str = DEFAULT_REDIS_URL
    results_dir: Path = RESULTS_DIR
    baselines_dir: Path = BASELINES_DIR
    run_db: str = "keja_perf_run"
    keep_run_db: bool = False
    rebuild_dataset: bool = False
    require_seeder: bool = False
    agency: str = ""
    tolerance: float = 0.15
    update_latest: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def profile(self) -> Profile:
        return PROFILES[self.scale]

    def apply_profile(self) -> None:
        """Fill every option left at 0 / empty from the scale's profile."""
        p = self.profile
        self.levels = self.levels or p.levels
        for name in (
            "duration",
            "ping_duration",
            "warmup",
            "slices",
            "seq_seconds",
            "payment_seconds",
            "payment_clients",
            "bulk_rows",
            "batch_rows",
        ):
            if not getattr(self, name):
                setattr(self, name, getattr(p, name))

    @property
    def template_db(self) -> str:
        return f"keja_perf_tpl_{self.scale}"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["results_dir"] = str(self.results_dir)
        data["baselines_dir"] = str(self.baselines_dir)
        data["levels"] = list(self.levels)
        data.pop("extra", None)
        return data


def env_default(name: str, default: str) -> str:
    return os.environ.get(name, default) or default
