"""Both drivers over HTTP/1.1 against scripted fake origins on 127.0.0.1."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
from typing import Any

import pytest

from gun_core.errors import BadOption, ConnectionDown, InvalidHeader, StreamError, Timeout
from gun_io import GunData, GunDown, GunInform, GunResponse, GunTrailers, GunUp
from tests.helpers.fake_origin import FakeOrigin, read_request, response

HELLO = b"Hello world!\n"


def serve_hello(sock: socket.socket, index: int) -> None:
    buf = bytearray()
    while True:
        _head, _ = read_request(sock, buf)
        sock.sendall(response(200, HELLO, [("content-type", "text/plain")]))


def test_get_and_body(driver: Any) -> None:
    """A GET over a fresh connection gives GunUp, a response and its body."""
    with FakeOrigin(serve_hello) as origin:
        conn = driver.open("127.0.0.1", origin.port)
        assert conn.await_up() == "http"
        ref = conn.get("/")
        msg = conn.await_(ref)
        assert isinstance(msg, GunResponse)
        assert msg.status == 200 and msg.fin is False
        assert (b"content-type", b"text/plain") in msg.headers
        assert conn.await_body(ref) == HELLO
        info = conn.info()
        assert info["protocol"] == "http" and info["transport"] == "tcp"
        assert info["peername"][1] == origin.port
        conn.close()


def test_requests_before_up_are_queued(driver: Any) -> None:
    """Requests made before the connection is up are sent once it is (Gun's behaviour)."""
    with FakeOrigin(serve_hello) as origin:
        conn = driver.open("127.0.0.1", origin.port)
        refs = [conn.get(f"/{i}") for i in range(5)]
        for ref in refs:
            assert conn.await_body(ref) == HELLO
        conn.close()


def test_pipelined_requests_in_order(driver: Any) -> None:
    """Many requests in flight on one connection get their own responses, in order."""

    def script(sock: socket.socket, index: int) -> None:
        buf = bytearray()
        while True:
            head, _ = read_request(sock, buf)
            path = head.split(b" ")[1]
            sock.sendall(response(200, path))

    with FakeOrigin(script) as origin:
        conn = driver.open("127.0.0.1", origin.port)
        conn.await_up()
        refs = [conn.get(f"/p{i}") for i in range(200)]
        for i, ref in enumerate(refs):
            assert conn.await_body(ref) == f"/p{i}".encode()
        assert origin.connections == 1
        conn.close()


def test_post_body_and_streamed_body(driver: Any) -> None:
    """A body given at once is sent with content-length; a streamed one chunked."""
    seen: list[tuple[bytes, bytes]] = []

    def script(sock: socket.socket, index: int) -> None:
        buf = bytearray()
        while True:
            head, body = read_request(sock, buf)
            seen.append((head, body))
            sock.sendall(response(200, body))

    with FakeOrigin(script) as origin:
        conn = driver.open("127.0.0.1", origin.port)
        ref = conn.post("/a", [("content-type", "text/plain")], b"payload")
        assert conn.await_body(ref) == b"payload"
        ref2 = conn.post("/b", {"content-type": "application/octet-stream"})
        conn.data(ref2, False, b"part1-")
        conn.data(ref2, False, "part2-")
        conn.data(ref2, True, b"end")
        assert conn.await_body(ref2) == b"part1-part2-end"
        assert b"content-length: 7" in seen[0][0].lower()
        assert b"transfer-encoding: chunked" in seen[1][0].lower()
        conn.close()


def test_bad_options_raise_at_open(driver: Any) -> None:
    """Unknown or ill-typed options raise BadOption at open time."""
    with pytest.raises(BadOption):
        driver.open("127.0.0.1", 1, {"no_such_option": 1})
    with pytest.raises(BadOption):
        driver.open("127.0.0.1", 1, {"retry": "many"})
    with pytest.raises(BadOption):
        driver.open("127.0.0.1", 1, {"protocols": ["http", "http2"]})  # tcp: exactly one
    with pytest.raises(BadOption):
        driver.open("127.0.0.1", 1, {"http_opts": {"version": "HTTP/2"}})
    with pytest.raises(ValueError):
        driver.open("127.0.0.1", 1, {"transport": "quic"})


def test_invalid_header_raises(driver: Any) -> None:
    """CR, LF or NUL in a header raise InvalidHeader at the call, unless told to ignore."""
    with FakeOrigin(serve_hello) as origin:
        conn = driver.open("127.0.0.1", origin.port)
        with pytest.raises(InvalidHeader):
            conn.get("/", [("x-evil", "a\r\nset-cookie: 1")])
        with pytest.raises(InvalidHeader):
            conn.get("/", [("x-bad\n", "a")])
        ref = conn.get("/", [("x-evil", "a\r\nb"), ("x-ok", "1")], {"invalid_request_headers": "ignore"})
        assert conn.await_body(ref) == HELLO
        conn.close()


def test_timeout(driver: Any) -> None:
    """await_ raises Timeout (a TimeoutError) when nothing arrives in time."""

    def script(sock: socket.socket, index: int) -> None:
        read_request(sock)
        time.sleep(2)

    with FakeOrigin(script) as origin:
        conn = driver.open("127.0.0.1", origin.port)
        ref = conn.get("/")
        with pytest.raises(TimeoutError):
            conn.await_(ref, 0.2)
        with pytest.raises(Timeout):
            conn.await_(ref, 0.1)
        conn.close()


def test_server_close_kills_and_reconnects(driver: Any) -> None:
    """When the server drops the connection, the stream being answered is killed,
    pipelined ones are unprocessed, and the connection comes back up (retry)."""

    def script(sock: socket.socket, index: int) -> None:
        buf = bytearray()
        if index == 0:
            read_request(sock, buf)
            time.sleep(0.2)
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
            return  # close mid-body
        serve_hello(sock, index)

    with FakeOrigin(script) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"retry": 2, "retry_timeout": 0.1})
        conn.await_up()
        r1 = conn.get("/1")
        r2 = conn.get("/2")
        r3 = conn.get("/3")
        assert isinstance(conn.await_(r1), GunResponse)
        assert conn.await_(r1).data == b"partial"
        with pytest.raises(ConnectionDown):
            conn.await_(r1)
        with pytest.raises(ConnectionDown):
            conn.await_(r2)
        down = driver.receive(conn.owner, 5)
        while not isinstance(down, GunDown):
            down = driver.receive(conn.owner, 5)
        assert down.killed_streams == [r1]
        assert down.unprocessed_streams == [r2, r3]
        assert down.protocol == "http"
        up = driver.receive(conn.owner, 5)
        assert isinstance(up, GunUp)
        ref = conn.get("/again")
        assert conn.await_body(ref) == HELLO
        conn.close()


