"""One test body, both drivers: a sync facade over ``gun_io`` and ``gun_io.aio``.

The ``aio`` facade runs an asyncio loop in a thread and runs every connection
method inside it, awaiting the coroutines (``await_``...) from the test's thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import gun_io
from gun_io import aio

_COROUTINES = {"await_up", "await_", "await_body", "wait_closed"}


class SyncDriver:
    """The sync driver as it is."""

    name = "sync"

    def open(self, host: str, port: int, opts: dict[str, Any] | None = None) -> Any:
        return gun_io.open(host, port, opts)

    def open_unix(self, path: str, opts: dict[str, Any] | None = None) -> Any:
        return gun_io.open_unix(path, opts)

    def mailbox(self) -> Any:
        return gun_io.Mailbox()

    def receive(self, mailbox: Any, timeout: float | None = 5.0) -> Any:
        return mailbox.receive(timeout)

    def close(self) -> None:
        pass


class _AioConn:
    def __init__(self, drv: AioDriver, conn: aio.Connection) -> None:
        self._drv = drv
        self.raw = conn

    @property
    def owner(self) -> Any:
        return self.raw.owner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.raw, name)
        if not callable(attr):
            return attr
        if name in _COROUTINES:
            return lambda *a, **k: self._drv.run(attr(*a, **k))
        return lambda *a, **k: self._drv.call(lambda: attr(*a, **k))


class AioDriver:
    """The asyncio driver behind a blocking facade."""

    name = "aio"

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], Any]) -> Any:
        async def wrap() -> Any:
            return fn()

        return self.run(wrap())

    def open(self, host: str, port: int, opts: dict[str, Any] | None = None) -> Any:
        return _AioConn(self, self.call(lambda: aio.open(host, port, opts)))

    def open_unix(self, path: str, opts: dict[str, Any] | None = None) -> Any:
        return _AioConn(self, self.call(lambda: aio.open_unix(path, opts)))

    def mailbox(self) -> Any:
        return aio.Mailbox()

    def receive(self, mailbox: Any, timeout: float | None = 5.0) -> Any:
        return self.run(mailbox.receive(timeout))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
