"""Unit tests of gun_core.http2.Http2Protocol: requests, responses, commands and events."""

from __future__ import annotations

import struct
import time
from typing import Any

import pytest

from gun_core.errors import InvalidHeader, UsageError
from gun_core.events import Closed, Data, Error, Inform, Notify, Response, Trailers
from gun_core.http2 import Http2Protocol
from gun_core.http2_frames import ErrorCode, PingFrame
from gun_core.options import check_http2_opts
from gun_core.protocol import CoreProtocol
from tests.helpers.h2 import (
    PREFACE,
    T_CONTINUATION,
    T_DATA,
    T_GOAWAY,
    T_HEADERS,
    T_PING,
    T_RST_STREAM,
    T_SETTINGS,
    T_WINDOW_UPDATE,
    H2Server,
    Wire,
)


def connect(opts: dict[str, Any] | None = None, settings: Any = (), **kw: Any) -> Wire:
    w = Wire(Http2Protocol(b"example.com", b"https", check_http2_opts(opts), **kw))
    w.handshake(settings)
    return w


def get(w: Wire, path: bytes = b"/", headers: Any = (), **kw: Any) -> int:
    h: int = w.client.request(b"GET", path, list(headers), None, **kw)
    w.pull()
    return h


def test_is_a_core_protocol() -> None:
    """Http2Protocol implements the CoreProtocol interface and names itself "http2"."""
    p = Http2Protocol(b"example.com")
    assert isinstance(p, CoreProtocol)
    assert p.protocol == "http2" and not p.paused and not p.closing


def test_preface_and_settings_are_queued_at_construction() -> None:
    """The client preface, then SETTINGS with our non-default values (RFC 9113 3.4, 6.5)."""
    opts = check_http2_opts(
        {
            "max_decode_table_size": 1000,
            "max_concurrent_streams": 7,
            "initial_stream_window_size": 100000,
            "max_frame_size_received": 32768,
            "max_header_list_size": 5000,
            "enable_connect_protocol": True,
        }
    )
    p = Http2Protocol(b"a", b"http", opts, enable_push=False)
    out = p.data_to_send()
    assert out.startswith(PREFACE)
    frames = H2Server().read(out)
    assert [f.type for f in frames] == [T_SETTINGS]
    assert frames[0].settings() == {1: 1000, 2: 0, 3: 7, 4: 100000, 5: 32768, 6: 5000, 8: 1}
    assert p.data_to_send() == b""


def test_connection_window_update_when_asked_for_a_larger_window() -> None:
    """initial_connection_window_size above 65535 is announced by a WINDOW_UPDATE on stream 0
    right after SETTINGS (RFC 9113 6.9.2: SETTINGS cannot change the connection window)."""
    w = Wire(Http2Protocol(b"a", opts=check_http2_opts({"initial_connection_window_size": 1_000_000})))
    assert [f.type for f in w.sent] == [T_SETTINGS, T_WINDOW_UPDATE]
    assert w.sent[1].stream_id == 0 and w.sent[1].u32() == 1_000_000 - 65535


def test_server_settings_are_acked_and_notified() -> None:
    """The server's SETTINGS are acknowledged and reported as Notify("settings_changed") (RFC 9113 6.5.3)."""
    w = Wire(Http2Protocol(b"a"))
    events = w.feed(w.server.settings({3: 50, 4: 1000, 5: 20000, 6: 9000, 8: 1, 0x42: 1}))
    assert [f.type for f in w.sent] == [T_SETTINGS] and w.sent[0].ack
    assert events == [
        Notify(
            "settings_changed",
            {
                "header_table_size": 4096,
                "enable_push": True,
                "max_concurrent_streams": 50,
                "initial_window_size": 1000,
                "max_frame_size": 20000,
                "max_header_list_size": 9000,
                "enable_connect_protocol": True,
            },
        )
    ]
    assert w.client.peer_settings["max_concurrent_streams"] == 50


