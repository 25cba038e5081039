"""gun_core.http1.Http1Protocol: commands, events, pipelining, flow, cancel and lifecycle."""

from __future__ import annotations

import pytest

from gun_core.errors import InvalidHeader, Reason, UsageError
from gun_core.events import Closed, Data, Error, Inform, Response, SwitchProtocol, Trailers
from gun_core.http1 import MAX_INFORMATIONAL, Http1Protocol
from gun_core.options import Http1Opts
from gun_core.protocol import CoreProtocol
from tests.helpers.h1 import chunked, coalesce, dripfeed, feed, parse_request, proto, response

HELLO = b"Hello world!\n"


def test_implements_core_protocol() -> None:
    """The core satisfies the CoreProtocol interface and calls itself "http"."""
    p = Http1Protocol(b"example.com")
    assert isinstance(p, CoreProtocol)
    assert p.protocol == "http"
    assert not p.paused and not p.closing
    assert p.data_to_send() == b""


def test_bad_host_is_refused() -> None:
    """The host value must be non-empty bytes without CR, LF or NUL."""
    for host in (b"", b"a\r\nb", b"a\x00", "example.com"):
        with pytest.raises(InvalidHeader):
            Http1Protocol(host)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- requests


def test_request_line_host_and_te() -> None:
    """A GET carries the request line, host first, te: trailers with connection: te, no body framing."""
    p = Http1Protocol(b"example.com:8080")
    sid = p.request(b"GET", b"/a?b=c", [(b"accept", b"*/*")], None)
    assert sid == 1
    raw = p.data_to_send()
    line, fields, rest = parse_request(raw)
    assert line == b"GET /a?b=c HTTP/1.1"
    assert fields == [
        (b"host", b"example.com:8080"),
        (b"accept", b"*/*"),
        (b"te", b"trailers"),
        (b"connection", b"te"),
    ]
    assert rest == b""
    assert p.data_to_send() == b""


def test_stream_ids_count_up() -> None:
    """Stream ids are 1, 2, 3... per core."""
    p = Http1Protocol(b"h")
    assert [p.request(b"GET", b"/", [], None) for _ in range(3)] == [1, 2, 3]
    assert Http1Protocol(b"h").request(b"GET", b"/", [], None) == 1


def test_caller_host_goes_first_and_replaces_ours() -> None:
    """A host given by the caller is sent instead of ours, as the first field."""
    p = Http1Protocol(b"example.com")
    p.request(b"GET", b"/", [(b"x-a", b"1"), (b"host", b"other.example")], None)
    _, fields, _ = parse_request(p.data_to_send())
    assert fields[0] == (b"host", b"other.example")
    assert [n for n, _ in fields].count(b"host") == 1


def test_transform_header_name() -> None:
    """transform_header_name changes every field name on the wire, including ours."""

    def title(name: bytes) -> bytes:
        return b"-".join(part.capitalize() for part in name.split(b"-"))

    p = Http1Protocol(b"h", Http1Opts(transform_header_name=title))
    p.request(b"POST", b"/", [(b"x-custom-thing", b"1")], b"body")
    raw = p.data_to_send()
    assert b"\r\nHost: h\r\n" in raw
    assert b"\r\nX-Custom-Thing: 1\r\n" in raw
    assert b"\r\nContent-Length: 4\r\n" in raw
    assert b"\r\nTe: trailers\r\nConnection: te\r\n" in raw


def test_transform_header_name_must_give_a_token() -> None:
    """A transform that returns something that is not a token raises InvalidHeader."""
    with pytest.raises(InvalidHeader):
        Http1Protocol(b"h", Http1Opts(transform_header_name=lambda n: n + b"\r\nx"))
    p = Http1Protocol(b"h", Http1Opts(transform_header_name=lambda n: b"bad name" if n == b"x" else n))
    with pytest.raises(InvalidHeader):
        p.request(b"GET", b"/", [(b"x", b"1")], None)
    q = Http1Protocol(b"h", Http1Opts(transform_header_name=lambda n: n.decode().upper()))  # type: ignore[arg-type,return-value]
    q.request(b"GET", b"/", [(b"x-a", b"1")], None)
    assert b"\r\nX-A: 1\r\n" in q.data_to_send()


def test_body_given_gets_content_length() -> None:
    """A body given at once is sent after the head with its content-length."""
    p = Http1Protocol(b"h")
    p.request(b"POST", b"/", [(b"content-type", b"text/plain")], b"payload")
    _, fields, rest = parse_request(p.data_to_send())
    assert (b"content-length", b"7") in fields
    assert rest == b"payload"


