"""Stream and connection lifecycle of gun_core.http2: concurrency limits, GOAWAY, graceful close."""

from __future__ import annotations

from typing import Any

import pytest

from gun_core.errors import UsageError
from gun_core.events import Closed, Error, Response
from gun_core.http2 import MAX_REFUSED_RETRIES, Http2Protocol
from gun_core.http2_frames import ErrorCode
from gun_core.options import check_http2_opts
from tests.helpers.h2 import T_DATA, T_GOAWAY, T_HEADERS, T_RST_STREAM, Wire


def connect(opts: dict[str, Any] | None = None, settings: Any = ()) -> Wire:
    w = Wire(Http2Protocol(b"example.com", b"https", check_http2_opts(opts)))
    w.handshake(settings)
    return w


def get(w: Wire) -> int:
    h: int = w.client.request(b"GET", b"/", [], None)
    return h


# --------------------------------------------------------------------------- MAX_CONCURRENT_STREAMS


def test_requests_beyond_the_limit_wait_with_stable_handles() -> None:
    """Beyond the server's SETTINGS_MAX_CONCURRENT_STREAMS requests are queued, not dropped; each
    starts when a stream closes and keeps the handle it was given (RFC 9113 5.1.2)."""
    w = connect(settings={3: 2})
    handles = [get(w) for _ in range(5)]
    assert handles == [1, 2, 3, 4, 5]
    assert [f.stream_id for f in w.pull()] == [1, 3]
    assert [w.client.stream_info(h)["state"] for h in handles] == ["running"] * 2 + ["queued"] * 3
    assert w.client.stream_info(3)["wire_id"] is None
    assert w.client.active_streams() == handles
    events = w.feed(w.server.response(3, 200))
    assert events == [Response(2, True, 200, [])]
    assert [(f.type, f.stream_id) for f in w.sent] == [(T_HEADERS, 5)]
    assert w.client.stream_info(3)["wire_id"] == 5
    assert w.feed(w.server.response(5, 201)) == [Response(3, True, 201, [])]
    w.feed(w.server.rst_stream(1, ErrorCode.CANCEL))
    assert sorted(f.stream_id for f in w.sent) == [9]


def test_limit_zero_queues_until_raised() -> None:
    """A limit of 0 holds every request until the server raises it (RFC 9113 6.5.2)."""
    w = connect(settings={3: 0})
    get(w)
    assert w.pull() == []
    w.feed(w.server.settings({3: 10}))
    assert [f.type for f in w.sent][-1] == T_HEADERS


def test_cancel_of_a_queued_request_sends_nothing() -> None:
    """Cancelling a request that never started sends no frame and frees its place."""
    w = connect(settings={3: 1})
    get(w)
    h2 = get(w)
    h3 = get(w)
    w.pull()
    assert w.client.cancel(h2) == [] and w.pull() == []
    w.feed(w.server.response(1, 200))
    assert [f.stream_id for f in w.sent if f.type == T_HEADERS] == [3]
    assert w.client.stream_info(h3)["wire_id"] == 3


def test_refused_stream_before_processing_is_retried() -> None:
    """REFUSED_STREAM means the request was not processed (RFC 9113 8.7): a request whose body was not
    sent yet is queued again, under the same handle, until MAX_REFUSED_RETRIES."""
    w = connect()
    h = get(w)
    w.pull()
    for attempt in range(MAX_REFUSED_RETRIES):
        sid = 1 + 2 * attempt
        assert w.feed(w.server.rst_stream(sid, ErrorCode.REFUSED_STREAM)) == []
        assert [(f.type, f.stream_id) for f in w.sent] == [(T_HEADERS, sid + 2)]
        assert w.client.stream_info(h)["wire_id"] == sid + 2
    (e,) = w.feed(w.server.rst_stream(1 + 2 * MAX_REFUSED_RETRIES, ErrorCode.REFUSED_STREAM))
    assert isinstance(e, Error) and e.stream_id == h and e.reason.code is ErrorCode.REFUSED_STREAM


def test_refused_stream_after_body_sent_is_an_error() -> None:
    """A refused request whose body went out in part is reported, not replayed."""
    w = connect()
    h = w.client.request(b"POST", b"/", [], b"data")
    w.pull()
    (e,) = w.feed(w.server.rst_stream(1, ErrorCode.REFUSED_STREAM))
    assert isinstance(e, Error) and e.stream_id == h


# --------------------------------------------------------------------------- GOAWAY from the server


def test_goaway_lists_unprocessed_streams_and_lets_the_others_finish() -> None:
    """Streams above the GOAWAY last-stream-id were not processed; the others finish, then Closed(goaway)
    lists the unprocessed ones (RFC 9113 6.8)."""
    w = connect(settings={3: 3})
    handles = [get(w) for _ in range(4)]  # wire 1, 3, 5 + one queued
    w.pull()
    events = w.feed(w.server.goaway(3, ErrorCode.NO_ERROR, b"maintenance"))
    assert events == []
    assert w.client.closing and w.client.active_streams() == handles[:2]
    with pytest.raises(UsageError):
        get(w)
    assert w.feed(w.server.response(1, 200)) == [Response(1, True, 200, [])]
    events = w.feed(w.server.response(3, 200))
    assert events[0] == Response(2, True, 200, [])
    c = events[1]
    assert isinstance(c, Closed)
    assert c.killed == () and c.unprocessed == (3, 4)
    assert c.reason.kind == "goaway" and c.reason.code is ErrorCode.NO_ERROR
    assert "maintenance" in c.reason.message and "6.8" in c.reason.message


