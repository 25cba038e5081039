"""RFC 9113 sections 3, 4 and 6: the connection preface, frame format and per-frame rules,
checked on the client machine with raw frames from a scripted server."""

from __future__ import annotations

from typing import Any

from gun_core.events import Closed, Response
from gun_core.http2_frames import ErrorCode
from tests.helpers.h2 import (
    PREFACE,
    T_CONTINUATION,
    T_DATA,
    T_HEADERS,
    T_PING,
    T_RST_STREAM,
    T_SETTINGS,
    T_WINDOW_UPDATE,
    H2Server,
    Wire,
    connect_client,
    expect_connection_error,
    expect_stream_error,
)

PE = ErrorCode.PROTOCOL_ERROR
FSE = ErrorCode.FRAME_SIZE_ERROR
S = H2Server()  # only for frames that carry no field block


def started(**kw: Any) -> tuple[Wire, int]:
    w = connect_client(**kw)
    h: int = w.client.request(b"GET", b"/", [], None)
    w.pull()
    return w, h


# --------------------------------------------------------------------------- 3.4 preface


def test_client_preface_is_the_magic_then_settings() -> None:
    """The client connection preface is the 24-octet magic string followed by a SETTINGS frame
    (RFC 9113 3.4)."""
    w = connect_client(handshake=False)
    assert PREFACE == b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    assert w.sent[0].type == T_SETTINGS and not w.sent[0].ack


def test_server_preface_must_be_settings() -> None:
    """The server preface is a SETTINGS frame, which must come first; anything else is a connection
    error of type PROTOCOL_ERROR (RFC 9113 3.4)."""
    w = connect_client(handshake=False)
    expect_connection_error(w, S.ping(), PE)
    w = connect_client(handshake=False)
    expect_connection_error(w, S.settings_ack(), PE)


def test_requests_may_be_sent_before_the_server_preface() -> None:
    """The client may send frames right after its own preface, without waiting for the server's
    (RFC 9113 3.4)."""
    w = connect_client(handshake=False)
    w.client.request(b"GET", b"/", [], None)
    assert [f.type for f in w.pull()] == [T_HEADERS]


# --------------------------------------------------------------------------- 4.1 / 4.2 frame format


def test_unknown_frame_types_are_ignored() -> None:
    """Frames of unknown types are ignored and discarded (RFC 9113 4.1, 5.5)."""
    w, h = started()
    assert w.feed(S.frame(0x77, 0xFF, 1, b"extension payload")) == []
    assert w.sent == []
    assert w.feed(w.server.response(1, 200)) == [Response(h, True, 200, [])]


def test_unknown_flags_are_ignored() -> None:
    """Flags without a meaning for a frame type are ignored (RFC 9113 4.1)."""
    w, h = started()
    events = w.feed(w.server.frame(T_HEADERS, 0x1 | 0x4 | 0x2 | 0x40 | 0x80, 1, w.server.encode([(":status", "200")])))
    assert events == [Response(h, True, 200, [])]


def test_reserved_bit_is_ignored() -> None:
    """The reserved bit of the stream identifier must be ignored on receipt (RFC 9113 4.1)."""
    w, h = started()
    events = w.feed(w.server.headers(0x80000001, [(":status", "200")], end_stream=True))
    assert events == [Response(h, True, 200, [])]


def test_frame_above_our_max_frame_size_is_a_frame_size_error() -> None:
    """A frame larger than our SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR; for a frame that can
    change connection state it is a connection error (RFC 9113 4.2)."""
    w, _ = started()
    expect_connection_error(w, S.data(1, b"x" * 16385), FSE)


def test_larger_frames_are_accepted_once_advertised() -> None:
    """Frames up to the SETTINGS_MAX_FRAME_SIZE we advertised are accepted (RFC 9113 4.2, 6.5.2)."""
    w, _h = started(opts={"max_frame_size_received": 65536, "initial_stream_window_size": 100000})
    w.feed(w.server.window_update(0, 1))  # harmless
    events = w.feed(w.server.headers(1, [(":status", "200")]) + w.server.data(1, b"y" * 60000, end_stream=True))
    assert len(events) == 2 and len(events[1].data) == 60000


# --------------------------------------------------------------------------- 6.1 DATA


def test_data_on_stream_zero() -> None:
    """DATA frames on stream 0 are a connection error of type PROTOCOL_ERROR (RFC 9113 6.1)."""
    w, _ = started()
    expect_connection_error(w, S.data(0, b"x"), PE)


def test_data_padding_too_long() -> None:
    """DATA padding as long as the payload or longer is a connection error PROTOCOL_ERROR (RFC 9113 6.1)."""
    w, _ = started()
    w.feed(w.server.headers(1, [(":status", "200")]))
    expect_connection_error(w, S.frame(T_DATA, 0x8, 1, bytes([4]) + b"abc"), PE)


# --------------------------------------------------------------------------- 6.2 HEADERS