def test_caller_content_length_must_match_body() -> None:
    """The caller's content-length is kept when it matches the body and refused when it does not."""
    p = Http1Protocol(b"h")
    with pytest.raises(UsageError, match="does not match"):
        p.request(b"POST", b"/", [(b"content-length", b"3")], b"payload")
    p.request(b"POST", b"/", [(b"content-length", b"7")], b"payload")
    _, fields, rest = parse_request(p.data_to_send())
    assert [v for n, v in fields if n == b"content-length"] == [b"7"]
    assert rest == b"payload"


def test_body_and_body_follows_are_exclusive() -> None:
    """Giving a body and announcing one with body_follows at once is a usage error."""
    with pytest.raises(UsageError):
        Http1Protocol(b"h").request(b"POST", b"/", [], b"x", body_follows=True)


def test_streamed_body_is_chunked() -> None:
    """body_follows without content-length streams chunks; empty nofin data writes nothing; fin the last chunk."""
    p = Http1Protocol(b"h")
    sid = p.request(b"POST", b"/", [], None, body_follows=True)
    _, fields, _ = parse_request(p.data_to_send())
    assert (b"transfer-encoding", b"chunked") in fields
    assert p.data(sid, False, b"hello") == []
    assert p.data_to_send() == b"5\r\nhello\r\n"
    p.data(sid, False, b"")
    assert p.data_to_send() == b""
    p.data(sid, False, b"x" * 300)
    assert p.data_to_send() == b"12c\r\n" + b"x" * 300 + b"\r\n"
    p.data(sid, True, b"end")
    assert p.data_to_send() == b"3\r\nend\r\n0\r\n\r\n"
    with pytest.raises(UsageError):
        p.data(sid, False, b"more")


def test_streamed_body_fin_alone() -> None:
    """An empty fin on a chunked body writes only the last chunk."""
    p = Http1Protocol(b"h")
    sid = p.request(b"PUT", b"/", [], None, body_follows=True)
    p.data_to_send()
    p.data(sid, True, b"")
    assert p.data_to_send() == b"0\r\n\r\n"


def test_streamed_body_with_content_length() -> None:
    """With the caller's content-length the body goes raw and must be exactly that long."""
    p = Http1Protocol(b"h")
    sid = p.request(b"POST", b"/", [(b"content-length", b"10")], None, body_follows=True)
    _, fields, _ = parse_request(p.data_to_send())
    assert (b"content-length", b"10") in fields
    assert not any(n == b"transfer-encoding" for n, _ in fields)
    p.data(sid, False, b"01234")
    assert p.data_to_send() == b"01234"
    with pytest.raises(UsageError, match="exceed"):
        p.data(sid, False, b"0123456789")
    with pytest.raises(UsageError, match="short"):
        p.data(sid, True, b"567")
    p.data(sid, True, b"56789")
    assert p.data_to_send() == b"56789"


def test_content_length_zero_with_body_follows_needs_no_data() -> None:
    """A content-length: 0 body is complete at once; an empty data() after it is accepted."""
    p = Http1Protocol(b"h")
    sid = p.request(b"POST", b"/", [(b"content-length", b"0")], None, body_follows=True)
    p.request(b"GET", b"/next", [], None)
    raw = p.data_to_send()
    assert raw.count(b" HTTP/1.1\r\n") == 2  # not held behind an empty body
    assert p.data(sid, True, b"") == []
    with pytest.raises(UsageError):
        p.data(sid, True, b"x")


def test_content_length_without_body_is_refused() -> None:
    """A non-zero content-length with no body and no body_follows is a usage error."""
    with pytest.raises(UsageError, match="announces a body"):
        Http1Protocol(b"h").request(b"POST", b"/", [(b"content-length", b"5")], None)


def test_post_without_body_sends_content_length_zero() -> None:
    """POST, PUT and PATCH without a body say content-length: 0; GET, DELETE... say nothing."""
    for method in (b"POST", b"PUT", b"PATCH"):
        p = Http1Protocol(b"h")
        p.request(method, b"/", [], None)
        assert (b"content-length", b"0") in parse_request(p.data_to_send())[1]
    for method in (b"GET", b"HEAD", b"DELETE", b"OPTIONS"):
        p = Http1Protocol(b"h")
        p.request(method, b"/", [], None)
        names = [n for n, _ in parse_request(p.data_to_send())[1]]
        assert b"content-length" not in names and b"transfer-encoding" not in names


def test_caller_transfer_encoding() -> None:
    """A caller's transfer-encoding must end with chunked; a body given at once is then one chunk."""
    p = Http1Protocol(b"h")
    p.request(b"POST", b"/", [(b"transfer-encoding", b"chunked")], b"abc")
    _, fields, rest = parse_request(p.data_to_send())
    assert [v for n, v in fields if n == b"transfer-encoding"] == [b"chunked"]
    assert rest == b"3\r\nabc\r\n0\r\n\r\n"
    with pytest.raises(UsageError, match="must end with chunked"):
        p.request(b"POST", b"/", [(b"transfer-encoding", b"gzip")], None, body_follows=True)
    with pytest.raises(UsageError, match="both"):
        p.request(b"POST", b"/", [(b"transfer-encoding", b"chunked"), (b"content-length", b"1")], b"a")
    with pytest.raises(UsageError, match="no body follows"):
        p.request(b"POST", b"/", [(b"transfer-encoding", b"chunked")], None)


