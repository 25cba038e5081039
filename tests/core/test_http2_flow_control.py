"""Flow control of gun_core.http2 on both sides (RFC 9113 5.2, 6.9): windows, queueing, resume."""

from __future__ import annotations

from typing import Any

from gun_core.events import Closed, Data, Error, Response
from gun_core.http2 import Http2Protocol
from gun_core.http2_frames import ErrorCode
from gun_core.options import check_http2_opts
from tests.helpers.h2 import T_DATA, T_HEADERS, T_RST_STREAM, T_WINDOW_UPDATE, Wire


def connect(opts: dict[str, Any] | None = None, settings: Any = ()) -> Wire:
    w = Wire(Http2Protocol(b"example.com", b"https", check_http2_opts(opts)))
    w.handshake(settings)
    return w


def upload(w: Wire, body: bytes, fin: bool = True) -> int:
    h: int = w.client.request(b"POST", b"/", [], body if fin else None, body_follows=not fin)
    if not fin:
        w.client.data(h, False, body)
    w.pull()
    return h


def data_sizes(w: Wire) -> list[int]:
    return [len(f.payload) for f in w.sent if f.type == T_DATA]


# --------------------------------------------------------------------------- send side


def test_body_waits_for_the_stream_window_and_resumes() -> None:
    """We never send more DATA than the stream window; a stream WINDOW_UPDATE resumes it (RFC 9113 6.9)."""
    w = connect(settings={4: 100})
    h = upload(w, b"x" * 250)
    assert data_sizes(w) == [100]
    assert w.client.stream_info(h)["queued_bytes"] == 150
    assert w.client.stream_info(h)["send_window"] == 0
    w.feed(w.server.window_update(1, 120))
    assert data_sizes(w) == [120]
    w.feed(w.server.window_update(1, 1000))
    assert data_sizes(w) == [30] and w.sent[-1].flags == 0x1


def test_body_waits_for_the_connection_window() -> None:
    """The connection window limits all streams together; a stream 0 WINDOW_UPDATE resumes (RFC 9113 6.9.1)."""
    w = connect()
    w.client.request(b"POST", b"/", [], b"a" * 40000)
    w.client.request(b"POST", b"/", [], b"b" * 40000)
    w.pull()
    assert sum(data_sizes(w)) == 65535
    w.feed(w.server.window_update(0, 10000))
    assert sum(data_sizes(w)) == 10000
    w.feed(w.server.window_update(0, 100000) + w.server.window_update(3, 100000))
    assert sum(data_sizes(w)) == 80000 - 75535
    assert [f.flags for f in w.sent if f.type == T_DATA][-1] == 0x1


def test_frames_respect_peer_max_frame_size() -> None:
    """DATA frames are cut at the server's SETTINGS_MAX_FRAME_SIZE (RFC 9113 4.2)."""
    w = connect(settings={5: 20000, 4: 100000})
    w.feed(w.server.window_update(0, 100000))
    upload(w, b"z" * 50000)
    assert data_sizes(w) == [20000, 20000, 10000]


def test_initial_window_change_applies_to_open_streams_and_may_go_negative() -> None:
    """A new SETTINGS_INITIAL_WINDOW_SIZE shifts every stream's send window by the difference, possibly
    below zero; sending resumes only once it is positive again (RFC 9113 6.9.2)."""
    w = connect()
    h = upload(w, b"q" * 70000, fin=False)
    assert sum(data_sizes(w)) == 65535
    w.feed(w.server.window_update(0, 1000000))
    assert w.client.stream_info(h)["send_window"] == 0
    w.feed(w.server.settings({4: 65535 - 1000}))
    assert w.client.stream_info(h)["send_window"] == -1000
    assert data_sizes(w) == []
    w.feed(w.server.window_update(1, 1500))
    assert data_sizes(w) == [500]
    w.feed(w.server.settings({4: 65535 + 10000}))
    assert data_sizes(w) == [min(10000, 70000 - 65535 - 500)]


