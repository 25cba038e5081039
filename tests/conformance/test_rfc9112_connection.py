"""RFC 9112 section 9: persistence, pipelining, retrying and tearing down connections."""

from __future__ import annotations

from gun_core.events import Closed, Data, Response
from gun_core.http1 import Http1Protocol
from tests.helpers.h1 import proto, response


def test_http11_is_persistent_by_default() -> None:
    """HTTP/1.1 connections persist unless the close option is received (RFC 9112 9.3)."""
    p = proto(1)
    p.receive_data(response(200, b"a"))
    assert not p.closing
    p.request(b"GET", b"/2", [], None)
    assert p.receive_data(response(200, b"b"))[-1] == Data(2, True, b"b")


def test_server_close_option() -> None:
    """If the close option is present, the connection does not persist after this response
    (RFC 9112 9.3, 9.6)."""
    p = proto(2)
    events = p.receive_data(response(200, b"a", [(b"connection", b"keep-alive, close")]))
    closed = events[-1]
    assert (
        isinstance(closed, Closed) and closed.reason.kind == "closed" and "connection: close" in closed.reason.message
    )


def test_http10_without_keep_alive_does_not_persist() -> None:
    """An HTTP/1.0 response persists only with the keep-alive option (RFC 9112 9.3)."""
    p = proto(1)
    assert isinstance(p.receive_data(response(200, b"a", version=b"HTTP/1.0"))[-1], Closed)
    p = proto(1)
    events = p.receive_data(response(200, b"a", [(b"Connection", b"Keep-Alive")], version=b"HTTP/1.0"))
    assert not any(isinstance(e, Closed) for e in events)


def test_pipelining() -> None:
    """A client may send several requests without waiting; responses come back in the same order
    (RFC 9112 9.3.2)."""
    p = Http1Protocol(b"h")
    ids = [p.request(b"GET", b"/%d" % i, [], None) for i in range(50)]
    out = p.data_to_send()
    assert out.count(b" HTTP/1.1\r\n") == 50
    events = p.receive_data(b"".join(response(200, b"%d" % i) for i in range(50)))
    data = [e for e in events if isinstance(e, Data)]
    assert [(d.stream_id, d.data) for d in data] == [(sid, b"%d" % i) for i, sid in enumerate(ids)]


def test_unanswered_pipelined_requests_are_retryable() -> None:
    """When the connection closes early, requests after the one being answered are reported as not
    processed, so they can be retried (RFC 9112 9.3.1, 9.3.2)."""
    p = proto(4)
    p.receive_data(response(200, b"first") + b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nhal")
    closed = p.receive_data(b"")[-1]
    assert isinstance(closed, Closed)
    assert closed.killed == (2,) and closed.unprocessed == (3, 4)


def test_close_delimited_response_ends_the_connection() -> None:
    """A response without a length ends when the server closes; later requests were not processed
    (RFC 9112 9.6, 6.3)."""
    p = proto(2)
    assert p.receive_data(b"HTTP/1.1 200 OK\r\n\r\nabc") == [Response(1, False, 200, []), Data(1, False, b"abc")]
    events = p.receive_data(b"")
    assert events[0] == Data(1, True, b"")
    assert isinstance(events[1], Closed) and events[1].unprocessed == (2,)


def test_keepalive_empty_line() -> None:
    """An idle client may keep the connection alive with an empty line, which servers ignore before a
    request line (RFC 9112 2.2)."""
    p = proto(0)
    p.keepalive()
    assert p.data_to_send() == b"\r\n"


def test_graceful_close() -> None:
    """A client closes gracefully: no new requests, finish the outstanding ones, then close
    (RFC 9112 9.6)."""
    p = proto(1)
    assert p.close_gracefully() == []
    events = p.receive_data(response(200, b"x"))
    assert isinstance(events[-1], Closed) and events[-1].reason.kind == "normal"
