"""Each failure of ``gun`` has its exit code (curl's numbers) and a message a shell user can act on."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gun_io.cli import EXIT_CODES
from gun_io.demo import DemoServer
from tests.cli.helpers import RawServer, closed_port, hold, read_head, run_gun


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    servers: list[RawServer] = []

    def make(handler: Callable[[socket.socket], None]) -> RawServer:
        server = RawServer(handler)
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.close()


def test_connection_refused() -> None:
    """Nothing listening: exit 7 and a message that names the address and the likely cause."""
    port = closed_port()
    r = run_gun(f"http://127.0.0.1:{port}/")
    assert r.rc == EXIT_CODES["connect"] == 7
    assert f"connection refused by 127.0.0.1:{port}" in r.err
    assert "is a server listening" in r.err
    assert r.out == b""


def test_tls_verification_failure_says_why_and_what_to_do(demo_server: DemoServer) -> None:
    """A certificate from an unknown CA fails verification (RFC 9110 4.3.4): exit 60, the
    verifier's reason, and the two ways out (--cacert, --insecure)."""
    r = run_gun(demo_server.url("/"))
    assert r.rc == EXIT_CODES["tls_verify"] == 60
    assert "TLS certificate verification failed for 127.0.0.1:" in r.err
    assert "unable to get local issuer certificate" in r.err or "self-signed" in r.err
    assert "--cacert" in r.err and "--insecure" in r.err


def test_insecure_works_but_warns_loudly(demo_server: DemoServer) -> None:
    """``--insecure`` skips verification and says so on stderr, even with ``-s``."""
    r = run_gun("--insecure", "-s", demo_server.url("/"))
    assert r.rc == 0
    assert "WARNING" in r.err and "NOT verified" in r.err
    assert r.out.startswith(b"Hello")


def test_fail_on_http_error_status(demo_server: DemoServer) -> None:
    """``--fail``: a status of 400 or more (RFC 9110 15.5) exits 22 with nothing on stdout;
    without it the error body is printed and the exit code is 0."""
    r = run_gun("--fail", demo_server.url("/status/404", tls=False))
    assert r.rc == EXIT_CODES["http"] == 22
    assert r.out == b""
    assert "404 Not Found" in r.err and "--fail" in r.err
    r = run_gun(demo_server.url("/status/503", tls=False))
    assert (r.rc, r.out) == (0, b"status 503\n")


def test_connect_timeout_on_a_silent_tls_peer(raw_server: Callable[..., RawServer]) -> None:
    """A peer that accepts TCP but never answers the TLS handshake: ``--connect-timeout``
    gives up in time with exit 28."""
    server = raw_server(hold)
    start = time.monotonic()
    r = run_gun("--connect-timeout", "0.5", f"https://127.0.0.1:{server.port}/")
    assert r.rc == EXIT_CODES["timeout"] == 28
    assert "timed out connecting to 127.0.0.1" in r.err and "--connect-timeout 0.5" in r.err
    assert time.monotonic() - start < 10


def test_max_time(demo_server: DemoServer) -> None:
    """``--max-time`` bounds the whole transfer: exit 28 and how much had arrived."""
    r = run_gun("-m", "0.5", demo_server.url("/delay?s=5", tls=False))
    assert r.rc == 28
    assert "timed out after 0.5 s (--max-time) with 0 bytes received" in r.err


def test_empty_reply(raw_server: Callable[..., RawServer]) -> None:
    """The server reads the request and closes without a response: exit 52."""

    def handler(conn: socket.socket) -> None:
        read_head(conn)
        conn.close()

    server = raw_server(handler)
    r = run_gun(f"http://127.0.0.1:{server.port}/")
    assert r.rc == EXIT_CODES["empty"] == 52
    assert "closed the connection without answering" in r.err


