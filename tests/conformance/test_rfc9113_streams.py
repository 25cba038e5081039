"""RFC 9113 section 5: stream states, identifiers, concurrency and error handling, plus the
GOAWAY rules of section 6.8, on the client machine."""

from __future__ import annotations

from typing import Any

from gun_core.events import Closed, Data, Response
from gun_core.http2_frames import ErrorCode
from tests.helpers.h2 import (
    T_GOAWAY,
    T_HEADERS,
    H2Server,
    Wire,
    connect_client,
    expect_connection_error,
    expect_stream_error,
)

PE = ErrorCode.PROTOCOL_ERROR
S = H2Server()


def started(**kw: Any) -> tuple[Wire, int]:
    w = connect_client(**kw)
    h: int = w.client.request(b"GET", b"/", [], None)
    w.pull()
    return w, h


# --------------------------------------------------------------------------- 5.1 idle streams


def test_data_on_an_idle_stream() -> None:
    """Receiving DATA on an idle stream is a connection error PROTOCOL_ERROR (RFC 9113 5.1)."""
    w, _ = started()
    expect_connection_error(w, S.data(3, b"x"), PE)


def test_headers_on_a_stream_we_did_not_open() -> None:
    """A server cannot open odd streams: HEADERS on an odd id we never used is a connection error
    PROTOCOL_ERROR (RFC 9113 5.1, 5.1.1)."""
    w, _ = started()
    expect_connection_error(w, w.server.headers(5, [(":status", "200")]), PE)


def test_headers_on_an_unpromised_even_stream() -> None:
    """Server-initiated streams must be reserved by PUSH_PROMISE first: HEADERS on an unpromised even
    stream is a connection error PROTOCOL_ERROR (RFC 9113 5.1, 8.4)."""
    w, _ = started()
    expect_connection_error(w, w.server.headers(2, [(":status", "200")]), PE)


def test_window_update_on_an_idle_stream() -> None:
    """WINDOW_UPDATE on an idle stream is a connection error PROTOCOL_ERROR (RFC 9113 5.1)."""
    w, _ = started()
    expect_connection_error(w, S.window_update(7, 10), PE)


# --------------------------------------------------------------------------- 5.1 reserved (remote)


def _promised(w: Wire) -> None:
    promise = [(":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", "/p")]
    w.feed(w.server.push_promise(1, 2, promise))


def test_data_on_a_reserved_stream() -> None:
    """In "reserved (remote)" only HEADERS, RST_STREAM and PRIORITY may arrive; DATA is a connection
    error PROTOCOL_ERROR (RFC 9113 5.1)."""
    w, _ = started()
    _promised(w)
    expect_connection_error(w, S.data(2, b"x"), PE)


def test_window_update_on_a_reserved_stream() -> None:
    """WINDOW_UPDATE on a "reserved (remote)" stream is a connection error PROTOCOL_ERROR (RFC 9113 5.1)."""
    w, _ = started()
    _promised(w)
    expect_connection_error(w, S.window_update(2, 10), PE)


def test_rst_on_a_reserved_stream_ends_it() -> None:
    """RST_STREAM is allowed on a reserved stream and closes it (RFC 9113 5.1)."""
    w, _ = started()
    _promised(w)
    (e,) = w.feed(S.rst_stream(2, ErrorCode.CANCEL))
    assert e.stream_id == 2 and e.reason.code is ErrorCode.CANCEL


# --------------------------------------------------------------------------- 5.1 half-closed (remote) / closed


def test_data_after_end_stream_on_half_closed_remote() -> None:
    """After the server's END_STREAM, more DATA on the stream is a stream error STREAM_CLOSED (RFC 9113 5.1)."""
    w = connect_client()
    w.client.request(b"POST", b"/", [], None, body_follows=True)  # our side stays open
    w.pull()
    w.feed(w.server.response(1, 200))
    expect_stream_error(w, S.data(1, b"late"), ErrorCode.STREAM_CLOSED, None)


def test_frames_on_a_closed_stream() -> None:
    """DATA or HEADERS on a stream closed by END_STREAM both ways get RST_STREAM STREAM_CLOSED, with no
    event since the response was complete (RFC 9113 5.1)."""
    w, h = started()
    assert w.feed(w.server.response(1, 200)) == [Response(h, True, 200, [])]
    expect_stream_error(w, S.data(1, b"late"), ErrorCode.STREAM_CLOSED, None)
    assert w.feed(S.data(1, b"later")) == [] and w.sent == []  # reset now: ignored
    w, h = started()
    w.feed(w.server.response(1, 200))
    expect_stream_error(w, w.server.headers(1, [(":status", "200")]), ErrorCode.STREAM_CLOSED, None)


def test_window_update_and_rst_on_a_closed_stream_are_ignored() -> None:
    """WINDOW_UPDATE and RST_STREAM may arrive shortly after a stream closed and are ignored (RFC 9113 5.1)."""
    w, _ = started()
    w.feed(w.server.response(1, 200))
    assert w.feed(S.window_update(1, 100) + S.rst_stream(1, 0)) == [] and w.sent == []