def test_get_request_headers() -> None:
    """Pseudo-headers first; connection-specific fields dropped, te kept only as "trailers", host
    becomes :authority, names lowercased, END_STREAM on HEADERS (RFC 9113 8.2.2, 8.3.1)."""
    w = connect()
    h = get(
        w,
        b"/p?q=1",
        [
            (b"Accept", b"*/*"),
            (b"connection", b"keep-alive"),
            (b"keep-alive", b"5"),
            (b"proxy-connection", b"x"),
            (b"transfer-encoding", b"chunked"),
            (b"upgrade", b"h2c"),
            (b"te", b"gzip"),
            (b"te", b"trailers"),
            (b"host", b"other.example:8080"),
        ],
    )
    assert h == 1
    (hf,) = w.sent
    assert hf.type == T_HEADERS and hf.stream_id == 1 and hf.flags == 0x5
    assert w.server.decode(hf.payload) == [
        (b":method", b"GET"),
        (b":scheme", b"https"),
        (b":authority", b"other.example:8080"),
        (b":path", b"/p?q=1"),
        (b"accept", b"*/*"),
        (b"te", b"trailers"),
    ]


def test_caller_cannot_set_pseudo_headers_or_empty_path() -> None:
    """Bad calls raise at once: a caller pseudo-header, an empty path."""
    w = connect()
    with pytest.raises(UsageError):
        w.client.request(b"GET", b"/", [(b":path", b"/x")], None)
    with pytest.raises(UsageError):
        w.client.request(b"GET", b"", [], None)
    assert issubclass(UsageError, ValueError) and not issubclass(InvalidHeader, UsageError)


def test_request_with_body_adds_content_length() -> None:
    """A whole body goes in DATA after HEADERS, END_STREAM on the last DATA; content-length is added."""
    w = connect()
    w.client.request(b"POST", b"/up", [(b"content-type", b"text/plain")], b"hello")
    w.pull()
    assert [(f.type, f.flags) for f in w.sent] == [(T_HEADERS, 0x4), (T_DATA, 0x1)]
    assert (b"content-length", b"5") in w.server.decode(w.sent[0].payload)
    assert w.sent[1].payload == b"hello"


def test_empty_body_ends_stream_on_headers() -> None:
    """An empty body is sent as HEADERS with END_STREAM and content-length 0."""
    w = connect()
    w.client.request(b"POST", b"/", [], b"")
    w.pull()
    assert [(f.type, f.flags) for f in w.sent] == [(T_HEADERS, 0x5)]
    assert (b"content-length", b"0") in w.server.decode(w.sent[0].payload)


def test_body_follows_with_data_calls() -> None:
    """With body_follows, HEADERS has no END_STREAM and data() calls send DATA until fin."""
    w = connect()
    h = w.client.request(b"PUT", b"/", [(b"content-length", b"6")], None, body_follows=True)
    w.pull()
    assert [(f.type, f.flags) for f in w.sent] == [(T_HEADERS, 0x4)]
    w.client.data(h, False, b"abc")
    assert [(f.type, f.flags, f.payload) for f in w.pull()] == [(T_DATA, 0, b"abc")]
    w.client.data(h, False, b"")
    assert w.pull() == []
    w.client.data(h, True, b"def")
    assert [(f.type, f.flags, f.payload) for f in w.pull()] == [(T_DATA, 1, b"def")]
    with pytest.raises(UsageError):
        w.client.data(h, True, b"more")
    with pytest.raises(UsageError):
        w.client.data(99, True, b"x")


def test_fin_without_data_sends_empty_end_stream() -> None:
    """data(fin=True) with no bytes ends the stream with an empty DATA frame."""
    w = connect()
    h = w.client.request(b"POST", b"/", [], None, body_follows=True)
    w.pull()
    w.client.data(h, True, b"")
    assert [(f.type, f.flags, f.payload) for f in w.pull()] == [(T_DATA, 1, b"")]


def test_response_with_body_and_trailers() -> None:
    """HEADERS -> Response, DATA -> Data, trailing HEADERS -> Trailers which end the stream."""
    w = connect()
    h = get(w)
    events = w.feed(w.server.response(1, 200, [("content-type", "text/plain")], b"hi", trailers=[("x-sum", "1")]))
    assert events == [
        Response(h, False, 200, [(b"content-type", b"text/plain")]),
        Data(h, False, b"hi"),
        Trailers(h, [(b"x-sum", b"1")]),
    ]
    assert w.client.active_streams() == [] and w.client.stream_info(h) is None


