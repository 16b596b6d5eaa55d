"""Datasets: built once per scale into a PostgreSQL template database, cloned for every run.

``keja_perf_tpl_<scale>`` is built by ``keja migrate`` + ``keja seed_demo --scale <scale> --seed
<seed>`` (into a ``_build`` database renamed when complete, so a half-built template never exists),
vacuumed and analysed, marked ``IS_TEMPLATE`` and labelled (a JSON comment) with a fingerprint of
what produced it: the migrations, the seeder's code, scale and seed. A run then clones it with
``CREATE DATABASE keja_perf_run TEMPLATE keja_perf_tpl_<scale>`` in seconds. When the fingerprint
changes (a new migration, a seeder change) the template is rebuilt.

While ``seed_demo`` does not exist yet, a small ORM-built fallback (``perf_suite.appside``) stands
in; results then carry ``dataset.source = "fallback"`` and are never compared with seeded ones.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from perf_suite.config import ROOT, RunConfig
from perf_suite.context import Agency
from perf_suite.pg import PgAdmin, db_url
from perf_suite.procs import ProcessStack, base_env, keja_cmd, python

FINGERPRINT_GLOBS = (
    "src/keja/*/migrations/*.py",
    "src/keja/bulk/**/*.py",
    "src/keja/**/management/commands/seed_demo.py",
)


@dataclass
class DatasetInfo:
    template: str
    run_db: str
    scale: str
    seed: int
    source: str  # "seed_demo" or "fallback"
    fingerprint: str
    reused: bool
    build_seconds: float | None
    clone_seconds: float
    tables: dict[str, int]
    agency: dict[str, Any]
    built_at: str | None = None
    seeder_stats: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fingerprint(source: str, scale: str, seed: int) -> str:
    # The seeder dates everything from today: a template from another month would show an empty
    # "this month" on the dashboard, so the month is part of what identifies a dataset.
    month = time.strftime("%Y-%m", time.gmtime())
    h = hashlib.sha256(f"{source}|{scale}|{seed}|{month}".encode())
    files = sorted({p for g in FINGERPRINT_GLOBS for p in ROOT.glob(g)})
    if source == "fallback":
        files.append(ROOT / "perf_suite" / "appside.py")
    for path in files:
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def setup_env(cfg: RunConfig, dbname: str) -> dict[str, str]:
    """Environment for migrate and the seeder: not production (a seeder may refuse it), DEBUG off
    (no query log growing in memory), the run's own Redis prefix."""
    return base_env(
        KEJA_ENV="development",
        DEBUG="false",
        DATABASE_URL=db_url(cfg.pg_url, dbname),
        REDIS_URL=cfg.redis_url,
        KEJA_INSTANCE=f"perfsetup{cfg.extra.get('instance', '')}",
        KEJA_DB_POOL_MIN="1",
        KEJA_DB_POOL_MAX="4",
        KEJA_LOG_LEVEL="WARNING",
        KEJA_POOL_STATS_INTERVAL="0",
    )


def seeder_options(stack: ProcessStack, cfg: RunConfig) -> str | None:
    """``keja help seed_demo`` (None when the command does not exist)."""
    res = stack.run(
        "seed-help", keja_cmd("help", "seed_demo"), setup_env(cfg, "postgres"), timeout=180
    )
    return res.stdout if res.returncode == 0 else None


def _call(
    stack: ProcessStack, name: str, cmd: list[str], env: dict[str, str], timeout: float
) -> None:
    proc = stack.start(name, cmd, env)
    try:
        proc.wait(timeout=timeout)
    except Exception:
        stack.stop(proc)
        raise
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[2:])} failed with {proc.returncode}:\n{stack.tail(name)}\n"
            f"(full log: {stack.log_dir / (name + '.log')})"
        )


def build_template(
    stack: ProcessStack, cfg: RunConfig, pg: PgAdmin, source: str, fp: str, seeder_help: str
) -> tuple[float, dict[str, Any]]:
    tpl = cfg.template_db
    build = f"{tpl}_build"
    t0 = time.monotonic()
    pg.drop(build)
    pg.create(build)
    env = setup_env(cfg, build)
    print(
        f"[perf] building dataset {tpl} ({source}, scale {cfg.scale}, seed {cfg.seed}) …",
        flush=True,
    )
    _call(stack, "migrate", keja_cmd("migrate", "--no-input", "-v", "0"), env, 900)
    seed_stats: dict[str, Any] = {}
    if source == "seed_demo":
        cmd = keja_cmd("seed_demo", "--scale", cfg.scale, "--seed", str(cfg.seed))
        stats_path = stack.log_dir / "seed-stats.json"
        if "--no-progress" in seeder_help:
            cmd.append("--no-progress")
        if "--stats-json" in seeder_help:
            cmd += ["--stats-json", str(stats_path)]
        _call(stack, "seed_demo", cmd, env, 4 * 3600)
        if stats_path.exists():
            try:
                seed_stats = json.loads(stats_path.read_text())
            except ValueError:
                seed_stats = {}
    else:
        spec = stack.log_dir / "fallback-seed.spec.json"
        out = stack.log_dir / "fallback-seed.out.json"
        spec.write_text(f'{{"scale": "{cfg.scale}", "seed": {cfg.seed}}}')
        cmd = [python(), "-m", "perf_suite.appside", "fallback_seed", str(spec), str(out)]
        _call(stack, "fallback_seed", cmd, env, 3600)
    pg.vacuum_analyze(build)
    pg.drop(tpl)
    pg.rename(build, tpl)
    pg.mark_template(tpl)
    seconds = time.monotonic() - t0
    pg.set_comment(
        tpl,
        {
            "keja_perf": 1,
            "source": source,
            "scale": cfg.scale,
            "seed": cfg.seed,
            "fingerprint": fp,
            "build_seconds": round(seconds, 1),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seeder_stats": seed_stats,
        },
    )
    return seconds, seed_stats


