"""``python -m perf_suite``: prepare the dataset, start the app as production runs it, run the
scenarios, stop everything, write the results, the report and a summary.

    python -m perf_suite --scale medium                     # every default scenario
    python -m perf_suite --scale small --scenarios admin,api --duration 10 --levels 10,50
    python -m perf_suite --list                             # the registered scenarios
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from perf_suite import results as res
from perf_suite.config import (
    BASELINES_DIR,
    DEFAULT_PG_URL,
    DEFAULT_REDIS_URL,
    RESULTS_DIR,
    SCALES,
    RunConfig,
    check_loopback,
    env_default,
)
from perf_suite.context import Agency, Context
from perf_suite.dataset import choose_agency, prepare
from perf_suite.pg import PgAdmin, db_url
from perf_suite.procs import (
    Interrupted,
    ProcessStack,
    app_env,
    free_port,
    keja_cmd,
    python,
    wait_http,
    wait_port,
)
from perf_suite.scenarios import REGISTRY, Scenario, select


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("levels are comma-separated user counts") from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("levels are positive user counts")
    return levels


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m perf_suite",
        description="Keja performance suite: ratios against ceilings measured in the same run.",
    )
    p.add_argument("--scale", choices=SCALES, default=env_default("SCALE", "medium"))
    p.add_argument(
        "--scenarios",
        default=os.environ.get("SCENARIOS", ""),
        help="comma-separated names (default: all; --list shows them)",
    )
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--seed", type=int, default=1, help="seed_demo --seed (default 1)")
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    p.add_argument("--threads", type=int, default=1, help="threads per worker; 1 = sync (default)")
    p.add_argument("--worker-processes", type=int, default=1, help="Dramatiq worker processes")
    p.add_argument(
        "--pool-min",
        type=int,
        default=2,
        help="KEJA_DB_POOL_MIN of web and worker processes (default 2: a sync worker uses one "
        "connection at a time, and PostgreSQL's 100 connections are shared)",
    )
    p.add_argument(
        "--levels", type=_levels, default=(), help="users per load level, e.g. 10,50,100"
    )
    p.add_argument("--duration", type=float, default=0, help="seconds measured per load level")
    p.add_argument("--ping-duration", type=float, default=0, help="seconds for the ping ceiling")
    p.add_argument("--warmup", type=float, default=0, help="seconds of load before measuring")
    p.add_argument(
        "--slices",
        type=int,
        default=0,
        help="times the scenario and its ceiling alternate within a load level",
    )
    p.add_argument("--seq-seconds", type=float, default=0, help="seconds per single-client probe")
    p.add_argument(
        "--think-time",
        type=float,
        default=0.0,
        help="mean pause between a user's requests (default 0: users send back to back)",
    )
    p.add_argument("--payment-seconds", type=float, default=0)
    p.add_argument("--payment-clients", type=int, default=0)
    p.add_argument("--bulk-rows", type=int, default=0)
    p.add_argument("--batch-rows", type=int, default=0)
    p.add_argument(
        "--max-pages",
        type=int,
        default=0,
        help="pages per scenario for the single-client ratios (default 0: all)",
    )
    p.add_argument("--agency", default="", help="agency slug (default: the one with most units)")
    p.add_argument("--pg-url", default=env_default("KEJA_PERF_PG_URL", DEFAULT_PG_URL))
    p.add_argument("--redis-url", default=env_default("KEJA_PERF_REDIS_URL", DEFAULT_REDIS_URL))
    p.add_argument("--run-db", default="keja_perf_run", help="database the run uses (cloned)")
    p.add_argument("--keep-run-db", action="store_true", help="keep the run database afterwards")
    p.add_argument("--rebuild-dataset", action="store_true", help="rebuild the template")
    p.add_argument(
        "--require-seeder",
        action="store_true",
        help="fail instead of using the fallback dataset when `keja seed_demo` is missing",
    )
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--baselines-dir", type=Path, default=BASELINES_DIR)
    p.add_argument("--tolerance", type=float, default=0.15, help="for the report's comparison")
    p.add_argument("--no-latest", action="store_true", help="do not update latest-<scale>.json")
    return p


def config_from(ns: argparse.Namespace) -> RunConfig:
    cfg = RunConfig(
        scale=ns.scale,
        scenarios=[s for s in ns.scenarios.split(",") if s.strip()],
        seed=ns.seed,
        workers=ns.workers,
        threads=ns.threads,
        worker_processes=ns.worker_processes,
        pool_min=ns.pool_min,
        levels=ns.levels,
        duration=ns.duration,
        ping_duration=ns.ping_duration,
        warmup=ns.warmup,
        slices=ns.slices,
        seq_seconds=ns.seq_seconds,
        think_time=ns.think_time,
        payment_seconds=ns.payment_seconds,
        payment_clients=ns.payment_clients,
        bulk_rows=ns.bulk_rows,
        batch_rows=ns.batch_rows,
        max_pages=ns.max_pages,
        pg_url=ns.pg_url,
        redis_url=ns.redis_url,
        results_dir=ns.results_dir,
        baselines_dir=ns.baselines_dir,
        run_db=ns.run_db,
        keep_run_db=ns.keep_run_db,
        rebuild_dataset=ns.rebuild_dataset,
        require_seeder=ns.require_seeder,
        agency=ns.agency,
        tolerance=ns.tolerance,
        update_latest=not ns.no_latest,
    )
    cfg.apply_profile()
    return cfg


def create_api_key(stack: ProcessStack, env: dict[str, str], agency: Agency) -> str | None:
    """``keja apikey create`` prints the key alone on its last line; the agencies service
    stands in while that command does not exist."""
    cmd = keja_cmd("apikey", "create", "--agency", agency.slug, "--name", "perf")
    out = stack.run("apikey", [*cmd, "--scope", "read-write"], env, timeout=120)
    lines = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    if out.returncode == 0 and lines:
        return lines[-1]
    spec = stack.log_dir / "apikey.spec.json"
    result = stack.log_dir / "apikey.out.json"
    spec.write_text(f'{{"agency": "{agency.slug}", "name": "perf", "scope": "read-write"}}')
    out = stack.run(
        "apikey-fallback",
        [python(), "-m", "perf_suite.appside", "apikey", str(spec), str(result)],
        env,
        timeout=120,
    )
    if out.returncode == 0 and result.exists():
        import json

        return str(json.loads(result.read_text())["key"])
    print(f"[perf] could not create an API key:\n{out.stderr[-1500:]}", flush=True)
    return None


def cleanup_redis(url: str, instances: list[str]) -> None:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=5)
        for instance in instances:
            for pattern in (f"keja:*:{instance}*", f"dramatiq:*:{instance}*"):
                keys = list(client.scan_iter(match=pattern, count=1000))
                for i in range(0, len(keys), 500):
                    client.delete(*keys[i : i + 500])
    except Exception as exc:  # cleanup is best effort
        print(f"[perf] Redis cleanup skipped: {exc}", flush=True)


def run_scenario(ctx: Context, scenario: Scenario) -> dict[str, Any]:
    ctx.log(f"scenario {scenario.name}: {scenario.description}")
    t0 = time.monotonic()
    try:
        out = scenario.fn(ctx)
    except (KeyboardInterrupt, Interrupted):
        raise
    except Exception as exc:  # one failing scenario does not hide the others
        ctx.log(f"scenario {scenario.name} FAILED: {exc}")
        return {
            "status": "error",
            "error": f"{type(exc).__name__}: {exc}"[:4000],
            "traceback": traceback.format_exc()[-6000:],
            "seconds": round(time.monotonic() - t0, 1),
            "description": scenario.description,
            "ratios": {},
        }
    status = "skipped" if out.get("skipped") else "ok"
    if status == "skipped":
        ctx.log(f"scenario {scenario.name} skipped: {out['skipped']}")
    result = {"status": status, "description": scenario.description, **out}
    if status == "skipped":
        result["reason"] = out["skipped"]
    result.setdefault("ratios", {})
    result["seconds"] = round(time.monotonic() - t0, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ns = parser().parse_args(argv)
    if ns.list:
        for s in REGISTRY.values():
            needs = f" (needs {', '.join(sorted(s.needs))})" if s.needs else ""
            print(f"{s.name:<12} {s.description}{needs}")
        return 0
    cfg = config_from(ns)
    check_loopback(cfg.pg_url, "--pg-url")
    check_loopback(cfg.redis_url, "--redis-url")
    selected = select(cfg.scenarios)
    instance = f"perf{os.getpid()}"
    cfg.extra["instance"] = instance
    started = res.now_iso()
    run_id = started.replace(":", "").replace("-", "").replace("+0000", "Z")
    run_dir = cfg.results_dir / "tmp" / run_id
    results: dict[str, Any] = {
        "schema": res.SCHEMA,
        "run_id": run_id,
        "scale": cfg.scale,
        "started_at": started,
        "command": "python -m perf_suite " + " ".join(argv),
        "config": cfg.as_dict() | {"scenarios": [s.name for s in selected]},
        "machine": {},
        "dataset": {},
        "app": {},
        "interrupted": False,
        "scenarios": {},
        "ratios": {},
    }
    exit_code = 0
    t_start = time.monotonic()
    pg = PgAdmin(cfg.pg_url)
    print(f"[perf] run {run_id}: scale {cfg.scale}, scenarios {[s.name for s in selected]}")
    print(f"[perf] logs in {run_dir}", flush=True)
    try:
        with ProcessStack(run_dir) as stack:
            results["machine"] = res.machine_info(
                pg.version(),
                pg.settings(
                    ("shared_buffers", "max_connections", "synchronous_commit", "work_mem")
                ),
            )
            load1 = results["machine"]["loadavg_at_start"][0]
            if load1 > 0.5 * (os.cpu_count() or 1):
                print(
                    f"[perf] WARNING: the machine is busy (load average {load1}); absolute "
                    "figures will be low and noisy, ratios less so",
                    flush=True,
                )
            dataset = prepare(stack, cfg, pg)
            password = os.environ.get("KEJA_DEMO_PASSWORD", "keja-demo")
            agency = choose_agency(pg, cfg, password)
            dataset.agency = {"id": agency.id, "slug": agency.slug, "units": agency.units}
            results["dataset"] = dataset.as_dict()
            run_url = db_url(cfg.pg_url, cfg.run_db)

            daraja_url = None
            if any("daraja" in s.needs for s in selected):
                port = free_port()
                daraja_url = f"http://127.0.0.1:{port}"
                proc = stack.start(
                    "daraja",
                    keja_cmd("daraja_sandbox", "--host", "127.0.0.1", "--port", str(port)),
                    app_env(database_url=run_url, redis_url=cfg.redis_url, instance=instance),
                )
                wait_port(port, proc=proc)
            extra_env: dict[str, str] = {"KEJA_DARAJA_BASE_URL": daraja_url} if daraja_url else {}
            for s in selected:
                for key, value in s.app_env.items():
                    extra_env[key] = value.format(daraja_url=daraja_url or "")

            port = free_port()
            env = app_env(
                database_url=run_url,
                redis_url=cfg.redis_url,
                instance=instance,
                KEJA_BIND=f"127.0.0.1:{port}",
                KEJA_WEB_WORKERS=str(cfg.workers),
                KEJA_WEB_THREADS=str(cfg.threads),
                KEJA_DB_POOL_MIN=str(cfg.pool_min),
                **extra_env,
            )
            api_key = create_api_key(stack, env, agency)
            web = stack.start(
                "gunicorn",
                [
                    python(),
                    "-m",
                    "gunicorn",
                    "keja.config.wsgi:application",
                    "-c",
                    "python:keja.config.gunicorn",
                    "--no-control-socket",
                ],
                env,
            )
            base_url = f"http://127.0.0.1:{port}"
            wait_http(f"{base_url}/health/ready", proc=web, timeout=120)
            worker = stack.start(
                "worker",
                keja_cmd("worker", "--processes", str(cfg.worker_processes), "--threads", "2"),
                env,
            )
            time.sleep(1)
            if worker.poll() is not None:
                raise RuntimeError(f"keja worker exited at start:\n{stack.tail('worker')}")
            results["app"] = {
                "base_url": base_url,
                "server": "gunicorn keja.config.wsgi:application -c python:keja.config.gunicorn",
                "workers": cfg.workers,
                "threads": cfg.threads,
                "worker_class": "sync" if cfg.threads == 1 else "gthread",
                "dramatiq_processes": cfg.worker_processes,
                "daraja_sandbox": daraja_url,
            }
            print(
                f"[perf] app up at {base_url}: {cfg.workers} "
                f"{results['app']['worker_class']} workers; agency {agency.slug} "
                f"({agency.units} units); dataset {dataset.source}",
                flush=True,
            )
            ctx = Context(
                cfg=cfg,
                stack=stack,
                run_dir=run_dir,
                base_url=base_url,
                app_env=env,
                run_db_url=run_url,
                agency=agency,
                api_key=api_key,
                daraja_url=daraja_url,
                server_pid=web.pid,
            )
            for scenario in selected:
                try:
                    pg.checkpoint()  # each scenario starts without the previous one's writes
                except Exception as exc:
                    ctx.log(f"CHECKPOINT failed: {exc}")
                outcome = run_scenario(ctx, scenario)
                results["scenarios"][scenario.name] = outcome
                if outcome["status"] == "error":
                    exit_code = 1
            if web.poll() is not None:
                raise RuntimeError(f"gunicorn exited during the run:\n{stack.tail('gunicorn')}")
    except (KeyboardInterrupt, Interrupted) as exc:
        print(f"\n[perf] interrupted ({str(exc) or 'Ctrl-C'}); everything started was stopped")
        results["interrupted"] = True
        exit_code = 130
    except SystemExit:
        raise
    except Exception as exc:  # reported in the results, then exit non-zero
        print(f"[perf] run failed: {type(exc).__name__}: {exc}", flush=True)
        results["error"] = f"{type(exc).__name__}: {exc}"[:4000]
        results["traceback"] = traceback.format_exc()[-6000:]
        exit_code = 1
    finally:
        if not cfg.keep_run_db:
            try:
                pg.drop(cfg.run_db)
            except Exception as exc:
                print(f"[perf] could not drop {cfg.run_db}: {exc}")
        cleanup_redis(cfg.redis_url, [instance, f"perfsetup{instance}"])

    results["finished_at"] = res.now_iso()
    if results["machine"]:
        results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["duration_s"] = round(time.monotonic() - t_start, 1)
    results["ratios"] = res.flatten_ratios(results["scenarios"])
    if not results["scenarios"] and "error" not in results and not results["interrupted"]:
        return exit_code
    path = res.write(results, cfg.results_dir, update_latest=cfg.update_latest and exit_code != 130)
    print(f"[perf] results: {path}")
    try:
        from perf_suite.report import write_report

        report = write_report(results, cfg.results_dir, cfg.baselines_dir, cfg.tolerance)
        print(f"[perf] report: {report}")
    except Exception as exc:  # the results are written; the report is extra
        print(f"[perf] report not written: {type(exc).__name__}: {exc}")
    print_summary(results)
    return exit_code


def print_summary(results: dict[str, Any]) -> None:
    print("\nscenario results")
    for name, s in results["scenarios"].items():
        extra = s.get("reason") or s.get("error") or ""
        print(f"  {name:<10} {s['status']:<8} {s.get('seconds', 0):6.1f}s  {extra[:100]}")
    if results["ratios"]:
        print("\nratios (measured / ceiling; ↑ higher is better, ↓ lower is better)")
        for key, r in results["ratios"].items():
            arrow = "↑" if r["better"] == "higher" else "↓"
            print(f"  {arrow} {key:<52} {r['value']:10.4f}")