def test_headers_on_stream_zero() -> None:
    """HEADERS on stream 0 is a connection error PROTOCOL_ERROR (RFC 9113 6.2)."""
    w, _ = started()
    expect_connection_error(w, w.server.headers(0, [(":status", "200")]), PE)


def test_headers_padding_too_long() -> None:
    """HEADERS padding that leaves no room for the field block is a PROTOCOL_ERROR (RFC 9113 6.2)."""
    w, _ = started()
    expect_connection_error(w, S.frame(T_HEADERS, 0xC, 1, bytes([9]) + b"\x88"), PE)


def test_headers_with_priority_depending_on_itself() -> None:
    """A stream may not depend on itself: stream error PROTOCOL_ERROR (RFC 9113 5.3.1, 6.2)."""
    w, h = started()
    expect_stream_error(w, w.server.headers(1, [(":status", "200")], priority=(1, 10)), PE, h)


def test_headers_priority_fields_are_skipped() -> None:
    """The deprecated priority fields of HEADERS are read past and ignored (RFC 9113 5.3.2, 6.2)."""
    w, h = started()
    events = w.feed(w.server.headers(1, [(":status", "200")], priority=(0, 200), padding=2, end_stream=True))
    assert events == [Response(h, True, 200, [])]


# --------------------------------------------------------------------------- 6.3 PRIORITY


def test_priority_is_ignored_in_any_state() -> None:
    """PRIORITY frames are ignored, even for idle or closed streams (RFC 9113 5.1, 5.3.2, 6.3)."""
    w, _ = started()
    assert w.feed(S.priority(1, 0) + S.priority(99, 0) + S.priority(4, 0)) == []
    assert w.sent == []


def test_priority_on_stream_zero() -> None:
    """PRIORITY on stream 0 is a connection error PROTOCOL_ERROR (RFC 9113 6.3)."""
    w, _ = started()
    expect_connection_error(w, S.priority(0, 1), PE)


def test_priority_of_wrong_length_is_a_stream_error() -> None:
    """A PRIORITY frame of length other than 5 is a stream error FRAME_SIZE_ERROR (RFC 9113 6.3)."""
    w, h = started()
    expect_stream_error(w, S.frame(2, 0, 1, b"\0\0\0\0"), FSE, h)


# --------------------------------------------------------------------------- 6.4 RST_STREAM


def test_rst_stream_on_stream_zero() -> None:
    """RST_STREAM on stream 0 is a connection error PROTOCOL_ERROR (RFC 9113 6.4)."""
    w, _ = started()
    expect_connection_error(w, S.rst_stream(0, 0), PE)


def test_rst_stream_of_wrong_length() -> None:
    """RST_STREAM with a length other than 4 is a connection error FRAME_SIZE_ERROR (RFC 9113 6.4)."""
    w, _ = started()
    expect_connection_error(w, S.frame(T_RST_STREAM, 0, 1, b"\0\0\0\0\0"), FSE)


def test_rst_stream_on_idle_stream() -> None:
    """RST_STREAM for an idle stream is a connection error PROTOCOL_ERROR (RFC 9113 6.4)."""
    w, _ = started()
    expect_connection_error(w, S.rst_stream(3, 0), PE)


# --------------------------------------------------------------------------- 6.5 SETTINGS (framing)


def test_settings_on_a_stream() -> None:
    """SETTINGS with a non-zero stream id is a connection error PROTOCOL_ERROR (RFC 9113 6.5)."""
    w = connect_client()
    expect_connection_error(w, S.frame(T_SETTINGS, 0, 1, b""), PE)


def test_settings_ack_with_payload() -> None:
    """A SETTINGS ACK with a payload is a connection error FRAME_SIZE_ERROR (RFC 9113 6.5)."""
    w = connect_client()
    expect_connection_error(w, S.frame(T_SETTINGS, 1, 0, b"\0\x03\0\0\0\x01"), FSE)


def test_settings_length_not_multiple_of_six() -> None:
    """A SETTINGS length that is not a multiple of 6 is a connection error FRAME_SIZE_ERROR (RFC 9113 6.5)."""
    w = connect_client()
    expect_connection_error(w, S.frame(T_SETTINGS, 0, 0, b"\0\x03\0\0\0"), FSE)


# --------------------------------------------------------------------------- 6.7 PING


def test_ping_is_acknowledged_with_the_same_payload() -> None:
    """A PING without ACK is answered by a PING with ACK and the same payload (RFC 9113 6.7)."""
    w = connect_client()
    w.feed(S.ping(b"\x00\x01\x02\x03\x04\x05\x06\x07"))
    assert [(f.type, f.flags, f.payload) for f in w.sent] == [(T_PING, 1, b"\x00\x01\x02\x03\x04\x05\x06\x07")]


def test_ping_ack_is_not_answered() -> None:
    """A PING with ACK must not be answered (RFC 9113 6.7)."""
    w = connect_client()
    assert w.feed(S.ping(b"unasked!", ack=True)) == [] and w.sent == []