def test_initial_window_increase_resumes_blocked_streams() -> None:
    """Raising SETTINGS_INITIAL_WINDOW_SIZE unblocks queued data (RFC 9113 6.9.2)."""
    w = connect(settings={4: 10})
    upload(w, b"k" * 30)
    assert data_sizes(w) == [10]
    w.feed(w.server.settings({4: 100}))
    assert data_sizes(w) == [20]


def test_end_stream_needs_no_window() -> None:
    """An empty DATA frame with END_STREAM is sent even when the window is 0 (RFC 9113 6.9.1)."""
    w = connect(settings={4: 5})
    h = upload(w, b"12345", fin=False)
    assert data_sizes(w) == [5]
    w.client.data(h, True, b"")
    assert [(f.type, f.flags, f.payload) for f in w.pull()] == [(T_DATA, 1, b"")]


def test_blocked_streams_take_turns() -> None:
    """When the connection window reopens, blocked streams are served round the list, not one forever."""
    w = connect(settings={5: 16384})
    upload(w, b"a" * 100000)
    upload(w, b"b" * 100000)
    w.feed(w.server.window_update(1, 200000) + w.server.window_update(3, 200000))
    for _ in range(4):
        w.feed(w.server.window_update(0, 16384))
    ids = [f.stream_id for f in w.server.frames if f.type == T_DATA][-4:]
    assert set(ids) == {1, 3}


def test_window_update_overflow_on_a_stream_is_a_stream_error() -> None:
    """A WINDOW_UPDATE taking a stream window above 2^31-1 -> RST_STREAM FLOW_CONTROL_ERROR (RFC 9113 6.9.1)."""
    w = connect()
    h = upload(w, b"", fin=False)
    (e,) = w.feed(w.server.window_update(1, 2**31 - 1))
    assert isinstance(e, Error) and e.stream_id == h and e.reason.code is ErrorCode.FLOW_CONTROL_ERROR
    assert [(f.type, f.u32()) for f in w.sent] == [(T_RST_STREAM, ErrorCode.FLOW_CONTROL_ERROR)]


def test_window_update_overflow_on_the_connection_is_a_connection_error() -> None:
    """A WINDOW_UPDATE taking the connection window above 2^31-1 -> GOAWAY FLOW_CONTROL_ERROR (RFC 9113 6.9.1)."""
    w = connect()
    (c,) = w.feed(w.server.window_update(0, 2**31 - 1))
    assert isinstance(c, Closed) and c.reason.code is ErrorCode.FLOW_CONTROL_ERROR


# --------------------------------------------------------------------------- receive side


def respond(w: Wire, sid: int = 1) -> None:
    w.feed(w.server.headers(sid, [(":status", "200")]))


def test_connection_window_updates_at_half_not_per_frame() -> None:
    """Receiving DATA sends WINDOW_UPDATE only after half of a window was consumed, not per frame."""
    w = connect()
    w.client.request(b"GET", b"/", [], None)
    w.pull()
    respond(w)
    updates = []
    for _ in range(100):
        w.feed(w.server.data(1, b"x" * 1000))
        updates += [(f.stream_id, f.u32()) for f in w.sent if f.type == T_WINDOW_UPDATE]
    assert len(updates) == 6  # for 100 frames: three for the connection, three for the stream
    assert {sid for sid, _ in updates} == {0, 1}
    assert all(inc >= 32768 for _, inc in updates)


def test_padding_counts_against_the_windows() -> None:
    """Padding bytes count for flow control (RFC 9113 6.1, 6.9)."""
    w = connect({"initial_stream_window_size": 1000})
    h = w.client.request(b"GET", b"/", [], None)
    w.pull()
    respond(w)
    w.feed(w.server.data(1, b"ab", padding=200))
    assert w.client.stream_info(h)["recv_window"] == 1000 - 203


def test_peer_exceeding_the_stream_window_is_a_stream_error() -> None:
    """DATA beyond the stream window we advertised -> RST_STREAM FLOW_CONTROL_ERROR (RFC 9113 6.9.1)."""
    w = connect({"initial_stream_window_size": 100})
    h = w.client.request(b"GET", b"/", [], None)
    w.pull()
    respond(w)
    events = w.feed(w.server.data(1, b"x" * 101))
    assert len(events) == 1 and isinstance(events[0], Error)
    assert events[0].stream_id == h and events[0].reason.code is ErrorCode.FLOW_CONTROL_ERROR
    assert [f.type for f in w.sent] == [T_RST_STREAM]


