"""The admin journey on the console (P8.1): agency owners logged in, on the dashboard, in lists
(with and without a search) and on detail pages, at several numbers of concurrent users.

Which lists exist is probed (the console grows); detail pages are the links found in the lists.
Logins are measured on their own (password hashing is deliberately slow) and each simulated user
then works in an already open session, like an admin who logged in this morning."""

from __future__ import annotations

import random
import re
from typing import Any

from perf_suite.context import Context
from perf_suite.scenarios.http import data_access, login, probe, run_levels
from perf_suite.scenarios.registry import scenario
from perf_suite.stats import summarize

DASHBOARD = "/"
# list path → SQL giving search terms from the agency's own data
LISTS: dict[str, str] = {
    "/properties/": "SELECT split_part(name, ' ', 1) FROM properties_property WHERE agency_id = %s",
    "/units/": "SELECT label FROM properties_unit WHERE agency_id = %s",
    "/tenants/": "SELECT split_part(full_name, ' ', 1) FROM tenants_tenant WHERE agency_id = %s",
    "/leases/": "SELECT account_reference FROM leases_lease WHERE agency_id = %s",
    "/invoices/": "SELECT split_part(full_name, ' ', 2) FROM tenants_tenant WHERE agency_id = %s",
    "/payments/": "SELECT split_part(full_name, ' ', 1) FROM tenants_tenant WHERE agency_id = %s",
}
SESSIONS = 10  # console sessions shared by the simulated users
DETAILS_PER_LIST = 20


def _terms(ctx: Context, sql: str) -> list[str]:
    rows = ctx.query(sql + " ORDER BY id LIMIT 2000", (ctx.agency.id,))
    terms = sorted({str(r[0]) for r in rows if r[0] and len(str(r[0])) >= 2})
    return random.Random(ctx.cfg.seed).sample(terms, min(10, len(terms)))


def _name(path: str) -> str:
    return path.strip("/").replace("/", "_") or "dashboard"


def sessions(ctx: Context) -> tuple[list[str], list[float]]:
    """Console sessions of the agency owner (opened once per run), and the logins' times."""
    if "console_sessions" not in ctx.shared:
        logins = [login(ctx) for _ in range(min(SESSIONS, max(ctx.cfg.levels)))]
        home = probe(ctx, DASHBOARD, {"Cookie": logins[0][0]})
        if home.status_code != 200:
            raise RuntimeError(f"the dashboard {DASHBOARD} answered {home.status_code} after login")
        ctx.shared["console_sessions"] = ([c for c, _ in logins], [ms for _, ms in logins])
    cookies, login_ms = ctx.shared["console_sessions"]
    return list(cookies), list(login_ms)


@scenario(
    "dashboard",
    description="console dashboard alone (P8.1: 100 concurrent users), 10/50/100 users",
)
def dashboard(ctx: Context) -> dict[str, Any]:
    cookies, _ = sessions(ctx)
    mix = [{"name": DASHBOARD, "paths": [DASHBOARD], "weight": 1}]
    levels, ratios = run_levels(
        ctx, "dashboard", {"headers": {}, "cookies": cookies, "mix": mix}, ctx.cfg.levels
    )
    return {"mix": [{"name": DASHBOARD, "weight": 1}], "levels": levels, "ratios": ratios}


@scenario(
    "admin",
    description="console journey: dashboard, lists with search, details; 10/50/100 users",
)
def admin(ctx: Context) -> dict[str, Any]:
    cookies, login_ms = sessions(ctx)
    headers = {"Cookie": cookies[0]}

    notes: list[str] = []
    mix: list[dict[str, Any]] = [{"name": DASHBOARD, "paths": [DASHBOARD], "weight": 4}]
    pages: dict[str, str] = {"dashboard": DASHBOARD}
    for path, term_sql in LISTS.items():
        resp = probe(ctx, path, headers)
        if resp.status_code != 200:
            notes.append(f"{path} answered {resp.status_code}: left out")
            continue
        key = _name(path)
        mix.append({"name": path, "paths": [path], "weight": 2})
        pages[f"{key}_list"] = path
        terms = _terms(ctx, term_sql)
        searches = [f"{path}?q={t}" for t in terms]
        if searches and probe(ctx, searches[0], headers).status_code == 200:
            mix.append({"name": f"{path}?q=[term]", "paths": searches, "weight": 2})
            pages[f"{key}_search"] = searches[0]
        links = sorted(set(re.findall(rf'href="({re.escape(path)}\d+/?)"', resp.text)))
        links = links[:DETAILS_PER_LIST]
        if links and probe(ctx, links[0], headers).status_code == 200:
            mix.append({"name": f"{path}[id]/", "paths": links, "weight": 2})
            pages[f"{key}_detail"] = links[0]
        elif not links:
            notes.append(f"{path}: no detail links found in the list")
    if len(mix) == 1:
        notes.append("only the dashboard exists in the console so far")

    levels, ratios = run_levels(
        ctx, "admin", {"headers": {}, "cookies": cookies, "mix": mix}, ctx.cfg.levels
    )
    ctx.log("admin: single-client latency per page vs bare endpoint and vs its raw SQL")
    rows, page_ratios = data_access(
        ctx,
        "admin",
        pages,
        headers,
        {
            "kind": "session",
            "login_path": "/accounts/login/",
            "username": ctx.agency.owner_email,
            "password": ctx.agency.password,
        },
    )
    ratios.update(page_ratios)
    return {
        "mix": [{k: m[k] for k in ("name", "weight")} | {"paths": len(m["paths"])} for m in mix],
        "login": summarize(login_ms),
        "levels": levels,
        "data_access": rows,
        "ratios": ratios,
        "notes": notes,
    }
