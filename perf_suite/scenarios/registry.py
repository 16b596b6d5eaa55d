"""The scenario registry: a name maps to a function ``(Context) -> result dict``.

A scenario module registers itself with the decorator and is imported by
``perf_suite/scenarios/__init__.py``::

    @scenario(
        "payment_callbacks",
        description="Daraja callbacks under load",
        needs={"daraja"},                                  # the suite starts the stand-in
        app_env={"KEJA_DARAJA_BASE_URL": "{daraja_url}"},  # given to gunicorn and the worker
    )
    def payment_callbacks(ctx: Context) -> dict[str, Any]:
        ...
        return {"levels": [...], "ratios": {...}, "notes": [...]}

The result dict may hold anything JSON-serialisable; the keys the suite understands are
``levels`` (load levels, see ``perf_suite.scenarios.http.run_levels``), ``ratios`` (name → ratio
entry from ``perf_suite.results.ratio``; these are what baselines compare), ``measurements``,
``notes``, and ``skipped`` (a reason: the scenario could not run here, which is not an error).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perf_suite.context import Context

ScenarioFn = Callable[["Context"], dict[str, Any]]


@dataclass(frozen=True)
class Scenario:
    name: str
    fn: ScenarioFn
    description: str
    needs: frozenset[str] = frozenset()
    app_env: Mapping[str, str] = field(default_factory=dict)
    default: bool = True


REGISTRY: dict[str, Scenario] = {}
KNOWN_NEEDS = {"daraja"}


def scenario(
    name: str,
    *,
    description: str,
    needs: Iterable[str] = (),
    app_env: Mapping[str, str] | None = None,
    default: bool = True,
) -> Callable[[ScenarioFn], ScenarioFn]:
    unknown = set(needs) - KNOWN_NEEDS
    if unknown:
        raise ValueError(f"scenario {name}: unknown needs {sorted(unknown)}")

    def register(fn: ScenarioFn) -> ScenarioFn:
        if name in REGISTRY and REGISTRY[name].fn is not fn:
            raise ValueError(f"scenario {name!r} is registered twice")
        REGISTRY[name] = Scenario(
            name=name,
            fn=fn,
            description=description,
            needs=frozenset(needs),
            app_env=dict(app_env or {}),
            default=default,
        )
        return fn

    return register


def select(names: Iterable[str]) -> list[Scenario]:
    """The named scenarios in the order given, or every default scenario in registry order."""
    wanted = [n.strip() for n in names if n.strip()]
    if not wanted:
        return [s for s in REGISTRY.values() if s.default]
    unknown = [n for n in wanted if n not in REGISTRY]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    return [REGISTRY[n] for n in dict.fromkeys(wanted)]