def test_peer_exceeding_the_connection_window_is_a_connection_error() -> None:
    """DATA beyond the connection window -> GOAWAY FLOW_CONTROL_ERROR (RFC 9113 6.9.1)."""
    w = connect({"initial_stream_window_size": 1_000_000, "max_frame_size_received": 100_000})
    w.client.request(b"GET", b"/", [], None)
    w.pull()
    respond(w)
    (c,) = w.feed(w.server.data(1, b"x" * 65536))
    assert isinstance(c, Closed) and c.reason.code is ErrorCode.FLOW_CONTROL_ERROR


def test_flow_credit_limits_stream_window_updates() -> None:
    """With flow, the stream's WINDOW_UPDATEs never open more than the owner's remaining credit;
    update_flow grants more (Gun's flow option)."""
    w = connect({"initial_stream_window_size": 1000})
    h = w.client.request(b"GET", b"/", [], None, flow=1500)
    w.pull()
    respond(w)
    w.feed(w.server.data(1, b"x" * 1000))
    stream_updates = [f.u32() for f in w.sent if f.type == T_WINDOW_UPDATE and f.stream_id == 1]
    assert stream_updates == [500]  # credit left: 500
    w.feed(w.server.data(1, b"x" * 500))
    assert [f for f in w.sent if f.type == T_WINDOW_UPDATE and f.stream_id == 1] == []
    assert w.client.stream_info(h)["flow"] == 0 and w.client.stream_info(h)["recv_window"] == 0
    w.client.update_flow(h, 300)
    assert [(f.type, f.stream_id, f.u32()) for f in w.pull()] == [(T_WINDOW_UPDATE, 1, 300)]


def test_flow_default_comes_from_options() -> None:
    """opts.flow is the default credit of every request."""
    w = connect({"flow": 10})
    h = w.client.request(b"GET", b"/", [], None)
    assert w.client.stream_info(h)["flow"] == 10
    h2 = w.client.request(b"GET", b"/", [], None, flow=None)
    assert w.client.stream_info(h2)["flow"] == 10


def test_data_on_reset_stream_still_counts_for_the_connection() -> None:
    """DATA for a stream we reset is dropped, but still consumed from the connection window and given back
    (RFC 9113 6.9)."""
    w = connect()
    h = w.client.request(b"GET", b"/", [], None)
    w.pull()
    respond(w)
    w.client.cancel(h)
    w.pull()
    sent_updates = 0
    for _ in range(40):
        assert w.feed(w.server.data(1, b"x" * 1000)) == []
        sent_updates += len([f for f in w.sent if f.type == T_WINDOW_UPDATE and f.stream_id == 0])
    assert sent_updates == 1


def test_no_stream_window_update_after_end_stream() -> None:
    """No WINDOW_UPDATE is sent for a stream the server has ended."""
    w = connect({"initial_stream_window_size": 100})
    h = w.client.request(b"GET", b"/", [], None)
    w.pull()
    events = w.feed(w.server.headers(1, [(":status", "200")]) + w.server.data(1, b"y" * 100, end_stream=True))
    assert events == [Response(h, False, 200, []), Data(h, True, b"y" * 100)]
    assert [f for f in w.sent if f.type == T_WINDOW_UPDATE and f.stream_id == 1] == []


def test_queued_request_body_waits_for_its_stream_to_start() -> None:
    """Body data of a request still queued for a concurrency slot is sent after its HEADERS."""
    w = connect(settings={3: 1})
    w.client.request(b"GET", b"/", [], None)
    h2 = w.client.request(b"POST", b"/", [], None, body_follows=True)
    w.client.data(h2, True, b"body")
    assert [f.stream_id for f in w.pull()] == [1]
    w.feed(w.server.response(1, 200))
    assert [(f.type, f.stream_id) for f in w.sent] == [(T_HEADERS, 3), (T_DATA, 3)]
    assert w.sent[1].payload == b"body" and w.sent[1].flags == 1
