"""gun_io: the drivers of gun. ``gun_io.open`` connects with the sync (selectors) driver;
``gun_io.aio`` is the asyncio driver. Both re-export the messages, frames and errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gun_core.errors import (
    BadOption,
    ConnectionDown,
    ConnectionFailure,
    GunException,
    InvalidHeader,
    StreamError,
    Timeout,
)
from gun_core.events import (
    GunData,
    GunDown,
    GunError,
    GunInform,
    GunNotify,
    GunPush,
    GunResponse,
    GunTrailers,
    GunUp,
    GunUpgrade,
    GunWs,
)
from gun_core.ws import Binary, Close, Ping, Pong, Text

from .connection import Connection
from .engine import StreamRef, check_opts
from .mailbox import Mailbox

__all__ = [
    "BadOption",
    "Binary",
    "Close",
    "Connection",
    "ConnectionDown",
    "ConnectionFailure",
    "GunData",
    "GunDown",
    "GunError",
    "GunException",
    "GunInform",
    "GunNotify",
    "GunPush",
    "GunResponse",
    "GunTrailers",
    "GunUp",
    "GunUpgrade",
    "GunWs",
    "InvalidHeader",
    "Mailbox",
    "Ping",
    "Pong",
    "StreamError",
    "StreamRef",
    "Text",
    "Timeout",
    "open",
    "open_unix",
]


def _check_host_port(host: Any, port: Any) -> None:
    if not isinstance(host, str) or not host:
        raise BadOption(f"host must be a non-empty str, not {host!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise BadOption(f"port must be an integer 1..65535, not {port!r}")


def open(host: str, port: int, opts: Mapping[str, Any] | None = None, *, owner: Mailbox | None = None) -> Connection:
    """Open a connection to ``host:port``; it connects in the background (``GunUp`` follows)."""
    _check_host_port(host, port)
    checked = check_opts(opts, port)
    return Connection(host, port, checked, owner)


def open_unix(path: str, opts: Mapping[str, Any] | None = None, *, owner: Mailbox | None = None) -> Connection:
    """Open a connection over the Unix domain socket at ``path``."""
    if not isinstance(path, str) or not path:
        raise BadOption(f"path must be a non-empty str, not {path!r}")
    checked = check_opts(opts, None, unix=True)
    return Connection("localhost", None, checked, owner, unix_path=path)
