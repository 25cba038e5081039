"""The "h2 + minimal asyncio loop" peer: the ``h2`` library driven by a bare asyncio Protocol.

What a user who wants HTTP/2 speed in Python without a client library would write: one
``H2Connection``, one ``asyncio.Protocol``, a sliding window of ``m`` requests in flight
(each finished stream starts the next request), flow control acknowledged as data arrives.
"""

from __future__ import annotations

import asyncio
import ssl
import time

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import DataReceived, StreamEnded, StreamReset


class H2Client(asyncio.Protocol):
    """GETs of one path, ``m`` at a time, on one connection."""

    def __init__(self, authority: bytes, scheme: bytes, path: bytes) -> None:
        self.conn = H2Connection(H2Configuration(client_side=True, header_encoding=None))
        self.headers = [(b":method", b"GET"), (b":scheme", scheme), (b":authority", authority), (b":path", path)]
        self.transport: asyncio.Transport | None = None
        self.body_bytes = 0
        self._left = 0  # requests still to issue in this batch
        self._pending = 0  # requests issued and not finished
        self._done: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.conn.initiate_connection()
        transport.write(self.conn.data_to_send())

    def _issue(self) -> None:
        self.conn.send_headers(self.conn.get_next_available_stream_id(), self.headers, end_stream=True)
        self._left -= 1
        self._pending += 1

    def batch(self, n: int, m: int) -> asyncio.Future[None]:
        """Run ``n`` requests with at most ``m`` in flight; the future completes with the last."""
        self._done = asyncio.get_running_loop().create_future()
        self._left = n
        for _ in range(min(m, n)):
            self._issue()
        assert self.transport is not None
        self.transport.write(self.conn.data_to_send())
        return self._done

    def data_received(self, data: bytes) -> None:
        for ev in self.conn.receive_data(data):
            if isinstance(ev, DataReceived):
                self.body_bytes += len(ev.data)
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, StreamEnded):
                self._pending -= 1
                if self._left > 0:
                    self._issue()
                elif self._pending == 0 and self._done is not None and not self._done.done():
                    self._done.set_result(None)
            elif isinstance(ev, StreamReset) and self._done is not None and not self._done.done():
                self._done.set_exception(RuntimeError(f"stream {ev.stream_id} reset: {ev.error_code!r}"))
        out = self.conn.data_to_send()
        if out:
            assert self.transport is not None
            self.transport.write(out)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_exception(ConnectionError(f"connection lost: {exc}"))


def run(host: str, port: int, cafile: str | None, n: int, m: int, body_size: int) -> float:
    """Requests per second for ``n`` GETs of ``/`` (``cafile``: TLS with ALPN h2, else h2c)."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        ctx = None
        if cafile is not None:
            ctx = ssl.create_default_context(cafile=cafile)
            ctx.set_alpn_protocols(["h2"])
        authority = f"{host}:{port}".encode()
        scheme = b"https" if ctx else b"http"
        transport, proto = await loop.create_connection(
            lambda: H2Client(authority, scheme, b"/"), host, port, ssl=ctx, server_hostname=host if ctx else None
        )
        await proto.batch(1, 1)  # warm-up: the connection is up and settled
        proto.body_bytes = 0
        t = time.perf_counter()
        await proto.batch(n, m)
        dt = time.perf_counter() - t
        transport.close()
        assert proto.body_bytes == n * body_size, proto.body_bytes
        return n / dt

    return asyncio.run(main())
