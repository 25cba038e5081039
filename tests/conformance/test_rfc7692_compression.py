"""RFC 7692: permessage-deflate negotiation (7.1) and the compressed framing (6, 7.2), client side.

Several tests use the example payloads printed in RFC 7692 7.2.3, byte for byte.
"""

from __future__ import annotations

import os
import zlib

import pytest

from gun_core.events import Ws
from gun_core.options import WsOpts
from gun_core.ws import Binary, Opcode, Ping, Text, WsProtocol
from gun_core.ws_deflate import OFFER, DeflateParams, parse_extensions
from gun_core.ws_handshake import Negotiated, check_response, upgrade_headers
from tests.helpers.ws import SID, ServerCompressor, client, close, error_code, feed, frame, ping, sent, text

HELLO_1_BLOCK = bytes([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])


def deflate_client() -> WsProtocol:
    return client(deflate=DeflateParams())


# ---------------------------------------------------------------- 7.1 negotiation


def test_offer() -> None:
    """The client offers permessage-deflate and lets the server limit our window (RFC 7692 7.1.2.2)."""
    h = dict(upgrade_headers(b"k", WsOpts(compress=True)))
    assert h[b"sec-websocket-extensions"] == OFFER
    assert parse_extensions(OFFER) == [("permessage-deflate", [("client_max_window_bits", None)])]
    assert b"sec-websocket-extensions" not in dict(upgrade_headers(b"k", WsOpts()))


@pytest.mark.parametrize(
    ("answer", "params"),
    [
        (b"permessage-deflate", DeflateParams()),
        (b"permessage-deflate; server_no_context_takeover", DeflateParams(server_no_context_takeover=True)),
        (b"permessage-deflate; client_no_context_takeover", DeflateParams(client_no_context_takeover=True)),
        (b"permessage-deflate; server_max_window_bits=10", DeflateParams(server_max_window_bits=10)),
        (b"permessage-deflate; client_max_window_bits=8", DeflateParams(client_max_window_bits=8)),
        (
            b"permessage-deflate; client_max_window_bits=15; client_no_context_takeover",
            DeflateParams(client_no_context_takeover=True),
        ),
    ],
)
def test_accepted_answers(answer: bytes, params: DeflateParams) -> None:
    """Each parameter a server may answer our offer with (RFC 7692 7.1.1.1-7.1.2.2)."""
    from gun_core.ws_handshake import accept_key

    headers = [
        (b"upgrade", b"websocket"),
        (b"connection", b"upgrade"),
        (b"sec-websocket-accept", accept_key(b"k")),
        (b"sec-websocket-extensions", answer),
    ]
    assert check_response(b"k", 101, headers, WsOpts(compress=True)) == Negotiated(None, params)


# ---------------------------------------------------------------- 6, 7.2 framing and payloads


def test_rfc_example_single_block() -> None:
    """'Hello' in one compressed DEFLATE block (RFC 7692 7.2.3.1)."""
    assert feed(deflate_client(), frame(1, HELLO_1_BLOCK, rsv1=True)) == [Ws(SID, Text("Hello"))]


def test_rfc_example_fragmented() -> None:
    """The same message split in two fragments; RSV1 only on the first (RFC 7692 7.2.3.1, 6.1)."""
    data = frame(1, HELLO_1_BLOCK[:3], rsv1=True, fin=False) + frame(0, HELLO_1_BLOCK[3:])
    assert feed(deflate_client(), data) == [Ws(SID, Text("Hello"))]


def test_rfc_example_shared_window() -> None:
    """The second 'Hello' refers to the first through the shared LZ77 window (RFC 7692 7.2.3.2)."""
    data = frame(1, HELLO_1_BLOCK, rsv1=True) + frame(1, bytes([0xF2, 0x00, 0x11, 0x00, 0x00]), rsv1=True)
    assert feed(deflate_client(), data) == [Ws(SID, Text("Hello"))] * 2


def test_rfc_example_no_compression_block() -> None:
    """A DEFLATE block with no compression (RFC 7692 7.2.3.3)."""
    payload = bytes([0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00])
    assert feed(deflate_client(), frame(1, payload, rsv1=True)) == [Ws(SID, Text("Hello"))]


def test_rfc_example_bfinal_block() -> None:
    """A block with BFINAL set followed by an empty block header (RFC 7692 7.2.3.4)."""
    payload = bytes([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00])
    p = deflate_client()
    assert feed(p, frame(1, payload, rsv1=True) + frame(1, HELLO_1_BLOCK, rsv1=True)) == [Ws(SID, Text("Hello"))] * 2


def test_rfc_example_two_blocks() -> None:
    """Two DEFLATE blocks in one message (RFC 7692 7.2.3.5)."""
    payload = bytes([0xF2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xCA, 0xC9, 0xC9, 0x07, 0x00])
    assert feed(deflate_client(), frame(1, payload, rsv1=True)) == [Ws(SID, Text("Hello"))]


def test_rsv1_on_continuation_fails_1002() -> None:
    """RSV1 is set on the first frame of a compressed message only (RFC 7692 6.1)."""
    data = frame(1, HELLO_1_BLOCK[:3], rsv1=True, fin=False) + frame(0, HELLO_1_BLOCK[3:], rsv1=True)
    assert error_code(feed(deflate_client(), data)) == 1002