def test_response_without_body_and_informational() -> None:
    """1xx responses are Inform events; a final HEADERS with END_STREAM is Response(fin=True) (RFC 9113 8.1)."""
    w = connect()
    h = get(w)
    s = w.server
    events = w.feed(
        s.headers(1, [(":status", "103"), ("link", "</a>")]) + s.headers(1, [(":status", "204")], end_stream=True)
    )
    assert events == [Inform(h, 103, [(b"link", b"</a>")]), Response(h, True, 204, [])]


def test_data_with_fin_and_padding() -> None:
    """Padding is stripped from DATA; the END_STREAM DATA frame carries fin (RFC 9113 6.1)."""
    w = connect()
    h = get(w)
    s = w.server
    events = w.feed(
        s.headers(1, [(":status", "200")], padding=7) + s.data(1, b"abc", padding=20) + s.data(1, b"", end_stream=True)
    )
    assert events == [Response(h, False, 200, []), Data(h, False, b"abc"), Data(h, True, b"")]


def test_header_block_with_continuations() -> None:
    """A response field block split over HEADERS + CONTINUATION frames is decoded whole (RFC 9113 6.10)."""
    w = connect()
    h = get(w)
    fields = [(":status", "200"), *[(f"x-h{i}", "v" * 50) for i in range(20)]]
    events = w.feed(w.server.headers_split(1, fields, 4, end_stream=True))
    assert len(events) == 1 and isinstance(events[0], Response)
    assert events[0].fin and len(events[0].headers) == 20 and events[0].stream_id == h


def test_stream_ids_are_odd_and_handles_sequential() -> None:
    """Our streams use odd, increasing ids (RFC 9113 5.1.1); handles are 1, 2, 3..."""
    w = connect()
    handles = [w.client.request(b"GET", b"/", [], None) for _ in range(3)]
    frames = w.pull()
    assert handles == [1, 2, 3]
    assert [f.stream_id for f in frames] == [1, 3, 5]
    assert [w.client.stream_info(h)["wire_id"] for h in handles] == [1, 3, 5]


def test_stream_info_and_active_streams() -> None:
    """stream_info reports state, half-states and windows; None once the stream is done."""
    w = connect()
    h = get(w)
    info = w.client.stream_info(h)
    assert info == {
        "state": "running",
        "rfc_state": "half-closed (local)",
        "local": "fin",
        "remote": "idle",
        "wire_id": 1,
        "pushed": False,
        "send_window": 65535,
        "recv_window": 65535,
        "flow": None,
        "queued_bytes": 0,
    }
    assert w.client.active_streams() == [h]
    w.feed(w.server.headers(1, [(":status", "200")]))
    info = w.client.stream_info(h)
    assert (info["rfc_state"], info["remote"]) == ("half-closed (local)", "nofin")
    w.feed(w.server.data(1, b"", end_stream=True))
    assert w.client.stream_info(h) is None and w.client.active_streams() == []


def test_extended_connect_needs_server_permission() -> None:
    """An extended CONNECT (:protocol) is only sent after SETTINGS_ENABLE_CONNECT_PROTOCOL=1 (RFC 8441 3, 4)."""
    w = connect()
    with pytest.raises(UsageError):
        w.client.request(b"CONNECT", b"/chat", [], None, body_follows=True, protocol=b"websocket")
    w = connect(settings={8: 1})
    with pytest.raises(UsageError):
        w.client.request(b"GET", b"/chat", [], None, protocol=b"websocket")
    h = w.client.request(
        b"CONNECT", b"/chat", [(b"sec-websocket-version", b"13")], None, body_follows=True, protocol=b"websocket"
    )
    (hf,) = w.pull()
    assert hf.flags == 0x4  # no END_STREAM: the stream carries the tunnel
    assert w.server.decode(hf.payload) == [
        (b":method", b"CONNECT"),
        (b":protocol", b"websocket"),
        (b":scheme", b"https"),
        (b":authority", b"example.com"),
        (b":path", b"/chat"),
        (b"sec-websocket-version", b"13"),
    ]
    events = w.feed(w.server.headers(1, [(":status", "200")]) + w.server.data(1, b"\x81\x00"))
    assert events == [Response(h, False, 200, []), Data(h, False, b"\x81\x00")]
    w.client.data(h, False, b"\x82\x00")
    assert [(f.type, f.payload) for f in w.pull()] == [(T_DATA, b"\x82\x00")]


