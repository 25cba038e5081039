"""RFC 6455 4.1 (client opening handshake) and RFC 8441 4-5 (websocket over HTTP/2)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from gun_core.errors import Reason
from gun_core.options import WsOpts
from gun_core.ws_handshake import Negotiated, check_response, new_key, upgrade_headers


def server_answer(key: bytes, **extra: bytes) -> list[tuple[bytes, bytes]]:
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    headers = [(b"upgrade", b"websocket"), (b"connection", b"upgrade"), (b"sec-websocket-accept", accept)]
    headers += [(k.replace("_", "-").encode(), v) for k, v in extra.items()]
    return headers


def test_request_has_the_required_fields() -> None:
    """The request carries upgrade: websocket, connection: upgrade, a 16-byte base64 nonce and
    version 13 (RFC 6455 4.1, items 5-9)."""
    key = new_key()
    h = dict(upgrade_headers(key, WsOpts()))
    assert h[b"upgrade"] == b"websocket"
    assert b"upgrade" in h[b"connection"].lower()
    assert len(base64.b64decode(h[b"sec-websocket-key"])) == 16
    assert h[b"sec-websocket-version"] == b"13"


def test_nonce_is_fresh_per_connection() -> None:
    """The nonce must be randomly selected for each connection (RFC 6455 4.1)."""
    assert len({new_key() for _ in range(50)}) == 50


def test_accept_value_checked() -> None:
    """The client checks sec-websocket-accept against base64(SHA-1(key + GUID)) (RFC 6455 4.1, 4.2.2)."""
    key = new_key()
    assert check_response(key, 101, server_answer(key), WsOpts()) == Negotiated()
    other = new_key()
    assert isinstance(check_response(key, 101, server_answer(other), WsOpts()), Reason)


@pytest.mark.parametrize("status", [200, 301, 400, 426])
def test_status_other_than_101_fails(status: int) -> None:
    """Any status other than 101 means the handshake did not complete (RFC 6455 4.1)."""
    key = new_key()
    assert isinstance(check_response(key, status, server_answer(key), WsOpts()), Reason)


def test_subprotocol_must_be_one_offered() -> None:
    """A sec-websocket-protocol not offered by the client fails the connection (RFC 6455 4.1)."""
    key = new_key()
    opts = WsOpts(protocols=("v2.chat", "v1.chat"))
    good = check_response(key, 101, server_answer(key, sec_websocket_protocol=b"v1.chat"), opts)
    assert good == Negotiated("v1.chat")
    assert isinstance(check_response(key, 101, server_answer(key, sec_websocket_protocol=b"v3.chat"), opts), Reason)


def test_extension_not_offered_fails() -> None:
    """An extension the client did not ask for fails the connection (RFC 6455 4.1)."""
    key = new_key()
    headers = server_answer(key, sec_websocket_extensions=b"permessage-deflate")
    assert isinstance(check_response(key, 101, headers, WsOpts(compress=False)), Reason)


def test_http2_extended_connect() -> None:
    """Over HTTP/2 the handshake has no key, upgrade or connection fields and succeeds on 2xx
    (RFC 8441 4, 5)."""
    h = dict(upgrade_headers(None, WsOpts(protocols=("chat",)), http2=True))
    assert b"sec-websocket-key" not in h and b"connection" not in h and b"upgrade" not in h
    assert h[b"sec-websocket-version"] == b"13"
    assert check_response(None, 200, [(b"sec-websocket-protocol", b"chat")], WsOpts(protocols=("chat",))) == Negotiated(
        "chat"
    )
    refused = check_response(None, 400, [], WsOpts())
    assert isinstance(refused, Reason) and refused.scope == "stream"
