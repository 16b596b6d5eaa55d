"""Unscoped access is hard to write (D1): in selectors, services, APIs and views of the business
contexts, a scoped model's manager is only ever reached through ``.objects.for_agency(...)``."""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps

from keja.platform.scoping import ScopedManager

SRC = Path(__file__).resolve().parents[2] / "src" / "keja"
ENTRY_FILES = ("selectors.py", "services.py", "api.py", "views.py", "actors.py")


def scoped_model_names() -> set[str]:
    return {m.__name__ for m in apps.get_models() if isinstance(m._default_manager, ScopedManager)}


def files_to_check() -> list[Path]:
    out = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        if (
            rel.parts[0] in {"platform", "kernel", "config", "agencies"}
            or "migrations" in rel.parts
        ):
            continue
        if path.name in ENTRY_FILES or any(
            p in {"services", "api", "views"} for p in rel.parts[:-1]
        ):
            out.append(path)
    return out


def violations(path: Path, names: set[str]) -> list[str]:
    found = []
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {
            "objects",
            "_default_manager",
            "_base_manager",
        }:
            target = node.value
            if isinstance(target, ast.Name) and target.id in names:
                parent_ok = False
                for parent in ast.walk(tree):
                    if (
                        isinstance(parent, ast.Attribute)
                        and parent.value is node
                        and parent.attr in {"for_agency", "across_agencies"}
                    ):
                        parent_ok = True
                        break
                if not parent_ok:
                    found.append(
                        f"{path.relative_to(SRC)}:{node.lineno} {target.id}.{node.attr} without for_agency"
                    )
    return found


def test_scoped_models_exist() -> None:
    names = scoped_model_names()
    assert {
        "Property",
        "Unit",
        "Tenant",
        "Lease",
        "Invoice",
        "Payment",
        "Allocation",
        "CreditEntry",
    } <= names


def test_every_business_query_is_agency_scoped() -> None:
    names = scoped_model_names()
    problems = [v for path in files_to_check() for v in violations(path, names)]
    assert not problems, "unscoped access:\n" + "\n".join(problems)


def test_the_checker_catches_an_unscoped_query(tmp_path: Path) -> None:
    bad = tmp_path / "services.py"
    bad.write_text("def f():\n    return Payment.objects.filter(pk=1)\n")
    good = tmp_path / "selectors.py"
    good.write_text("def f(a):\n    return Payment.objects.for_agency(a).filter(pk=1)\n")
    assert len(_violations_at(bad, tmp_path)) == 1
    assert _violations_at(good, tmp_path) == []


def _violations_at(path: Path, root: Path) -> list[str]:
    global SRC
    saved, SRC = SRC, root
    try:
        return violations(path, {"Payment"})
    finally:
        SRC = saved
