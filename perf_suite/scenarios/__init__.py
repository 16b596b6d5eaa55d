"""Scenarios, registered by name (see ``registry``). Importing this package registers the
built-in ones, in their default running order: reads first, then the scenarios that write."""

from perf_suite.scenarios import admin, api, writes  # noqa: F401  (registration)
from perf_suite.scenarios.registry import REGISTRY, Scenario, scenario, select

__all__ = ["REGISTRY", "Scenario", "scenario", "select"]