def test_frames_after_our_reset_are_ignored() -> None:
    """After we reset a stream, frames already in flight for it are ignored (RFC 9113 5.1, 5.4.2)."""
    w, h = started()
    w.client.cancel(h)
    w.pull()
    assert w.feed(w.server.response(1, 200, [], b"body") + S.window_update(1, 5) + S.rst_stream(1, 8)) == []
    assert w.sent == []


# --------------------------------------------------------------------------- 5.1.1 identifiers


def test_client_streams_are_odd_and_increasing() -> None:
    """Client-initiated streams use odd identifiers in increasing order (RFC 9113 5.1.1)."""
    w = connect_client()
    for _ in range(4):
        w.client.request(b"GET", b"/", [], None)
    assert [f.stream_id for f in w.pull()] == [1, 3, 5, 7]


def test_promised_stream_ids_must_be_new_and_even() -> None:
    """A promised stream id that is odd, zero or not greater than earlier ones is a connection error
    PROTOCOL_ERROR (RFC 9113 5.1.1, 6.6)."""
    promise = [(":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", "/p")]
    for bad in (3, 0):
        w, _ = started()
        expect_connection_error(w, w.server.push_promise(1, bad, promise), PE)
    w, _ = started()
    w.feed(w.server.push_promise(1, 4, promise))
    expect_connection_error(w, w.server.push_promise(1, 2, promise), PE)


# --------------------------------------------------------------------------- 5.1.2 concurrency


def test_we_never_exceed_the_servers_concurrency_limit() -> None:
    """We do not open more streams than the server's SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 5.1.2)."""
    w = connect_client(settings={3: 3})
    for _ in range(10):
        w.client.request(b"GET", b"/", [], None)
    opened = [f.stream_id for f in w.pull() if f.type == T_HEADERS]
    assert opened == [1, 3, 5]
    for sid in (1, 3, 5, 7, 9, 11, 13):
        w.feed(w.server.response(sid, 200))
        assert len(w.client.active_streams()) == 10 - (sid + 1) // 2
        assert sum(1 for h in w.client.active_streams() if w.client.stream_info(h)["state"] == "running") <= 3


# --------------------------------------------------------------------------- 5.4 error handling


def test_stream_error_keeps_the_connection() -> None:
    """A stream error resets only that stream; other streams go on (RFC 9113 5.4.2)."""
    w, h1 = started()
    h2 = w.client.request(b"GET", b"/", [], None)
    w.pull()
    expect_stream_error(w, w.server.headers(1, [(":status", "abc")]), PE, h1)
    assert w.feed(w.server.response(3, 200, [], b"ok")) == [Response(h2, False, 200, []), Data(h2, True, b"ok")]


def test_connection_error_sends_goaway_with_last_peer_stream() -> None:
    """On a connection error we send GOAWAY with the last stream id the server initiated that we
    processed, then close (RFC 9113 5.4.1)."""
    w, _ = started()
    promise = [(":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", "/p")]
    w.feed(w.server.push_promise(1, 2, promise))
    expect_connection_error(w, S.data(0, b"x"), PE)
    (g,) = [f for f in w.sent if f.type == T_GOAWAY]
    assert g.u32() == 2


# --------------------------------------------------------------------------- 6.8 GOAWAY


def test_streams_above_last_stream_id_are_unprocessed() -> None:
    """Streams with ids above GOAWAY's last stream id were not processed and may be retried; the
    others may complete (RFC 9113 6.8)."""
    w = connect_client()
    handles = [w.client.request(b"GET", b"/", [], None) for _ in range(3)]
    w.pull()
    assert w.feed(w.server.goaway(1)) == []
    events = w.feed(w.server.response(1, 200))
    assert events[0] == Response(handles[0], True, 200, [])
    assert isinstance(events[1], Closed) and events[1].unprocessed == (handles[1], handles[2])


def test_no_new_streams_after_goaway() -> None:
    """After receiving GOAWAY we open no new stream (RFC 9113 6.8)."""
    w = connect_client(settings={3: 1})
    w.client.request(b"GET", b"/", [], None)
    w.client.request(b"GET", b"/", [], None)
    w.pull()
    w.feed(w.server.goaway(1))
    w.feed(w.server.response(1, 200))
    assert [f for f in w.sent if f.type == T_HEADERS] == []
    assert w.client.closing


def test_our_goaway_uses_no_error_for_a_graceful_close() -> None:
    """A graceful shutdown sends GOAWAY with NO_ERROR (RFC 9113 6.8)."""
    w, h = started()
    w.client.close_gracefully()
    assert w.pull() == []  # sent once the stream in progress is done
    w.client.cancel(h)
    w.pull()
    (g,) = w.sent_of(T_GOAWAY)
    assert g.error_code() == ErrorCode.NO_ERROR
