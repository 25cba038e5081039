"""Server push in gun_core.http2 (RFC 9113 8.4): Push events, pushed responses, refusals."""

from __future__ import annotations

from typing import Any

import pytest

from gun_core.errors import UsageError
from gun_core.events import Closed, Data, Error, Push, Response
from gun_core.http2 import Http2Protocol
from gun_core.http2_frames import ErrorCode
from gun_core.options import check_http2_opts
from tests.helpers.h2 import T_RST_STREAM, Wire

PROMISE = [(":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", "/style.css")]


def connect(opts: dict[str, Any] | None = None, settings: Any = (), **kw: Any) -> Wire:
    w = Wire(Http2Protocol(b"example.com", b"https", check_http2_opts(opts), **kw))
    w.handshake(settings)
    return w


def start(w: Wire, headers: Any = ()) -> int:
    h: int = w.client.request(b"GET", b"/", list(headers), None)
    w.pull()
    return h


def test_push_promise_gives_a_push_event_and_a_new_handle() -> None:
    """PUSH_PROMISE -> Push(stream, new handle, method, uri, headers); the pushed response arrives on the
    new handle (RFC 9113 8.4)."""
    w = connect()
    h = start(w)
    s = w.server
    events = w.feed(s.push_promise(1, 2, [*PROMISE, ("accept", "text/css")]))
    assert events == [Push(h, 2, b"GET", b"https://example.com/style.css", [(b"accept", b"text/css")])]
    assert w.client.stream_info(2)["rfc_state"] == "reserved (remote)"
    assert w.client.active_streams() == [1, 2]
    events = w.feed(s.response(1, 200, [], b"page") + s.response(2, 200, [("content-type", "text/css")], b"body{}"))
    assert events == [
        Response(h, False, 200, []),
        Data(h, True, b"page"),
        Response(2, False, 200, [(b"content-type", b"text/css")]),
        Data(2, True, b"body{}"),
    ]
    assert w.client.active_streams() == []


def test_push_for_another_authority_is_refused_silently() -> None:
    """A promise for an authority we did not ask is refused with RST_STREAM REFUSED_STREAM and no event."""
    w = connect()
    start(w)
    bad = [(":method", "GET"), (":scheme", "https"), (":authority", "evil.example"), (":path", "/x")]
    assert w.feed(w.server.push_promise(1, 2, bad)) == []
    assert [(f.type, f.stream_id, f.u32()) for f in w.sent] == [(T_RST_STREAM, 2, ErrorCode.REFUSED_STREAM)]
    assert w.feed(w.server.response(2, 200, [], b"ignored")) == []  # late frames of the refused stream


def test_push_matching_the_request_host_header_is_accepted() -> None:
    """The authority of the associated request (from its host header) is authoritative too."""
    w = connect()
    start(w, [(b"host", b"cdn.example")])
    promise = [(":method", "GET"), (":scheme", "https"), (":authority", "cdn.example"), (":path", "/x")]
    (p,) = w.feed(w.server.push_promise(1, 2, promise))
    assert isinstance(p, Push) and p.uri == b"https://cdn.example/x"


@pytest.mark.parametrize(
    "promise",
    [
        [(":method", "POST"), (":scheme", "https"), (":authority", "example.com"), (":path", "/")],
        [(":method", "GET"), (":scheme", "https"), (":authority", "example.com")],
        [(":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", "/"), (":status", "200")],
        [("x", "1"), (":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", "/")],
        [(":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", "/"), ("Bad", "1")],
    ],
    ids=["unsafe-method", "no-path", "status", "pseudo-after-regular", "uppercase"],
)
def test_malformed_promise_is_refused_with_protocol_error(promise: list[tuple[str, str]]) -> None:
    """An incomplete or unsafe promised request -> RST_STREAM PROTOCOL_ERROR on the promised stream
    (RFC 9113 8.4)."""
    w = connect()
    start(w)
    assert w.feed(w.server.push_promise(1, 2, promise)) == []
    assert [(f.type, f.stream_id, f.u32()) for f in w.sent] == [(T_RST_STREAM, 2, ErrorCode.PROTOCOL_ERROR)]


