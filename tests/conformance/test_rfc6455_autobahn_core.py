"""The websocket core alone against Autobahn|Testsuite's fuzzing server (RFC 6455, RFC 7692).

A blocking socket loop drives :class:`gun_core.ws.WsProtocol` directly, without the
drivers: it does the HTTP/1.1 handshake with :mod:`gun_core.ws_handshake`, feeds every
read to the core, writes what the core queues, and echoes each message, as the fuzzing
server expects. No case may be FAILED (NON-STRICT and INFORMATIONAL are allowed: see
the notes in the final report of the websocket work; e.g. 3.2, 4.1.3 where the server
sends a message and a bad frame in one read, and the echo cannot be sent any more).
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from gun_core.errors import Reason
from gun_core.events import Closed, Ws
from gun_core.options import WsOpts
from gun_core.ws import Binary, Text, WsProtocol, WsState
from gun_core.ws_handshake import check_response, new_key, upgrade_headers

pytestmark = pytest.mark.slow

PLAIN_CASES = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*"]
# Compression is only accepted by the fuzzing server in sections 12 and 13 (the other
# sections run uncompressed whatever the client offers).
DEFLATE_CASES = ["12.1.1", "12.1.3", "12.2.3", "12.5.4"] + [f"13.{i}.{j}" for i in range(1, 8) for j in (1, 5)]


def _connect(host: str, port: int, path: str, opts: WsOpts) -> tuple[socket.socket, WsProtocol, bytes]:
    sock = socket.create_connection((host, port), timeout=60)
    key = new_key()
    head = [f"GET {path} HTTP/1.1", f"host: {host}:{port}"]
    head += [f"{n.decode()}: {v.decode()}" for n, v in upgrade_headers(key, opts)]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        assert data, "closed during the handshake"
        buf += data
    raw, rest = buf.split(b"\r\n\r\n", 1)
    lines = raw.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = [(n.strip().lower(), v.strip()) for n, v in (line.split(b":", 1) for line in lines[1:])]
    negotiated = check_response(key, status, headers, opts)
    assert not isinstance(negotiated, Reason), negotiated
    return sock, WsProtocol(1, opts, negotiated), rest


def _run_case(host: str, port: int, path: str, opts: WsOpts) -> None:
    sock, core, data = _connect(host, port, path, opts)
    try:
        while True:
            events = core.receive_data(data) if data else []
            for e in events:
                if type(e) is Ws and type(e.frame) in (Text, Binary) and core.state is WsState.OPEN:
                    core.send(e.frame)
            out = core.data_to_send()
            if out:
                sock.sendall(out)
            if any(type(e) is Closed for e in events):
                return
            try:
                data = sock.recv(262144)
            except (TimeoutError, ConnectionResetError):
                data = b""
            if not data:
                core.receive_data(b"")
                return
    finally:
        sock.close()


@pytest.mark.parametrize(("compress", "cases"), [(False, PLAIN_CASES), (True, DEFLATE_CASES)], ids=["plain", "deflate"])
def test_autobahn_fuzzing_server(autobahn_factory: Any, compress: bool, cases: list[str]) -> None:
    """Every Autobahn client case in the selection passes or is non-strict/informational, never FAILED."""
    server = autobahn_factory(cases=cases)
    agent = "gun-core-deflate" if compress else "gun-core"
    opts = WsOpts(compress=compress)
    for n in range(1, len(server.case_ids) + 1):
        _run_case(server.host, server.port, f"/runCase?case={n}&agent={agent}", opts)
    summary = server.summary(agent)
    assert summary["counts"]["FAILED"] == 0, summary["failed"]
    assert summary["close_failed"] == []
    assert summary["counts"]["OK"] >= len(server.case_ids) - 15, summary["counts"]
    if compress:
        assert summary["counts"]["OK"] == len(server.case_ids), summary["counts"]
