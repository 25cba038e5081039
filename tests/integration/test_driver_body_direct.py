"""The sync driver's await_body reads a large content-length body straight from the socket into
the result (gun_io.connection: Connection._read_body). What it returns and raises must be what
the message path gives: same bytes, same errors, the next response untouched."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

import gun_io
from gun_core.errors import ConnectionDown, Timeout
from gun_io.connection import Connection
from tests.helpers.fake_origin import FakeOrigin, read_request

BIG = bytes(range(251)) * 1000  # 251,000 bytes: read directly
SMALL = bytes(range(251)) * 40  # 10,040 bytes: through the messages


def _head(n: int, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n" % (n, extra)


@pytest.fixture
def direct_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the bodies _read_body returned whole (the direct path taken)."""
    sizes: list[int] = []
    real = Connection._read_body

    def spy(self: Connection, *args: Any) -> bytes | None:
        body = real(self, *args)
        if body is not None:
            sizes.append(len(body))
        return body

    monkeypatch.setattr(Connection, "_read_body", spy)
    return sizes


def _open(origin: FakeOrigin) -> gun_io.Connection:
    conn = gun_io.open("127.0.0.1", origin.port, {"retry": 0})
    conn.await_up()
    return conn


def test_a_trickled_body_arrives_whole(direct_reads: list[int]) -> None:
    def script(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(_head(len(BIG)) + BIG[:3000])
        for i in range(3000, len(BIG), 20000):
            time.sleep(0.005)
            sock.sendall(BIG[i : i + 20000])
        read_request(sock)
        sock.sendall(_head(2) + b"ok")
        sock.recv(1)

    with FakeOrigin(script) as origin:
        conn = _open(origin)
        body = conn.await_body(conn.get("/big"))
        assert type(body) is bytes and body == BIG
        assert conn.await_body(conn.get("/next")) == b"ok"  # the connection goes on
        conn.close()
    assert direct_reads == [len(BIG)]


def test_pipelined_responses_stay_apart(direct_reads: list[int]) -> None:
    def script(sock: socket.socket, index: int) -> None:
        buf = bytearray()
        read_request(sock, buf)
        read_request(sock, buf)
        sock.sendall(_head(len(BIG)) + BIG + _head(len(SMALL)) + SMALL + _head(len(BIG)) + BIG[:100])
        time.sleep(0.05)
        sock.sendall(BIG[100:])
        sock.recv(1)

    with FakeOrigin(script) as origin:
        conn = _open(origin)
        first, second = conn.get("/1"), conn.get("/2")
        third = conn.get("/3")
        assert conn.await_body(first) == BIG
        assert conn.await_body(second) == SMALL
        assert conn.await_body(third) == BIG
        conn.close()
    assert direct_reads and set(direct_reads) == {len(BIG)}  # the third at least; never the small one


@pytest.mark.parametrize("body", [BIG, SMALL], ids=["direct", "messages"])
def test_a_close_in_the_middle_raises_as_on_the_message_path(body: bytes) -> None:
    def script(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(_head(len(body)) + body[:5000])
        time.sleep(0.05)
        sock.sendall(body[5000 : len(body) // 2])
        time.sleep(0.05)

    with FakeOrigin(script) as origin:
        conn = _open(origin)
        ref = conn.get("/")
        with pytest.raises(ConnectionDown) as info:
            conn.await_body(ref)
        assert info.value.reason.kind == "closed"
        assert "body bytes received" in info.value.reason.message
        conn.close()


def test_a_stalled_body_times_out() -> None:
    def script(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(_head(len(BIG)) + BIG[:70000])
        time.sleep(2)

    with FakeOrigin(script) as origin:
        conn = _open(origin)
        start = time.monotonic()
        with pytest.raises(Timeout):
            conn.await_body(conn.get("/"), 0.3)
        assert time.monotonic() - start < 1.5
        conn.close()


def test_a_body_that_ends_the_connection() -> None:
    def script(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(_head(len(BIG), b"connection: close\r\n") + BIG)
        time.sleep(0.2)

    with FakeOrigin(script) as origin:
        conn = _open(origin)
        assert conn.await_body(conn.get("/")) == BIG
        down = conn.owner.receive(2, lambda m: type(m) is gun_io.GunDown)
        assert down.killed_streams == [] and down.unprocessed_streams == [] and down.reason.kind == "closed"
        conn.close()


def test_a_stream_with_its_own_mailbox(direct_reads: list[int]) -> None:
    def script(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(_head(len(BIG)))
        time.sleep(0.02)
        sock.sendall(BIG)
        sock.recv(1)

    with FakeOrigin(script) as origin:
        conn = _open(origin)
        box = gun_io.Mailbox()
        ref = conn.get("/", opts={"reply_to": box})
        assert conn.await_body(ref) == BIG
        assert len(box) == 0 and not any(getattr(m, "stream_ref", None) is ref for m in conn.owner.messages())
        conn.close()
    assert direct_reads == [len(BIG)]