def test_connect_refused_gives_up(driver: Any) -> None:
    """With nothing listening, the attempts run out and waiting raises ConnectionDown."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    conn = driver.open("127.0.0.1", port, {"retry": 1, "retry_timeout": 0.05})
    ref = conn.get("/")
    with pytest.raises(ConnectionDown) as info:
        conn.await_up(5)
    assert "refused" in str(info.value.reason)
    with pytest.raises(ConnectionDown):
        conn.await_(ref, 5)


def test_reply_to_and_flush(driver: Any) -> None:
    """reply_to sends a stream's messages to another mailbox; flush drops messages."""
    with FakeOrigin(serve_hello) as origin:
        conn = driver.open("127.0.0.1", origin.port)
        other = driver.mailbox()
        ref = conn.get("/", (), {"reply_to": other})
        msg = driver.receive(other, 5)
        assert isinstance(msg, GunResponse) and msg.stream_ref is ref
        assert isinstance(driver.receive(other, 5), GunData)
        ref2 = conn.get("/")
        conn.await_(ref2)  # the response
        time.sleep(0.2)
        conn.flush(ref2)
        with pytest.raises(Timeout):
            conn.await_(ref2, 0.2)
        conn.close()


def test_flow_control_pauses_and_resumes(driver: Any) -> None:
    """A stream opened with flow gets about that many bytes until update_flow grants more."""
    big = os.urandom(2_000_000)

    def script(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(response(200, big))
        time.sleep(5)

    with FakeOrigin(script) as origin:
        conn = driver.open("127.0.0.1", origin.port)
        ref = conn.get("/", (), {"flow": 100_000})
        assert isinstance(conn.await_(ref), GunResponse)
        got = bytearray()
        with pytest.raises(Timeout):
            while True:
                got += conn.await_(ref, 0.5).data
        assert 100_000 <= len(got) < len(big)
        assert len(got) <= 100_000 + 262144 * 2  # at most what was in flight when credit ran out
        while len(got) < len(big):
            conn.update_flow(ref, 500_000)
            msg = conn.await_(ref, 5)
            got += msg.data
            while not msg.fin:
                try:
                    msg = conn.await_(ref, 0.3)
                except Timeout:
                    break
                got += msg.data
        assert bytes(got) == big
        conn.close()


def test_shutdown_finishes_streams(driver: Any) -> None:
    """shutdown() lets the responses in progress finish, then closes without reconnecting."""

    def script(sock: socket.socket, index: int) -> None:
        read_request(sock)
        time.sleep(0.3)
        sock.sendall(response(200, b"late"))
        sock.recv(10)

    with FakeOrigin(script) as origin:
        conn = driver.open("127.0.0.1", origin.port)
        conn.await_up()
        ref = conn.get("/")
        time.sleep(0.05)
        conn.shutdown()
        assert conn.await_body(ref) == b"late"
        conn.wait_closed(5)
        assert origin.connections == 1
        with pytest.raises(ConnectionDown):
            conn.await_(conn.get("/"), 1)


def test_malformed_response_is_an_error(driver: Any) -> None:
    """A malformed status line ends the stream with an error and brings the connection down."""

    def script(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(b"HTTP/1.1 abc Nope\r\n\r\n")
        time.sleep(1)

    with FakeOrigin(script) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"retry": 0})
        ref = conn.get("/")
        with pytest.raises((StreamError, ConnectionDown)):
            conn.await_(ref, 5)
        conn.close()