def test_rsv1_on_control_frame_fails_1002() -> None:
    """Control frames are never compressed: RSV1 on them is an error (RFC 7692 6.1)."""
    assert error_code(feed(deflate_client(), ping(b"x", rsv1=True))) == 1002
    assert error_code(feed(deflate_client(), close(1000, rsv1=True))) == 1002


def test_rsv1_without_negotiation_fails_1002() -> None:
    """Without the extension, RSV1 has no meaning (RFC 6455 5.2)."""
    assert error_code(feed(client(), frame(1, HELLO_1_BLOCK, rsv1=True))) == 1002


def test_outgoing_messages_strip_the_tail() -> None:
    """We compress with a sync flush and remove the trailing 00 00 ff ff (RFC 7692 7.2.1)."""
    p = deflate_client()
    p.send([Text("Hello"), Binary(b""), Ping(b"ctl")])
    f1, f2, f3 = sent(p)
    assert (f1.opcode, f1.rsv, f2.rsv, f3.rsv) == (Opcode.TEXT, 4, 4, 0)
    d = zlib.decompressobj(-15)
    assert not f1.payload.endswith(b"\x00\x00\xff\xff")
    assert d.decompress(f1.payload + b"\x00\x00\xff\xff") == b"Hello"
    assert d.decompress(f2.payload + b"\x00\x00\xff\xff") == b""


@pytest.mark.parametrize("no_context_takeover", [False, True])
def test_server_context_takeover(no_context_takeover: bool) -> None:
    """Without server_no_context_takeover the window spans messages; with it each message stands alone
    (RFC 7692 7.1.1.1, 7.2.2)."""
    comp = ServerCompressor(no_context_takeover=no_context_takeover)
    msgs = [os.urandom(100) * 3 for _ in range(3)] + [b"repeat" * 50] * 3
    data = b"".join(frame(2, comp.compress(m), rsv1=True) for m in msgs)
    p = client(deflate=DeflateParams(server_no_context_takeover=no_context_takeover))
    assert feed(p, data) == [Ws(SID, Binary(m)) for m in msgs]


def test_client_no_context_takeover_resets_our_window() -> None:
    """With client_no_context_takeover each message we send decompresses alone (RFC 7692 7.1.1.2)."""
    p = client(deflate=DeflateParams(client_no_context_takeover=True))
    p.send([Text("same words " * 20), Text("same words " * 20)])
    for f in sent(p):
        assert zlib.decompressobj(-15).decompress(f.payload + b"\x00\x00\xff\xff") == b"same words " * 20


@pytest.mark.parametrize("bits", [9, 10, 12, 15])
def test_client_max_window_bits_is_honoured(bits: int) -> None:
    """We compress within the window the server allows (RFC 7692 7.1.2.2)."""
    p = client(deflate=DeflateParams(client_max_window_bits=bits))
    data = os.urandom(600) * 200  # repeats at distance 600 > 2**9
    p.send(Binary(data))
    [f] = sent(p)
    assert zlib.decompressobj(-bits).decompress(f.payload + b"\x00\x00\xff\xff") == data


def test_client_max_window_bits_8_sends_uncompressed() -> None:
    """zlib cannot compress within 256 bytes: the message goes uncompressed, which is allowed (RFC 7692 6)."""
    p = client(deflate=DeflateParams(client_max_window_bits=8))
    p.send(Text("Hello"))
    [f] = sent(p)
    assert f.rsv == 0 and f.payload == b"Hello"


def test_server_small_window_is_inflated() -> None:
    """Whatever window the server compresses with (8..15), we inflate (RFC 7692 7.1.2.1)."""
    for bits in range(9, 16):
        comp = ServerCompressor(wbits=bits)
        msg = os.urandom(700) * 30
        p = client(deflate=DeflateParams(server_max_window_bits=bits))
        assert feed(p, frame(2, comp.compress(msg), rsv1=True)) == [Ws(SID, Binary(msg))]


def test_invalid_utf8_after_inflate_fails_1007() -> None:
    """Text is validated after decompression (RFC 7692 6, RFC 6455 8.1)."""
    payload = ServerCompressor().compress(b"ok \xff bad")
    assert error_code(feed(deflate_client(), frame(1, payload, rsv1=True))) == 1007


def test_decompression_bomb_fails_1009() -> None:
    """The decompressed size is bounded by max_message_size: a compression bomb fails with 1009
    (RFC 7692 8.1 on resource use)."""
    bomb = ServerCompressor().compress(b"a" * (8 * 1024 * 1024))
    p = client(deflate=DeflateParams(), max_message_size=65536)
    assert error_code(feed(p, frame(1, bomb, rsv1=True))) == 1009


def test_compressed_message_between_plain_ones() -> None:
    """Compressed and uncompressed messages may alternate (RFC 7692 6)."""
    comp = ServerCompressor()
    data = text("a") + frame(1, comp.compress(b"b"), rsv1=True) + text("c")
    assert feed(deflate_client(), data) == [Ws(SID, Text(x)) for x in "abc"]


def test_both_roles_agree() -> None:
    """A client core and a server-role core understand each other with compression."""
    params = DeflateParams(server_max_window_bits=10, client_no_context_takeover=True)
    cli = WsProtocol(SID, WsOpts(), Negotiated(None, params))
    srv = WsProtocol(SID, WsOpts(), Negotiated(None, params), mask=False)
    cli.send(Text("ping " * 100))
    assert srv.receive_data(cli.data_to_send()) == [Ws(SID, Text("ping " * 100))]
