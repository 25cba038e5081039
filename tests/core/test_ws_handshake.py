"""Unit tests of gun_core.ws_handshake: upgrade request headers and the checks of the answer."""

from __future__ import annotations

import base64

import pytest

from gun_core.errors import Reason
from gun_core.options import WsOpts
from gun_core.ws_deflate import DeflateParams
from gun_core.ws_handshake import Negotiated, accept_key, check_response, new_key, upgrade_headers

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def ok_headers(*extra: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [(b"upgrade", b"websocket"), (b"connection", b"Upgrade"), (b"sec-websocket-accept", ACCEPT), *extra]


def test_new_key_is_16_random_bytes_in_base64() -> None:
    """The key is base64 of 16 random bytes (RFC 6455 4.1), new each time."""
    k = new_key()
    assert len(base64.b64decode(k, validate=True)) == 16
    assert new_key() != k


def test_accept_key_rfc_example() -> None:
    """The example of RFC 6455 1.3."""
    assert accept_key(KEY) == ACCEPT


def test_upgrade_headers_http1() -> None:
    """The HTTP/1.1 upgrade asks for websocket version 13 with our key (RFC 6455 4.1)."""
    h = upgrade_headers(KEY, WsOpts())
    assert h == [
        (b"connection", b"upgrade"),
        (b"upgrade", b"websocket"),
        (b"sec-websocket-version", b"13"),
        (b"sec-websocket-key", KEY),
    ]
    with pytest.raises(ValueError):
        upgrade_headers(None, WsOpts())


def test_upgrade_headers_protocols_and_compress() -> None:
    """Subprotocols are offered in order; compress offers permessage-deflate (RFC 7692 7.1)."""
    h = dict(upgrade_headers(KEY, WsOpts(protocols=("chat", "superchat"), compress=True)))
    assert h[b"sec-websocket-protocol"] == b"chat, superchat"
    assert h[b"sec-websocket-extensions"] == b"permessage-deflate; client_max_window_bits"


def test_upgrade_headers_http2() -> None:
    """RFC 8441: no connection, upgrade or key header over HTTP/2."""
    h = upgrade_headers(None, WsOpts(compress=True), http2=True)
    names = [n for n, _ in h]
    assert names == [b"sec-websocket-version", b"sec-websocket-extensions"]


def test_check_response_ok() -> None:
    """A correct 101 gives what was negotiated."""
    assert check_response(KEY, 101, ok_headers(), WsOpts()) == Negotiated(None, None)
    opts = WsOpts(protocols=("a", "b"), compress=True)
    got = check_response(
        KEY,
        101,
        ok_headers(
            (b"sec-websocket-protocol", b"b"),
            (b"sec-websocket-extensions", b"permessage-deflate; server_no_context_takeover"),
        ),
        opts,
    )
    assert got == Negotiated("b", DeflateParams(server_no_context_takeover=True))


def test_check_response_compress_declined() -> None:
    """The server may decline permessage-deflate: the connection runs uncompressed."""
    assert check_response(KEY, 101, ok_headers(), WsOpts(compress=True)) == Negotiated()


def test_check_response_connection_token_list() -> None:
    """The connection header may list several tokens, in any case."""
    headers = [(b"upgrade", b"WebSocket"), (b"connection", b"keep-alive, UPGRADE"), (b"sec-websocket-accept", ACCEPT)]
    assert isinstance(check_response(KEY, 101, headers, WsOpts()), Negotiated)


def fails(result: Negotiated | Reason, scope: str = "connection") -> str:
    assert isinstance(result, Reason), result
    assert result.scope == scope and result.kind == "ws_upgrade"
    return result.message


@pytest.mark.parametrize(
    ("status", "headers", "words"),
    [
        (200, ok_headers(), "101"),
        (101, [(b"connection", b"upgrade"), (b"sec-websocket-accept", ACCEPT)], "upgrade header"),
        (101, [(b"upgrade", b"h2c"), (b"connection", b"upgrade"), (b"sec-websocket-accept", ACCEPT)], "upgrade"),
        (101, [(b"upgrade", b"websocket"), (b"connection", b"close"), (b"sec-websocket-accept", ACCEPT)], "connection"),
        (101, [(b"upgrade", b"websocket"), (b"connection", b"upgrade")], "sec-websocket-accept"),
        (101, [*ok_headers()[:2], (b"sec-websocket-accept", b"wrong=")], "sec-websocket-accept"),
        (101, ok_headers((b"sec-websocket-accept", ACCEPT)), "sec-websocket-accept"),
    ],
)
def test_check_response_http1_failures(status: int, headers: list[tuple[bytes, bytes]], words: str) -> None:
    """Each check of RFC 6455 4.1 on the server's handshake."""
    assert words in fails(check_response(KEY, status, headers, WsOpts()))


def test_unoffered_subprotocol() -> None:
    """A subprotocol we did not offer, or several, fail the handshake (RFC 6455 4.1)."""
    opts = WsOpts(protocols=("chat",))
    assert "did not offer" in fails(check_response(KEY, 101, ok_headers((b"sec-websocket-protocol", b"other")), opts))
    assert "did not offer" in fails(check_response(KEY, 101, ok_headers((b"sec-websocket-protocol", b"x")), WsOpts()))
    assert "several" in fails(check_response(KEY, 101, ok_headers((b"sec-websocket-protocol", b"chat, x")), opts))


@pytest.mark.parametrize(
    ("value", "compress", "words"),
    [
        (b"permessage-deflate", False, "did not offer"),
        (b"x-webkit-deflate-frame", True, "did not offer"),
        (b"permessage-deflate, permessage-deflate", True, "twice"),
        (b"permessage-deflate; server_max_window_bits=7", True, "8..15"),
        (b"permessage-deflate; client_max_window_bits", True, "8..15"),
        (b"permessage-deflate; foo", True, "unknown"),
        (b"permessage-deflate; server_no_context_takeover; server_no_context_takeover", True, "twice"),
        (b"permessage-deflate;;", True, "RFC 6455 9.1"),
    ],
)
def test_bad_extensions(value: bytes, compress: bool, words: str) -> None:
    """Unknown or unoffered extensions and bad parameters fail the handshake (RFC 6455 4.1, RFC 7692 7.1)."""
    result = check_response(KEY, 101, ok_headers((b"sec-websocket-extensions", value)), WsOpts(compress=compress))
    assert words in fails(result)


def test_extensions_split_over_header_lines() -> None:
    """Several sec-websocket-extensions lines are one list: permessage-deflate twice is refused."""
    headers = ok_headers((b"sec-websocket-extensions", b"permessage-deflate"), (b"sec-websocket-extensions", b"x"))
    assert "did not offer" in fails(check_response(KEY, 101, headers, WsOpts(compress=True)))


def test_http2_checks() -> None:
    """RFC 8441: a 2xx answer without key checks succeeds; other statuses fail the stream."""
    opts = WsOpts(compress=True)
    ext = (b"sec-websocket-extensions", b"permessage-deflate; client_max_window_bits=10")
    assert check_response(None, 200, [ext], opts) == Negotiated(None, DeflateParams(client_max_window_bits=10))
    assert "2xx" in fails(check_response(None, 404, [], opts), scope="stream")
    assert "did not offer" in fails(
        check_response(None, 200, [(b"sec-websocket-protocol", b"x")], opts), scope="stream"
    )
