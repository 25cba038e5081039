"""Unit tests of gun_core.http2_frames: the pure HTTP/2 frame codec (RFC 9113 4, 6)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gun_core import http2_frames as fr
from gun_core.http2_frames import (
    MORE,
    ErrorCode,
    Flag,
    FrameConnectionError,
    FrameOk,
    FrameStreamError,
    FrameType,
    SettingCode,
    parse,
)
from tests.helpers.h2 import H2Server, split_frames

S = H2Server()


def ok(data: bytes, offset: int = 0, max_frame_size: int = 16384) -> fr.Frame:
    r = parse(data, offset, max_frame_size)
    assert isinstance(r, FrameOk), r
    assert r.used == len(data) - offset
    return r.frame


def conn_error(data: bytes, max_frame_size: int = 16384) -> FrameConnectionError:
    r = parse(data, 0, max_frame_size)
    assert isinstance(r, FrameConnectionError), r
    return r


def test_enums_have_rfc_values() -> None:
    """Frame types, error codes, settings and flags carry the RFC 9113 11 registry values."""
    assert [int(t) for t in FrameType] == list(range(10))
    assert [int(c) for c in ErrorCode] == list(range(14))
    assert {c.name: int(c) for c in SettingCode}["ENABLE_CONNECT_PROTOCOL"] == 8
    assert [int(c) for c in SettingCode][:6] == [1, 2, 3, 4, 5, 6]
    assert int(Flag.END_STREAM) == int(Flag.ACK) == 1 and int(Flag.PRIORITY) == 0x20
    assert fr.error_code(3) is ErrorCode.FLOW_CONTROL_ERROR
    assert fr.error_code(0xFF) == 0xFF


def test_more_until_the_whole_frame_is_there() -> None:
    """A frame is parsed only once its header and its whole payload are in the buffer (RFC 9113 4.1)."""
    frame = S.data(1, b"hello")
    for cut in range(len(frame)):
        assert parse(frame[:cut]) is MORE
    assert isinstance(parse(frame), FrameOk)


def test_parse_at_an_offset_of_a_memoryview_or_bytearray() -> None:
    """Parsing works at any offset of bytes, bytearray and memoryview buffers."""
    data = b"junk" + S.data(3, b"xyz", end_stream=True)
    for buf in (data, bytearray(data), memoryview(data)):
        f = ok(buf, 4)  # type: ignore[arg-type]
        assert isinstance(f, fr.DataFrame)
        assert (f.stream_id, f.fin, bytes(f.data), f.flow_size) == (3, True, b"xyz", 3)


def test_data_padding_is_stripped_but_counted() -> None:
    """DATA padding is removed from the data but counts for flow control (RFC 9113 6.1)."""
    f = ok(S.data(1, b"abc", padding=10))
    assert isinstance(f, fr.DataFrame)
    assert bytes(f.data) == b"abc"
    assert f.flow_size == 1 + 3 + 10


def test_data_errors() -> None:
    """DATA on stream 0, padding as long as the payload, or a padded frame with no room for Pad Length
    are connection errors (RFC 9113 6.1)."""
    assert conn_error(S.data(0, b"x")).code is ErrorCode.PROTOCOL_ERROR
    bad_pad = S.frame(0, 0x8, 1, bytes([3]) + b"ab")
    assert conn_error(bad_pad).code is ErrorCode.PROTOCOL_ERROR
    assert conn_error(S.frame(0, 0x8, 1, b"")).code is ErrorCode.FRAME_SIZE_ERROR
    assert bytes(ok(S.frame(0, 0x8, 1, bytes([2]) + b"a\0\0")).data) == b"a"  # type: ignore[union-attr]


def test_headers_with_padding_and_priority() -> None:
    """HEADERS padding and the deprecated priority fields are removed from the fragment (RFC 9113 6.2)."""
    f = ok(S.headers(5, [(":status", "200")], padding=4, priority=(1, 16), end_stream=True))
    assert isinstance(f, fr.HeadersFrame)
    assert (f.stream_id, f.fin, f.end_headers, f.self_dependent) == (5, True, True, False)
    assert bytes(f.fragment) == S.encode([(":status", "200")])  # indexed status: same bytes again


def test_headers_errors() -> None:
    """HEADERS on stream 0, too short for priority fields, or over-padded are connection errors;
    a self-dependency is flagged for the machine (RFC 9113 6.2, 5.3.1)."""
    assert conn_error(S.frame(1, 0x4, 0, b"\x88")).code is ErrorCode.PROTOCOL_ERROR
    assert conn_error(S.frame(1, 0x24, 1, b"\0\0\0")).code is ErrorCode.FRAME_SIZE_ERROR
    assert conn_error(S.frame(1, 0xC, 1, bytes([5]) + b"\x88")).code is ErrorCode.PROTOCOL_ERROR
    f = ok(S.headers(3, [(":status", "200")], priority=(3, 1)))
    assert isinstance(f, fr.HeadersFrame) and f.self_dependent


def test_priority() -> None:
    """PRIORITY is parsed (to be ignored); stream 0 is a connection error, a wrong length or a
    self-dependency a stream error (RFC 9113 6.3)."""
    f = ok(S.priority(3, 1, 255, exclusive=True))
    assert isinstance(f, fr.PriorityFrame)
    assert (f.depends_on, f.exclusive, f.weight) == (1, True, 256)
    assert conn_error(S.priority(0)).code is ErrorCode.PROTOCOL_ERROR
    r = parse(S.frame(2, 0, 3, b"\0\0\0\0"))
    assert isinstance(r, FrameStreamError) and r.code is ErrorCode.FRAME_SIZE_ERROR and r.stream_id == 3
    assert r.used == 13
    r = parse(S.priority(3, 3))
    assert isinstance(r, FrameStreamError) and r.code is ErrorCode.PROTOCOL_ERROR


def test_rst_stream() -> None:
    """RST_STREAM carries a 32-bit code; stream 0 or a length other than 4 is a connection error (RFC 9113 6.4)."""
    f = ok(S.rst_stream(1, 8))
    assert isinstance(f, fr.RstStreamFrame) and f.error_code is ErrorCode.CANCEL
    assert ok(S.rst_stream(1, 0x1234)).error_code == 0x1234  # type: ignore[union-attr]
    assert conn_error(S.rst_stream(0, 8)).code is ErrorCode.PROTOCOL_ERROR
    assert conn_error(S.frame(3, 0, 1, b"\0\0\0")).code is ErrorCode.FRAME_SIZE_ERROR


def test_settings() -> None:
    """SETTINGS: pairs in order, unknown ids kept; ACK with payload, bad length, non-zero stream and
    out-of-range values are connection errors (RFC 9113 6.5, 6.5.2)."""
    f = ok(S.settings([(3, 100), (0x99, 7), (4, 1000)]))
    assert isinstance(f, fr.SettingsFrame) and not f.ack
    assert f.settings == [(3, 100), (0x99, 7), (4, 1000)]
    assert ok(S.settings_ack()).ack  # type: ignore[union-attr]
    assert conn_error(S.frame(4, 1, 0, b"\0" * 6)).code is ErrorCode.FRAME_SIZE_ERROR
    assert conn_error(S.frame(4, 0, 0, b"\0" * 5)).code is ErrorCode.FRAME_SIZE_ERROR
    assert conn_error(S.frame(4, 0, 1, b"")).code is ErrorCode.PROTOCOL_ERROR
    assert conn_error(S.settings({2: 2})).code is ErrorCode.PROTOCOL_ERROR
    assert conn_error(S.settings({4: 2**31})).code is ErrorCode.FLOW_CONTROL_ERROR
    assert conn_error(S.settings({5: 16383})).code is ErrorCode.PROTOCOL_ERROR
    assert conn_error(S.settings({5: 2**24})).code is ErrorCode.PROTOCOL_ERROR
    assert conn_error(S.settings({8: 2})).code is ErrorCode.PROTOCOL_ERROR
    assert ok(S.settings({5: 2**24 - 1, 4: 2**31 - 1})).settings == [(5, 2**24 - 1), (4, 2**31 - 1)]  # type: ignore[union-attr]


def test_push_promise() -> None:
    """PUSH_PROMISE: promised id and fragment (padding removed); stream 0 or no room for the
    promised id is a connection error (RFC 9113 6.6)."""
    f = ok(S.push_promise(1, 2, [(":method", "GET")], padding=3))
    assert isinstance(f, fr.PushPromiseFrame)
    assert (f.stream_id, f.promised_stream_id, f.end_headers) == (1, 2, True)
    assert conn_error(S.push_promise(0, 2, [])).code is ErrorCode.PROTOCOL_ERROR
    assert conn_error(S.frame(5, 4, 1, b"\0\0")).code is ErrorCode.FRAME_SIZE_ERROR


def test_ping() -> None:
    """PING has 8 opaque bytes on stream 0; anything else is a connection error (RFC 9113 6.7)."""
    f = ok(S.ping(b"abcdefgh", ack=True))
    assert isinstance(f, fr.PingFrame) and f.ack and f.opaque == b"abcdefgh"
    assert conn_error(S.frame(6, 0, 1, b"12345678")).code is ErrorCode.PROTOCOL_ERROR
    assert conn_error(S.frame(6, 0, 0, b"1234567")).code is ErrorCode.FRAME_SIZE_ERROR


def test_goaway() -> None:
    """GOAWAY: last stream id (reserved bit ignored), code, debug data; stream 0 only, at least 8 bytes
    (RFC 9113 6.8)."""
    f = ok(S.goaway(0x80000005, 2, b"bye"))
    assert isinstance(f, fr.GoawayFrame)
    assert (f.last_stream_id, f.error_code, f.debug_data) == (5, ErrorCode.INTERNAL_ERROR, b"bye")
    assert conn_error(S.frame(7, 0, 1, b"\0" * 8)).code is ErrorCode.PROTOCOL_ERROR
    assert conn_error(S.frame(7, 0, 0, b"\0" * 7)).code is ErrorCode.FRAME_SIZE_ERROR


def test_window_update() -> None:
    """WINDOW_UPDATE: a 31-bit increment; 0 is a stream error on a stream and a connection error on
    stream 0; a length other than 4 is a FRAME_SIZE_ERROR (RFC 9113 6.9)."""
    f = ok(S.window_update(1, 0x80000010))
    assert isinstance(f, fr.WindowUpdateFrame) and f.increment == 0x10
    r = parse(S.window_update(1, 0))
    assert isinstance(r, FrameStreamError) and r.code is ErrorCode.PROTOCOL_ERROR and r.stream_id == 1
    assert conn_error(S.window_update(0, 0)).code is ErrorCode.PROTOCOL_ERROR
    assert conn_error(S.frame(8, 0, 0, b"\0\0\0\0\0")).code is ErrorCode.FRAME_SIZE_ERROR


def test_continuation_and_unknown() -> None:
    """CONTINUATION on stream 0 is a connection error (RFC 9113 6.10); unknown types are returned
    for the machine to ignore (RFC 9113 5.5)."""
    f = ok(S.continuation(1, b"\x88", end_headers=False))
    assert isinstance(f, fr.ContinuationFrame) and not f.end_headers
    assert conn_error(S.continuation(0, b"")).code is ErrorCode.PROTOCOL_ERROR
    u = ok(S.frame(0xEE, 0xFF, 7, b"whatever"))
    assert isinstance(u, fr.UnknownFrame) and (u.frame_type, u.flags, u.stream_id, u.length) == (0xEE, 0xFF, 7, 8)


def test_frame_larger_than_our_max_is_refused_from_its_header() -> None:
    """A frame longer than our SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR as soon as its 9-byte
    header is seen, before the payload arrives (RFC 9113 4.2)."""
    header = S.frame(0, 0, 1, b"", length=16385)
    assert conn_error(header).code is ErrorCode.FRAME_SIZE_ERROR
    assert parse(header, 0, 20000) is MORE


def test_reserved_bit_is_ignored() -> None:
    """The reserved bit of the stream identifier is ignored on receipt (RFC 9113 4.1)."""
    assert ok(S.frame(0, 0, 0x80000003, b"x")).stream_id == 3


def test_builders_roundtrip_through_an_independent_reader() -> None:
    """Frames we build decode to the same fields with the test server's own reader (RFC 9113 4.1)."""
    wire = (
        fr.build_data(1, True, b"abc")
        + fr.build_settings([(SettingCode.INITIAL_WINDOW_SIZE, 1000)])
        + fr.SETTINGS_ACK
        + fr.build_ping(b"12345678", ack=True)
        + fr.build_goaway(7, ErrorCode.ENHANCE_YOUR_CALM, b"dbg")
        + fr.build_rst_stream(3, ErrorCode.CANCEL)
        + fr.build_window_update(0, 12345)
    )
    frames, rest = split_frames(wire)
    assert rest == b""
    assert [(f.type, f.flags, f.stream_id) for f in frames] == [
        (0, 1, 1),
        (4, 0, 0),
        (4, 1, 0),
        (6, 1, 0),
        (7, 0, 0),
        (3, 0, 3),
        (8, 0, 0),
    ]
    assert frames[0].payload == b"abc"
    assert frames[1].settings() == {4: 1000}
    assert frames[4].payload == struct.pack(">LL", 7, 11) + b"dbg"
    assert frames[5].u32() == 8 and frames[6].u32() == 12345
    with pytest.raises(ValueError):
        fr.build_ping(b"short")


