"""RFC 9113 section 8: HTTP message semantics on the client side (requests we send, responses we
accept or refuse as malformed, server push)."""

from __future__ import annotations

from typing import Any

import pytest

from gun_core.events import Data, Inform, Push, Response, Trailers
from gun_core.http2_frames import ErrorCode
from tests.helpers.h2 import T_RST_STREAM, Wire, connect_client, expect_stream_error

PE = ErrorCode.PROTOCOL_ERROR


def started(method: bytes = b"GET", **kw: Any) -> tuple[Wire, int]:
    w = connect_client(**kw)
    h: int = w.client.request(method, b"/", [], None)
    w.pull()
    return w, h


# --------------------------------------------------------------------------- 8.1 message framing


def test_informational_then_final_then_trailers() -> None:
    """A response is zero or more 1xx header sections, one final header section, DATA, and optionally
    a trailer section ending the stream (RFC 9113 8.1)."""
    w, h = started()
    s = w.server
    events = w.feed(
        s.headers(1, [(":status", "100")])
        + s.headers(1, [(":status", "103"), ("link", "</x>")])
        + s.headers(1, [(":status", "200")])
        + s.data(1, b"body")
        + s.headers(1, [("grpc-status", "0")], end_stream=True)
    )
    assert events == [
        Inform(h, 100, []),
        Inform(h, 103, [(b"link", b"</x>")]),
        Response(h, False, 200, []),
        Data(h, False, b"body"),
        Trailers(h, [(b"grpc-status", b"0")]),
    ]


def test_informational_with_end_stream_is_malformed() -> None:
    """A 1xx header section with END_STREAM is malformed: stream error PROTOCOL_ERROR (RFC 9113 8.1)."""
    w, h = started()
    expect_stream_error(w, w.server.headers(1, [(":status", "103")], end_stream=True), PE, h)


def test_trailers_without_end_stream_are_malformed() -> None:
    """A trailer section must carry END_STREAM: otherwise the response is malformed (RFC 9113 8.1)."""
    w, h = started()
    w.feed(w.server.headers(1, [(":status", "200")]))
    expect_stream_error(w, w.server.headers(1, [("x-t", "1")]), PE, h)


def test_data_before_the_final_response_is_malformed() -> None:
    """DATA before the final header section is malformed (RFC 9113 8.1)."""
    w, h = started()
    expect_stream_error(w, w.server.data(1, b"x"), PE, h)
    w, h = started()
    w.feed(w.server.headers(1, [(":status", "100")]))
    expect_stream_error(w, w.server.data(1, b"x"), PE, h)


def test_switching_protocols_is_not_allowed() -> None:
    """HTTP/2 has no 101 (Switching Protocols): such a response is malformed (RFC 9113 8.6)."""
    w, h = started()
    expect_stream_error(w, w.server.headers(1, [(":status", "101")]), PE, h)


# --------------------------------------------------------------------------- 8.1.1 content-length


def test_content_length_matching_is_fine() -> None:
    """A content-length equal to the sum of DATA payloads is accepted (RFC 9113 8.1.1)."""
    w, h = started()
    s = w.server
    events = w.feed(
        s.headers(1, [(":status", "200"), ("content-length", "6")])
        + s.data(1, b"abc")
        + s.data(1, b"def", end_stream=True)
    )
    assert events[-1] == Data(h, True, b"def")


@pytest.mark.parametrize(
    "body",
    [[b"abcdefg"], [b"abc", b"defg"], [b"ab"]],
    ids=["too-long", "too-long-later", "too-short"],
)
def test_content_length_mismatch_is_malformed(body: list[bytes]) -> None:
    """A content-length different from the DATA payload total makes the response malformed
    (RFC 9113 8.1.1)."""
    w, h = started()
    s = w.server
    wire = s.headers(1, [(":status", "200"), ("content-length", "6")])
    for i, chunk in enumerate(body):
        wire += s.data(1, chunk, end_stream=i == len(body) - 1)
    expect_stream_error(w, wire, PE, h)


