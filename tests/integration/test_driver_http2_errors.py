"""Both drivers against a scripted fake HTTP/2 server on a socket: each error path ends
in the documented error or down reason, and nothing hangs."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from gun_core.errors import ConnectionDown, StreamError
from gun_core.http2_frames import ErrorCode
from gun_io import GunDown, GunResponse
from tests.helpers.fake_origin import FakeOrigin
from tests.helpers.h2 import T_HEADERS, H2Server

Script = Callable[[socket.socket, H2Server, list[int]], None]


def h2_origin(script: Script) -> FakeOrigin:
    """A fake origin that reads the client preface and SETTINGS, answers with its own, then runs
    ``script(sock, server, stream_ids)`` once the client sent its requests."""

    def run(sock: socket.socket, index: int) -> None:
        server = H2Server()
        sock.settimeout(5)
        sock.sendall(server.settings() + server.settings_ack())
        ids: list[int] = []
        deadline = time.time() + 5
        while time.time() < deadline:
            data = sock.recv(65536)
            if not data:
                return
            for f in server.read(data):
                if f.type == T_HEADERS and f.stream_id not in ids:
                    ids.append(f.stream_id)
            if len(ids) >= 3:
                break
        script(sock, server, ids)
        time.sleep(1)

    return FakeOrigin(run)


def open_h2(driver: Any, origin: FakeOrigin) -> Any:
    return driver.open("127.0.0.1", origin.port, {"protocols": ["http2"], "retry": 0})


def first_down(driver: Any, conn: Any) -> GunDown:
    while True:
        msg = driver.receive(conn.owner, 5)
        if isinstance(msg, GunDown):
            return msg


def test_goaway_reports_unprocessed_streams(driver: Any) -> None:
    """GOAWAY names the last stream processed: later streams are unprocessed (safe to retry)
    and the ones at or below it finish (RFC 9113 6.8)."""

    def script(sock: socket.socket, server: H2Server, ids: list[int]) -> None:
        sock.sendall(server.goaway(ids[0]) + server.response(ids[0], 200, body=b"done"))

    with h2_origin(script) as origin:
        conn = open_h2(driver, origin)
        refs = [conn.get(f"/{i}") for i in range(3)]
        assert conn.await_body(refs[0], 5) == b"done"
        down = first_down(driver, conn)
        assert down.unprocessed_streams == refs[1:]
        assert down.killed_streams == []
        with pytest.raises(ConnectionDown):
            conn.await_(refs[1], 5)
        conn.close()


def test_rst_stream_is_a_stream_error(driver: Any) -> None:
    """RST_STREAM from the server ends that stream with its error code; the others go on (RFC 9113 6.4)."""

    def script(sock: socket.socket, server: H2Server, ids: list[int]) -> None:
        sock.sendall(
            server.rst_stream(ids[0], ErrorCode.INTERNAL_ERROR)
            + server.response(ids[1], 200, body=b"ok")
            + server.response(ids[2], 204)
        )

    with h2_origin(script) as origin:
        conn = open_h2(driver, origin)
        refs = [conn.get(f"/{i}") for i in range(3)]
        with pytest.raises(StreamError) as info:
            conn.await_(refs[0], 5)
        assert info.value.reason.code == ErrorCode.INTERNAL_ERROR
        assert conn.await_body(refs[1], 5) == b"ok"
        msg = conn.await_(refs[2], 5)
        assert isinstance(msg, GunResponse) and msg.status == 204 and msg.fin
        conn.close()


def test_protocol_violation_is_answered_with_goaway(driver: Any) -> None:
    """DATA on stream 0 is a connection error PROTOCOL_ERROR: we send GOAWAY with that code and
    every stream is reported in GunDown (RFC 9113 6.1, 5.4.1)."""
    seen: list[bytes] = []

    def script(sock: socket.socket, server: H2Server, ids: list[int]) -> None:
        sock.sendall(server.data(0, b"bad"))
        sock.settimeout(3)
        try:
            while chunk := sock.recv(65536):  # everything the client sends until it closes
                seen.append(chunk)
        except (TimeoutError, OSError):
            pass

    with h2_origin(script) as origin:
        conn = open_h2(driver, origin)
        refs = [conn.get(f"/{i}") for i in range(3)]
        down = first_down(driver, conn)
        assert down.reason.code == ErrorCode.PROTOCOL_ERROR
        assert sorted(map(id, down.killed_streams + down.unprocessed_streams)) == sorted(map(id, refs))
        with pytest.raises(ConnectionDown):
            conn.await_(refs[0], 5)
        deadline = time.time() + 5
        while time.time() < deadline and b"".join(seen).find(b"\x07\x00\x00\x00\x00\x00") < 0:
            time.sleep(0.02)  # the script thread may still be reading
        conn.close()
    goaway = [f for f in H2Server().read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"".join(seen)) if f.type == 7]
    assert goaway and goaway[0].error_code() == ErrorCode.PROTOCOL_ERROR


def test_server_close_mid_stream_kills_streams(driver: Any) -> None:
    """The server closing the socket mid-response kills the started streams."""

    def script(sock: socket.socket, server: H2Server, ids: list[int]) -> None:
        sock.sendall(server.headers(ids[0], [(b":status", b"200")]) + server.data(ids[0], b"part"))
        sock.close()

    with h2_origin(script) as origin:
        conn = open_h2(driver, origin)
        refs = [conn.get(f"/{i}") for i in range(3)]
        assert isinstance(conn.await_(refs[0], 5), GunResponse)
        assert conn.await_(refs[0], 5).data == b"part"
        with pytest.raises(ConnectionDown):
            conn.await_(refs[0], 5)
        down = first_down(driver, conn)
        assert refs[0] in down.killed_streams
        assert down.reason.kind == "closed"
        conn.close()
