"""Real peers for the integration tests: start a server on 127.0.0.1, wait for it, stop it by PID.

Each server module (``nginx``, ``nghttpd``, ``hypercorn``, ``autobahn``) builds on
:class:`ServerProcess`, which runs one child process with its output sent to a log
file in the server's own temporary folder. ``tests/conftest.py`` turns them into
session-scoped fixtures and attaches the logs to the report of any failing test.

:func:`require` is how a fixture says that something it needs is missing: the test
is skipped on a developer's machine, but fails under CI (``CI=true``), where
``.ci/run`` is supposed to have installed everything.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

__all__ = [
    "ServerError",
    "ServerProcess",
    "free_port",
    "import_module",
    "in_ci",
    "require",
    "tail",
    "unavailable",
    "wait_for_port",
]

#: Every server listens here and only here.
HOST = "127.0.0.1"


class ServerError(RuntimeError):
    """A server did not start or stop as it should; the message carries its log tail."""


def in_ci() -> bool:
    """True when running under CI (env ``CI`` set to ``true``/``1``/``yes``)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def unavailable(reason: str) -> NoReturn:
    """Skip the test locally, fail it under CI, because a server it needs is missing."""
    if in_ci():
        pytest.fail(f"required test server missing under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def import_module(name: str, reason: str) -> ModuleType:
    """Import ``name`` at a test module's top: a missing module skips it locally and is an error
    under CI (``require`` does the same inside a test)."""
    if in_ci():
        return importlib.import_module(name)
    return pytest.importorskip(name, reason=reason)


def require(what: str, reason: str) -> str:
    """Check that ``what`` is available and return where it is; otherwise :func:`unavailable`.

    ``what`` is one of:

    - ``"py:module"``: a Python module importable by the test interpreter (returns its name);
    - a path containing ``/``: an executable file (returns the path);
    - a bare name: an executable on ``PATH`` or in ``/usr/sbin``/``/sbin`` (returns its full path).
    """
    if what.startswith("py:"):
        module = what[3:]
        if importlib.util.find_spec(module) is None:
            unavailable(reason)
        return module
    if "/" in what:
        if os.path.isfile(what) and os.access(what, os.X_OK):
            return what
        unavailable(reason)
    path = shutil.which(what) or shutil.which(what, path="/usr/local/sbin:/usr/sbin:/sbin")
    if path is None:
        unavailable(reason)
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int, host: str = HOST) -> bool:
    """True if a TCP connection to ``host:port`` is accepted right now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port: int, *, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Wait until ``port`` accepts connections; False on timeout or if ``proc`` exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if port_open(port):
            return True
        time.sleep(0.05)
    return False


def wait_for_unix(path: str, *, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Wait until the Unix socket at ``path`` accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            sock.connect(path)
            return True
        time.sleep(0.05)
    return False


def tail(path: Path | str, limit: int = 8000) -> str:
    """The last ``limit`` characters of a log file (empty if it does not exist)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", "replace")


class ServerProcess:
    """One child process with a log file, started and stopped by PID.

    The child runs in a session of its own (so its PID is also its process group
    id); :meth:`stop` sends SIGTERM to the PID, waits, and only if it is still there
    SIGKILLs that group, which holds only what this object started.
    """

    def __init__(
        self, name: str, argv: Sequence[str], *, log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        self.cwd = cwd
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            out.write(f"\n=== start {self.name}: {' '.join(self.argv)}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,
            )

    def wait_ready(self, ports: Sequence[int] = (), unix_paths: Sequence[str] = (), timeout: float = 20.0) -> None:
        """Wait for every port and Unix socket to accept; raise :class:`ServerError` if not."""
        deadline = time.monotonic() + timeout
        for port in ports:
            if not wait_for_port(port, timeout=max(0.1, deadline - time.monotonic()), proc=self.proc):
                self.fail(f"port {port} never accepted connections")
        for path in unix_paths:
            if not wait_for_unix(path, timeout=max(0.1, deadline - time.monotonic()), proc=self.proc):
                self.fail(f"unix socket {path} never accepted connections")

    def fail(self, what: str) -> NoReturn:
        status = "running" if self.running else f"exited with {self.proc.returncode if self.proc else None}"
        self.stop()
        raise ServerError(f"{self.name} ({status}): {what}; log {self.log}:\n{tail(self.log)}")

    def stop(self, timeout: float = 10.0) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the group we created (e.g. nginx workers): SIGKILL it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        with open(self.log, "ab") as out:
            out.write(f"=== stopped {self.name} (pid {proc.pid}, status {proc.returncode})\n".encode())
        self.proc = None