def test_content_length_with_end_stream_on_headers() -> None:
    """A non-zero content-length on a response ended by its HEADERS is malformed (RFC 9113 8.1.1)."""
    w, h = started()
    expect_stream_error(w, w.server.headers(1, [(":status", "200"), ("content-length", "3")], end_stream=True), PE, h)


def test_content_length_checked_before_trailers() -> None:
    """The body is complete when trailers arrive: a mismatch is malformed (RFC 9113 8.1.1)."""
    w, h = started()
    s = w.server
    wire = s.headers(1, [(":status", "200"), ("content-length", "5")]) + s.data(1, b"abc")
    expect_stream_error(w, wire + s.headers(1, [("x", "y")], end_stream=True), PE, h)


@pytest.mark.parametrize("value", ["abc", "-1", "1,2", "", "9" * 30])
def test_invalid_content_length_is_malformed(value: str) -> None:
    """An invalid content-length value is malformed (RFC 9113 8.1.1, RFC 9110 8.6)."""
    w, h = started()
    expect_stream_error(w, w.server.headers(1, [(":status", "200"), ("content-length", value)]), PE, h)


def test_content_length_without_content_is_allowed() -> None:
    """Responses defined to have no content (HEAD, 204, 304) may carry a non-zero content-length
    (RFC 9113 8.1.1)."""
    w, h = started(b"HEAD")
    assert w.feed(w.server.headers(1, [(":status", "200"), ("content-length", "1000")], end_stream=True)) == [
        Response(h, True, 200, [(b"content-length", b"1000")])
    ]
    w, h = started()
    assert w.feed(w.server.headers(1, [(":status", "304"), ("content-length", "50")], end_stream=True))[0].fin


# --------------------------------------------------------------------------- 8.2 fields


@pytest.mark.parametrize(
    "field",
    [
        ("X-Upper", "v"),
        ("bad name", "v"),
        ("na:me", "v"),
        ("", "v"),
        ("x", "a\r\nb"),
        ("x", "nul\x00"),
        ("x", " lead"),
        ("x", "trail\t"),
    ],
    ids=["uppercase", "space", "colon", "empty", "crlf", "nul", "leading-ws", "trailing-ws"],
)
def test_invalid_field_is_malformed(field: tuple[str, str]) -> None:
    """Field names must be lowercase tokens without colons, values without NUL/CR/LF or surrounding
    whitespace; otherwise the message is malformed (RFC 9113 8.2.1)."""
    w, h = started()
    expect_stream_error(w, w.server.headers(1, [(":status", "200"), field]), PE, h)


