"""Connection lifecycle through both drivers: timeouts, retry policy, keepalive, owner changes."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from gun_core.errors import ConnectionDown
from gun_io import GunDown, GunResponse, GunUp
from tests.helpers.fake_origin import FakeOrigin, read_request, response
from tests.servers import unavailable


def test_tls_handshake_timeout(driver: Any) -> None:
    """A server that accepts TCP but never answers the TLS handshake hits tls_handshake_timeout."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    port = srv.getsockname()[1]
    accepted: list[socket.socket] = []

    def accept() -> None:
        try:
            while True:
                c, _ = srv.accept()
                accepted.append(c)
        except OSError:
            pass

    threading.Thread(target=accept, daemon=True).start()
    t = time.monotonic()
    conn = driver.open("127.0.0.1", port, {"transport": "tls", "retry": 0, "tls_handshake_timeout": 0.3})
    with pytest.raises(ConnectionDown) as info:
        conn.await_up(5)
    assert time.monotonic() - t < 3
    assert info.value.reason.kind in ("timeout", "tls")
    srv.close()
    for c in accepted:
        c.close()


def test_connect_timeout(driver: Any) -> None:
    """connect_timeout bounds the TCP connect (a listener whose accept queue is full drops SYNs)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    for _ in range(4):  # fill the accept queue; later SYNs are dropped by the kernel
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(s)
    time.sleep(0.1)
    probe = socket.socket()
    probe.settimeout(0.3)
    try:
        probe.connect(("127.0.0.1", port))
        queue_full = False
    except (TimeoutError, OSError):
        queue_full = True
    probe.close()
    if not queue_full:
        unavailable("this kernel does not drop SYNs on a full accept queue, so no connect timeout can be staged")
    t = time.monotonic()
    conn = driver.open("127.0.0.1", port, {"retry": 0, "connect_timeout": 0.3})
    with pytest.raises(ConnectionDown) as info:
        conn.await_up(5)
    assert time.monotonic() - t < 3
    assert info.value.reason.kind == "timeout"
    srv.close()
    for s in fillers:
        s.close()


def test_retry_fun_decides_attempts(driver: Any) -> None:
    """retry_fun is asked before each attempt and its answer sets the count and the delay."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    calls: list[int] = []

    def retry_fun(retries: int, opts: Any) -> dict[str, Any]:
        calls.append(retries)
        return {"retries": retries - 1, "timeout": 0.01}

    conn = driver.open("127.0.0.1", port, {"retry": 3, "retry_fun": retry_fun})
    with pytest.raises(ConnectionDown):
        conn.await_up(5)
    assert calls == [3, 2, 1]


def test_keepalive_sends_empty_lines_when_idle(driver: Any) -> None:
    """http_opts keepalive sends an empty line when the connection is idle (Gun's HTTP/1.1 ping)."""
    got = bytearray()

    def script(sock: socket.socket, index: int) -> None:
        buf = bytearray()
        read_request(sock, buf)
        sock.sendall(response(200, b"ok"))
        sock.settimeout(2)
        end = time.monotonic() + 0.6
        while time.monotonic() < end:
            try:
                chunk = sock.recv(100)
            except TimeoutError:
                break
            if not chunk:
                break
            got.extend(chunk)

    with FakeOrigin(script) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"http_opts": {"keepalive": 0.1}})
        assert conn.await_body(conn.get("/")) == b"ok"
        time.sleep(0.7)
        conn.close()
    assert got.count(b"\r\n") >= 2
    assert set(bytes(got)) <= {13, 10}


def test_set_owner_moves_messages(driver: Any) -> None:
    """After set_owner, connection messages and owner-bound streams go to the new mailbox."""

    def serve(sock: socket.socket, index: int) -> None:
        buf = bytearray()
        while True:
            read_request(sock, buf)
            sock.sendall(response(200, b"hi"))

    with FakeOrigin(serve) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"retry": 1, "retry_timeout": 0.05})
        conn.await_up()
        new = driver.mailbox()
        conn.set_owner(new)
        ref = conn.get("/")
        msg = driver.receive(new, 5)
        assert isinstance(msg, GunResponse) and msg.stream_ref is ref
        assert conn.info()["owner"] is new
        conn.close()


def test_http10_mode(driver: Any) -> None:
    """version HTTP/1.0 sends HTTP/1.0 requests asking for keep-alive."""
    heads: list[bytes] = []

    def serve(sock: socket.socket, index: int) -> None:
        buf = bytearray()
        while True:
            head, _ = read_request(sock, buf)
            heads.append(head)
            sock.sendall(b"HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\nok")

    with FakeOrigin(serve) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"http_opts": {"version": "HTTP/1.0"}})
        assert conn.await_body(conn.get("/a")) == b"ok"
        assert conn.await_body(conn.get("/b")) == b"ok"
        assert heads[0].startswith(b"GET /a HTTP/1.0\r\n")
        assert b"connection: keep-alive" in heads[0].lower()
        assert origin.connections == 1
        conn.close()


def test_transform_header_name(driver: Any) -> None:
    """transform_header_name re-cases header names on the wire."""
    heads: list[bytes] = []

    def serve(sock: socket.socket, index: int) -> None:
        head, _ = read_request(sock)
        heads.append(head)
        sock.sendall(response(200, b"ok"))
        time.sleep(0.5)

    def title(name: bytes) -> bytes:
        return b"-".join(p.capitalize() for p in name.split(b"-"))

    with FakeOrigin(serve) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"http_opts": {"transform_header_name": title}})
        assert conn.await_body(conn.get("/", {"x-custom-thing": "1"})) == b"ok"
        assert b"\r\nX-Custom-Thing: 1\r\n" in heads[0]
        conn.close()


def test_connection_close_response_reconnects(driver: Any) -> None:
    """A response with connection: close brings the connection down normally, then back up."""

    def serve(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(response(200, b"bye", [("connection", "close")]))

    with FakeOrigin(serve) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"retry": 3, "retry_timeout": 0.05})
        assert conn.await_body(conn.get("/")) == b"bye"
        kinds = []
        deadline = time.time() + 5
        while time.time() < deadline:
            msg = driver.receive(conn.owner, 5)
            kinds.append(type(msg))
            if isinstance(msg, GunUp) and GunDown in kinds:
                break
        assert GunDown in kinds and kinds[-1] is GunUp
        assert conn.await_body(conn.get("/"), 5) == b"bye"
        conn.close()