def test_plain_connect_has_only_method_and_authority() -> None:
    """A CONNECT request carries only :method and :authority (RFC 9113 8.5)."""
    w = connect()
    w.client.request(b"CONNECT", b"proxy.example:443", [], None, body_follows=True)
    (hf,) = w.pull()
    assert w.server.decode(hf.payload) == [(b":method", b"CONNECT"), (b":authority", b"proxy.example:443")]


def test_headers_larger_than_peer_frame_size_use_continuation() -> None:
    """Our HEADERS are split by the peer's SETTINGS_MAX_FRAME_SIZE (RFC 9113 4.2, 6.10)."""
    w = connect()
    w.client.request(b"GET", b"/", [(b"x-big", b"a" * 40000)], None)
    frames = w.pull()
    assert [f.type for f in frames] == [T_HEADERS] + [T_CONTINUATION] * (len(frames) - 1)
    assert len(frames) >= 2 and all(len(f.payload) <= 16384 for f in frames)
    assert frames[0].flags == 0x1 and frames[-1].flags == 0x4
    assert (b"x-big", b"a" * 40000) in w.server.request_headers(frames)[1]


def test_peer_max_header_list_size_is_honoured() -> None:
    """A request header list above the server's SETTINGS_MAX_HEADER_LIST_SIZE raises (RFC 9113 6.5.2)."""
    w = connect(settings={6: 250})
    with pytest.raises(UsageError):
        w.client.request(b"GET", b"/", [(b"x", b"y" * 200)], None)
    w.client.request(b"GET", b"/", [(b"x", b"y")], None)


def test_sensitive_headers_are_never_indexed() -> None:
    """authorization is sent as a never-indexed literal (RFC 7541 7.1.3)."""
    w = connect()
    get(w, headers=[(b"authorization", b"Bearer secret")])
    block = w.sent[0].payload
    assert any(b & 0xF0 == 0x10 for b in block)  # a "never indexed" representation is present
    assert w.server.decode(block)[-1] == (b"authorization", b"Bearer secret")


def test_cancel_sends_rst_cancel_and_ignores_later_frames() -> None:
    """cancel() sends RST_STREAM CANCEL; later frames of that stream produce no event (RFC 9113 5.4.2, 8.7)."""
    w = connect()
    h = get(w)
    assert w.client.cancel(h) == []
    (rst,) = w.pull()
    assert (rst.type, rst.stream_id, rst.u32()) == (T_RST_STREAM, 1, ErrorCode.CANCEL)
    assert w.feed(w.server.response(1, 200, [], b"late")) == []
    assert w.sent_of(T_RST_STREAM) == []
    assert w.client.cancel(h) == [] and w.client.data(h, True, b"") == []


def test_peer_reset_is_a_stream_error_event() -> None:
    """RST_STREAM from the server -> Error with kind stream_reset and its code (RFC 9113 6.4)."""
    w = connect()
    h = get(w)
    (e,) = w.feed(w.server.rst_stream(1, ErrorCode.INTERNAL_ERROR))
    assert isinstance(e, Error) and e.stream_id == h
    assert e.reason.scope == "stream" and e.reason.kind == "stream_reset"
    assert e.reason.code is ErrorCode.INTERNAL_ERROR and "6.4" in e.reason.message
    assert w.feed(w.server.rst_stream(1, 8)) == []  # already gone: ignored