def test_trailers(driver: Any) -> None:
    """Chunked trailers arrive as GunTrailers and end the response."""

    def script(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n"
            b"5\r\nhello\r\n0\r\nx-checksum: 42\r\n\r\n"
        )
        time.sleep(1)

    with FakeOrigin(script) as origin:
        conn = driver.open("127.0.0.1", origin.port)
        ref = conn.get("/")
        assert isinstance(conn.await_(ref), GunResponse)
        d = conn.await_(ref)
        assert d.data == b"hello" and d.fin is False
        t = conn.await_(ref)
        assert isinstance(t, GunTrailers) and t.headers == [(b"x-checksum", b"42")]
        conn.close()


def test_unix_socket(driver: Any) -> None:
    """open_unix talks HTTP over a Unix domain socket."""
    path = os.path.join(tempfile.mkdtemp(), "s.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)

    def run() -> None:
        c, _ = srv.accept()
        with c:
            head, _ = read_request(c)
            assert b"\r\nhost: localhost\r\n" in head
            c.sendall(response(200, b"unix"))
            time.sleep(0.5)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    conn = driver.open_unix(path)
    ref = conn.get("/")
    assert conn.await_body(ref) == b"unix"
    assert conn.info()["transport"] == "unix"
    conn.close()
    srv.close()


def test_trace_logs(driver: Any, caplog: pytest.LogCaptureFixture) -> None:
    """trace=True logs bytes and events to the gun_io.trace logger at DEBUG."""
    with FakeOrigin(serve_hello) as origin, caplog.at_level(logging.DEBUG, logger="gun_io.trace"):
        conn = driver.open("127.0.0.1", origin.port, {"trace": True})
        assert conn.await_body(conn.get("/")) == HELLO
        conn.close()
    text = caplog.text
    assert "GET / HTTP/1.1" in text
    assert "Response(" in text


def test_stream_info_and_cancel(driver: Any) -> None:
    """stream_info describes a running stream; cancel silences an HTTP/1.1 stream."""

    def script(sock: socket.socket, index: int) -> None:
        buf = bytearray()
        read_request(sock, buf)
        time.sleep(0.3)
        sock.sendall(response(200, b"first"))
        read_request(sock, buf)
        sock.sendall(response(200, b"second"))
        time.sleep(1)

    with FakeOrigin(script) as origin:
        conn = driver.open("127.0.0.1", origin.port)
        conn.await_up()
        r1 = conn.get("/1")
        info = conn.stream_info(r1)
        assert info is not None and info["ref"] is r1 and info["method"] == b"GET"
        conn.cancel(r1)
        r2 = conn.get("/2")
        assert conn.await_body(r2) == b"second"
        with pytest.raises(Timeout):
            conn.await_(r1, 0.2)
        assert conn.stream_info(r1) is None
        conn.close()


def one_response(raw: bytes, linger: float = 1.0) -> Any:
    def script(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(raw)
        time.sleep(linger)

    return script


def test_bad_chunk_size_is_a_stream_error(driver: Any) -> None:
    """An invalid chunk size line ends the stream with an error naming the line."""
    raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
    with FakeOrigin(one_response(raw)) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"retry": 0})
        ref = conn.get("/")
        assert isinstance(conn.await_(ref), GunResponse)
        with pytest.raises(StreamError) as info:
            conn.await_(ref)
        assert "zz" in str(info.value.reason)
        conn.close()


def test_truncated_body_kills_the_stream(driver: Any) -> None:
    """A body cut short by the server closing is reported: the stream is killed."""
    raw = b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nonly this"
    with FakeOrigin(one_response(raw, linger=0)) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"retry": 0})
        ref = conn.get("/")
        assert isinstance(conn.await_(ref), GunResponse)
        assert conn.await_(ref).data == b"only this"
        with pytest.raises(ConnectionDown):
            conn.await_(ref)
        down = driver.receive(conn.owner, 5)
        while not isinstance(down, GunDown):
            down = driver.receive(conn.owner, 5)
        assert down.killed_streams == [ref]
        conn.close()