def test_push_on_a_cancelled_stream_is_refused() -> None:
    """A promise on a stream we reset is answered by resetting the promised stream (RFC 9113 6.6)."""
    w = connect()
    h = start(w)
    w.client.cancel(h)
    w.pull()
    assert w.feed(w.server.push_promise(1, 2, PROMISE)) == []
    assert [(f.type, f.stream_id, f.u32()) for f in w.sent] == [(T_RST_STREAM, 2, ErrorCode.CANCEL)]


def test_push_disabled_and_acknowledged_is_a_connection_error() -> None:
    """With SETTINGS_ENABLE_PUSH 0 acknowledged, PUSH_PROMISE is a connection error (RFC 9113 6.5.2)."""
    w = connect(enable_push=False)
    start(w)
    (c,) = w.feed(w.server.push_promise(1, 2, PROMISE))
    assert isinstance(c, Closed) and c.reason.code is ErrorCode.PROTOCOL_ERROR


def test_push_disabled_but_not_yet_acknowledged_is_refused() -> None:
    """Before the server acknowledged ENABLE_PUSH 0, a promise is refused, not fatal (RFC 9113 6.5.3)."""
    w = Wire(Http2Protocol(b"example.com", enable_push=False))
    w.feed(w.server.settings())
    start(w)
    assert w.feed(w.server.push_promise(1, 2, PROMISE)) == []
    assert [(f.type, f.stream_id) for f in w.sent] == [(T_RST_STREAM, 2)]


def test_push_during_graceful_close_is_refused() -> None:
    """Once we are closing, new pushes are refused (RFC 9113 6.8)."""
    w = connect()
    start(w)
    w.client.close_gracefully()
    w.pull()
    assert w.feed(w.server.push_promise(1, 2, PROMISE)) == []
    assert [(f.type, f.stream_id) for f in w.sent] == [(T_RST_STREAM, 2)]


def test_pushed_streams_take_no_request_body() -> None:
    """A pushed stream is half-closed on our side: data() on it raises."""
    w = connect()
    start(w)
    w.feed(w.server.push_promise(1, 2, PROMISE))
    with pytest.raises(UsageError):
        w.client.data(2, True, b"x")


def test_pushed_streams_can_be_cancelled() -> None:
    """Cancelling a pushed stream resets its promised stream id (RFC 9113 8.4)."""
    w = connect()
    start(w)
    w.feed(w.server.push_promise(1, 2, PROMISE))
    w.client.cancel(2)
    assert [(f.type, f.stream_id, f.u32()) for f in w.pull()] == [(T_RST_STREAM, 2, ErrorCode.CANCEL)]
    assert w.feed(w.server.response(2, 200, [], b"x")) == []


def test_pushed_responses_beyond_our_concurrency_limit_are_refused() -> None:
    """A pushed response that would exceed our SETTINGS_MAX_CONCURRENT_STREAMS is refused (RFC 9113 5.1.2)."""
    w = connect({"max_concurrent_streams": 1})
    start(w)
    s = w.server
    w.feed(s.push_promise(1, 2, PROMISE) + s.push_promise(1, 4, [*PROMISE[:3], (":path", "/b")]))
    w.feed(s.headers(2, [(":status", "200")]))
    (e,) = w.feed(s.headers(4, [(":status", "200")]))
    assert isinstance(e, Error) and e.stream_id == 3 and e.reason.code is ErrorCode.REFUSED_STREAM


def test_connection_closed_lists_reserved_pushes_as_killed() -> None:
    """A promised stream that had not completed is listed as killed when the connection goes."""
    w = connect()
    start(w)
    w.feed(w.server.push_promise(1, 2, PROMISE))
    (c,) = w.client.receive_data(b"")
    assert isinstance(c, Closed) and c.killed == (1, 2)