@pytest.mark.parametrize("name", ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"])
def test_connection_specific_field_is_malformed(name: str) -> None:
    """Connection-specific fields make a message malformed (RFC 9113 8.2.2)."""
    w, h = started()
    expect_stream_error(w, w.server.headers(1, [(":status", "200"), (name, "x")]), PE, h)


def test_we_do_not_send_connection_specific_fields() -> None:
    """We never generate connection-specific fields, and send te only as "trailers" (RFC 9113 8.2.2)."""
    w = connect_client()
    w.client.request(
        b"GET", b"/", [(b"connection", b"close"), (b"upgrade", b"x"), (b"te", b"deflate"), (b"te", b"Trailers")], None
    )
    (f,) = w.pull()
    names = [n for n, _ in w.server.decode(f.payload)]
    assert names == [b":method", b":scheme", b":authority", b":path", b"te"]


# --------------------------------------------------------------------------- 8.3 pseudo-headers


def test_request_pseudo_headers() -> None:
    """A request carries :method, :scheme, :authority and :path, before any regular field, and no host
    field duplicated (RFC 9113 8.3.1)."""
    w = connect_client()
    w.client.request(b"DELETE", b"/r/1", [(b"host", b"h.example"), (b"x", b"1")], None)
    (f,) = w.pull()
    assert w.server.decode(f.payload) == [
        (b":method", b"DELETE"),
        (b":scheme", b"https"),
        (b":authority", b"h.example"),
        (b":path", b"/r/1"),
        (b"x", b"1"),
    ]


@pytest.mark.parametrize(
    "fields",
    [
        [("x", "1")],
        [(":status", "200"), (":status", "200")],
        [("x", "1"), (":status", "200")],
        [(":status", "200"), (":path", "/")],
        [(":status", "2000")],
        [(":status", "20")],
        [(":status", "abc")],
        [(":status", "099")],
        [(":status", "600")],
        [(":status", "+20")],
    ],
    ids=[
        "missing",
        "twice",
        "after-regular",
        "request-pseudo",
        "4-digits",
        "2-digits",
        "letters",
        "below-100",
        "600",
        "sign",
    ],
)
def test_bad_response_pseudo_headers_are_malformed(fields: list[tuple[str, str]]) -> None:
    """A response has exactly one valid 3-digit :status, first, and no request pseudo-headers;
    otherwise it is malformed (RFC 9113 8.3, 8.3.2)."""
    w, h = started()
    expect_stream_error(w, w.server.headers(1, fields), PE, h)


def test_pseudo_header_in_trailers_is_malformed() -> None:
    """Pseudo-header fields must not appear in trailers (RFC 9113 8.1, 8.3)."""
    w, h = started()
    w.feed(w.server.headers(1, [(":status", "200")]))
    expect_stream_error(w, w.server.headers(1, [(":status", "200")], end_stream=True), PE, h)


# --------------------------------------------------------------------------- 8.4 server push


PROMISE = [(":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", "/a.js")]


def test_push_promise_is_announced() -> None:
    """A server push is announced with the promised request; its response comes on the promised stream
    (RFC 9113 8.4)."""
    w, h = started()
    events = w.feed(w.server.push_promise(1, 2, PROMISE) + w.server.response(2, 200, [], b"js"))
    assert events == [
        Push(h, 2, b"GET", b"https://example.com/a.js", []),
        Response(2, False, 200, []),
        Data(2, True, b"js"),
    ]


def test_unsafe_promise_is_reset_with_protocol_error() -> None:
    """A promised request with a method that is not safe, or without a full set of pseudo-headers, is
    answered with a stream error PROTOCOL_ERROR on the promised stream (RFC 9113 8.4)."""
    w, _ = started()
    assert w.feed(w.server.push_promise(1, 2, [(":method", "DELETE"), *PROMISE[1:]])) == []
    assert [(f.type, f.stream_id, f.u32()) for f in w.sent] == [(T_RST_STREAM, 2, PE)]


def test_promise_for_a_foreign_authority_is_refused() -> None:
    """The client checks the pushing server is authoritative; a promise for another authority is
    refused with REFUSED_STREAM (RFC 9113 8.4, 10.1)."""
    w, _ = started()
    assert w.feed(w.server.push_promise(1, 2, [*PROMISE[:2], (":authority", "bank.example"), PROMISE[3]])) == []
    assert [(f.type, f.stream_id, f.u32()) for f in w.sent] == [(T_RST_STREAM, 2, ErrorCode.REFUSED_STREAM)]


def test_push_promise_on_a_finished_stream() -> None:
    """PUSH_PROMISE on a stream the server already ended is a connection error PROTOCOL_ERROR
    (RFC 9113 6.6)."""
    from tests.helpers.h2 import expect_connection_error

    w = connect_client()
    w.client.request(b"POST", b"/", [], None, body_follows=True)
    w.pull()
    w.feed(w.server.response(1, 200))
    expect_connection_error(w, w.server.push_promise(1, 2, PROMISE), PE)


def test_push_promise_on_a_stream_we_did_not_open() -> None:
    """PUSH_PROMISE must be associated with a client-initiated stream (RFC 9113 6.6, 8.4)."""
    from tests.helpers.h2 import expect_connection_error

    w, _ = started()
    expect_connection_error(w, w.server.push_promise(3, 2, PROMISE), PE)