def test_oversized_headers_refused(driver: Any) -> None:
    """A response head larger than max_header_block_size is an error naming the limit."""
    raw = b"HTTP/1.1 200 OK\r\n" + b"x-filler: " + b"a" * 10_000 + b"\r\ncontent-length: 0\r\n\r\n"
    with FakeOrigin(one_response(raw)) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"retry": 0, "http_opts": {"max_header_block_size": 4096}})
        ref = conn.get("/")
        with pytest.raises(StreamError) as info:
            conn.await_(ref)
        assert "max_header_block_size" in str(info.value.reason)
        conn.close()


def test_100_continue_and_103(driver: Any) -> None:
    """1xx responses arrive as GunInform before the final response."""
    raw = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok"
    )
    with FakeOrigin(one_response(raw)) as origin:
        conn = driver.open("127.0.0.1", origin.port)
        ref = conn.post("/", [("content-type", "text/plain")], b"body")
        first = conn.await_(ref)
        assert isinstance(first, GunInform) and first.status == 100
        second = conn.await_(ref)
        assert isinstance(second, GunInform) and second.status == 103
        assert (b"link", b"</style.css>; rel=preload") in second.headers
        final = conn.await_(ref)
        assert isinstance(final, GunResponse) and final.status == 201
        assert conn.await_body(ref) == b"ok"
        conn.close()


def test_smuggling_defences(driver: Any) -> None:
    """Both transfer-encoding and content-length in a response is a stream error (RFC 9112 6.3)."""
    raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    with FakeOrigin(one_response(raw)) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"retry": 0})
        ref = conn.get("/")
        with pytest.raises(StreamError):
            conn.await_(ref)
        conn.close()


def test_slow_loris_trickle(driver: Any) -> None:
    """A response trickled one byte at a time still parses, and nothing hangs."""
    raw = response(200, b"trickled body", [("x-a", "1")])

    def script(sock: socket.socket, index: int) -> None:
        read_request(sock)
        for i in range(len(raw)):
            sock.sendall(raw[i : i + 1])
            time.sleep(0.002)
        time.sleep(0.5)

    with FakeOrigin(script) as origin:
        conn = driver.open("127.0.0.1", origin.port)
        ref = conn.get("/")
        assert conn.await_body(ref, 5) == b"trickled body"
        conn.close()


def _one_ok(sock: socket.socket, index: int) -> None:
    """A fake origin's script: answer one request with 200 "ok", then hold the connection."""
    read_request(sock)
    sock.sendall(response(200, b"ok"))
    time.sleep(1)


@pytest.mark.parametrize("path", ["/a\tb", "/a\x7fb", "/a\x01b", "/a b", "/a\r\nb"])
def test_a_bad_request_target_raises_at_the_call_even_while_connecting(driver: Any, path: str) -> None:
    """A space or control character in the path is refused when get() is called (RFC 9112 3.2),
    also while the connection is still coming up; the connection comes up and serves the rest."""
    from gun_core.errors import UsageError

    with FakeOrigin(_one_ok) as origin:
        conn = driver.open("127.0.0.1", origin.port, {"retry": 0})
        with pytest.raises(UsageError):
            conn.get(path)  # queued until the connection is up, were it accepted
        good = conn.get("/")
        assert conn.await_up(5) == "http"
        assert conn.await_body(good, 5) == b"ok"
        conn.close()


@pytest.mark.parametrize("body_follows", [False, True])
def test_a_request_the_core_refuses_while_connecting_fails_its_stream_only(driver: Any, body_follows: bool) -> None:
    """What only the protocol chosen at connect time can refuse (two content-length values that
    disagree, RFC 9110 8.6) fails that stream with an error message when the connection comes
    up; the connection comes up and serves the requests queued beside it."""
    from gun_core.errors import StreamError, Timeout

    # Nothing listens on the port at first: the first attempt is refused and the next one comes
    # 0.5 s later, so the requests are surely queued before the connection is up (opening to a
    # listening port, a loaded machine could bring it up before the requests are made).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conn = driver.open("127.0.0.1", port, {"retry": 20, "retry_timeout": 0.5})
    conflicting = [("content-length", "3"), ("content-length", "4")]
    if body_follows:
        bad = conn.headers("POST", "/", conflicting)
        conn.data(bad, True, b"abc")  # queued behind the headers: dropped with them
    else:
        bad = conn.post("/", conflicting, b"abc")
    good = conn.get("/")
    with FakeOrigin(_one_ok, port=port):
        assert conn.await_up(5) == "http"
        with pytest.raises(StreamError, match="conflicting content-length"):
            conn.await_(bad, 5)
        with pytest.raises(Timeout):  # one error for the stream: its queued data() was dropped, not refused again
            conn.await_(bad, 0.3)
        assert conn.await_body(good, 5) == b"ok"
        conn.close()