def test_connection_lost_mid_body(raw_server: Callable[..., RawServer]) -> None:
    """The connection closes before content-length bytes arrived (RFC 9112 8): the bytes that
    did arrive are written, then exit 56 with how many were missing."""

    def handler(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789")
        time.sleep(0.1)
        conn.close()

    server = raw_server(handler)
    r = run_gun(f"http://127.0.0.1:{server.port}/")
    assert r.rc == EXIT_CODES["recv"] == 56
    assert r.out == b"0123456789"
    assert "was lost" in r.err and "10 of 100 body bytes" in r.err


def test_malformed_reply(raw_server: Callable[..., RawServer]) -> None:
    """A status line that is not ``HTTP-version SP 3DIGIT`` (RFC 9112 4) exits 8 and quotes it."""

    def handler(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 abc\r\n\r\n")
        time.sleep(0.1)
        conn.close()

    server = raw_server(handler)
    r = run_gun(f"http://127.0.0.1:{server.port}/")
    assert r.rc == EXIT_CODES["weird"] == 8
    assert "HTTP/1.1 abc" in r.err


def test_tls_handshake_failure_other_than_verification(raw_server: Callable[..., RawServer]) -> None:
    """A peer that answers the TLS ClientHello with garbage: exit 35, a TLS error, not a verify error."""

    def handler(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        time.sleep(0.1)
        conn.close()

    server = raw_server(handler)
    r = run_gun(f"https://127.0.0.1:{server.port}/")
    assert r.rc == EXIT_CODES["tls"] == 35
    assert "TLS handshake with 127.0.0.1" in r.err


def test_unknown_host() -> None:
    """A name that cannot resolve (``.invalid`` is reserved, RFC 2606 2): exit 6 naming the host."""
    r = run_gun("--connect-timeout", "5", "http://no-such-host.invalid/")
    if r.rc == 28:
        pytest.skip("the resolver timed out instead of answering (no DNS here)")
    assert r.rc == EXIT_CODES["resolve"] == 6
    assert "could not resolve host 'no-such-host.invalid'" in r.err


def test_usage_errors() -> None:
    """Bad command lines exit 2 with a message: no URL, a scheme we do not speak, a missing
    body file, a malformed header, a negative timeout, a missing CA file, a header value holding
    CR (refused before connecting, RFC 9110 5.5)."""
    cases = [
        ((), "required: URL"),
        (("ftp://127.0.0.1/",), "unsupported scheme 'ftp'"),
        (("-d", "@/no/such/file", "http://127.0.0.1:1/"), "cannot read /no/such/file"),
        (("-H", "novalue", "http://127.0.0.1:1/"), "is not 'name: value'"),
        (("--connect-timeout", "-1", "http://127.0.0.1:1/"), "cannot be negative"),
        (("--cacert", "/no/such/ca.pem", "https://127.0.0.1:1/"), "--cacert /no/such/ca.pem: no such file"),
        (("-H", "x-bad: a\rb", "http://127.0.0.1:1/"), "bad header"),
    ]
    for args, message in cases:
        r = run_gun(*args)
        assert r.rc == EXIT_CODES["usage"] == 2, (args, r.rc, r.err)
        assert message in r.err, (args, r.err)


def test_output_not_writable(demo_server: DemoServer, tmp_path: Path) -> None:
    """``-o`` into a folder that does not exist: exit 23, the file and the reason."""
    target = tmp_path / "missing" / "out.bin"
    r = run_gun("-o", str(target), demo_server.url("/", tls=False))
    assert r.rc == EXIT_CODES["write"] == 23
    assert f"cannot write to {target}" in r.err


def test_exit_codes_are_curls() -> None:
    """Where curl has the same failure, the code is curl's, so shell habits carry over."""
    assert EXIT_CODES == {
        "ok": 0,
        "error": 1,
        "usage": 2,
        "resolve": 6,
        "connect": 7,
        "weird": 8,
        "http": 22,
        "write": 23,
        "timeout": 28,
        "tls": 35,
        "empty": 52,
        "recv": 56,
        "tls_verify": 60,
        "stream": 92,
        "interrupted": 130,
    }
    assert ssl.OPENSSL_VERSION  # TLS errors above come from the ssl module
