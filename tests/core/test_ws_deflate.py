"""Unit tests of gun_core.ws_deflate: extension parsing, response checks, bounded inflate, deflate."""

from __future__ import annotations

import itertools
import os
import zlib

import pytest

from gun_core.events import Ws
from gun_core.options import WsOpts
from gun_core.ws import Binary, Text, WsProtocol
from gun_core.ws_deflate import TAIL, DeflateParams, Deflater, Inflater, accept_response, parse_extensions
from gun_core.ws_frames import FrameError
from gun_core.ws_handshake import Negotiated
from tests.helpers.ws import SID, ServerCompressor, client, error_code, feed, frame, sent, text

# ---------------------------------------------------------------- parse_extensions


def test_parse_extensions_grammar() -> None:
    """Tokens, parameters with and without values, quoted values, OWS and several extensions (RFC 6455 9.1)."""
    assert parse_extensions(b"permessage-deflate") == [("permessage-deflate", [])]
    assert parse_extensions(
        b'Permessage-Deflate ; client_max_window_bits = "10";server_no_context_takeover, x-other; a=b'
    ) == [
        ("permessage-deflate", [("client_max_window_bits", "10"), ("server_no_context_takeover", None)]),
        ("x-other", [("a", "b")]),
    ]
    assert parse_extensions(", ,foo,") == [("foo", [])]
    assert parse_extensions("") == []


@pytest.mark.parametrize(
    "value",
    [b"permessage-deflate;", b"permessage-deflate; =1", b'foo; a="b c"', b"foo; a=", b"foo bar", b"@foo", b'foo; a="x'],
)
def test_parse_extensions_errors(value: bytes) -> None:
    """Malformed extension lists give a message instead of a result."""
    assert isinstance(parse_extensions(value), str)


# ---------------------------------------------------------------- accept_response


def test_accept_response_defaults_and_all_params() -> None:
    """Every response parameter of RFC 7692 7.1 is understood."""
    assert accept_response([]) == DeflateParams()
    got = accept_response(
        [
            ("server_no_context_takeover", None),
            ("client_no_context_takeover", None),
            ("server_max_window_bits", "10"),
            ("client_max_window_bits", "8"),
        ]
    )
    assert got == DeflateParams(True, True, 10, 8)


@pytest.mark.parametrize(
    "params",
    [
        [("server_no_context_takeover", "1")],
        [("client_no_context_takeover", "x")],
        [("server_max_window_bits", None)],
        [("server_max_window_bits", "7")],
        [("server_max_window_bits", "16")],
        [("server_max_window_bits", "010")],
        [("client_max_window_bits", None)],
        [("client_max_window_bits", "abc")],
        [("server_no_context_takeover", None), ("server_no_context_takeover", None)],
        [("unknown", None)],
    ],
)
def test_accept_response_refusals(params: list[tuple[str, str | None]]) -> None:
    """Invalid values, duplicates and unknown parameters are refused (RFC 7692 7.1)."""
    result = accept_response(params)
    assert isinstance(result, str) and "RFC 7692" in result


def test_client_max_window_bits_needs_our_offer() -> None:
    """client_max_window_bits may be answered only if offered (RFC 7692 7.1.2.2)."""
    assert isinstance(accept_response([("client_max_window_bits", "9")], offered_client_max_window_bits=False), str)


# ---------------------------------------------------------------- Inflater / Deflater


@pytest.mark.parametrize(("wbits", "nct"), list(itertools.product(range(9, 16), [False, True])))
def test_deflater_inflater_round_trip(wbits: int, nct: bool) -> None:
    """Messages compressed by Deflater inflate back, whatever the window and context mode."""
    d = Deflater(wbits, nct)
    i = Inflater(nct)
    msgs = [b"", b"hello hello hello", os.urandom(3000), b"hello hello hello" * 200, b"x"]
    for m in msgs:
        c = d.compress(m)
        assert c is not None and not c.endswith(TAIL)
        out = i.feed(c, 10**6)
        assert isinstance(out, bytes)
        end = i.finish(10**6 - len(out))
        assert isinstance(end, bytes) and out + end == m