def test_unknown_reset_code_is_kept_as_int() -> None:
    """An unknown error code in RST_STREAM is reported as its number (RFC 9113 7)."""
    w = connect()
    get(w)
    (e,) = w.feed(w.server.rst_stream(1, 0x77))
    assert isinstance(e, Error) and e.reason.code == 0x77


def test_reset_no_error_after_complete_response_is_silent() -> None:
    """RST_STREAM(NO_ERROR) after a complete response only stops our upload (RFC 9113 8.1)."""
    w = connect()
    h = w.client.request(b"POST", b"/", [], None, body_follows=True)
    w.pull()
    assert w.feed(w.server.response(1, 200)) == [Response(h, True, 200, [])]
    assert w.client.active_streams() == [h]  # our side is still open
    assert w.feed(w.server.rst_stream(1, 0)) == []
    assert w.client.active_streams() == []
    assert w.client.data(h, True, b"x") == [] and w.pull() == []


def test_server_may_answer_before_the_upload_ends() -> None:
    """A full response before our body is done: the stream stays open on our side until fin."""
    w = connect()
    h = w.client.request(b"POST", b"/", [], None, body_follows=True)
    w.pull()
    w.feed(w.server.response(1, 200, [], b"early"))
    w.client.data(h, True, b"rest")
    assert [(f.type, f.flags) for f in w.pull()] == [(T_DATA, 1)]
    assert w.client.active_streams() == []


def test_ping_and_ack_notify() -> None:
    """ping() sends a PING and returns its payload; the ACK gives Notify("ping_ack") (RFC 9113 6.7)."""
    w = connect()
    payload = w.client.ping()
    (pf,) = w.pull()
    assert (pf.type, pf.flags, pf.payload) == (T_PING, 0, payload) and len(payload) == 8
    assert w.feed(w.server.ping(payload, ack=True)) == [Notify("ping_ack", payload)]
    assert w.feed(w.server.ping(payload, ack=True)) == []  # already answered


def test_peer_ping_is_answered() -> None:
    """A PING from the server is answered with an ACK carrying the same data (RFC 9113 6.7)."""
    w = connect()
    assert w.feed(w.server.ping(b"abcdefgh")) == []
    assert [(f.type, f.flags, f.payload) for f in w.sent] == [(T_PING, 1, b"abcdefgh")]


def test_keepalive_pings_and_tolerance() -> None:
    """keepalive() pings; with keepalive_tolerance N, the call finding N unanswered pings closes."""
    w = connect({"keepalive_tolerance": 2})
    assert w.client.keepalive() == []
    (p1,) = w.pull()
    w.feed(w.server.ping(p1.payload, ack=True))  # answered: counter back to 0
    assert w.client.keepalive() == [] and w.client.keepalive() == []
    events = w.client.keepalive()
    assert len(events) == 1 and isinstance(events[0], Closed)
    assert events[0].reason.kind == "timeout" and "keepalive" in events[0].reason.message
    assert [f.type for f in w.pull()][-1] == T_GOAWAY


def test_timeout_names() -> None:
    """timeout() knows settings, preface, closing and keepalive; other names raise."""
    w = connect()
    assert w.client.timeout("settings") == []  # acked already
    assert w.client.timeout("preface") == []
    assert w.client.timeout("closing") == []  # not closing
    with pytest.raises(UsageError):
        w.client.timeout("bogus")
    assert w.client.timeout("keepalive") == [] and w.pull()[0].type == T_PING


def test_settings_timeout() -> None:
    """No SETTINGS ACK by settings_timeout -> GOAWAY SETTINGS_TIMEOUT and Closed (RFC 9113 6.5.3)."""
    w = Wire(Http2Protocol(b"a"))
    w.feed(w.server.settings())
    h = get(w)
    (c,) = w.client.timeout("settings")
    assert isinstance(c, Closed) and c.reason.code is ErrorCode.SETTINGS_TIMEOUT and c.killed == (h,)
    (g,) = w.pull()
    assert g.type == T_GOAWAY and g.error_code() == ErrorCode.SETTINGS_TIMEOUT


