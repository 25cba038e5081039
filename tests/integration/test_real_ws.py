"""Websocket through both drivers: hypercorn over HTTP/1.1 and HTTP/2 (RFC 8441),
and scripted fake servers for each refusal."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import time
import zlib
from typing import Any

import pytest

from gun_core.errors import ConnectionDown, ConnectionFailure, StreamError
from gun_io import Binary, Close, GunResponse, GunUpgrade, GunWs, Ping, Text
from tests.helpers.fake_origin import FakeOrigin, read_request

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def tls(ca: Any) -> dict[str, Any]:
    return {"transport": "tls", "tls_opts": {"cafile": str(ca.cafile)}}


def echo_round_trip(conn: Any, ref: Any) -> None:
    big = os.urandom(300_000)
    conn.ws_send(ref, [Text("hello"), Binary(b"\x00\x01\x02"), Text("é" * 1000), Binary(big)])
    assert conn.await_(ref).frame == Text("hello")
    assert conn.await_(ref).frame == Binary(b"\x00\x01\x02")
    assert conn.await_(ref).frame == Text("é" * 1000)
    assert conn.await_(ref, 10).frame == Binary(big)
    conn.ws_send(ref, Close(1000, "bye"))
    msg = conn.await_(ref)
    assert isinstance(msg, GunWs) and isinstance(msg.frame, Close) and msg.frame.code == 1000


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "deflate"])
def test_hypercorn_ws_http1(driver: Any, hypercorn_server: Any, compress: bool) -> None:
    """Upgrade over HTTP/1.1 gives GunUpgrade; text and binary echo; the close handshake ends it."""
    conn = driver.open("127.0.0.1", hypercorn_server.plain_port)
    assert conn.await_up() == "http"
    ref = conn.ws_upgrade("/ws", [], {"compress": compress})
    up = conn.await_(ref)
    assert isinstance(up, GunUpgrade) and up.protocols == ["websocket"]
    ext = dict(up.headers).get(b"sec-websocket-extensions", b"")
    assert (b"permessage-deflate" in ext) is compress
    echo_round_trip(conn, ref)
    conn.close()


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "deflate"])
def test_hypercorn_ws_http2(driver: Any, hypercorn_server: Any, test_ca: Any, compress: bool) -> None:
    """Over HTTP/2 the upgrade is an extended CONNECT (RFC 8441) on one stream, beside
    ordinary requests on the same connection; two websockets share it."""
    conn = driver.open("localhost", hypercorn_server.tls_port, tls(test_ca))
    assert conn.await_up() == "http2"
    ref = conn.ws_upgrade("/ws", [], {"compress": compress})
    ref2 = conn.ws_upgrade("/ws")
    assert isinstance(conn.await_(ref), GunUpgrade)
    assert isinstance(conn.await_(ref2), GunUpgrade)
    get = conn.get("/")
    conn.ws_send(ref2, Text("second"))
    assert conn.await_body(get) == b"Hello world!\n"
    assert conn.await_(ref2).frame == Text("second")
    echo_round_trip(conn, ref)
    assert conn.await_body(conn.get("/")) == b"Hello world!\n"
    conn.close()


def test_hypercorn_subprotocol_and_refusal(driver: Any, hypercorn_server: Any) -> None:
    """The server's subprotocol choice is one we offered; a refusal is an ordinary response."""
    conn = driver.open("127.0.0.1", hypercorn_server.plain_port)
    ref = conn.ws_upgrade("/ws", [], {"protocols": ["chat.v2", "chat.v1"]})
    up = conn.await_(ref)
    assert isinstance(up, GunUpgrade)
    assert dict(up.headers)[b"sec-websocket-protocol"] == b"chat.v2"
    conn.close()
    conn = driver.open("127.0.0.1", hypercorn_server.plain_port)
    ref = conn.ws_upgrade("/ws-reject")
    msg = conn.await_(ref)
    assert isinstance(msg, GunResponse) and msg.status == 403
    conn.close()


def test_hypercorn_server_close_code(driver: Any, hypercorn_server: Any) -> None:
    """A server-initiated close is delivered with its code, then the connection goes down."""
    conn = driver.open("127.0.0.1", hypercorn_server.plain_port, {"retry": 0})
    ref = conn.ws_upgrade("/ws?close=4001")
    assert isinstance(conn.await_(ref), GunUpgrade)
    msg = conn.await_(ref)
    assert isinstance(msg.frame, Close) and msg.frame.code == 4001
    conn.wait_closed(5)


# ---------------------------------------------------------------------------- fake servers


def ws_server(after_handshake: Any, *, accept: bytes | None = None, extensions: bytes | None = None) -> Any:
    def script(sock: socket.socket, index: int) -> None:
        head, _ = read_request(sock)
        key = next(
            line.split(b":", 1)[1].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        acc = accept if accept is not None else base64.b64encode(hashlib.sha1(key + GUID).digest())
        resp = (
            b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: "
            + acc
            + b"\r\n"
        )
        if extensions:
            resp += b"sec-websocket-extensions: " + extensions + b"\r\n"
        sock.sendall(resp + b"\r\n")
        after_handshake(sock)
        time.sleep(1)

    return script


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False, mask: bool = False) -> bytes:
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, n | (0x80 if mask else 0))
    elif n < 65536:
        head = struct.pack("!BBH", b0, 126 | (0x80 if mask else 0), n)
    else:
        head = struct.pack("!BBQ", b0, 127 | (0x80 if mask else 0), n)
    if mask:
        key = b"\x01\x02\x03\x04"
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        head += key
    return head + payload