def test_deflater_window_8_sends_uncompressed() -> None:
    """zlib cannot write raw DEFLATE with a 256-byte window: such messages go uncompressed."""
    assert Deflater(8, False).compress(b"abc") is None


def test_no_context_takeover_on_our_side_is_independent() -> None:
    """With no_context_takeover each compressed message inflates alone (RFC 7692 7.1.1.2)."""
    d = Deflater(15, True)
    d.compress(b"repeat me please " * 10)
    second = d.compress(b"repeat me please " * 10)
    assert second is not None
    fresh = zlib.decompressobj(-15)
    assert fresh.decompress(second + TAIL) == b"repeat me please " * 10


def test_context_takeover_shrinks_repeats() -> None:
    """With context takeover a repeated message refers back to the previous one."""
    d = Deflater(15, False)
    first = d.compress(b"some moderately long message body " * 3)
    second = d.compress(b"some moderately long message body " * 3)
    assert first is not None and second is not None and len(second) < len(first)


def test_inflate_bomb_is_bounded() -> None:
    """A tiny input that inflates hugely stops at the limit: 1009, never the whole output (RFC 7692 8)."""
    bomb = ServerCompressor().compress(b"\x00" * (50 * 1024 * 1024))
    assert len(bomb) < 100_000
    i = Inflater(False)
    err = i.feed(bomb, 1000)
    assert isinstance(err, FrameError) and err.code == 1009


def test_inflate_corrupt_data_is_1007() -> None:
    """Data that is not DEFLATE fails with 1007."""
    err = Inflater(False).feed(b"\xff\xff\xff\xff", 1000)
    assert isinstance(err, FrameError) and err.code == 1007


def test_inflate_final_block_keeps_window() -> None:
    """A message ending with BFINAL set is accepted and the window carries on (RFC 7692 7.2.3.4)."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    first = c.compress(b"abcdefgh" * 10) + c.flush(zlib.Z_FINISH)  # BFINAL set
    i = Inflater(False)
    assert i.feed(first, 1000) + i.finish(1000) == b"abcdefgh" * 10  # type: ignore[operator]
    # The next message may refer to the first one's bytes.
    c2 = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=b"abcdefgh" * 10)
    second = c2.compress(b"abcdefgh" * 10) + c2.flush(zlib.Z_SYNC_FLUSH)
    assert i.feed(second[:-4], 1000) + i.finish(1000) == b"abcdefgh" * 10  # type: ignore[operator]


def test_inflate_blocks_after_final_block() -> None:
    """Blocks after a final block continue the message (RFC 7692 7.2.3.4); garbage there is 1007."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    first = c.compress(b"abc") + c.flush(zlib.Z_FINISH)
    c2 = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=b"abc")
    second = c2.compress(b"abcabc") + c2.flush(zlib.Z_SYNC_FLUSH)
    i = Inflater(True)
    assert i.feed(first + second[:-4], 1000) + i.finish(1000) == b"abcabcabc"  # type: ignore[operator]
    err = Inflater(False).feed(first + b"\xff", 1000)  # BTYPE 11 is reserved
    assert isinstance(err, FrameError) and err.code == 1007


def test_inflate_final_block_restarts_are_bounded() -> None:
    """A flood of tiny final blocks in one message is refused rather than costing unbounded work."""
    empty_final = b"\x03\x00"  # a fixed-Huffman block with BFINAL set and no data
    err = Inflater(False).feed(empty_final * (Inflater.MAX_RESTARTS + 2), 1000)
    assert isinstance(err, FrameError) and err.code == 1007 and "too many" in err.message


# ---------------------------------------------------------------- through the machine


ALL_PARAMS = [
    DeflateParams(snct, cnct, smwb, cmwb)
    for snct, cnct in itertools.product([False, True], repeat=2)
    for smwb, cmwb in [(15, 15), (9, 9), (12, 8), (8, 15)]
]


