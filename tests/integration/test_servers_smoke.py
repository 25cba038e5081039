"""Each test server fixture really answers, checked without the project's client.

The checks use only the standard library (``http.client``, ``ssl``, raw sockets), the
raw HTTP/2 and websocket checkers in ``tests/servers`` (``h2raw``, ``wsraw``), the
``websockets`` package and, when installed, the ``nghttp`` command-line client. They
prove the peers the integration tests rely on behave as documented in
``tests/servers/README.md``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import time
from typing import Any

import pytest

from tests.servers import HOST, require, unavailable
from tests.servers.certs import TestCA
from tests.servers.h2raw import SETTINGS_ENABLE_CONNECT_PROTOCOL, H2Connection
from tests.servers.hypercorn_app import HELLO, pattern_bytes
from tests.servers.nginx import CHUNKED_BODY
from tests.servers.wsraw import BINARY, CLOSE, TEXT, HandshakeError, RawWebSocket, decode_frame, encode_frame


def raw_http1(port: int, request: bytes, *, unix: str | None = None, timeout: float = 10.0) -> bytes:
    """Send ``request`` on a fresh connection and read until the server closes it."""
    if unix is not None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(unix)
    else:
        sock = socket.create_connection((HOST, port))
    sock.settimeout(timeout)
    with sock:
        sock.sendall(request)
        data = bytearray()
        while chunk := sock.recv(65536):
            data += chunk
    return bytes(data)


def get(port: int, path: str, **kw: Any) -> bytes:
    return raw_http1(port, f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode(), **kw)


def sha256_pattern(size: int) -> str:
    return hashlib.sha256(pattern_bytes(size)).hexdigest()


# -- test_ca ----------------------------------------------------------------------------------------


def test_ca_context_trusts_only_the_test_ca(test_ca: TestCA, hypercorn_server: Any) -> None:
    """The CA fixture's client context verifies the servers' certificate for 127.0.0.1 and
    localhost (RFC 6125 identity checks); a default context (system CAs) refuses it."""
    for name in ("127.0.0.1", "localhost"):
        with socket.create_connection((HOST, hypercorn_server.tls_port)) as raw:
            with test_ca.ssl_context.wrap_socket(raw, server_hostname=name) as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
    with socket.create_connection((HOST, hypercorn_server.tls_port)) as raw, pytest.raises(Exception, match="verify"):
        import ssl

        ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")


# -- nginx ------------------------------------------------------------------------------------------


def test_nginx_http11_keepalive(nginx: Any) -> None:
    """nginx answers / with the 13-byte hello and keeps the HTTP/1.1 connection open
    for the next request (RFC 9112 section 9.3, persistence)."""
    conn = http.client.HTTPConnection(HOST, nginx.http_port, timeout=10)
    conn.request("GET", "/")
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (200, b"Hello world!\n")
    assert resp.getheader("content-length") == "13"
    first = conn.sock
    conn.request("GET", "/")
    resp = conn.getresponse()
    assert resp.read() == b"Hello world!\n"
    assert conn.sock is first
    conn.close()


def test_nginx_big_file(nginx: Any) -> None:
    """/big is 16 MiB of the documented byte pattern with a content-length."""
    conn = http.client.HTTPConnection(HOST, nginx.http_port, timeout=30)
    conn.request("GET", nginx.big_path)
    resp = conn.getresponse()
    body = resp.read()
    assert resp.getheader("content-length") == str(nginx.big_size)
    assert len(body) == nginx.big_size == 16 * 1024 * 1024
    assert hashlib.sha256(body).hexdigest() == sha256_pattern(nginx.big_size)


def test_nginx_chunked_and_trailers(nginx: Any) -> None:
    """/chunked is sent with transfer-encoding: chunked (RFC 9112 section 7.1); /trailers
    ends its chunked body with a trailer section holding x-trailer-one (section 7.1.2)."""
    data = get(nginx.http_port, "/chunked")
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"\r\ntransfer-encoding: chunked" in head.lower()
    assert b"content-length" not in head.lower()
    assert body.endswith(b"\r\n0\r\n\r\n")
    conn = http.client.HTTPConnection(HOST, nginx.http_port, timeout=10)
    conn.request("GET", "/chunked")
    assert conn.getresponse().read() == CHUNKED_BODY
    data = get(nginx.http_port, "/trailers")
    assert data.endswith(b"\r\n0\r\nx-trailer-one: 1\r\n\r\n")


def test_nginx_status_and_redirect(nginx: Any) -> None:
    """/status/204 and /status/304 answer those codes without a body; /redirect is a 302 to /."""
    for code in (204, 304):
        data = get(nginx.http_port, f"/status/{code}")
        assert data.startswith(f"HTTP/1.1 {code} ".encode())
        assert data.endswith(b"\r\n\r\n")
    data = get(nginx.http_port, "/redirect")
    assert data.startswith(b"HTTP/1.1 302 ")
    location = next(line for line in data.split(b"\r\n") if line.lower().startswith(b"location:"))
    assert location.endswith(f"{HOST}:{nginx.http_port}/".encode())


def test_nginx_echo(nginx: Any) -> None:
    """/echo returns the request body, for a 16 MiB content-length body sent whole before
    the response is read, and for a chunked one."""
    payload = os.urandom(1 << 20) * 16
    conn = http.client.HTTPConnection(HOST, nginx.http_port, timeout=30)
    conn.request("POST", "/echo", body=payload)
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("content-length") == str(len(payload))
    assert resp.read() == payload
    conn.request("PUT", "/echo", body=iter([b"abc", b"def"]), encode_chunked=True)
    assert conn.getresponse().read() == b"abcdef"


def test_nginx_proxied_routes(nginx: Any, test_ca: TestCA) -> None:
    """/up/... reaches the hypercorn app through nginx: a slow stream, a websocket upgrade
    (RFC 6455 section 4) and, over HTTP/2, the /echo of a request body."""
    data = get(nginx.http_port, "/up/slow?chunks=2&interval=0.01")
    assert data.endswith(b"chunk 1\n\r\n0\r\n\r\n")
    ws = RawWebSocket.connect(HOST, nginx.http_port, "/up/ws")
    ws.send(TEXT, b"through nginx")
    assert ws.recv() == (TEXT, b"through nginx")
    ws.close()
    h2 = H2Connection.connect(HOST, nginx.tls_port, ssl_context=test_ca.ssl_context)
    stream = h2.wait(h2.request("POST", "/echo", [("content-length", "6")], b"h2 up!"))
    assert (stream.status, bytes(stream.data)) == (200, b"h2 up!")
    h2.close()


def test_nginx_tls_alpn(nginx: Any, test_ca: TestCA) -> None:
    """The TLS port selects h2 when offered first and http/1.1 when only that is offered
    (RFC 7301); both then serve /."""
    h2 = H2Connection.connect(HOST, nginx.tls_port, ssl_context=test_ca.ssl_context)
    stream = h2.wait(h2.request("GET", "/"))
    assert (stream.status, bytes(stream.data)) == (200, HELLO)
    h2.close()
    conn = http.client.HTTPSConnection(HOST, nginx.tls_port, context=test_ca.client_context(["http/1.1"]), timeout=10)
    conn.request("GET", "/")
    assert conn.getresponse().read() == HELLO
    assert conn.sock.selected_alpn_protocol() == "http/1.1"


def test_nginx_h2c_prior_knowledge(nginx: Any) -> None:
    """The h2c port speaks HTTP/2 from the first byte (RFC 9113 section 3.3) and sends the
    /trailers trailer in a final HEADERS frame (section 8.1)."""
    h2 = H2Connection.connect(HOST, nginx.h2c_port)
    stream = h2.wait(h2.request("GET", "/"))
    assert (stream.status, bytes(stream.data)) == (200, HELLO)
    stream = h2.wait(h2.request("GET", "/trailers"))
    assert bytes(stream.data) == CHUNKED_BODY
    assert stream.trailers == [("x-trailer-one", "1")]
    h2.close()


def test_nginx_unix_socket(nginx: Any) -> None:
    """nginx also serves HTTP/1.1 on its Unix socket."""
    data = get(0, "/", unix=nginx.unix_path)
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"\r\n\r\nHello world!\n")


def test_nginx_restart_same_ports(nginx: Any) -> None:
    """restart() closes open connections and serves again on the same ports."""
    ports = (nginx.http_port, nginx.h2c_port, nginx.tls_port)
    conn = http.client.HTTPConnection(HOST, nginx.http_port, timeout=10)
    conn.request("GET", "/")
    conn.getresponse().read()
    old_pid = nginx.pid
    nginx.restart()
    assert nginx.pid != old_pid
    assert conn.sock.recv(1) == b""  # the old connection was closed
    assert (nginx.http_port, nginx.h2c_port, nginx.tls_port) == ports
    assert get(nginx.http_port, "/").endswith(HELLO)


# -- nghttpd ----------------------------------------------------------------------------------------


def test_nghttpd_tls_push(nghttpd: Any, test_ca: TestCA) -> None:
    """nghttpd over TLS answers / with index.html and pushes /style.css and /script.js with
    PUSH_PROMISE frames before the response (RFC 9113 section 8.4)."""
    h2 = H2Connection.connect(HOST, nghttpd.tls_port, ssl_context=test_ca.ssl_context)
    stream = h2.wait(h2.request("GET", "/"))
    assert (stream.status, bytes(stream.data)) == (200, nghttpd.files["/index.html"])
    pushed = {dict(headers)[":path"]: sid for sid, headers in stream.pushes}
    assert sorted(pushed) == ["/script.js", "/style.css"]
    for path, sid in pushed.items():
        assert bytes(h2.wait(sid).data) == nghttpd.files[path]
    h2.close()


def test_nghttpd_h2c_big_and_echo(nghttpd: Any) -> None:
    """The h2c instance serves the 4 MiB file whole through flow control (RFC 9113 section
    5.2) and echoes POST bodies (--echo-upload)."""
    h2 = H2Connection.connect(HOST, nghttpd.h2c_port)
    stream = h2.wait(h2.request("GET", nghttpd.big_path), timeout=30)
    assert len(stream.data) == nghttpd.big_size
    assert hashlib.sha256(stream.data).hexdigest() == sha256_pattern(nghttpd.big_size)
    stream = h2.wait(h2.request("POST", "/", [("content-length", "5")], b"hello"))
    assert (stream.status, bytes(stream.data)) == (200, b"hello")
    h2.close()


def test_nghttpd_with_nghttp_client(nghttpd: Any, test_ca: TestCA) -> None:
    """The reference client nghttp fetches a page from both instances."""
    nghttp = shutil.which("nghttp")
    if nghttp is None:
        unavailable("nghttp (Debian nghttp2-client) not installed")
    for url in (nghttpd.url("/hello.txt", tls=False), nghttpd.url("/hello.txt", tls=True)):
        out = subprocess.run([nghttp, "-n", "-s", url], capture_output=True, timeout=30, check=False)
        # nghttp does not verify certificates; it only checks the protocol.
        assert out.returncode == 0, out.stderr


# -- hypercorn --------------------------------------------------------------------------------------


def test_hypercorn_http11_routes(hypercorn_server: Any) -> None:
    """The plain port serves HTTP/1.1: /, /headers (JSON), /status/418, /big?size=N and a
    streamed /echo of a chunked request body."""
    conn = http.client.HTTPConnection(HOST, hypercorn_server.plain_port, timeout=10)
    conn.request("GET", "/")
    assert conn.getresponse().read() == HELLO
    conn.request("GET", "/headers?x=1", headers={"X-Test": "yes"})
    info = json.loads(conn.getresponse().read())
    assert info["http_version"] == "1.1" and info["query_string"] == "x=1"
    assert ["x-test", "yes"] in info["headers"]
    conn.request("GET", "/status/418")
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (418, b"status 418\n")
    conn.request("GET", "/big?size=300000")
    assert conn.getresponse().read() == pattern_bytes(300000)
    conn.request("POST", "/echo", body=iter([b"one", b"two"]), encode_chunked=True)
    assert conn.getresponse().read() == b"onetwo"


def test_hypercorn_slow_streams(hypercorn_server: Any) -> None:
    """/slow sends its chunks one by one over time, chunked on HTTP/1.1."""
    start = time.monotonic()
    data = get(hypercorn_server.plain_port, "/slow?chunks=3&interval=0.1")
    assert time.monotonic() - start >= 0.3
    assert b"transfer-encoding: chunked" in data.lower()
    conn = http.client.HTTPConnection(HOST, hypercorn_server.plain_port, timeout=10)
    conn.request("GET", "/slow?chunks=3&interval=0.01")
    assert conn.getresponse().read() == b"chunk 0\nchunk 1\nchunk 2\n"


def test_hypercorn_h2_tls_trailers_push_inform(hypercorn_server: Any, test_ca: TestCA) -> None:
    """Over TLS+ALPN h2: /trailers ends with trailers when the request says te: trailers
    (RFC 9113 section 8.1), /push promises /style.css and /script.js (section 8.4), and
    /inform sends a 103 before the 200 (RFC 8297)."""
    h2 = H2Connection.connect(HOST, hypercorn_server.tls_port, ssl_context=test_ca.ssl_context)
    stream = h2.wait(h2.request("GET", "/trailers", [("te", "trailers")]))
    assert stream.status == 200
    assert dict(stream.trailers or [])["x-checksum"] == hashlib.sha256(bytes(stream.data)).hexdigest()
    stream = h2.wait(h2.request("GET", "/push"))
    assert sorted(dict(h)[":path"] for _, h in stream.pushes) == ["/script.js", "/style.css"]
    for sid, _ in stream.pushes:
        assert h2.wait(sid).status == 200
    stream = h2.wait(h2.request("GET", "/inform"))
    assert [dict(b)[":status"] for b in stream.informational] == ["103"]
    assert bytes(stream.data) == HELLO
    h2.close()


def test_hypercorn_h2c_prior_knowledge(hypercorn_server: Any) -> None:
    """The plain port also speaks HTTP/2 by prior knowledge (RFC 9113 section 3.3)."""
    h2 = H2Connection.connect(HOST, hypercorn_server.plain_port)
    stream = h2.wait(h2.request("GET", "/headers"))
    assert json.loads(stream.data)["http_version"] == "2"
    h2.close()


def test_hypercorn_unix_socket(hypercorn_server: Any) -> None:
    """The Unix socket serves the same app."""
    assert get(0, "/", unix=hypercorn_server.unix_path).endswith(HELLO)


def test_hypercorn_websocket_http11(hypercorn_server: Any, test_ca: TestCA) -> None:
    """/ws completes the RFC 6455 handshake (section 4.2.2), selects the first offered
    subprotocol, echoes text and binary messages, and answers a close; /ws-reject refuses."""
    for ctx, port in (
        (None, hypercorn_server.plain_port),
        (test_ca.client_context(["http/1.1"]), hypercorn_server.tls_port),
    ):
        ws = RawWebSocket.connect(HOST, port, "/ws", protocols=("chat", "superchat"), ssl_context=ctx)
        assert ws.headers["sec-websocket-protocol"] == "chat"
        ws.send(TEXT, "héllo".encode())
        assert ws.recv() == (TEXT, "héllo".encode())
        ws.send(BINARY, bytes(range(256)) * 300)
        assert ws.recv() == (BINARY, bytes(range(256)) * 300)
        assert ws.close(1000)[:2] == b"\x03\xe8"
    ws = RawWebSocket.connect(HOST, hypercorn_server.plain_port, "/ws?close=4001")
    opcode, payload = ws.recv()
    assert (opcode, payload[:2]) == (CLOSE, (4001).to_bytes(2, "big"))
    ws.sock.close()
    with pytest.raises(HandshakeError) as refused:
        RawWebSocket.connect(HOST, hypercorn_server.plain_port, "/ws-reject")
    assert refused.value.status == 403


def test_hypercorn_websocket_compression(hypercorn_server: Any) -> None:
    """The `websockets` client negotiates permessage-deflate (RFC 7692) with /ws and the
    echo comes back intact."""
    require("py:websockets", "the websockets client is needed (the test extra)")
    from websockets.sync.client import connect

    with connect(hypercorn_server.ws_url("/ws"), compression="deflate") as ws:
        assert ws.response is not None
        assert "permessage-deflate" in ws.response.headers.get("sec-websocket-extensions", "")
        ws.send("z" * 10000)
        assert ws.recv() == "z" * 10000


def test_hypercorn_websocket_over_h2(hypercorn_server: Any, test_ca: TestCA) -> None:
    """hypercorn advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and accepts an extended CONNECT
    with :protocol websocket (RFC 8441 sections 3-5), over TLS and over h2c; websocket
    frames then travel in DATA frames."""
    for port, ctx in ((hypercorn_server.tls_port, test_ca.ssl_context), (hypercorn_server.plain_port, None)):
        h2 = H2Connection.connect(HOST, port, ssl_context=ctx)
        assert h2.wait_settings().get(SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1
        sid = h2.request(
            "CONNECT",
            "/ws",
            [("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat")],
            pseudo=[(":protocol", "websocket")],
            end_stream=False,
        )
        stream = h2.wait(sid, until="headers")
        assert stream.status == 200
        assert stream.header("sec-websocket-protocol") == "chat"
        h2.send_data(sid, encode_frame(TEXT, b"over h2"))
        frame = None
        deadline = time.monotonic() + 10
        while frame is None and time.monotonic() < deadline:
            h2.step()
            frame = decode_frame(stream.data)
        assert frame is not None and frame[:3] == (True, TEXT, b"over h2")
        h2.close()


# -- autobahn ---------------------------------------------------------------------------------------


def _run_autobahn_case(server: Any, case: int, agent: str) -> None:
    """A plain echo client for one case: echo every message, answer the close."""
    ws = RawWebSocket.connect(HOST, server.port, f"/runCase?case={case}&agent={agent}", timeout=30)
    try:
        while True:
            opcode, payload = ws.recv()
            if opcode == CLOSE:
                ws.send(CLOSE, payload[:2])
                break
            ws.send(opcode, payload)
    except (OSError, ConnectionError):
        pass
    finally:
        ws.sock.close()


def test_autobahn_fuzzingserver_runs_cases(autobahn_factory: Any) -> None:
    """A fuzzing server with four chosen cases counts them, describes them, runs them against
    a plain echo client and reports each one's behaviour in index.json: the echo cases OK,
    the compression case UNIMPLEMENTED since the client did not offer permessage-deflate."""
    server = autobahn_factory(cases=["1.1.1", "1.2.1", "2.1", "12.1.1"])
    assert server.case_ids == ["1.1.1", "1.2.1", "2.1", "12.1.1"]
    ws = RawWebSocket.connect(HOST, server.port, "/getCaseCount")
    assert ws.recv() == (TEXT, b"4")
    ws.close()
    ws = RawWebSocket.connect(HOST, server.port, "/getCaseInfo?case=3")
    assert json.loads(ws.recv()[1])["id"] == "2.1"
    ws.close()
    for case in range(1, 5):
        _run_autobahn_case(server, case, "smoke")
    summary = server.summary("smoke")
    assert summary["behaviors"] == {"1.1.1": "OK", "1.2.1": "OK", "2.1": "OK", "12.1.1": "UNIMPLEMENTED"}
    assert summary["counts"]["OK"] == 3 and summary["counts"]["UNIMPLEMENTED"] == 1
    assert summary["failed"] == []
    assert server.index_json.parent.name == "clients"


def test_autobahn_session_fixture(autobahn: Any) -> None:
    """The session fixture serves the configured case list (all cases by default)."""
    ws = RawWebSocket.connect(HOST, autobahn.port, "/getCaseCount")
    count = int(ws.recv()[1])
    ws.close()
    assert count == len(autobahn.case_ids) > 0
