"""The processes the suite starts (gunicorn, the Dramatiq worker, the Daraja stand-in, load
generators, app-side helpers), and the guarantee that it stops every one of them.

Each child starts in its own session (process group), so a Ctrl-C in the terminal reaches only the
suite, which then stops its children group by group: SIGTERM, a grace period, SIGKILL."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

import httpx

from perf_suite.config import ROOT

# Variables a child inherits from the caller; everything else is set explicitly, so a developer's
# shell (or pytest's DJANGO_SETTINGS_MODULE) never changes what is measured.
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "VIRTUAL_ENV", "USER")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def python() -> str:
    return sys.executable


def keja_cmd(*args: str) -> list[str]:
    return [python(), "-m", "keja.manage", *args]


def base_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in PASSTHROUGH}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PYTHONHASHSEED": "0",
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "keja.config.settings",
            # No .env file: a benchmark measures the configuration written here, nothing else.
            "KEJA_DOTENV": str(ROOT / "perf_suite" / ".no-dotenv"),
        }
    )
    env.update(overrides)
    return env


def app_env(
    *, database_url: str, redis_url: str, instance: str, **overrides: str
) -> dict[str, str]:
    """The production configuration (KEJA_ENV=production) on loopback, as gunicorn gets it."""
    return base_env(
        KEJA_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        KEJA_INSTANCE=instance,
        KEJA_SSL_REDIRECT="false",
        KEJA_LOG_LEVEL="INFO",
        **overrides,
    )


class Interrupted(BaseException):
    """SIGTERM (or SIGHUP) received: stop like on Ctrl-C (a BaseException, so that no
    ``except Exception`` in a scenario swallows it)."""


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


class ProcessStack:
    """Owns every child process; ``close()`` (also on errors and interrupts) stops them all."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.children: list[tuple[str, subprocess.Popen[bytes], IO[bytes] | None]] = []
        self._old_handlers: dict[int, Any] = {}

    def __enter__(self) -> ProcessStack:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._old_handlers[sig] = signal.signal(sig, _raise_interrupt)
        # Ctrl-C raises KeyboardInterrupt even when the suite was started with SIGINT ignored
        # (a background job of a non-interactive shell).
        self._old_handlers[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        for sig, handler in self._old_handlers.items():
            signal.signal(sig, handler)

    def start(
        self, name: str, cmd: Sequence[str], env: dict[str, str], *, stdout: int | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a child (output to ``<log_dir>/<name>.log``; with ``stdout=subprocess.PIPE``
        only stderr goes there and the caller reads stdout)."""
        log = (self.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            list(cmd),
            env=env,
            cwd=ROOT,
            stdout=log if stdout is None else stdout,
            stderr=log if stdout is not None else subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.children.append((name, proc, log))
        return proc

    def run(
        self, name: str, cmd: Sequence[str], env: dict[str, str], *, timeout: float = 3600
    ) -> subprocess.CompletedProcess[str]:
        """Run a child to completion (output captured); it is stopped too if we are interrupted."""
        proc = subprocess.Popen(
            list(cmd),
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.children.append((name, proc, None))
        timed_out = False
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            self.stop(proc)
            out, err = proc.communicate()
        except BaseException:  # interrupted: stop it now, then let the interruption go on
            self.stop(proc, grace=5)
            raise
        finally:
            self.children = [c for c in self.children if c[1] is not proc]
        text_out = out.decode(errors="replace")
        text_err = err.decode(errors="replace")
        with (self.log_dir / f"{name}.log").open("a") as log:
            log.write(text_out + text_err)
        if timed_out:
            raise RuntimeError(
                f"{name} did not finish within {timeout:.0f}s; its output:\n{text_err[-2000:]}"
            )
        return subprocess.CompletedProcess(list(cmd), proc.returncode, text_out, text_err)

    @staticmethod
    def stop(proc: subprocess.Popen[bytes], grace: float = 25.0) -> None:
        """SIGTERM to the child's own process group (it and its workers), then SIGKILL to
        whatever is left of that group."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)

    def close(self, grace: float = 25.0) -> None:
        """SIGTERM to every child's group at once, a shared grace period, then SIGKILL."""
        children, self.children = self.children, []
        for _name, proc, _log in children:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for _name, proc, _log in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for _name, proc, log in children:
            self.stop(proc, grace=0.1)  # whatever is left of the group
            if log is not None:
                log.close()

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_http(
    url: str,
    *,
    proc: subprocess.Popen[bytes] | None = None,
    timeout: float = 90.0,
    status: int = 200,
) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            r = httpx.get(url, timeout=5)
            if r.status_code == status:
                return
            last = r.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer {status} within {timeout:.0f}s (last: {last})")


def wait_port(port: int, *, proc: subprocess.Popen[bytes] | None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout:.0f}s")