@pytest.mark.parametrize("params", ALL_PARAMS, ids=repr)
def test_machine_round_trip_every_param_combo(params: DeflateParams) -> None:
    """A client core and a server-role core exchange compressed messages both ways."""
    opts = WsOpts(silence_pings=False)
    cli = WsProtocol(SID, opts, Negotiated(None, params))
    srv = WsProtocol(SID, opts, Negotiated(None, params), mask=False)
    msgs = [Text("héllo " * 50), Binary(os.urandom(2000)), Text(""), Binary(b"a" * 70000), Text("héllo " * 50)]
    cli.send(msgs)
    assert [e.frame for e in srv.receive_data(cli.data_to_send()) if isinstance(e, Ws)] == msgs
    srv.send(msgs)
    wire = srv.data_to_send()
    assert [e.frame for e in cli.receive_data(wire) if isinstance(e, Ws)] == msgs
    # Messages are compressed (RSV1) unless the window is 8 bits, which zlib cannot honour.
    assert bool(wire[0] & 0x40) == (params.server_max_window_bits >= 9)


def test_machine_compresses_outgoing_with_rsv1() -> None:
    """Outgoing data messages are compressed and flagged with RSV1; control frames never are (RFC 7692 6.1)."""
    from gun_core.ws import Ping

    p = client(deflate=DeflateParams())
    p.send([Text("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), Ping(b"p")])
    f1, f2 = sent(p)
    assert f1.rsv == 4 and len(f1.payload) < 30
    assert f2.rsv == 0 and f2.payload == b"p"


def test_machine_bomb_closes_1009_early() -> None:
    """A small compressed frame that would inflate past max_message_size fails with 1009."""
    payload = ServerCompressor().compress(b"\x00" * (20 * 1024 * 1024))
    p = client(deflate=DeflateParams(), max_message_size=1024 * 1024)
    events = feed(p, frame(2, payload, rsv1=True))
    assert error_code(events) == 1009


def test_machine_uncompressed_message_still_accepted() -> None:
    """With deflate agreed, a message without RSV1 is taken as is (RFC 7692 6)."""
    p = client(deflate=DeflateParams())
    assert feed(p, text("plain")) == [Ws(SID, Text("plain"))]


def _inflate(pieces: list[bytes], limit: int) -> bytes | int:
    inflater = Inflater(False)
    out = b""
    for piece in pieces:
        r = inflater.feed(piece, limit - len(out))
        if isinstance(r, FrameError):
            return int(r.code)
        out += r
    r = inflater.finish(limit - len(out))
    return int(r.code) if isinstance(r, FrameError) else out + r


@pytest.mark.parametrize("cut", [1, 7, 64, 10_000])
def test_oversize_then_corrupt_gives_1009_however_cut(cut: int) -> None:
    """A message whose output passes the limit before its data turns invalid fails with 1009
    (RFC 6455 7.4.1) whether it arrives whole or in pieces: zlib decodes the bad code even
    with the output full, so the order has to be settled (found by fuzzing)."""
    limit = 600
    c = zlib.compressobj(wbits=-15)
    good = c.compress(os.urandom(limit + 1)) + c.flush(zlib.Z_SYNC_FLUSH)  # one byte too many
    data = good + b"\xff"  # then a block header with the reserved type 3: invalid
    with pytest.raises(zlib.error):  # zlib alone, even with max_length, reports the bad block
        zlib.decompressobj(-15).decompress(data, limit + 1)
    pieces = [data[i : i + cut] for i in range(0, len(data), cut)]
    assert _inflate(pieces, limit) == 1009


@pytest.mark.parametrize("cut", [1, 5, 10_000])
def test_corrupt_before_the_limit_gives_1007_however_cut(cut: int) -> None:
    """Bad data met while the output is still under the limit fails with 1007, whole or cut."""
    c = zlib.compressobj(wbits=-15)
    good = c.compress(b"hello ") + c.flush(zlib.Z_SYNC_FLUSH)
    data = good[:-4] + b"\xff" * 8
    pieces = [data[i : i + cut] for i in range(0, len(data), cut)]
    assert _inflate(pieces, 600) == 1007