def test_invalid_method_and_target() -> None:
    """Methods must be tokens; targets non-empty without spaces or control characters."""
    p = Http1Protocol(b"h")
    for method in (b"", b"GE T", b"GET\r\n", b"G\x00"):
        with pytest.raises(UsageError, match="method"):
            p.request(method, b"/", [], None)
    for path in (b"", b"/a b", b"/\r\nx", b"/\x00", b"/\x7f"):
        with pytest.raises(UsageError, match="target"):
            p.request(b"GET", path, [], None)
    assert p.request(b"PROPFIND", b"*", [], None) == 1


def test_header_injection_is_refused_defensively() -> None:
    """Even unnormalized headers cannot smuggle CR, LF or NUL onto the wire."""
    p = Http1Protocol(b"h")
    for headers in ([(b"x", b"a\r\nevil: 1")], [(b"x", b"a\nb")], [(b"x", b"a\rb")], [(b"x", b"a\x00")]):
        with pytest.raises(InvalidHeader):
            p.request(b"GET", b"/", headers, None)
    assert p.data_to_send() == b""


def test_flow_must_be_a_non_negative_int() -> None:
    """The flow credit is None or an integer >= 0."""
    p = Http1Protocol(b"h")
    for flow in (-1, 1.5, True, "10"):
        with pytest.raises(UsageError):
            p.request(b"GET", b"/", [], None, flow=flow)  # type: ignore[arg-type]


def test_http10_mode() -> None:
    """HTTP/1.0 mode sends HTTP/1.0 with connection: keep-alive and no te; it cannot stream without a length."""
    p = Http1Protocol(b"h", Http1Opts(version="HTTP/1.0"))
    p.request(b"GET", b"/", [], None)
    line, fields, _ = parse_request(p.data_to_send())
    assert line == b"GET / HTTP/1.0"
    assert fields == [(b"host", b"h"), (b"connection", b"keep-alive")]
    with pytest.raises(UsageError, match=r"HTTP/1\.0"):
        p.request(b"POST", b"/", [], None, body_follows=True)
    with pytest.raises(UsageError):
        p.request(b"GET", b"/", [], None, upgrade=True)
    sid = p.request(b"POST", b"/", [(b"content-length", b"2")], None, body_follows=True)
    p.data(sid, True, b"ok")
    assert p.data_to_send().endswith(b"\r\n\r\nok")


def test_data_errors() -> None:
    """data() on an unknown stream or a stream without a body to send raises UsageError."""
    p = Http1Protocol(b"h")
    with pytest.raises(UsageError, match="unknown"):
        p.data(7, True, b"x")
    sid = p.request(b"GET", b"/", [], None)
    with pytest.raises(UsageError, match="no request body"):
        p.data(sid, True, b"x")


def test_pipelining_holds_requests_behind_a_streamed_body() -> None:
    """A request made while an earlier body is streaming is written only once that body ends."""
    p = Http1Protocol(b"h")
    a = p.request(b"POST", b"/a", [], None, body_follows=True)
    p.data_to_send()
    b = p.request(b"GET", b"/b", [], None)
    c = p.request(b"POST", b"/c", [], None, body_follows=True)
    p.data(c, False, b"early")  # c's own body waits with its head
    assert p.data_to_send() == b""
    info = p.stream_info(b)
    assert info is not None and info["state"] == "queued"
    p.data(a, False, b"x")
    assert p.data_to_send() == b"1\r\nx\r\n"
    p.data(a, True, b"")
    out = p.data_to_send()
    assert out.startswith(b"0\r\n\r\nGET /b HTTP/1.1\r\n")
    assert b"POST /c HTTP/1.1\r\n" in out and out.endswith(b"5\r\nearly\r\n")
    info = p.stream_info(b)
    assert info is not None and info["state"] == "running"
    d = p.request(b"GET", b"/d", [], None)  # still behind c's body
    assert p.data_to_send() == b""
    p.data(c, True, b"")
    assert p.data_to_send() == b"0\r\n\r\nGET /d HTTP/1.1\r\nhost: h\r\nte: trailers\r\nconnection: te\r\n\r\n"
    assert p.active_streams() == [a, b, c, d]