def test_preface_timeout() -> None:
    """No server SETTINGS by preface_timeout -> connection error (RFC 9113 3.4)."""
    w = Wire(Http2Protocol(b"a"))
    (c,) = w.client.timeout("preface")
    assert isinstance(c, Closed) and c.reason.kind == "timeout" and c.reason.code is ErrorCode.PROTOCOL_ERROR


def test_peer_close_reports_killed_and_unprocessed() -> None:
    """b"" from the server: Closed(kind closed), started streams killed, queued ones unprocessed."""
    w = connect(settings={3: 1})
    h1 = get(w)
    h2 = get(w)
    (c,) = w.client.receive_data(b"")
    assert c == Closed(c.reason, (h1,), (h2,))
    assert c.reason.scope == "connection" and c.reason.kind == "closed"
    assert w.client.closing and w.client.receive_data(b"more") == []
    with pytest.raises(UsageError):
        w.client.request(b"GET", b"/", [], None)


def test_connection_error_is_one_closed_event_after_goaway() -> None:
    """A connection error: GOAWAY with the code and last peer stream id, then a single Closed event
    listing killed and unprocessed streams (RFC 9113 5.4.1)."""
    w = connect(settings={3: 1})
    h1 = get(w)
    h2 = get(w)
    events = w.feed(w.server.data(0, b"x"))
    assert len(events) == 1 and isinstance(events[0], Closed)
    c = events[0]
    assert (c.killed, c.unprocessed) == ((h1,), (h2,))
    assert c.reason.kind == "protocol_error" and c.reason.code is ErrorCode.PROTOCOL_ERROR
    assert "RFC 9113 6.1" in c.reason.message
    (g,) = w.sent
    assert g.type == T_GOAWAY and g.u32() == 0 and g.error_code() == ErrorCode.PROTOCOL_ERROR


def test_events_before_a_connection_error_in_the_same_batch_are_kept() -> None:
    """Frames before the bad one in one read still produce their events."""
    w = connect()
    h = get(w)
    events = w.feed(w.server.headers(1, [(":status", "200")]) + w.server.ping(b"1234567"))
    assert events[0] == Response(h, False, 200, [])
    assert isinstance(events[1], Closed) and events[1].reason.code is ErrorCode.FRAME_SIZE_ERROR


