"""The markdown report (``perf_suite/results/report-<scale>.md``) with its plots: latency
percentiles by load level, and every ratio against the baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perf_suite.compare import Row, compare, format_rows, incompatibility


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _baseline_for(results: dict[str, Any], baselines_dir: Path) -> dict[str, Any] | None:
    path = baselines_dir / f"{results['scale']}.json"
    if not path.exists():
        return None
    from perf_suite.results import load

    try:
        baseline = load(path)
    except ValueError:
        return None
    return None if incompatibility(results, baseline) else baseline


def plot_latency(results: dict[str, Any], path: Path) -> bool:
    scenarios = [(n, s) for n, s in results["scenarios"].items() if s.get("levels")]
    if not scenarios:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(scenarios), figsize=(5.5 * len(scenarios), 4.2), squeeze=False)
    for ax, (name, s) in zip(axes[0], scenarios, strict=True):
        users = [lv["users"] for lv in s["levels"]]
        for pct, style in (("p50", "o-"), ("p90", "s-"), ("p95", "^-"), ("p99", "v-")):
            ax.plot(users, [lv[f"{pct}_ms"] for lv in s["levels"]], style, label=pct)
        ping = [(lv["users"], lv["ceiling"]) for lv in s["levels"] if lv.get("ceiling")]
        if ping:
            ax.plot(
                [u for u, _ in ping],
                [c["p95_ms"] for _, c in ping],
                "k--",
                alpha=0.6,
                label="ping p95 (ceiling)",
            )
        ax.set_title(f"{name}: latency by load level")
        ax.set_xlabel("concurrent users")
        ax.set_ylabel("ms")
        ax.set_xticks(users)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_ratios(rows: list[Row], results: dict[str, Any], path: Path, tolerance: float) -> bool:
    """Each ratio as current relative to baseline, oriented so that > 1 is better."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = [
        r
        for r in rows
        if r.kind == "ratio" and r.baseline and r.current is not None and r.status != "new"
    ]
    if data:
        labels = [r.key for r in data]
        values = [
            (r.current / r.baseline) if r.better == "higher" else (r.baseline / r.current)
            for r in data
            if r.current and r.baseline
        ]
        colors = [
            {"regressed": "#c0392b", "improved": "#27ae60"}.get(r.status, "#7f8c8d") for r in data
        ]
        title = "ratios relative to baseline (>1 better, <1 worse)"
    else:
        ratios = {k: v for k, v in results["ratios"].items() if v.get("kind", "ratio") == "ratio"}
        if not ratios:
            return False
        labels = list(ratios)
        values = [v["value"] for v in ratios.values()]
        colors = ["#2c7fb8"] * len(values)
        title = "ratios (measured / ceiling), no baseline to compare with"
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(labels) + 1.5))
    ax.barh(range(len(labels)), values, color=colors)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    if data:
        ax.axvline(1.0, color="k", lw=1)
        ax.axvline(1 - tolerance, color="#c0392b", ls="--", lw=1, label=f"-{tolerance:.0%}")
        ax.legend(fontsize=8)
    else:
        ax.set_xscale("log")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _levels_table(s: dict[str, Any]) -> list[str]:
    lines = [
        "| users | req/s | p50 ms | p90 ms | p95 ms | p99 ms | errors | server CPU ms/req | "
        "ping req/s | ping CPU ms/req | load-gen CPU |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lv in s["levels"]:
        ping = lv.get("ceiling") or {}
        cpu = (lv.get("server_cpu") or {}).get("cpu_ms_per_req")
        lines.append(
            f"| {lv['users']} | {_fmt(lv['rps'])} | {_fmt(lv['p50_ms'])} | {_fmt(lv['p90_ms'])} "
            f"| {_fmt(lv['p95_ms'])} | {_fmt(lv['p99_ms'])} | {lv['error_rate']:.2%} "
            f"| {_fmt(cpu, 2)} | {_fmt(ping.get('rps'))} | {_fmt(ping.get('cpu_ms_per_req'), 2)} "
            f"| {_fmt(lv.get('loadgen_cpu'), 2)} |"
        )
    return lines


def _data_table(s: dict[str, Any]) -> list[str]:
    lines = [
        "| page | path | p50 ms | ping p50 ms | queries (cold/warm) | raw SQL p50 ms | vs ping "
        "| vs SQL |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in s["data_access"]:
        if "endpoint" not in row:
            lines.append(f"| {row['page']} | `{row['path']}` | {row.get('error', '')[:80]} ||||||")
            continue
        e, ping, sql = row["endpoint"], row["ping"], row.get("sql") or {}
        vs_ping = e["p50_ms"] / ping["p50_ms"] if ping.get("p50_ms") else None
        vs_sql = e["p50_ms"] / sql["p50_ms"] if sql.get("p50_ms") else None
        lines.append(
            f"| {row['page']} | `{row['path']}` | {_fmt(e['p50_ms'], 2)} | "
            f"{_fmt(ping['p50_ms'], 2)} | {row['queries_cold']}/{row['queries_warm']} | "
            f"{_fmt(sql.get('p50_ms'), 2)} | "
            f"{_fmt(vs_ping, 2)} | {_fmt(vs_sql, 2)} |"
        )
    return lines


def render(
    results: dict[str, Any],
    rows: list[Row] | None,
    images: dict[str, str],
    tolerance: float,
) -> str:
    m = results.get("machine") or {}
    d = results.get("dataset") or {}
    app = results.get("app") or {}
    out = [
        f"# Keja performance report: {results['scale']}",
        "",
        f"- run: `{results.get('run_id')}`, {results.get('started_at')} → "
        f"{results.get('finished_at')} ({results.get('duration_s')} s)",
        f"- command: `{results.get('command')}`",
        f"- machine: {m.get('cpu_count')} × {m.get('cpu_model')}, {m.get('memory_gib')} GiB, "
        f"Python {m.get('python')}, PostgreSQL {m.get('postgres')}, locust {m.get('locust')}, "
        f"commit `{(m.get('git_commit') or '?')[:12]}`",
        f"- app: {app.get('workers')} gunicorn {app.get('worker_class')} workers "
        f"(KEJA_ENV=production), Dramatiq worker, on 127.0.0.1",
        f"- dataset: `{d.get('template')}` ({d.get('source')}, seed {d.get('seed')}); agency "
        f"`{(d.get('agency') or {}).get('slug')}` with {(d.get('agency') or {}).get('units')} "
        f"units; rows: " + ", ".join(f"{k} {v:,}" for k, v in (d.get("tables") or {}).items()),
        "",
        "Load levels are closed loops: every user sends its next request as soon as the previous "
        "answer arrives"
        + (
            f" (think time {results['config'].get('think_time')} s)"
            if (results.get("config") or {}).get("think_time")
            else ""
        )
        + ". Each load level alternates the scenario with `GET /api/v1/ping` and the same "
        f"number of users ({(results.get('config') or {}).get('slices')} slices each), so both "
        "see the same machine. Ratios divide a measurement by its ceiling measured that way; "
        "the baseline comparison uses only ratios (↑ higher is better, ↓ lower is better).",
        "",
    ]
    if results.get("error"):
        out += [f"**The run failed:** `{results['error'][:500]}`", ""]
    for name, s in results["scenarios"].items():
        out.append(f"## {name} ({s['status']}, {s.get('seconds')} s)")
        out.append("")
        out.append(s.get("description", ""))
        out.append("")
        if s["status"] != "ok":
            out += [f"`{(s.get('reason') or s.get('error') or '')[:600]}`", ""]
            continue
        if s.get("login"):
            out += [
                f"Console login (POST, password hashing included): p50 "
                f"{_fmt(s['login'].get('p50_ms'))} ms over {s['login'].get('samples')} logins.",
                "",
            ]
        if s.get("levels"):
            out += [*_levels_table(s), ""]
        if s.get("data_access"):
            out += ["Single client, one request at a time:", "", *_data_table(s), ""]
        if s.get("measurements"):
            meas = s["measurements"]
            if "rows_per_s" in meas:
                out += ["| path | rows/s |", "|---|---:|"]
                out += [f"| {k} | {_fmt(v, 0)} |" for k, v in meas["rows_per_s"].items()] + [""]
            if "tps" in meas:
                lat = meas.get("latency_worst_writer") or {}
                ceiling = meas.get("ceiling_update") or {}
                out += [
                    f"payment_record: {_fmt(meas['tps'])} payments/s with {meas['writers']} "
                    f"writers, p50 {_fmt(lat.get('p50_ms'))} ms, p95 {_fmt(lat.get('p95_ms'))} ms, "
                    f"{meas['failures']} failures; ceiling (single-row UPDATE, "
                    f"{ceiling.get('tool')}): {_fmt(ceiling.get('tps'), 0)} TPS.",
                    "",
                ]
        for note in s.get("notes") or []:
            out.append(f"- note: {note}")
        if s.get("notes"):
            out.append("")
    if images.get("latency"):
        out += ["## Latency by load level", "", f"![latency]({images['latency']})", ""]
    out += ["## Ratios", ""]
    if rows is not None:
        out += [
            f"Against the baseline (tolerance {tolerance:.0%}; error rates absolute):",
            "",
            "```",
            format_rows(rows),
            "```",
            "",
        ]
    else:
        out += ["No comparable baseline for this scale.", "", "```"]
        for key, r in results["ratios"].items():
            out.append(f"{'↑' if r['better'] == 'higher' else '↓'} {key:<54} {r['value']:.4f}")
        out += ["```", ""]
    if images.get("ratios"):
        out += [f"![ratios]({images['ratios']})", ""]
    return "\n".join(out)


def write_report(
    results: dict[str, Any],
    results_dir: Path,
    baselines_dir: Path,
    tolerance: float,
    *,
    baseline: dict[str, Any] | None = None,
    rate_tolerance: float = 0.01,
) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    scale = results["scale"]
    baseline = baseline or _baseline_for(results, baselines_dir)
    rows = (
        compare(results, baseline, tolerance=tolerance, rate_tolerance=rate_tolerance)
        if baseline
        else None
    )
    images: dict[str, str] = {}
    try:
        latency_png = results_dir / f"report-{scale}-latency.png"
        if plot_latency(results, latency_png):
            images["latency"] = latency_png.name
        ratios_png = results_dir / f"report-{scale}-ratios.png"
        if plot_ratios(rows or [], results, ratios_png, tolerance):
            images["ratios"] = ratios_png.name
    except ImportError:
        pass  # matplotlib is a dev dependency: the report is still written, without plots
    path = results_dir / f"report-{scale}.md"
    path.write_text(render(results, rows, images, tolerance) + "\n")
    return path