def test_pipelined_responses_in_order() -> None:
    """Responses are matched to requests in order."""
    p = proto(3)
    events = p.receive_data(response(200, b"one") + response(404, b"two") + response(204, length=False))
    assert events == [
        Response(1, False, 200, [(b"content-length", b"3")]),
        Data(1, True, b"one"),
        Response(2, False, 404, [(b"content-length", b"3")]),
        Data(2, True, b"two"),
        Response(3, True, 204, []),
    ]
    assert p.active_streams() == []


def test_our_connection_close_makes_the_core_closing() -> None:
    """A request with connection: close refuses later requests and ends the connection after its response."""
    p = Http1Protocol(b"h")
    sid = p.request(b"GET", b"/", [(b"connection", b"close")], None)
    _, fields, _ = parse_request(p.data_to_send())
    assert (b"connection", b"close, te") in fields
    assert p.closing
    with pytest.raises(UsageError, match="closing"):
        p.request(b"GET", b"/", [], None)
    events = p.receive_data(response(200, b"ok"))
    assert events[:2] == [Response(sid, False, 200, [(b"content-length", b"2")]), Data(sid, True, b"ok")]
    assert events[2] == Closed(
        Reason.connection("normal", "the request asked for connection: close (RFC 9112 9.6)"), (), ()
    )
    assert p.receive_data(b"HTTP/1.1 200 OK\r\n\r\n") == []


# ---------------------------------------------------------------------------- responses


def test_small_response() -> None:
    """Status, lowercased headers and the body arrive as Response then Data(fin)."""
    p = proto(1)
    events = p.receive_data(
        b"HTTP/1.1 200 OK\r\nServer: test\r\nContent-Type:text/plain \r\nContent-Length: 13\r\n\r\n" + HELLO
    )
    assert events == [
        Response(1, False, 200, [(b"server", b"test"), (b"content-type", b"text/plain"), (b"content-length", b"13")]),
        Data(1, True, HELLO),
    ]


def test_empty_body_gives_response_fin() -> None:
    """A response with content-length: 0 is one Response with fin."""
    p = proto(1)
    assert p.receive_data(response(200)) == [Response(1, True, 200, [(b"content-length", b"0")])]


def test_large_body_is_not_copied() -> None:
    """A read that is all body is delivered as the very same bytes object."""
    p = proto(1)
    p.receive_data(b"HTTP/1.1 200 OK\r\ncontent-length: 200000\r\n\r\n")
    chunk = b"z" * 100_000
    events = p.receive_data(chunk)
    assert len(events) == 1 and events[0].data is chunk  # type: ignore[union-attr]
    events = p.receive_data(chunk)
    assert events == [Data(1, True, chunk)]


def test_chunked_response_with_trailers() -> None:
    """Chunked data arrives as Data pieces, then the trailers end the response."""
    p = proto(1)
    events = coalesce(p.receive_data(chunked(200, [b"hello", b" world"], trailers=[(b"X-Checksum", b" 42 ")])))
    assert events == [
        Response(1, False, 200, [(b"transfer-encoding", b"chunked")]),
        Data(1, False, b"hello world"),
        Trailers(1, [(b"x-checksum", b"42")]),
    ]


def test_chunked_response_without_trailers() -> None:
    """Without trailers the chunked body ends with Data(fin)."""
    p = proto(1)
    events = p.receive_data(chunked(200, [b"abc"]))
    assert events[1:] == [Data(1, True, b"abc")]
    p = proto(1)
    events = p.receive_data(chunked(200, []))
    assert events[1:] == [Data(1, True, b"")]


def test_close_delimited_body() -> None:
    """Without length or chunked the body runs until the server closes, then Closed follows."""
    p = proto(2)
    events = p.receive_data(b"HTTP/1.1 200 OK\r\n\r\nsome")
    assert events == [Response(1, False, 200, []), Data(1, False, b"some")]
    assert p.closing
    assert p.receive_data(b" more") == [Data(1, False, b" more")]
    events = p.receive_data(b"")
    assert events[0] == Data(1, True, b"")
    closed = events[1]
    assert isinstance(closed, Closed)
    assert closed.reason.kind == "closed" and closed.killed == () and closed.unprocessed == (2,)


def test_informational_responses() -> None:
    """1xx responses other than 101 become Inform events; several may precede the final one."""
    p = proto(1)
    events = p.receive_data(
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + response(200, b"x")
    )
    assert events == [
        Inform(1, 100, []),
        Inform(1, 103, [(b"link", b"</style.css>; rel=preload")]),
        Response(1, False, 200, [(b"content-length", b"1")]),
        Data(1, True, b"x"),
    ]


def test_too_many_informational_responses() -> None:
    """An endless series of 1xx responses is cut off."""
    p = proto(1)
    events = p.receive_data(b"HTTP/1.1 100 Continue\r\n\r\n" * (MAX_INFORMATIONAL + 1))
    assert isinstance(events[-1], Closed)
    assert f"more than {MAX_INFORMATIONAL}" in events[-1].reason.message


