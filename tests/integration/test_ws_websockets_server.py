"""Websocket echo through both drivers against a server from the ``websockets`` package.

The server runs on 127.0.0.1 in a thread with its own asyncio loop, once with
permessage-deflate (RFC 7692) offered and once without. It echoes every message; the
text ``"close-please"`` makes it start the close handshake itself (code 1000, "done").
Every connection's end is recorded server side (close code received, clean or not), so
the close handshake is checked from both ends (RFC 6455 section 7).
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gun_io import Binary, Close, GunUpgrade, GunWs, Text
from tests.servers import import_module

websockets = import_module("websockets", "the websockets server tests need websockets (the test extra)")

CLOSE_PLEASE = "close-please"
PING_ME = "ping-me"


@dataclass
class WsServer:
    """A running ``websockets`` echo server: its port and how each connection ended."""

    port: int
    compression: str | None
    ends: queue.Queue[tuple[int | None, bool]] = field(default_factory=queue.Queue)

    def last_end(self, timeout: float = 5.0) -> tuple[int | None, bool]:
        """The (close code the server received, closed cleanly) of the next connection to end."""
        return self.ends.get(timeout=timeout)


def _serve(compression: str | None) -> Iterator[WsServer]:
    loop = asyncio.new_event_loop()
    ready: queue.Queue[int] = queue.Queue()
    holder: dict[str, Any] = {}
    server_info = WsServer(0, compression)

    async def handler(ws: Any, *_: Any) -> None:
        clean = True
        try:
            async for message in ws:
                if message == CLOSE_PLEASE:
                    await ws.close(1000, "done")
                    break
                if message == PING_ME:  # ping, and say whether the pong came back within 1 s
                    waiter = await ws.ping(b"are you there")
                    try:
                        await asyncio.wait_for(waiter, 1.0)
                        await ws.send("pong in time")
                    except asyncio.TimeoutError:
                        await ws.send("pong late")
                    continue
                await ws.send(message)
        except websockets.exceptions.ConnectionClosedError:
            clean = False
        state = getattr(ws, "protocol", ws)  # the sans-IO protocol (modern API) or the connection (legacy)
        if state.close_rcvd is None and clean:
            await ws.wait_closed()
        rcvd = state.close_rcvd
        clean = clean and rcvd is not None and state.close_sent is not None
        server_info.ends.put((rcvd.code if rcvd is not None else None, clean))

    async def main() -> None:
        holder["stop"] = asyncio.Event()
        kwargs: dict[str, Any] = {"compression": compression, "max_size": 4 << 20, "ping_interval": None}
        try:
            from websockets.asyncio.server import serve  # websockets >= 13: the modern API
        except ImportError:  # pragma: no cover - older websockets: the legacy API
            serve = websockets.serve
        async with serve(handler, "127.0.0.1", 0, **kwargs) as server:
            ready.put(next(iter(server.sockets)).getsockname()[1])
            await holder["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    server_info.port = ready.get(timeout=10)
    try:
        yield server_info
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def deflate_server() -> Iterator[WsServer]:
    """The echo server with permessage-deflate enabled (the ``websockets`` default)."""
    yield from _serve("deflate")


@pytest.fixture(scope="module")
def plain_server() -> Iterator[WsServer]:
    """The echo server with every extension refused."""
    yield from _serve(None)


@pytest.fixture(params=["deflate", "plain"])
def server(request: pytest.FixtureRequest) -> WsServer:
    """Each test once per server flavour."""
    return request.getfixturevalue(f"{request.param}_server")  # type: ignore[no-any-return]


def upgrade(driver: Any, server: WsServer, compress: bool) -> tuple[Any, Any, GunUpgrade]:
    conn = driver.open("127.0.0.1", server.port, {"retry": 0})
    assert conn.await_up() == "http"
    ref = conn.ws_upgrade("/", [], {"compress": compress})
    up = conn.await_(ref)
    assert isinstance(up, GunUpgrade), up
    assert up.protocols == ["websocket"]
    return conn, ref, up


def close_cleanly(conn: Any, ref: Any, server: WsServer) -> None:
    conn.ws_send(ref, Close(1000, "bye"))
    msg = conn.await_(ref)
    assert isinstance(msg, GunWs) and msg.frame == Close(1000, "bye")
    assert server.last_end() == (1000, True)
    conn.close()


def test_compression_negotiated(driver: Any, deflate_server: WsServer) -> None:
    """A client offering permessage-deflate to a server that supports it gets the extension
    accepted in the 101 response's sec-websocket-extensions header (RFC 7692 section 5,
    RFC 6455 section 9.1); without the offer the server must not name it (RFC 6455 4.1)."""
    conn, ref, up = upgrade(driver, deflate_server, True)
    ext = dict(up.headers).get(b"sec-websocket-extensions", b"")
    assert ext.split(b";")[0].strip() == b"permessage-deflate"
    close_cleanly(conn, ref, deflate_server)
    conn, ref, up = upgrade(driver, deflate_server, False)
    assert b"sec-websocket-extensions" not in dict(up.headers)
    close_cleanly(conn, ref, deflate_server)


def test_no_compression_when_server_refuses(driver: Any, plain_server: WsServer) -> None:
    """A server that supports no extension answers without sec-websocket-extensions and the
    client then sends uncompressed frames it can read (RFC 7692 section 5, RFC 6455 9.1)."""
    conn, ref, up = upgrade(driver, plain_server, True)
    assert b"sec-websocket-extensions" not in dict(up.headers)
    conn.ws_send(ref, Text("plain " * 100))
    assert conn.await_(ref).frame == Text("plain " * 100)
    close_cleanly(conn, ref, plain_server)


def test_text_and_binary_echo(driver: Any, server: WsServer) -> None:
    """Text messages keep their UTF-8 content and binary messages their bytes, each type
    preserved by its opcode (RFC 6455 sections 5.6 and 11.8), compressed or not (RFC 7692 7.2)."""
    conn, ref, _ = upgrade(driver, server, True)
    samples = [Text("hello"), Binary(b"\x00\x01\x02\xff"), Text("é€😀" * 500), Binary(b""), Text("")]
    conn.ws_send(ref, samples)
    for sent in samples:
        assert conn.await_(ref).frame == sent
    close_cleanly(conn, ref, server)


def test_one_mebibyte_binary(driver: Any, server: WsServer) -> None:
    """A 1 MiB binary message crosses intact both ways: 64-bit payload length (RFC 6455 5.2),
    and with deflate a message spanning many compressor blocks (RFC 7692 section 7.2.1)."""
    conn, ref, _ = upgrade(driver, server, True)
    big = os.urandom(1 << 19) + bytes(1 << 19)  # half incompressible, half very compressible
    conn.ws_send(ref, Binary(big))
    msg = conn.await_(ref, 20)
    assert isinstance(msg.frame, Binary) and len(msg.frame.data) == 1 << 20
    assert msg.frame.data == big
    close_cleanly(conn, ref, server)


def test_many_small_messages(driver: Any, server: WsServer) -> None:
    """Many small messages sent back to back arrive in order, one GunWs each (RFC 6455 5.4:
    messages are not merged); with deflate the shared LZ77 window carries over (RFC 7692 7.2.3)."""
    conn, ref, _ = upgrade(driver, server, True)
    frames = [Text(f"message number {i}") if i % 2 else Binary(i.to_bytes(4, "big") * 3) for i in range(2000)]
    for start in range(0, len(frames), 250):
        conn.ws_send(ref, frames[start : start + 250])
    for sent in frames:
        assert conn.await_(ref).frame == sent
    close_cleanly(conn, ref, server)


def test_client_initiated_close(driver: Any, server: WsServer) -> None:
    """The client's Close is echoed by the server with the same code (RFC 6455 5.5.1, 7.1.2);
    the server records a clean close with code 1000; the server then closes TCP (7.1.1)."""
    conn, ref, _ = upgrade(driver, server, True)
    conn.ws_send(ref, Text("last"))
    assert conn.await_(ref).frame == Text("last")
    close_cleanly(conn, ref, server)


def test_server_initiated_close(driver: Any, server: WsServer) -> None:
    """A Close from the server is delivered as GunWs(Close(1000, reason)); the client answers
    it (RFC 6455 5.5.1) so the server sees a clean close, and the connection goes down."""
    conn, ref, _ = upgrade(driver, server, True)
    conn.ws_send(ref, [Text("before"), Text(CLOSE_PLEASE)])
    assert conn.await_(ref).frame == Text("before")
    msg = conn.await_(ref)
    assert isinstance(msg, GunWs) and msg.frame == Close(1000, "done")
    assert server.last_end() == (1000, True)
    conn.wait_closed(5)


def test_ping_answered_while_the_caller_is_not_waiting(driver: Any, plain_server: WsServer) -> None:
    """A server Ping that arrives while no caller waits on the connection is answered with a Pong
    at once by the driver (RFC 6455 5.5.2): reading does not depend on a caller waiting."""
    conn, ref, _ = upgrade(driver, plain_server, False)
    conn.ws_send(ref, Text("warm-up"))
    assert conn.await_(ref).frame == Text("warm-up")  # a wait that read the socket itself
    conn.ws_send(ref, Text(PING_ME))
    time.sleep(1.5)  # nobody waits: the driver alone must read the Ping and answer it
    assert conn.await_(ref).frame == Text("pong in time")
    close_cleanly(conn, ref, plain_server)
