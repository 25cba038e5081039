"""Both drivers over HTTP/1.1 against Debian's nginx on 127.0.0.1."""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

from gun_io import GunData, GunDown, GunResponse, GunTrailers, GunUp

PATTERN = bytes(range(256))


def test_keepalive_many_requests_one_connection(driver: Any, nginx: Any) -> None:
    """Sequential requests reuse one keep-alive connection."""
    conn = driver.open("127.0.0.1", nginx.http_port)
    assert conn.await_up() == "http"
    first = conn.info()["sockname"]
    for _ in range(50):
        assert conn.await_body(conn.get("/")) == b"Hello world!\n"
    assert conn.info()["sockname"] == first
    conn.close()


def test_1000_pipelined_gets(driver: Any, nginx: Any) -> None:
    """1,000 GETs pipelined on one connection all get their own response, in order."""
    conn = driver.open("127.0.0.1", nginx.http_port)
    conn.await_up()
    paths = (["/", "/status/204", "/chunked"] * 334)[:1000]
    refs = [conn.get(p) for p in paths]
    for path, ref in zip(paths, refs, strict=True):
        msg = conn.await_(ref, 10)
        assert isinstance(msg, GunResponse)
        if path == "/status/204":
            assert msg.status == 204 and msg.fin
        elif path == "/":
            assert conn.await_body(ref, 10) == b"Hello world!\n"
        else:
            assert conn.await_body(ref, 10) == nginx.chunked_body
    conn.close()


def test_chunked_response(driver: Any, nginx: Any) -> None:
    """A chunked response is delivered whole, with the framing removed."""
    conn = driver.open("127.0.0.1", nginx.http_port)
    ref = conn.get("/chunked")
    msg = conn.await_(ref)
    assert isinstance(msg, GunResponse)
    assert (b"transfer-encoding", b"chunked") in msg.headers
    assert conn.await_body(ref) == nginx.chunked_body
    conn.close()


def test_trailers_http1(driver: Any, nginx: Any) -> None:
    """nginx's trailers on a chunked HTTP/1.1 response arrive as GunTrailers."""
    conn = driver.open("127.0.0.1", nginx.http_port)
    ref = conn.get("/trailers")
    msgs = []
    while True:
        msg = conn.await_(ref)
        msgs.append(msg)
        if isinstance(msg, GunTrailers) or getattr(msg, "fin", False):
            break
    assert isinstance(msgs[-1], GunTrailers)
    assert (b"x-trailer-one", b"1") in msgs[-1].headers
    conn.close()


def test_16mib_download_constant_memory(driver: Any, nginx: Any) -> None:
    """A 16 MiB body streams through in pieces; memory held stays far below the body size."""
    conn = driver.open("127.0.0.1", nginx.http_port)
    conn.await_up()
    tracemalloc.start()
    try:
        ref = conn.get("/big", (), {"flow": 1 << 20})
        assert isinstance(conn.await_(ref, 10), GunResponse)
        size = 0
        head = b""
        while True:
            msg = conn.await_(ref, 10)
            assert isinstance(msg, GunData)
            if not head:
                head = msg.data[:512]
            size += len(msg.data)
            conn.update_flow(ref, len(msg.data))
            if msg.fin:
                break
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == nginx.big_size
    assert head == PATTERN * 2
    assert peak < 6 * 1024 * 1024, f"peak traced memory {peak} bytes for a 16 MiB body"
    conn.close()


def test_tls_http1_with_test_ca(driver: Any, nginx: Any, test_ca: Any) -> None:
    """TLS verified against the test CA; ALPN offering only http/1.1 gets HTTP/1.1."""
    conn = driver.open(
        "localhost",
        nginx.tls_port,
        {"transport": "tls", "protocols": ["http"], "tls_opts": {"cafile": str(test_ca.cafile)}},
    )
    assert conn.await_up() == "http"
    assert conn.await_body(conn.get("/")) == b"Hello world!\n"
    assert len(conn.await_body(conn.get("/big"), 10)) == nginx.big_size
    conn.close()


def test_post_echo_http1(driver: Any, nginx: Any) -> None:
    """Bodies sent at once (content-length) and streamed (chunked) reach the server."""
    conn = driver.open("127.0.0.1", nginx.http_port)
    ref = conn.post("/echo", [("content-type", "text/plain")], b"x" * 100_000)
    assert conn.await_body(ref, 10) == b"x" * 100_000
    ref = conn.post("/echo", [("content-type", "application/octet-stream")])
    for i in range(10):
        conn.data(ref, i == 9, bytes([65 + i]) * 10_000)
    assert conn.await_body(ref, 10) == b"".join(bytes([65 + i]) * 10_000 for i in range(10))
    conn.close()


def test_server_restart_survived_by_retry(driver: Any, nginx: Any) -> None:
    """When nginx restarts, GunDown is reported and retry brings the connection back up."""
    conn = driver.open("127.0.0.1", nginx.http_port, {"retry": 20, "retry_timeout": 0.2})
    assert conn.await_up() == "http"
    assert conn.await_body(conn.get("/")) == b"Hello world!\n"
    nginx.restart()
    deadline = time.time() + 15
    seen_down = False
    while time.time() < deadline:
        msg = driver.receive(conn.owner, max(0.1, deadline - time.time()))
        if isinstance(msg, GunDown):
            seen_down = True
        elif isinstance(msg, GunUp) and seen_down:
            break
    assert seen_down
    assert conn.await_body(conn.get("/"), 5) == b"Hello world!\n"
    conn.close()