def test_server_connection_close() -> None:
    """connection: close from the server ends the connection after that response; later requests are unprocessed."""
    p = proto(3)
    events = p.receive_data(response(200, b"a", [(b"Connection", b"Close")]))
    assert events[1] == Data(1, True, b"a")
    assert events[2] == Closed(
        Reason.connection("closed", "the server sent connection: close (RFC 9112 9.6)"), (), (2, 3)
    )
    assert p.closing
    assert p.receive_data(response(200, b"b")) == []
    with pytest.raises(UsageError):
        p.request(b"GET", b"/", [], None)


def test_http10_response_persistence() -> None:
    """An HTTP/1.0 response closes the connection unless it says keep-alive."""
    p = proto(2)
    events = p.receive_data(response(200, b"a", version=b"HTTP/1.0"))
    assert isinstance(events[-1], Closed) and events[-1].unprocessed == (2,)
    p = proto(2)
    events = p.receive_data(response(200, b"a", [(b"connection", b"keep-alive")], version=b"HTTP/1.0"))
    assert not any(isinstance(e, Closed) for e in events) and not p.closing


def test_peer_close_mid_body_kills_the_stream() -> None:
    """When the server closes mid-body, the stream is killed, later ones unprocessed, the reason says how much came."""
    p = proto(3)
    p.receive_data(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
    events = p.receive_data(b"")
    assert len(events) == 1
    closed = events[0]
    assert isinstance(closed, Closed)
    assert closed.killed == (1,) and closed.unprocessed == (2, 3)
    assert closed.reason.kind == "closed" and "7 of 100 body bytes" in closed.reason.message
    assert p.receive_data(b"more") == []


def test_peer_close_before_or_during_head() -> None:
    """A close before the response, or inside its head, kills the stream being answered."""
    p = proto(1)
    closed = p.receive_data(b"")[0]
    assert isinstance(closed, Closed) and closed.killed == (1,) and "before it was answered" in closed.reason.message
    p = proto(2)
    p.receive_data(b"HTTP/1.1 200 OK\r\ncont")
    closed = p.receive_data(b"")[0]
    assert isinstance(closed, Closed) and closed.killed == (1,) and closed.unprocessed == (2,)
    assert "head was complete" in closed.reason.message
    p = proto(1)
    p.receive_data(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab")
    closed = p.receive_data(b"")[0]
    assert isinstance(closed, Closed) and "chunked body" in closed.reason.message


def test_peer_close_when_idle() -> None:
    """A close with nothing in flight is a plain Closed."""
    p = proto(0)
    assert p.receive_data(b"") == [Closed(Reason.connection("closed", "the server closed the connection"), (), ())]
    assert p.receive_data(b"") == []


def test_protocol_error_fails_stream_then_connection() -> None:
    """A bad response gives Error for its stream, then Closed(protocol_error) listing it as killed."""
    p = proto(3)
    events = p.receive_data(b"HTTP/1.1 abc Nope\r\n\r\n")
    assert len(events) == 2
    err, closed = events
    assert isinstance(err, Error) and err.stream_id == 1
    assert err.reason.scope == "stream" and err.reason.kind == "protocol_error"
    assert "malformed status line b'HTTP/1.1 abc Nope'" in err.reason.message
    assert isinstance(closed, Closed)
    assert closed.reason == Reason.connection("protocol_error", err.reason.message)
    assert closed.killed == (1,) and closed.unprocessed == (2, 3)
    assert p.closing and p.receive_data(response(200)) == []
    with pytest.raises(UsageError):
        p.request(b"GET", b"/", [], None)
    with pytest.raises(UsageError):
        p.data(1, True, b"")


def test_data_without_request_is_an_error() -> None:
    """Bytes other than empty lines while no request is in flight fail the connection."""
    p = proto(0)
    assert p.receive_data(b"\r\n\r\n") == []
    assert dripfeed(p, b"\r\n\r\n") == []
    events = p.receive_data(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
    assert len(events) == 1 and isinstance(events[0], Closed)
    assert events[0].killed == () and "no request was outstanding" in events[0].reason.message


def test_early_response_before_request_body_ends() -> None:
    """A response that completes while its request body is still streaming ends the connection."""
    p = Http1Protocol(b"h")
    sid = p.request(b"POST", b"/", [], None, body_follows=True)
    later = p.request(b"GET", b"/later", [], None)
    p.data_to_send()
    events = p.receive_data(response(413, b"too big"))
    assert events[1] == Data(sid, True, b"too big")
    closed = events[2]
    assert isinstance(closed, Closed)
    assert closed.unprocessed == (later,) and "before its request body was sent" in closed.reason.message


# ---------------------------------------------------------------------------- upgrade


def _ws_request(p: Http1Protocol) -> int:
    return p.request(
        b"GET",
        b"/ws",
        [(b"connection", b"upgrade"), (b"upgrade", b"websocket"), (b"sec-websocket-version", b"13")],
        None,
        upgrade=True,
    )


def test_upgrade_101_switches_protocol() -> None:
    """A 101 answering an upgrade request gives SwitchProtocol with the bytes that followed; the core is then inert."""
    p = Http1Protocol(b"h")
    sid = _ws_request(p)
    raw = p.data_to_send()
    assert b"\r\nconnection: upgrade\r\n" in raw and b"te: trailers" not in raw
    events = p.receive_data(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi"
    )
    assert events == [
        SwitchProtocol(sid, "websocket", 101, [(b"upgrade", b"WebSocket"), (b"connection", b"Upgrade")], b"\x81\x02hi")
    ]
    assert events[0].trailing == b"\x81\x02hi"  # type: ignore[union-attr]
    assert p.closing
    assert p.receive_data(b"more") == []
    assert p.receive_data(b"") == []
    with pytest.raises(UsageError):
        p.request(b"GET", b"/", [], None)


@pytest.mark.parametrize("upgrade_field", [b"", b"Upgrade:  \r\n"])
def test_101_without_an_upgrade_field_fails_the_connection(upgrade_field: bytes) -> None:
    """A 101 must name the protocol it switches to in Upgrade (RFC 9110 15.2.2, 7.8): without one
    the connection fails with an error that says so, and nothing switches (found by fuzzing)."""
    p = Http1Protocol(b"h")
    sid = _ws_request(p)
    p.data_to_send()
    events = p.receive_data(b"HTTP/1.1 101 Switching Protocols\r\n" + upgrade_field + b"Connection: upgrade\r\n\r\n")
    assert not any(isinstance(e, SwitchProtocol) for e in events)
    closed = [e for e in events if isinstance(e, Closed)]
    assert len(closed) == 1 and "Upgrade" in closed[0].reason.message and "15.2.2" in closed[0].reason.message
    assert sid in closed[0].killed or any(getattr(e, "stream_id", None) == sid for e in events)


def test_upgrade_refused_is_an_ordinary_response() -> None:
    """A non-101 answer to an upgrade request is a normal response; requests held behind it then go out."""
    p = Http1Protocol(b"h")
    sid = _ws_request(p)
    p.data_to_send()
    nxt = p.request(b"GET", b"/next", [], None)
    assert p.data_to_send() == b""  # held until the upgrade is answered
    events = p.receive_data(response(400, b"no"))
    assert events == [Response(sid, False, 400, [(b"content-length", b"2")]), Data(sid, True, b"no")]
    assert p.data_to_send().startswith(b"GET /next HTTP/1.1\r\n")
    assert p.receive_data(response(200, b"ok"))[1] == Data(nxt, True, b"ok")


def test_requests_held_behind_a_switch_get_errors() -> None:
    """Requests waiting behind an upgrade that succeeds were never sent: each gets an Error."""
    p = Http1Protocol(b"h")
    sid = _ws_request(p)
    nxt = p.request(b"GET", b"/next", [], None)
    p.data_to_send()
    events = p.receive_data(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n")
    assert isinstance(events[0], Error) and events[0].stream_id == nxt and events[0].reason.kind == "badstate"
    assert isinstance(events[1], SwitchProtocol) and events[1].stream_id == sid and events[1].trailing == b""


def test_101_without_upgrade_request_is_an_error() -> None:
    """A 101 answering a request that asked for no upgrade is a connection error."""
    p = proto(1)
    events = p.receive_data(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n")
    assert isinstance(events[0], Error) and "asked for no upgrade" in events[0].reason.message
    assert isinstance(events[1], Closed) and events[1].killed == (1,)


def test_connect_2xx_becomes_a_tunnel() -> None:
    """A 2xx answering CONNECT has no body: Response(fin) then SwitchProtocol("tunnel")."""
    p = Http1Protocol(b"h")
    sid = p.request(b"CONNECT", b"origin.example:443", [], None)
    p.data_to_send()
    events = p.receive_data(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03")
    assert events == [Response(sid, True, 200, []), SwitchProtocol(sid, "tunnel", 200, [], b"\x16\x03")]


# ---------------------------------------------------------------------------- flow control


def test_flow_pauses_and_update_flow_resumes() -> None:
    """A stream with flow gets that many bytes, then the core pauses; update_flow releases more."""
    p = Http1Protocol(b"h")
    sid = p.request(b"GET", b"/", [], None, flow=5)
    p.data_to_send()
    events = p.receive_data(b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n0123456789")
    assert events == [Response(sid, False, 200, [(b"content-length", b"12")]), Data(sid, False, b"01234")]
    assert p.paused
    assert p.receive_data(b"ab") == []  # buffered while paused
    assert p.stream_info(sid)["flow"] == 0  # type: ignore[index]
    assert p.update_flow(sid, 3) == [Data(sid, False, b"567")]
    assert p.paused
    assert p.update_flow(sid, 100) == [Data(sid, True, b"89ab")]
    assert not p.paused
    assert p.update_flow(sid, 1) == []  # finished stream: ignored


def test_flow_zero_pauses_right_after_response() -> None:
    """flow=0 delivers the Response and no Data until credit is granted."""
    p = Http1Protocol(b"h")
    sid = p.request(b"GET", b"/", [], None, flow=0)
    p.data_to_send()
    events = p.receive_data(response(200, b"body"))
    assert events == [Response(sid, False, 200, [(b"content-length", b"4")])]
    assert p.paused
    assert p.update_flow(sid, 10) == [Data(sid, True, b"body")]


def test_flow_on_chunked_body() -> None:
    """Flow credit applies to chunk data; chunk framing is still parsed at zero credit."""
    p = Http1Protocol(b"h")
    sid = p.request(b"GET", b"/", [], None, flow=4)
    p.request(b"GET", b"/2", [], None)
    p.data_to_send()
    events = p.receive_data(chunked(200, [b"abcd", b"efgh"]) + response(200, b"next"))
    assert events[1:] == [Data(sid, False, b"abcd")]
    assert p.paused
    events = p.update_flow(sid, 4)
    assert events[0] == Data(sid, True, b"efgh")
    assert events[2] == Data(2, True, b"next")
    assert not p.paused


def test_flow_exact_chunked_body_finishes_without_credit() -> None:
    """When the credit covers the data exactly, the last chunk still ends the stream."""
    p = Http1Protocol(b"h")
    sid = p.request(b"GET", b"/", [], None, flow=4)
    p.data_to_send()
    events = p.receive_data(chunked(200, [b"abcd"]))
    assert coalesce(events)[1:] == [Data(sid, True, b"abcd")]
    assert not p.paused


def test_flow_close_delimited_and_eof_while_paused() -> None:
    """A close while paused is remembered and handled once the buffered body is delivered."""
    p = Http1Protocol(b"h")
    sid = p.request(b"GET", b"/", [], None, flow=2)
    p.data_to_send()
    p.receive_data(b"HTTP/1.1 200 OK\r\n\r\nabcdef")
    assert p.paused
    assert p.receive_data(b"") == []
    events = p.update_flow(sid, 10)
    assert events[0] == Data(sid, False, b"cdef")
    assert events[1] == Data(sid, True, b"")
    assert isinstance(events[2], Closed) and events[2].reason.kind == "closed"


def test_default_flow_comes_from_options() -> None:
    """http_opts flow is the credit of requests that do not give their own."""
    p = Http1Protocol(b"h", Http1Opts(flow=2))
    a = p.request(b"GET", b"/", [], None)
    b = p.request(b"GET", b"/", [], None, flow=10)
    assert p.stream_info(a)["flow"] == 2  # type: ignore[index]
    assert p.stream_info(b)["flow"] == 10  # type: ignore[index]
    p.data_to_send()
    assert p.receive_data(response(200, b"abc"))[1:] == [Data(a, False, b"ab")]
    assert p.paused


def test_update_flow_errors_and_unlimited_streams() -> None:
    """update_flow needs a positive increment; streams without flow are not affected."""
    p = proto(1)
    with pytest.raises(UsageError):
        p.update_flow(1, 0)
    with pytest.raises(UsageError):
        p.update_flow(1, True)
    assert p.update_flow(1, 10) == []
    assert p.update_flow(99, 10) == []
    info = p.stream_info(1)
    assert info is not None and info["flow"] is None


# ---------------------------------------------------------------------------- cancel, keepalive, shutdown, info


def test_cancel_silences_the_stream() -> None:
    """A cancelled stream's response is still read but gives no events; the next stream is unaffected."""
    p = proto(2)
    assert p.cancel(1) == []
    assert p.cancel(1) == []
    assert p.cancel(42) == []
    assert p.stream_info(1) is None
    assert p.active_streams() == [2]
    events = p.receive_data(chunked(200, [b"ignored"], trailers=[(b"x", b"y")]) + response(200, b"kept"))
    assert events == [Response(2, False, 200, [(b"content-length", b"4")]), Data(2, True, b"kept")]


def test_cancel_while_paused_resumes_reading() -> None:
    """Cancelling the paused stream drops its credit limit, parses the buffer and returns later events."""
    p = Http1Protocol(b"h")
    sid = p.request(b"GET", b"/", [], None, flow=1)
    p.request(b"GET", b"/2", [], None)
    p.data_to_send()
    p.receive_data(response(200, b"abc") + response(200, b"two"))
    assert p.paused
    assert p.cancel(sid) == [Response(2, False, 200, [(b"content-length", b"3")]), Data(2, True, b"two")]
    assert not p.paused


def test_cancelled_streams_are_not_listed_when_closed() -> None:
    """Closed lists neither a cancelled stream being answered nor cancelled pipelined ones."""
    p = proto(3)
    p.cancel(1)
    p.cancel(3)
    p.receive_data(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab")
    events = p.receive_data(b"")
    assert len(events) == 1 and isinstance(events[0], Closed)
    assert events[0].killed == () and events[0].unprocessed == (2,)
    p = proto(3)
    p.cancel(1)
    events = p.receive_data(b"HTTP/1.1 xx\r\n\r\n")
    assert len(events) == 1 and isinstance(events[0], Closed)
    assert events[0].killed == () and events[0].unprocessed == (2, 3)


def test_keepalive_only_when_idle() -> None:
    """keepalive() writes an empty line when no request is in flight, nothing otherwise."""
    p = proto(0)
    assert p.keepalive() == []
    assert p.data_to_send() == b"\r\n"
    assert p.timeout("keepalive") == []
    assert p.data_to_send() == b"\r\n"
    p.request(b"GET", b"/", [], None)
    p.data_to_send()
    p.keepalive()
    assert p.data_to_send() == b""


def test_close_gracefully_when_idle() -> None:
    """A graceful close with nothing in flight ends at once."""
    p = proto(0)
    assert p.close_gracefully() == [Closed(Reason.connection("normal", "shutdown"), (), ())]
    assert p.close_gracefully() == []


def test_close_gracefully_waits_for_responses() -> None:
    """A graceful close refuses new requests and ends after the last response."""
    p = proto(2)
    assert p.close_gracefully() == []
    assert p.closing
    with pytest.raises(UsageError):
        p.request(b"GET", b"/", [], None)
    events = p.receive_data(response(200, b"1"))
    assert not any(isinstance(e, Closed) for e in events)
    events = p.receive_data(response(200, b"2"))
    assert events[-1] == Closed(Reason.connection("normal", "shutdown"), (), ())


def test_closing_timeout() -> None:
    """timeout("closing") ends the connection: the stream being answered is killed, later ones unprocessed."""
    p = proto(3)
    p.close_gracefully()
    assert p.timeout("settings") == []  # unknown names are ignored
    events = p.timeout("closing")
    assert len(events) == 1 and isinstance(events[0], Closed)
    assert events[0].reason.kind == "timeout"
    assert events[0].killed == (1,) and events[0].unprocessed == (2, 3)
    assert p.timeout("closing") == []


def test_stream_info() -> None:
    """stream_info describes a live stream and returns None once it is finished."""
    p = Http1Protocol(b"h")
    sid = p.request(b"POST", b"/x", [], None, body_follows=True, flow=10)
    info = p.stream_info(sid)
    assert info == {
        "state": "running",
        "method": b"POST",
        "path": b"/x",
        "version": "HTTP/1.1",
        "flow": 10,
        "upgrade": False,
        "request_body": "sending",
        "response": "head",
    }
    p.data(sid, True, b"")
    p.receive_data(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\na")
    info = p.stream_info(sid)
    assert info is not None and info["response"] == "body" and info["request_body"] == "sent"
    p.receive_data(b"bc")
    assert p.stream_info(sid) is None
    assert p.stream_info(99) is None


def test_errors_never_raise_on_peer_input() -> None:
    """Garbage from the server never raises; it ends in one Closed."""
    for garbage in (b"\x00" * 10 + b"\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\nfoo\r\n\r\n"):
        p = proto(1)
        events = p.receive_data(garbage)
        assert isinstance(events[-1], Closed)


def test_dripfeed_equals_whole() -> None:
    """Feeding a pipelined byte stream one byte at a time gives the same events as feeding it whole."""
    stream = (
        b"\r\nHTTP/1.1 100 Continue\r\n\r\n"
        + response(200, HELLO, [(b"x-a", b"1")])
        + chunked(201, [b"ab", b"cdef"], trailers=[(b"x-t", b"v")], ext=b";e=1")
        + response(204, length=False)
        + chunked(200, [b"z"])
        + b"HTTP/1.0 200 OK\r\n\r\nuntil close"
    )
    whole = coalesce(feed(proto(5), stream, eof=True))
    drip = coalesce(dripfeed(proto(5), stream, eof=True))
    assert whole == drip
    assert isinstance(whole[-1], Closed) and whole[-1].unprocessed == ()
    assert Data(5, True, b"until close") in whole
