"""nox sessions: tests, lint, types, architecture, perf. Each installs the project with the
pinned constraints (constraints.txt), so every run gets the same versions."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "types", "architecture", "tests"]
nox.options.reuse_existing_virtualenvs = True
PY = "3.11"


def install(session: nox.Session) -> None:
    session.install("-c", "constraints.txt", "-e", ".[dev]")


@nox.session(python=PY)
def tests(session: nox.Session) -> None:
    install(session)
    session.run("python", "tests/check_services.py")
    session.run("pytest", *session.posargs)


@nox.session(python=PY)
def lint(session: nox.Session) -> None:
    install(session)
    session.run("ruff", "check", "src", "tests", "perf_suite", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "perf_suite", "noxfile.py")


@nox.session(python=PY)
def types(session: nox.Session) -> None:
    install(session)
    session.run("mypy", "src", "perf_suite")


@nox.session(python=PY)
def architecture(session: nox.Session) -> None:
    install(session)
    session.run("lint-imports", "--no-cache")


@nox.session(python=PY)
def perf(session: nox.Session) -> None:
    install(session)
    session.run("python", "-m", "perf_suite", *session.posargs)
