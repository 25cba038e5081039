"""Both drivers over HTTP/2 against real peers: nghttpd, nginx and hypercorn."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from gun_core.errors import Timeout
from gun_io import GunData, GunDown, GunInform, GunPush, GunResponse, GunTrailers

PATTERN = bytes(range(256))


def tls_opts(ca: Any) -> dict[str, Any]:
    return {"transport": "tls", "tls_opts": {"cafile": str(ca.cafile)}}


def test_nghttpd_h2c_1000_concurrent(driver: Any, nghttpd: Any) -> None:
    """1,000 GETs in flight at once on one h2c connection all complete (streams beyond
    the server's MAX_CONCURRENT_STREAMS wait their turn; nothing is dropped)."""
    conn = driver.open("127.0.0.1", nghttpd.h2c_port, {"protocols": ["http2"]})
    assert conn.await_up() == "http2"
    refs = [conn.get("/hello.txt") for _ in range(1000)]
    for ref in refs:
        assert conn.await_body(ref, 10) == nghttpd.files["/hello.txt"]
    conn.shutdown()
    conn.wait_closed(5)


def test_nghttpd_tls_alpn_and_big_download(driver: Any, nghttpd: Any, test_ca: Any) -> None:
    """ALPN picks h2 and a body far larger than the default 64 KiB windows arrives whole."""
    conn = driver.open("localhost", nghttpd.tls_port, tls_opts(test_ca))
    assert conn.await_up() == "http2"
    ref = conn.get(nghttpd.big_path)
    body = conn.await_body(ref, 10)
    assert len(body) == nghttpd.big_size
    assert body[:512] == PATTERN * 2
    conn.close()


def test_nghttpd_push(driver: Any, nghttpd: Any) -> None:
    """PUSH_PROMISE arrives as GunPush and the pushed response on its new stream ref."""
    conn = driver.open("127.0.0.1", nghttpd.h2c_port, {"protocols": ["http2"]})
    ref = conn.get("/index.html")
    pushes: dict[bytes, Any] = {}
    response = None
    while response is None:
        msg = conn.await_(ref, 5)
        if isinstance(msg, GunPush):
            pushes[msg.uri] = msg.new_stream_ref
            assert msg.method == b"GET"
        elif isinstance(msg, GunResponse):
            response = msg
    assert any(uri.endswith(b"/style.css") for uri in pushes)
    for uri, new_ref in pushes.items():
        path = "/" + uri.decode().split("/", 3)[3]
        assert conn.await_body(new_ref, 5) == nghttpd.files[path]
    assert conn.await_body(ref, 5) == nghttpd.files["/index.html"]
    conn.close()


def test_nginx_tls_h2(driver: Any, nginx: Any, test_ca: Any) -> None:
    """Over TLS to nginx, ALPN selects h2 and a GET and a 16 MiB download work."""
    conn = driver.open("localhost", nginx.tls_port, tls_opts(test_ca))
    assert conn.await_up() == "http2"
    assert conn.await_body(conn.get("/")) == b"Hello world!\n"
    assert len(conn.await_body(conn.get("/big"), 10)) == nginx.big_size
    conn.close()


def test_nghttpd_16mib_upload(driver: Any, nghttpd: Any, test_ca: Any) -> None:
    """A 16 MiB request body streamed with data() respects the peer's windows and is echoed whole."""
    conn = driver.open("localhost", nghttpd.tls_port, tls_opts(test_ca))
    assert conn.await_up() == "http2"
    payload = os.urandom(1 << 20) * 16
    ref = conn.post("/echo", [("content-type", "application/octet-stream"), ("content-length", str(len(payload)))])
    step = 1 << 20
    for i in range(0, len(payload), step):
        conn.data(ref, i + step >= len(payload), payload[i : i + step])
    msg = conn.await_(ref, 30)
    assert isinstance(msg, GunResponse) and msg.status == 200
    body = conn.await_body(ref, 30)
    assert hashlib.sha256(body).digest() == hashlib.sha256(payload).digest()
    conn.close()


def test_nginx_h2c_big_download(driver: Any, nginx: Any) -> None:
    """A 16 MiB download over h2c prior knowledge with the default windows."""
    conn = driver.open("127.0.0.1", nginx.h2c_port, {"protocols": ["http2"]})
    ref = conn.get("/big")
    assert isinstance(conn.await_(ref, 10), GunResponse)
    size = 0
    while True:
        msg = conn.await_(ref, 10)
        assert isinstance(msg, GunData)
        size += len(msg.data)
        if msg.fin:
            break
    assert size == nginx.big_size
    conn.close()


def test_hypercorn_trailers_and_inform(driver: Any, hypercorn_server: Any, test_ca: Any) -> None:
    """HTTP/2 trailers arrive as GunTrailers; a 103 as GunInform before the response."""
    conn = driver.open("localhost", hypercorn_server.tls_port, tls_opts(test_ca))
    assert conn.await_up() == "http2"
    ref = conn.get("/trailers", [("te", "trailers")])
    msgs = []
    while True:
        msg = conn.await_(ref, 5)
        msgs.append(msg)
        if isinstance(msg, GunTrailers) or getattr(msg, "fin", False):
            break
    assert isinstance(msgs[-1], GunTrailers)
    body = b"".join(m.data for m in msgs if isinstance(m, GunData))
    assert (b"x-checksum", hashlib.sha256(body).hexdigest().encode()) in msgs[-1].headers
    ref = conn.get("/inform")
    first = conn.await_(ref, 5)
    assert isinstance(first, GunInform) and first.status == 103
    assert conn.await_(ref, 5).status == 200
    conn.close()


def test_hypercorn_cancel_mid_body(driver: Any, hypercorn_server: Any) -> None:
    """cancel() resets a stream mid-body; no more messages come for it; the connection lives on."""
    conn = driver.open("127.0.0.1", hypercorn_server.plain_port, {"protocols": ["http2"]})
    ref = conn.get("/slow?chunks=50&interval=0.05")
    assert isinstance(conn.await_(ref, 5), GunResponse)
    assert isinstance(conn.await_(ref, 5), GunData)
    conn.cancel(ref)
    conn.flush(ref)
    with pytest.raises(Timeout):
        conn.await_(ref, 0.4)
    assert conn.await_body(conn.get("/"), 5) == b"Hello world!\n"
    conn.close()


@pytest.mark.parametrize("server", ["nginx", "nghttpd"])
def test_shutdown_sends_goaway_and_drains(driver: Any, server: str, request: pytest.FixtureRequest) -> None:
    """shutdown() sends GOAWAY, lets the streams in flight finish, then goes down normally.
    (hypercorn closes at once on a client GOAWAY, so real servers that drain are used.)"""
    peer = request.getfixturevalue(server)
    conn = driver.open("127.0.0.1", peer.h2c_port, {"protocols": ["http2"]})
    conn.await_up()
    path = "/big" if server == "nginx" else peer.big_path
    ref = conn.get(path)
    assert isinstance(conn.await_(ref, 5), GunResponse)
    conn.shutdown()
    assert len(conn.await_body(ref, 10)) == peer.big_size
    conn.wait_closed(5)
    downs = [m for m in conn.owner.messages() if isinstance(m, GunDown)]
    assert downs and downs[-1].reason.kind == "normal"
    assert downs[-1].killed_streams == []