def test_goaway_never_calls_an_answered_stream_unprocessed() -> None:
    """A stream the server already answered was processed, whatever a later GOAWAY's last stream
    id says (RFC 9113 6.8): it is not offered for a retry; it ends as killed when the connection
    goes (found by fuzzing)."""
    w = connect()
    h1 = get(w)
    h2 = get(w)
    w.pull()
    events = w.feed(w.server.headers(3, [(":status", "200")]))
    assert events == [Response(h2, False, 200, [])]
    w.feed(w.server.goaway(1, ErrorCode.NO_ERROR))
    (c,) = w.client.receive_data(b"")
    assert isinstance(c, Closed)
    assert c.unprocessed == () and set(c.killed) == {h1, h2}


def test_goaway_with_nothing_in_progress_closes_at_once() -> None:
    """GOAWAY on an idle connection ends it right away (RFC 9113 6.8)."""
    w = connect()
    (c,) = w.feed(w.server.goaway(0, ErrorCode.NO_ERROR))
    assert isinstance(c, Closed) and c.reason.kind == "goaway"


def test_peer_close_after_goaway_keeps_the_goaway_reason() -> None:
    """A close after GOAWAY reports the GOAWAY code, the unprocessed and the killed streams."""
    w = connect()
    h1 = get(w)
    h2 = get(w)
    w.pull()
    w.feed(w.server.goaway(1, ErrorCode.INTERNAL_ERROR))
    (c,) = w.client.receive_data(b"")
    assert isinstance(c, Closed)
    assert (c.killed, c.unprocessed) == ((h1,), (h2,))
    assert c.reason.kind == "goaway" and c.reason.code is ErrorCode.INTERNAL_ERROR


def test_goaway_may_not_raise_the_last_stream_id() -> None:
    """A second GOAWAY must not raise the last stream id (RFC 9113 6.8)."""
    w = connect()
    get(w)
    get(w)
    w.pull()
    w.feed(w.server.goaway(1))
    (c,) = w.feed(w.server.goaway(3))
    assert isinstance(c, Closed) and c.reason.code is ErrorCode.PROTOCOL_ERROR


# --------------------------------------------------------------------------- graceful close


def test_close_gracefully_waits_for_streams() -> None:
    """close_gracefully refuses new requests, drops queued ones as unprocessed, lets the running
    streams finish, then sends GOAWAY(NO_ERROR) and reports Closed(normal) (RFC 9113 6.8)."""
    w = connect(settings={3: 1})
    h1 = get(w)
    h2 = get(w)
    w.pull()
    assert w.client.close_gracefully() == []
    assert w.pull() == []  # no GOAWAY while a stream is in progress
    assert w.client.closing
    with pytest.raises(UsageError):
        get(w)
    assert w.client.close_gracefully() == [] and w.pull() == []
    events = w.feed(w.server.response(1, 200))
    assert events[0] == Response(h1, True, 200, [])
    assert events[1] == Closed(events[1].reason, (), (h2,))
    assert events[1].reason.kind == "normal"
    (g,) = w.sent_of(T_GOAWAY)
    assert g.u32() == 0 and g.error_code() == 0


def test_close_gracefully_when_idle_sends_goaway_at_once() -> None:
    """With nothing in progress, the GOAWAY and Closed come at once."""
    w = connect()
    w.pull()
    (c,) = w.client.close_gracefully()
    assert isinstance(c, Closed) and c.reason.kind == "normal"
    (g,) = w.pull()
    assert g.type == T_GOAWAY and g.error_code() == 0


def test_closing_timeout_kills_what_remains() -> None:
    """timeout("closing") ends a graceful close with the remaining streams killed."""
    w = connect()
    h = get(w)
    w.client.close_gracefully()
    (c,) = w.client.timeout("closing")
    assert isinstance(c, Closed) and c.killed == (h,) and c.reason.kind == "timeout"
    assert w.client.timeout("closing") == []


def test_cancel_of_the_last_stream_completes_the_graceful_close() -> None:
    """Cancelling the last running stream during a graceful close ends the connection."""
    w = connect()
    h = get(w)
    w.client.close_gracefully()
    (c,) = w.client.cancel(h)
    assert isinstance(c, Closed) and c.reason.kind == "normal"
    frames = w.pull()
    assert [f.type for f in frames] == [T_HEADERS, T_RST_STREAM, T_GOAWAY]


def test_upload_continues_during_graceful_close() -> None:
    """Streams in progress may still send their body during a graceful close (RFC 9113 6.8)."""
    w = connect()
    h = w.client.request(b"POST", b"/", [], None, body_follows=True)
    w.client.close_gracefully()
    w.pull()
    w.client.data(h, True, b"end")
    assert [(f.type, f.payload) for f in w.pull()] == [(T_DATA, b"end")]