def test_build_headers_splits_into_continuations() -> None:
    """A field block larger than the peer's max frame size goes out as HEADERS + CONTINUATIONs, with
    END_STREAM on HEADERS and END_HEADERS only on the last frame (RFC 9113 4.3, 6.2, 6.10)."""
    block = bytes(range(256)) * 3
    frames, _ = split_frames(b"".join(fr.build_headers(9, True, block, 300)))
    assert [(f.type, f.flags) for f in frames] == [(1, 0x1), (9, 0), (9, 0x4)]
    assert b"".join(f.payload for f in frames) == block
    frames, _ = split_frames(b"".join(fr.build_headers(9, False, b"\x82", 300)))
    assert [(f.type, f.flags) for f in frames] == [(1, 0x4)]


def test_repr_is_short() -> None:
    """Frame reprs truncate their payloads (trace logs depend on it)."""
    f = ok(S.data(1, b"x" * 10000))
    assert len(repr(f)) < 150
    assert repr(MORE) == "MORE"


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=8))
def test_parse_never_raises(data: bytes, offset: int) -> None:
    """Any bytes give one of the four results, never an exception."""
    r = parse(data, min(offset, len(data)))
    assert isinstance(r, (FrameOk, fr.NeedMore, FrameStreamError, FrameConnectionError))
    if isinstance(r, (FrameOk, FrameStreamError)):
        assert 9 <= r.used <= len(data)