def test_ping_on_a_stream() -> None:
    """PING on a stream other than 0 is a connection error PROTOCOL_ERROR (RFC 9113 6.7)."""
    w = connect_client()
    expect_connection_error(w, S.frame(T_PING, 0, 1, b"12345678"), PE)


def test_ping_of_wrong_length() -> None:
    """PING of length other than 8 is a connection error FRAME_SIZE_ERROR (RFC 9113 6.7)."""
    w = connect_client()
    expect_connection_error(w, S.frame(T_PING, 0, 0, b"123456789"), FSE)


# --------------------------------------------------------------------------- 6.8 GOAWAY


def test_goaway_on_a_stream() -> None:
    """GOAWAY on a stream other than 0 is a connection error PROTOCOL_ERROR (RFC 9113 6.8)."""
    w = connect_client()
    expect_connection_error(w, S.frame(7, 0, 1, b"\0" * 8), PE)


def test_goaway_too_short() -> None:
    """A GOAWAY shorter than 8 octets is a FRAME_SIZE_ERROR (RFC 9113 6.8)."""
    w = connect_client()
    expect_connection_error(w, S.frame(7, 0, 0, b"\0" * 7), FSE)


# --------------------------------------------------------------------------- 6.9 WINDOW_UPDATE (framing)


def test_window_update_of_zero_on_a_stream() -> None:
    """A WINDOW_UPDATE increment of 0 on a stream is a stream error PROTOCOL_ERROR (RFC 9113 6.9)."""
    w, h = started()
    expect_stream_error(w, S.window_update(1, 0), PE, h)


def test_window_update_of_zero_on_the_connection() -> None:
    """A WINDOW_UPDATE increment of 0 on stream 0 is a connection error PROTOCOL_ERROR (RFC 9113 6.9)."""
    w = connect_client()
    expect_connection_error(w, S.window_update(0, 0), PE)


def test_window_update_of_wrong_length() -> None:
    """A WINDOW_UPDATE of length other than 4 is a connection error FRAME_SIZE_ERROR (RFC 9113 6.9)."""
    w = connect_client()
    expect_connection_error(w, S.frame(T_WINDOW_UPDATE, 0, 0, b"\0\0\0\0\x01"), FSE)


# --------------------------------------------------------------------------- 6.10 CONTINUATION / 4.3 field blocks


def test_continuation_without_headers() -> None:
    """A CONTINUATION not preceded by HEADERS, PUSH_PROMISE or CONTINUATION without END_HEADERS is a
    connection error PROTOCOL_ERROR (RFC 9113 6.10)."""
    w, _ = started()
    expect_connection_error(w, S.continuation(1, b"\x88"), PE)


def test_other_frame_inside_a_field_block() -> None:
    """A field block is a contiguous sequence of frames: any other frame in between (even PING or an
    unknown type) is a connection error PROTOCOL_ERROR (RFC 9113 4.3, 6.10)."""
    for middle in (S.ping(), S.frame(0x77, 0, 0, b""), S.data(1, b"x"), S.priority(1, 0)):
        w, _ = started()
        block = w.server.encode([(":status", "200")])
        w.feed(w.server.frame(T_HEADERS, 0, 1, block[:1]))
        expect_connection_error(w, middle, PE)


def test_continuation_on_another_stream() -> None:
    """A CONTINUATION on a different stream than the open field block is a PROTOCOL_ERROR (RFC 9113 6.10)."""
    w, _ = started()
    w.client.request(b"GET", b"/", [], None)
    w.pull()
    block = w.server.encode([(":status", "200")])
    w.feed(w.server.frame(T_HEADERS, 0, 1, block))
    expect_connection_error(w, w.server.frame(T_CONTINUATION, 4, 3, b""), PE)


def test_field_block_decoding_error() -> None:
    """A field block that cannot be decoded is a connection error COMPRESSION_ERROR (RFC 9113 4.3)."""
    w, _ = started()
    expect_connection_error(w, S.frame(T_HEADERS, 0x5, 1, b"\xff\xff\xff\xff\xff\xff\xff"), ErrorCode.COMPRESSION_ERROR)


def test_field_blocks_of_reset_streams_are_still_decoded() -> None:
    """Field blocks are decoded even for streams we reset, so that the HPACK context stays in sync
    (RFC 9113 4.3)."""
    w, h = started()
    w.client.request(b"GET", b"/", [], None)
    w.pull()
    w.client.cancel(h)
    w.pull()
    s = w.server
    # The server indexes a field while answering the cancelled stream, then refers to it.
    s1 = s.headers(1, [(":status", "200"), ("x-indexed", "value")], end_stream=True)
    s3 = s.headers(3, [(":status", "200"), ("x-indexed", "value")], end_stream=True)
    events = w.feed(s1 + s3)
    assert events == [Response(2, True, 200, [(b"x-indexed", b"value")])]


def test_closed_is_final() -> None:
    """After a connection error nothing more is processed and the last event is Closed (RFC 9113 5.4.1)."""
    w, _ = started()
    events = w.feed(S.data(0, b"x") + w.server.response(1, 200))
    assert len(events) == 1 and isinstance(events[0], Closed)