def read_close(sock: socket.socket) -> int | None:
    """Read client frames until a Close; return its code."""
    sock.settimeout(3)
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
        while len(buf) >= 6:
            b0, b1 = buf[0], buf[1]
            n = b1 & 0x7F
            off = 2
            if n == 126:
                n = struct.unpack("!H", buf[2:4])[0]
                off = 4
            elif n == 127:
                n = struct.unpack("!Q", buf[2:10])[0]
                off = 10
            if len(buf) < off + 4 + n:
                break
            key = buf[off : off + 4]
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(buf[off + 4 : off + 4 + n]))
            buf = buf[off + 4 + n :]
            if b0 & 0x0F == 8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005


def run_refusal(driver: Any, script: Any, opts: dict[str, Any] | None = None) -> tuple[Any, Any, Any]:
    codes: list[int | None] = []

    def wrapped(after: Any) -> Any:
        def inner(sock: socket.socket) -> None:
            after(sock)
            codes.append(read_close(sock))

        return inner

    origin = FakeOrigin(script(wrapped))
    conn = driver.open("127.0.0.1", origin.port, {"retry": 0})
    ref = conn.ws_upgrade("/", [], opts or {})
    return origin, conn, (ref, codes)


def test_bad_accept_key_refused(driver: Any) -> None:
    """A wrong sec-websocket-accept fails the upgrade (RFC 6455 4.1) and the connection."""
    with FakeOrigin(ws_server(lambda s: None, accept=b"d3Jvbmc=")) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"retry": 0})
        ref = conn.ws_upgrade("/")
        with pytest.raises((ConnectionFailure, StreamError, ConnectionDown)) as info:
            conn.await_(ref)
        assert "accept" in str(info.value.reason)


@pytest.mark.parametrize(
    ("payload", "code", "opts"),
    [
        (frame(0x1, b"masked", mask=True), 1002, {}),
        (frame(0x1, b"\xce\xbd\xed\xa0\x80"), 1007, {}),
        (frame(0x8, struct.pack("!H", 1005)), 1002, {}),
        (frame(0x2, b"x" * 2000), 1009, {"max_message_size": 1000}),
    ],
    ids=["masked-server-frame", "invalid-utf8", "bad-close-code", "oversized"],
)
def test_ws_refusals(driver: Any, payload: bytes, code: int, opts: dict[str, Any]) -> None:
    """Each violation is answered with the right close code and reported to the owner."""
    codes: list[int | None] = []

    def after(sock: socket.socket) -> None:
        sock.sendall(payload)
        codes.append(read_close(sock))

    with FakeOrigin(ws_server(after)) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"retry": 0})
        ref = conn.ws_upgrade("/", [], opts)
        assert isinstance(conn.await_(ref), GunUpgrade)
        with pytest.raises((StreamError, ConnectionFailure, ConnectionDown)) as info:
            conn.await_(ref)
        assert info.value.reason.code == code
        deadline = time.time() + 5
        while not codes and time.time() < deadline:
            time.sleep(0.02)
        assert codes == [code]


def test_decompression_bomb_refused(driver: Any) -> None:
    """A small compressed frame that inflates past max_message_size is refused with 1009."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = c.compress(b"\x00" * 50_000_000) + c.flush(zlib.Z_SYNC_FLUSH)
    assert bomb.endswith(b"\x00\x00\xff\xff")
    bomb = bomb[:-4]
    assert len(bomb) < 100_000
    codes: list[int | None] = []

    def after(sock: socket.socket) -> None:
        sock.sendall(frame(0x2, bomb, rsv1=True))
        codes.append(read_close(sock))

    with FakeOrigin(ws_server(after, extensions=b"permessage-deflate")) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"retry": 0})
        ref = conn.ws_upgrade("/", [], {"compress": True, "max_message_size": 1_000_000})
        assert isinstance(conn.await_(ref), GunUpgrade)
        with pytest.raises((StreamError, ConnectionFailure, ConnectionDown)) as info:
            conn.await_(ref, 10)
        assert info.value.reason.code == 1009
        deadline = time.time() + 5
        while not codes and time.time() < deadline:
            time.sleep(0.02)
        assert codes == [1009]


def test_ping_answered_and_silenced(driver: Any) -> None:
    """Pings are answered with the same payload; with silence_pings=False they are delivered too."""
    got: list[bytes] = []

    def after(sock: socket.socket) -> None:
        sock.sendall(frame(0x9, b"are-you-there"))
        sock.settimeout(3)
        data = sock.recv(100)
        got.append(data)

    with FakeOrigin(ws_server(after)) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"retry": 0, "ws_opts": {"silence_pings": False}})
        ref = conn.ws_upgrade("/")
        assert isinstance(conn.await_(ref), GunUpgrade)
        assert conn.await_(ref).frame == Ping(b"are-you-there")
        deadline = time.time() + 5
        while not got and time.time() < deadline:
            time.sleep(0.02)
        pong = got[0]
        assert pong[0] == 0x8A and pong[1] == 0x80 | 13
        key = pong[2:6]
        assert bytes(b ^ key[i % 4] for i, b in enumerate(pong[6:19])) == b"are-you-there"
        conn.close()
