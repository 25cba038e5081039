"""Workload ``ws``: websocket echo round trips, one message at a time, on one connection.

20,000 binary messages of 16 B, and 1,000 of 64 KiB: each client sends one, waits for its
echo, sends the next (timed after a first round trip). The server is ``bench/wsecho.py``
in a subprocess. Clients: gun (sync driver), gun.aio, the ``websockets`` asyncio client,
aiohttp's ``ws_connect``, and two floors: a raw socket that sends a pre-built masked frame and
``recv_into``s the echo (no parsing, no copy, no Python object per message), and the asyncio
floor, the same in a bare asyncio ``Protocol`` resolving a ``Future`` per echo (the least any
asyncio client pays per round trip).
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time
from collections.abc import Callable

import gun_io
from bench.common import HOST, Bench, Client, Servers, Target
from gun_io import Binary, Close, GunUpgrade, aio


def gun_sync(port: int, payload: bytes, n: int) -> float:
    conn = gun_io.open(HOST, port, {"retry": 0})
    conn.await_up()
    ref = conn.ws_upgrade("/")
    assert isinstance(conn.await_(ref), GunUpgrade)
    frame = Binary(payload)
    conn.ws_send(ref, frame)
    conn.await_(ref)
    t = time.perf_counter()
    for _ in range(n):
        conn.ws_send(ref, frame)
        got = conn.await_(ref).frame
    dt = time.perf_counter() - t
    assert got == frame
    conn.ws_send(ref, Close(1000))
    conn.await_(ref)
    conn.close()
    return n / dt


def gun_aio(port: int, payload: bytes, n: int) -> float:
    async def run() -> float:
        conn = aio.open(HOST, port, {"retry": 0})
        await conn.await_up()
        ref = conn.ws_upgrade("/")
        assert isinstance(await conn.await_(ref), GunUpgrade)
        frame = Binary(payload)
        conn.ws_send(ref, frame)
        await conn.await_(ref)
        t = time.perf_counter()
        for _ in range(n):
            conn.ws_send(ref, frame)
            got = (await conn.await_(ref)).frame
        dt = time.perf_counter() - t
        assert got == frame
        conn.ws_send(ref, Close(1000))
        await conn.await_(ref)
        conn.close()
        return n / dt

    return asyncio.run(run())


def websockets_client(port: int, payload: bytes, n: int) -> float:
    from websockets.asyncio.client import connect

    async def run() -> float:
        async with connect(f"ws://{HOST}:{port}/", compression=None, max_size=None, ping_interval=None) as ws:
            await ws.send(payload)
            await ws.recv()
            t = time.perf_counter()
            for _ in range(n):
                await ws.send(payload)
                got = await ws.recv()
            dt = time.perf_counter() - t
        assert got == payload
        return n / dt

    return asyncio.run(run())


def aiohttp_client(port: int, payload: bytes, n: int) -> float:
    import aiohttp

    async def run() -> float:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"http://{HOST}:{port}/", max_msg_size=0, autoping=True) as ws,
        ):
            await ws.send_bytes(payload)
            await ws.receive_bytes()
            t = time.perf_counter()
            for _ in range(n):
                await ws.send_bytes(payload)
                got = await ws.receive_bytes()
            dt = time.perf_counter() - t
        assert got == payload
        return n / dt

    return asyncio.run(run())


def header(first: int, n: int, masked: bool) -> bytes:
    bit = 0x80 if masked else 0
    if n < 126:
        return bytes((first, bit | n))
    if n < 65536:
        return bytes((first, bit | 126)) + struct.pack("!H", n)
    return bytes((first, bit | 127)) + struct.pack("!Q", n)


def upgrade_request() -> bytes:
    """A websocket upgrade request written by hand, with a fresh key (RFC 6455 4.1)."""
    key = base64.b64encode(os.urandom(16))
    return (
        b"GET / HTTP/1.1\r\nhost: " + HOST.encode() + b"\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
        b"sec-websocket-key: " + key + b"\r\nsec-websocket-version: 13\r\n\r\n"
    )


def raw_socket(port: int, payload: bytes, n: int) -> float:
    """The floor: handshake by hand, then a pre-built masked frame out, the echo recv_into'd."""
    sock = socket.create_connection((HOST, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(upgrade_request())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        head += chunk
    assert head.startswith(b"HTTP/1.1 101") and head.endswith(b"\r\n\r\n"), head
    frame, expect = masked_frame(payload)
    mask = frame[-len(payload) - 4 : -len(payload)]
    buf = bytearray(expect)
    view = memoryview(buf)

    def once() -> None:
        sock.sendall(frame)
        got = 0
        while got < expect:
            k = sock.recv_into(view[got:])
            if not k:
                raise ConnectionError("the echo server closed the connection")
            got += k

    once()
    t = time.perf_counter()
    for _ in range(n):
        once()
    dt = time.perf_counter() - t
    assert bytes(buf[expect - len(payload) :]) == payload
    sock.sendall(header(0x88, 2, True) + mask + bytes(a ^ b for a, b in zip(b"\x03\xe8", mask, strict=False)))
    sock.close()
    return n / dt


class _FloorProtocol(asyncio.Protocol):
    """The least an asyncio client does per message: bytes in, a Future resolved per read."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def until(self, done: Callable[[bytearray], bool]) -> None:
        loop = asyncio.get_running_loop()
        while not done(self.buf):
            self.waiter = loop.create_future()
            await self.waiter


def asyncio_floor(port: int, payload: bytes, n: int) -> float:
    """The asyncio floor: a bare Protocol, a pre-built masked frame out, a Future per echo, no parsing.

    Every asyncio client (gun.aio, aiohttp, websockets) pays at least this for a round trip."""

    async def run() -> float:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_connection(_FloorProtocol, HOST, port)
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.write(upgrade_request())
        await proto.until(lambda buf: b"\r\n\r\n" in buf)
        assert proto.buf.startswith(b"HTTP/1.1 101"), bytes(proto.buf[:80])
        del proto.buf[: proto.buf.index(b"\r\n\r\n") + 4]
        frame, expect = masked_frame(payload)

        async def once() -> None:
            transport.write(frame)
            await proto.until(lambda buf: len(buf) >= expect)
            del proto.buf[:expect]

        await once()
        t = time.perf_counter()
        for _ in range(n):
            await once()
        dt = time.perf_counter() - t
        transport.close()
        return n / dt

    return asyncio.run(run())


def masked_frame(payload: bytes) -> tuple[bytes, int]:
    """A client's binary frame of ``payload`` (masked with a random key) and the echo's length."""
    mask = os.urandom(4)
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes((mask * len(payload))[: len(payload)], "big")).to_bytes(
        len(payload), "big"
    )
    return header(0x82, len(payload), True) + mask + masked, len(header(0x82, len(payload), False)) + len(payload)


def run_ws(b: Bench, servers: Servers) -> None:
    port = servers.ws_echo()
    cases = [
        ("ws-16B", 16, b.n(20_000, 1000), "4. ws echo 16 B: gun >= 1.3x aiohttp", ("aiohttp",), 1.3),
        ("ws-64KiB", 64 << 10, b.n(1000, 100), "4. ws echo 64 KiB: gun >= 1.2x websockets", ("websockets",), 1.2),
    ]
    for key, size, n, label, peers, factor in cases:
        payload = os.urandom(size)
        human = f"{size} B" if size < 1024 else f"{size >> 10} KiB"
        b.table(
            key,
            f"websocket echo of {n:,} binary messages of {human}, one at a time (bench/wsecho.py on {HOST})",
            "messages/s",
            [
                Client("gun", lambda p=payload, n=n: gun_sync(port, p, n)),
                Client("gun.aio", lambda p=payload, n=n: gun_aio(port, p, n)),
                Client("websockets", lambda p=payload, n=n: websockets_client(port, p, n), ("py:websockets",)),
                Client("aiohttp", lambda p=payload, n=n: aiohttp_client(port, p, n), ("py:aiohttp",)),
                Client("raw socket", lambda p=payload, n=n: raw_socket(port, p, n)),
                Client("asyncio floor", lambda p=payload, n=n: asyncio_floor(port, p, n)),
            ],
            [
                Target(label, "gun", peers, factor),
                Target(label.replace("gun", "gun.aio", 1).replace(": gun ", ": gun.aio "), "gun.aio", peers, factor),
            ],
            warmup=True,
        )
