"""hypercorn serving ``hypercorn_app.py`` in a subprocess: TLS (ALPN h2, http/1.1), plain (h1 + h2c), Unix."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from tests.servers import HOST, ServerProcess, free_port
from tests.servers.certs import TestCA

APP_SCRIPT = Path(__file__).with_name("hypercorn_app.py")


class HypercornServer:
    """One hypercorn process with three listeners.

    - ``tls_port``: TLS, ALPN ``h2`` and ``http/1.1`` (certificate from ``ca``);
    - ``plain_port``: cleartext HTTP/1.1, h2c by prior knowledge, h2c by Upgrade;
    - ``unix_path``: the same as ``plain_port`` on a Unix socket.

    The routes are listed in ``hypercorn_app.py``. ``start``/``stop``/``restart``
    keep the same ports.
    """

    host = HOST

    def __init__(self, folder: Path, ca: TestCA) -> None:
        self.folder = folder
        self.ca = ca
        self.tls_port = free_port()
        self.plain_port = free_port()
        self.unix_path = str(folder / "hypercorn.sock")
        self.log = folder / "hypercorn.log"
        argv = [
            sys.executable,
            str(APP_SCRIPT),
            "--tls", f"{HOST}:{self.tls_port}",
            "--plain", f"{HOST}:{self.plain_port}",
            "--unix", self.unix_path,
            "--certfile", str(ca.certfile),
            "--keyfile", str(ca.keyfile),
        ]  # fmt: skip
        self.process = ServerProcess("hypercorn", argv, log=self.log, cwd=folder)

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def url(self, path: str = "/", *, tls: bool = False) -> str:
        """``http(s)://127.0.0.1:PORT/path`` for the TLS or the plain listener."""
        if tls:
            return f"https://{HOST}:{self.tls_port}{path}"
        return f"http://{HOST}:{self.plain_port}{path}"

    def ws_url(self, path: str = "/ws", *, tls: bool = False) -> str:
        if tls:
            return f"wss://{HOST}:{self.tls_port}{path}"
        return f"ws://{HOST}:{self.plain_port}{path}"

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            Path(self.unix_path).unlink()
        self.process.start()
        self.process.wait_ready([self.tls_port, self.plain_port], [self.unix_path])

    def stop(self) -> None:
        self.process.stop()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_files(self) -> list[Path]:
        return [self.log]
