"""``gun ws URL``: the websocket client driven with piped stdin against the demo server."""

from __future__ import annotations

from gun_io.cli import EXIT_CODES
from gun_io.demo import DemoServer
from tests.cli.helpers import closed_port, run_gun


def test_piped_lines_are_echoed_then_closed_cleanly(demo_server: DemoServer) -> None:
    """Each stdin line goes out as a text frame (RFC 6455 5.6) and each frame received is printed;
    the end of input closes with 1000 (RFC 6455 7.4.1) and exit 0; nothing else on stdout or stderr."""
    r = run_gun("ws", demo_server.ws_url("/ws"), stdin=b"hello\nworld\n\xc3\xa9t\xc3\xa9\n")
    assert r.rc == 0, r.err
    assert r.out.decode() == "hello\nworld\nété\n"
    assert r.err == ""


def test_compression_and_subprotocol_are_negotiated(demo_server: DemoServer) -> None:
    """``--compress`` offers permessage-deflate (RFC 7692 5) and ``--subprotocol`` a subprotocol
    (RFC 6455 4.1); the trace shows both accepted and the frames sent compressed (RSV1)."""
    long_line = "compress me " * 200
    r = run_gun(
        "ws", "-v", "--compress", "--subprotocol", "demo.echo", demo_server.ws_url("/ws"),
        stdin=(long_line + "\n").encode(),
    )  # fmt: skip
    assert r.rc == 0, r.err
    assert r.out.decode() == long_line + "\n"
    assert "< sec-websocket-extensions: permessage-deflate" in r.err
    assert "< sec-websocket-protocol: demo.echo" in r.err
    assert "> ws TEXT" in r.err and "compressed masked" in r.err
    assert "< ws TEXT" in r.err and "compressed" in r.err
    assert "* closed (code 1000)" in r.err


def test_websocket_over_http2(demo_server: DemoServer) -> None:
    """``--http2`` runs the websocket in one HTTP/2 stream by extended CONNECT (RFC 8441 4)."""
    r = run_gun(
        "ws", "--http2", "-v", "--cacert", demo_server.cafile, demo_server.ws_url("/ws", tls=True), stdin=b"h2\n"
    )
    assert r.rc == 0, r.err
    assert r.out == b"h2\n"
    assert "ENABLE_CONNECT_PROTOCOL=1" in r.err
    assert "> HEADERS stream=1 END_HEADERS" in r.err


def test_refused_upgrade(demo_server: DemoServer) -> None:
    """A server that answers the upgrade with an HTTP status instead of 101 (RFC 6455 4.1):
    exit 22 and the status in the message."""
    r = run_gun("ws", demo_server.ws_url("/not-a-websocket"), stdin=b"x\n")
    assert r.rc == EXIT_CODES["http"] == 22
    assert "refused the websocket upgrade with 403" in r.err


def test_server_close_codes(demo_server: DemoServer) -> None:
    """A normal close from the server (1000) exits 0; an error close (1011) exits 1 and quotes the code."""
    r = run_gun("ws", demo_server.ws_url("/ws?close=1000"), stdin=b"")
    assert r.rc == 0, r.err
    r = run_gun("ws", demo_server.ws_url("/ws?close=1011"), stdin=b"")
    assert r.rc == EXIT_CODES["error"] == 1
    assert "the server closed the websocket with code 1011" in r.err


def test_ws_connection_refused() -> None:
    """Nothing listening: the same exit 7 and message as for HTTP."""
    port = closed_port()
    r = run_gun("ws", f"ws://127.0.0.1:{port}/ws", stdin=b"")
    assert r.rc == 7
    assert f"connection refused by 127.0.0.1:{port}" in r.err
