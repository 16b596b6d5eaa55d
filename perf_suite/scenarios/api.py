"""Integrator traffic on the REST API (P8.1): an agency's API key (Bearer) reading lists 25 at a
time and following ``next_cursor``, plus the dashboard report, at several numbers of clients."""

from __future__ import annotations

from typing import Any

from perf_suite.context import Context
from perf_suite.scenarios.http import data_access, probe, run_levels
from perf_suite.scenarios.registry import scenario

LISTS = ("properties", "tenants", "leases", "invoices", "payments")
REPORTS = ("reports/dashboard",)
PAGE = "?limit=25"


@scenario("api", description="integrator API: lists with cursors and the dashboard report")
def api(ctx: Context) -> dict[str, Any]:
    if not ctx.api_key:
        return {"skipped": "no API key could be created (keja apikey create missing?)"}
    headers = {"Authorization": f"Bearer {ctx.api_key}"}
    mix: list[dict[str, Any]] = []
    pages: dict[str, str] = {}
    notes: list[str] = []
    statuses: dict[str, int] = {}
    for name in (*LISTS, *REPORTS):
        is_list = name in LISTS
        path = f"/api/v1/{name}{PAGE if is_list else ''}"
        resp = probe(ctx, path, headers)
        statuses[path] = resp.status_code
        if resp.status_code != 200:
            notes.append(f"{path} answered {resp.status_code}: left out")
            continue
        if is_list and "next_cursor" not in resp.text:
            notes.append(f"{path}: no next_cursor in the answer, pages are not followed")
        mix.append(
            {"name": f"/api/v1/{name}", "paths": [path], "weight": 2 if is_list else 1}
            | ({"cursor": True} if is_list else {})
        )
        pages[name.replace("/", "_")] = path
    if not mix:
        return {"skipped": f"no API endpoint answered 200: {statuses}", "notes": notes}

    levels, ratios = run_levels(
        ctx, "api", {"headers": headers, "mix": mix, "max_pages": 5}, ctx.cfg.levels
    )
    ctx.log("api: single-client latency per endpoint vs bare endpoint and vs its raw SQL")
    rows, page_ratios = data_access(
        ctx, "api", pages, headers, {"kind": "bearer", "key": ctx.api_key}
    )
    ratios.update(page_ratios)
    return {
        "mix": [{"name": m["name"], "weight": m["weight"]} for m in mix],
        "levels": levels,
        "data_access": rows,
        "ratios": ratios,
        "notes": notes,
    }