def prepare(stack: ProcessStack, cfg: RunConfig, pg: PgAdmin) -> DatasetInfo:
    tpl = cfg.template_db
    seeder_help = seeder_options(stack, cfg)
    if seeder_help is not None:
        source = "seed_demo"
    elif cfg.require_seeder:
        raise SystemExit("`keja seed_demo` is not available and --require-seeder was given")
    else:
        source = "fallback"
        print(
            "[perf] WARNING: `keja seed_demo` is not available; using the small ORM fallback "
            "dataset (results are marked dataset.source=fallback)",
            flush=True,
        )
    fp = fingerprint(source, cfg.scale, cfg.seed)
    build_seconds: float | None = None
    with pg.advisory_lock(f"keja-perf-template-{tpl}"):
        label = pg.comment(tpl) if pg.exists(tpl) else {}
        reused = label.get("fingerprint") == fp and not cfg.rebuild_dataset
        if reused:
            print(
                f"[perf] reusing dataset template {tpl} (built {label.get('built_at')})", flush=True
            )
        else:
            build_seconds, _ = build_template(stack, cfg, pg, source, fp, seeder_help or "")
            label = pg.comment(tpl)
            print(f"[perf] dataset template {tpl} built in {build_seconds:.0f}s", flush=True)
        t0 = time.monotonic()
        pg.drop(cfg.run_db)
        pg.create(cfg.run_db, template=tpl)
        clone_seconds = time.monotonic() - t0
    print(f"[perf] run database {cfg.run_db} cloned from {tpl} in {clone_seconds:.1f}s", flush=True)
    return DatasetInfo(
        template=tpl,
        run_db=cfg.run_db,
        scale=cfg.scale,
        seed=cfg.seed,
        source=source,
        fingerprint=fp,
        reused=reused,
        build_seconds=round(build_seconds, 1)
        if build_seconds is not None
        else label.get("build_seconds"),
        clone_seconds=round(clone_seconds, 2),
        tables=table_sizes(pg, cfg.run_db),
        agency={},
        built_at=label.get("built_at"),
        seeder_stats=label.get("seeder_stats") or {},
    )


TABLES = (
    "agencies_agency",
    "properties_property",
    "properties_unit",
    "tenants_tenant",
    "leases_lease",
    "billing_invoice",
    "payments_payment",
    "billing_allocation",
    "audit_auditentry",
)


def table_sizes(pg: PgAdmin, dbname: str) -> dict[str, int]:
    """Row counts (planner estimates after ANALYZE: exact enough, and instant on large data)."""
    with pg.connect(dbname) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.reltuples::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = ANY(%s)",
            (list(TABLES),),
        ).fetchall()
    return {str(r[0]): max(int(r[1]), 0) for r in sorted(rows)}


def choose_agency(pg: PgAdmin, cfg: RunConfig, password: str) -> Agency:
    """The agency under test: ``--agency`` or the one with the most units, and its owner login."""
    with pg.connect(cfg.run_db) as conn:
        if cfg.agency:
            row = conn.execute(
                "SELECT a.id, a.slug, count(u.id) FROM agencies_agency a "
                "LEFT JOIN properties_unit u ON u.agency_id = a.id WHERE a.slug = %s "
                "GROUP BY a.id",
                (cfg.agency,),
            ).fetchone()
        else:
            row = conn.execute(
                "SELECT a.id, a.slug, count(u.id) AS n FROM agencies_agency a "
                "LEFT JOIN properties_unit u ON u.agency_id = a.id "
                "GROUP BY a.id ORDER BY n DESC, a.id LIMIT 1"
            ).fetchone()
        if row is None:
            raise SystemExit(f"no agency {cfg.agency or ''} in the dataset")
        email = f"owner@{row[1]}.example"
        user = conn.execute(
            "SELECT id FROM auth_user WHERE username = %s OR email = %s", (email, email)
        ).fetchone()
        if user is None:
            raise SystemExit(f"the dataset has no user {email} (the seeder creates agency owners)")
    return Agency(
        id=int(row[0]), slug=str(row[1]), owner_email=email, password=password, units=int(row[2])
    )