def test_http1_answer_is_reported_clearly() -> None:
    """A server answering in HTTP/1.1 is a connection error that says so (RFC 9113 3.4)."""
    w = Wire(Http2Protocol(b"a"))
    (c,) = w.feed(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    assert isinstance(c, Closed) and "HTTP/1" in c.reason.message


def test_update_flow_validates_increment() -> None:
    """update_flow with a non-positive increment raises; unknown streams are ignored."""
    w = connect()
    with pytest.raises(UsageError):
        w.client.update_flow(1, 0)
    assert w.client.update_flow(42, 10) == []


def test_hundred_concurrent_gets_are_cheap() -> None:
    """100 concurrent small GETs with their responses take well under a second."""
    w = connect()
    s = w.server
    start = time.perf_counter()
    for _ in range(20):
        handles = [w.client.request(b"GET", b"/item", [(b"accept", b"*/*")], None) for _ in range(100)]
        w.pull()
        wires = [w.client.stream_info(h)["wire_id"] for h in handles]
        reply = b"".join(s.response(i, 200, [("content-type", "text/plain")], b"ok") for i in wires)
        events = w.feed(reply)
        assert len(events) == 200 and not w.client.active_streams()
    assert time.perf_counter() - start < 2.0  # 2000 requests; typically ~0.2s


def test_big_data_payload_is_sliced_once() -> None:
    """A big DATA frame fed in one piece arrives as one Data event with the exact bytes."""
    w = connect(
        {
            "max_frame_size_received": 1 << 20,
            "initial_stream_window_size": 1 << 21,
            "initial_connection_window_size": 1 << 21,
        }
    )
    h = get(w)
    body = bytes(range(256)) * 4096
    events = w.feed(w.server.headers(1, [(":status", "200")]) + w.server.data(1, body, end_stream=True))
    assert events[1] == Data(h, True, body)


def test_leftover_partial_frame_is_kept() -> None:
    """A partial frame at the end of a read is kept for the next one."""
    w = connect()
    h = get(w)
    wire = w.server.headers(1, [(":status", "200")]) + w.server.data(1, b"abcdef", end_stream=True)
    assert w.feed(wire[:-3]) == [Response(h, False, 200, [])]
    assert w.feed(wire[-3:]) == [Data(h, True, b"abcdef")]


def test_struct_of_goaway_last_stream_for_push() -> None:
    """Our GOAWAY names the last stream the server initiated that we accepted (RFC 9113 6.8)."""
    w = connect()
    get(w)
    w.feed(
        w.server.push_promise(
            1, 2, [(":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", "/a")]
        )
    )
    w.client.close_gracefully()
    w.feed(w.server.response(1, 200) + w.server.response(2, 200))
    (g,) = w.sent_of(T_GOAWAY)
    assert struct.unpack(">LL", g.payload) == (2, 0)


def test_a_bug_of_ours_becomes_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception inside the machine never reaches the driver: it is a connection error
    INTERNAL_ERROR whose GOAWAY carries no internal detail."""
    w = connect()
    h = get(w)

    def broken(frame: Any, events: Any) -> None:
        raise RuntimeError("oops")

    monkeypatch.setitem(w.client._dispatch, PingFrame, broken)
    (c,) = w.feed(w.server.ping())
    assert isinstance(c, Closed) and c.reason.code is ErrorCode.INTERNAL_ERROR and c.killed == (h,)
    assert "oops" in c.reason.message
    (g,) = w.sent
    assert g.type == T_GOAWAY and g.error_code() == ErrorCode.INTERNAL_ERROR and g.payload[8:] == b""


def test_queued_and_pushed_stream_info() -> None:
    """stream_info tells queued requests and pushed streams apart."""
    w = connect(settings={3: 1})
    get(w)
    h2 = get(w)
    assert w.client.stream_info(h2)["state"] == "queued" and w.client.stream_info(h2)["rfc_state"] == "idle"
    promise = [(":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", "/a")]
    (p,) = w.feed(w.server.push_promise(1, 2, promise))
    info = w.client.stream_info(p.new_stream_id)
    assert info["pushed"] and info["wire_id"] == 2 and info["local"] == "fin"


def test_http1_answer_detected_in_small_pieces() -> None:
    """The HTTP/1.x answer is recognised even when it arrives a byte at a time."""
    w = Wire(Http2Protocol(b"a"))
    events: list[Any] = []
    for b in b"HTTP/1.1 505 HTTP Version Not Supported\r\n\r\n":
        events += w.client.receive_data(bytes([b]))
    assert len(events) == 1 and isinstance(events[0], Closed) and "HTTP/1" in events[0].reason.message


def test_oversized_frame_header_split_across_reads() -> None:
    """A too-large frame is refused once its header is complete, even split across reads (RFC 9113 4.2)."""
    w = connect()
    header = w.server.frame(T_DATA, 0, 1, b"", length=1 << 20)
    assert w.client.receive_data(header[:4]) == []
    (c,) = w.client.receive_data(header[4:] + b"\0" * 100)
    assert isinstance(c, Closed) and c.reason.code is ErrorCode.FRAME_SIZE_ERROR


def test_long_download_in_odd_reads() -> None:
    """A long body read in pieces that cut frames anywhere arrives intact and in order."""
    w = connect({"initial_connection_window_size": 1 << 24, "initial_stream_window_size": 1 << 24})
    h = get(w)
    s = w.server
    body = bytes(range(256)) * 2000
    wire = s.headers(1, [(":status", "200")]) + b"".join(
        s.data(1, body[i : i + 16384], end_stream=i + 16384 >= len(body)) for i in range(0, len(body), 16384)
    )
    got = bytearray()
    fins = []
    for i in range(0, len(wire), 5000):
        for e in w.client.receive_data(wire[i : i + 5000]):
            if isinstance(e, Data):
                got += e.data
                fins.append(e.fin)
    assert bytes(got) == body and fins[-1] and not any(fins[:-1]) and w.client.active_streams() == []
    assert h == 1
