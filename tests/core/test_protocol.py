"""gun_core.protocol: every core implements the CoreProtocol interface."""

from __future__ import annotations

from gun_core.http1 import Http1Protocol
from gun_core.http2 import Http2Protocol
from gun_core.options import WsOpts
from gun_core.protocol import CoreProtocol
from gun_core.ws import WsProtocol
from gun_core.ws_handshake import Negotiated


def test_every_core_is_a_core_protocol() -> None:
    """HTTP/1.1, HTTP/2 and websocket cores all satisfy CoreProtocol and name their protocol."""
    cores = [Http1Protocol(b"h"), Http2Protocol(b"h"), WsProtocol(1, WsOpts(), Negotiated(None, None))]
    assert [c.protocol for c in cores] == ["http", "http2", "ws"]
    for core in cores:
        assert isinstance(core, CoreProtocol)
        assert core.paused is False
        assert isinstance(core.active_streams(), list)
