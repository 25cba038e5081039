"""Helpers for the CLI tests: run ``gun`` as a subprocess, and tiny scripted loopback servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    """What a ``gun`` run did."""

    rc: int
    out: bytes
    err: str

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace")


def gun_env() -> dict[str, str]:
    """The environment of a ``gun`` subprocess: this checkout first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("COLUMNS", None)
    return env


def run_gun(*args: str, stdin: bytes | None = None, timeout: float = 30.0, cwd: Path | None = None) -> Result:
    """Run ``python -m gun_io ARGS`` with pipes for stdin, stdout and stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "gun_io", *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=timeout,
        env=gun_env(),
        cwd=cwd or ROOT,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace"))


def closed_port() -> int:
    """A loopback port where nothing listens (bound once, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


class RawServer:
    """A loopback TCP server that handles each connection with ``handler(sock)`` in a thread."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.handler = handler
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]
        self._stop = False
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            self.handler(conn)
        except OSError:
            pass

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass


def read_head(conn: socket.socket) -> bytes:
    """Read until the end of an HTTP/1.1 request head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def hold(conn: socket.socket, seconds: float = 30.0) -> None:
    """Accept and say nothing (a silent peer)."""
    end = time.monotonic() + seconds
    conn.settimeout(0.2)
    while time.monotonic() < end:
        try:
            if conn.recv(65536) == b"":
                return
        except TimeoutError:
            continue


class PtyRun:
    """``gun ARGS`` on a pseudo-terminal (stdin, stdout and stderr), 120 columns, no local echo."""

    def __init__(self, *args: str, columns: int = 120) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO  # what we type is not echoed back by the terminal
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        env = gun_env()
        env["TERM"] = "xterm-256color"
        env["COLUMNS"] = str(columns)
        env.pop("NO_COLOR", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gun_io", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        os.close(slave)
        self.output = b""

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def read_until(self, needle: bytes, timeout: float = 10.0) -> bytes:
        """Read the terminal until ``needle`` shows up; return everything read so far."""
        import select

        deadline = time.monotonic() + timeout
        while needle not in self.output:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{needle!r} not seen in {self.output[-2000:]!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{needle!r} not seen before the end: {self.output[-2000:]!r}")
                self.output += chunk
        return self.output

    def wait(self, timeout: float = 20.0) -> int:
        """Wait for the exit, reading the terminal meanwhile; return the exit code."""
        import select

        deadline = time.monotonic() + timeout
        while self.proc.poll() is None or select.select([self.master], [], [], 0)[0]:
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"gun did not exit; output so far {self.output[-2000:]!r}")
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                self.output += chunk
        rc = self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        return rc

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        try:
            os.close(self.master)
        except OSError:
            pass
