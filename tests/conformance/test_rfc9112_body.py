"""RFC 9112 sections 6 and 7: how a client finds where a response body ends, and chunked coding."""

from __future__ import annotations

import pytest

from gun_core.events import Closed, Data, Error, Event, Inform, Response, Trailers
from gun_core.http1 import Http1Protocol
from tests.helpers.h1 import chunked, coalesce, dripfeed, feed, proto, response


def _failed(events: list[Event], sid: int = 1) -> str:
    err, closed = events[-2:]
    assert isinstance(err, Error) and err.stream_id == sid and err.reason.kind == "protocol_error"
    assert isinstance(closed, Closed) and closed.reason.kind == "protocol_error"
    return err.reason.message


def _one(method: bytes) -> Http1Protocol:
    p = Http1Protocol(b"h")
    p.request(method, b"/", [], None)
    p.request(b"GET", b"/next", [], None)
    p.data_to_send()
    return p


# ---------------------------------------------------------------------------- 6.3 message body length


def test_head_response_has_no_body() -> None:
    """Any response to HEAD ends at the empty line after its fields, whatever content-length says
    (RFC 9112 6.3 item 1)."""
    p = _one(b"HEAD")
    events = p.receive_data(response(200, b"", [(b"content-length", b"1000")], length=False) + response(200, b"n"))
    assert events[0] == Response(1, True, 200, [(b"content-length", b"1000")])
    assert events[-1] == Data(2, True, b"n")


@pytest.mark.parametrize("status", [204, 304])
def test_204_and_304_have_no_body(status: int) -> None:
    """204 and 304 responses end at the empty line after their fields (RFC 9112 6.3 item 1)."""
    p = _one(b"GET")
    events = p.receive_data(response(status, b"", [(b"content-length", b"10")], length=False) + response(200, b"n"))
    assert events[0] == Response(1, True, status, [(b"content-length", b"10")])
    assert events[-1] == Data(2, True, b"n")


def test_1xx_has_no_body() -> None:
    """1xx responses end at the empty line; the final response follows (RFC 9112 6.3 item 1, RFC 9110 15.2)."""
    p = _one(b"GET")
    events = p.receive_data(b"HTTP/1.1 100 Continue\r\ncontent-length: 5\r\n\r\n" + response(200, b"x"))
    assert events[0] == Inform(1, 100, [(b"content-length", b"5")])
    assert events[1:] == [Response(1, False, 200, [(b"content-length", b"1")]), Data(1, True, b"x")]


def test_connect_2xx_has_no_body() -> None:
    """A 2xx answer to CONNECT switches to a tunnel right after the fields (RFC 9112 6.3 item 2)."""
    p = _one(b"CONNECT")
    events = p.receive_data(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nTUNNEL")
    assert events[0] == Response(1, True, 200, [(b"content-length", b"5")])
    assert events[2].trailing == b"TUNNEL"  # type: ignore[union-attr]


def test_connect_refused_has_a_body() -> None:
    """A non-2xx answer to CONNECT is an ordinary response with a body (RFC 9112 6.3 item 2)."""
    p = _one(b"CONNECT")
    assert p.receive_data(response(403, b"no"))[-1] == Data(1, True, b"no")


def test_transfer_encoding_and_content_length_is_an_error() -> None:
    """A response with both transfer-encoding and content-length is a smuggling risk: the connection
    is failed (RFC 9112 6.3 item 3, 6.1)."""
    for headers in (
        [(b"transfer-encoding", b"chunked"), (b"content-length", b"5")],
        [(b"content-length", b"5"), (b"transfer-encoding", b"chunked")],
    ):
        p = _one(b"GET")
        message = _failed(p.receive_data(response(200, b"", headers, length=False) + b"0\r\n\r\n"))
        assert "both transfer-encoding and content-length" in message


@pytest.mark.parametrize(("te", "why"), [(b"chunked, gzip", "before another coding"), (b"chunked, chunked", "once")])
def test_chunked_must_be_final_and_once(te: bytes, why: str) -> None:
    """chunked must be the final transfer coding and must not be applied twice (RFC 9112 6.1, 6.3 item 4)."""
    p = _one(b"GET")
    assert why in _failed(p.receive_data(response(200, b"", [(b"transfer-encoding", te)], length=False)))


def test_chunked_split_over_field_lines() -> None:
    """transfer-encoding field lines combine into one list (RFC 9110 5.3, RFC 9112 6.1)."""
    p = _one(b"GET")
    headers = [(b"transfer-encoding", b"gzip"), (b"Transfer-Encoding", b"chunked")]
    events = p.receive_data(response(200, b"", headers, length=False) + b"2\r\nab\r\n0\r\n\r\n")
    assert events[-1] == Data(1, True, b"ab")


def test_final_coding_not_chunked_reads_until_close() -> None:
    """When chunked is not the final coding of a response, the body ends when the connection closes
    (RFC 9112 6.3 item 4)."""
    p = _one(b"GET")
    events = p.receive_data(response(200, b"", [(b"transfer-encoding", b"gzip")], length=False) + b"\x1f\x8b..")
    assert events[-1] == Data(1, False, b"\x1f\x8b..")
    assert p.closing
    events = p.receive_data(b"")
    assert events[0] == Data(1, True, b"")
    assert isinstance(events[1], Closed) and events[1].unprocessed == (2,)


def test_http10_transfer_encoding_is_faulty_framing() -> None:
    """An HTTP/1.0 message with transfer-encoding has faulty framing: read until close, then close
    (RFC 9112 6.1)."""
    p = _one(b"GET")
    head = b"HTTP/1.0 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    events = p.receive_data(head + b"3\r\nabc\r\n0\r\n\r\n")
    assert events[-1] == Data(1, False, b"3\r\nabc\r\n0\r\n\r\n")
    assert isinstance(p.receive_data(b"")[-1], Closed)


@pytest.mark.parametrize("values", [[b"5", b"5"], [b"5, 5"], [b"5,5", b" 5 "]])
def test_identical_content_lengths_are_one(values: list[bytes]) -> None:
    """Repeated identical content-length values may be taken as one (RFC 9112 6.3 item 5, RFC 9110 8.6)."""
    p = _one(b"GET")
    headers = [(b"content-length", v) for v in values]
    assert p.receive_data(response(200, b"hello", headers, length=False))[-1] == Data(1, True, b"hello")


@pytest.mark.parametrize(
    ("values", "why"),
    [
        ([b"5", b"6"], "conflicting"),
        ([b"5, 6"], "conflicting"),
        ([b"abc"], "invalid content-length"),
        ([b"-5"], "invalid content-length"),
        ([b"+5"], "invalid content-length"),
        ([b"5 5"], "invalid content-length"),
        ([b"0x5"], "invalid content-length"),
        ([b""], "invalid content-length"),
        ([b"9" * 30], "invalid content-length"),
    ],
)
def test_invalid_content_length_is_an_error(values: list[bytes], why: str) -> None:
    """An invalid or conflicting content-length makes the response unreadable: connection error
    (RFC 9112 6.3 item 5)."""
    p = _one(b"GET")
    headers = [(b"content-length", v) for v in values]
    message = _failed(p.receive_data(response(200, b"hello", headers, length=False)))
    assert why in message and "RFC 9112 6.3" in message


def test_content_length_delimits_the_body() -> None:
    """With a valid content-length the body is exactly that many bytes; the next response follows
    (RFC 9112 6.3 item 6)."""
    p = _one(b"GET")
    events = coalesce(feed(p, response(200, b"0123456789") + response(200, b"n"), [3, 7, 40, 5]))
    assert events[1] == Data(1, True, b"0123456789")
    assert events[-1] == Data(2, True, b"n")


def test_no_framing_reads_until_close() -> None:
    """A response without content-length or transfer-encoding ends when the server closes
    (RFC 9112 6.3 item 8)."""
    p = _one(b"GET")
    events = coalesce(feed(p, b"HTTP/1.1 200 OK\r\n\r\nbody until close", [5, 20], eof=True))
    assert events[1] == Data(1, True, b"body until close")
    assert isinstance(events[2], Closed) and events[2].killed == () and events[2].unprocessed == (2,)


def test_incomplete_content_length_body() -> None:
    """A close before content-length bytes arrived leaves the message incomplete: the stream is
    killed, not finished (RFC 9112 8)."""
    p = _one(b"GET")
    p.receive_data(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
    closed = p.receive_data(b"")[-1]
    assert isinstance(closed, Closed) and closed.killed == (1,) and "3 of 10 body bytes" in closed.reason.message


# ---------------------------------------------------------------------------- 7.1 chunked


def test_chunked_body() -> None:
    """chunked-body = *chunk last-chunk trailer-section CRLF; chunk sizes are hex (RFC 9112 7.1)."""
    p = _one(b"GET")
    body = b"1A\r\n" + b"a" * 26 + b"\r\nf\r\n" + b"b" * 15 + b"\r\n0\r\n\r\n"
    events = coalesce(p.receive_data(response(200, b"", [(b"transfer-encoding", b"chunked")], length=False) + body))
    assert events[1] == Data(1, True, b"a" * 26 + b"b" * 15)


def test_chunk_extensions_are_ignored() -> None:
    """Unrecognised chunk extensions are ignored, including on the last chunk (RFC 9112 7.1.1)."""
    p = _one(b"GET")
    events = coalesce(p.receive_data(chunked(200, [b"abc", b"de"], ext=b' ; name="quoted;value" ;flag')))
    assert events[1] == Data(1, True, b"abcde")


@pytest.mark.parametrize(
    ("size_line", "quoted"),
    [(b"zz", b"zz"), (b"", b""), (b"0x5", b"0x5"), (b"-1", b"-1"), (b"1_0", b"1_0"), (b"12345678901234567", None)],
)
def test_invalid_chunk_size(size_line: bytes, quoted: bytes | None) -> None:
    """chunk-size = 1*HEXDIG, at most 16 digits here; anything else is a connection error quoting the
    line (RFC 9112 7.1)."""
    p = _one(b"GET")
    head = response(200, b"", [(b"transfer-encoding", b"chunked")], length=False)
    message = _failed(p.receive_data(head + size_line + b"\r\nxx\r\n"))
    assert "invalid chunk size line" in message and "(RFC 9112 7.1)" in message
    if quoted is not None:
        assert f"invalid chunk size line: {quoted!r}" in message


def test_chunk_data_must_end_with_crlf() -> None:
    """chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF (RFC 9112 7.1)."""
    p = _one(b"GET")
    head = response(200, b"", [(b"transfer-encoding", b"chunked")], length=False)
    assert "not followed by CRLF" in _failed(p.receive_data(head + b"3\r\nabcXY0\r\n\r\n"))


def test_trailer_fields() -> None:
    """Fields after the last chunk are trailers, delivered after the data and ending the response
    (RFC 9112 7.1.2)."""
    p = _one(b"GET")
    events = coalesce(dripfeed(p, chunked(200, [b"hi"], trailers=[(b"X-Digest", b"sha=1"), (b"X-N", b"2")])))
    assert events[1:] == [Data(1, False, b"hi"), Trailers(1, [(b"x-digest", b"sha=1"), (b"x-n", b"2")])]


def test_trailers_without_data() -> None:
    """A chunked body may be empty and still carry trailers (RFC 9112 7.1.2)."""
    p = _one(b"GET")
    events = p.receive_data(chunked(200, [], trailers=[(b"x-a", b"1")]))
    assert events[1:] == [Trailers(1, [(b"x-a", b"1")])]


def test_trailer_section_is_bounded() -> None:
    """The trailer section is limited by max_trailer_block_size (RFC 9112 7.1.2)."""
    p = proto(1, max_trailer_block_size=50)
    message = _failed(p.receive_data(chunked(200, [b"x"], trailers=[(b"x-big", b"a" * 100)])))
    assert "max_trailer_block_size (50 bytes" in message


def test_malformed_trailer_is_an_error() -> None:
    """Trailer fields follow the field line syntax: obs-fold is refused there too (RFC 9112 7.1.2, 5.2)."""
    p = _one(b"GET")
    head = response(200, b"", [(b"transfer-encoding", b"chunked")], length=False)
    assert "obsolete line folding" in _failed(p.receive_data(head + b"0\r\nx-a: 1\r\n folded\r\n\r\n"))


def test_chunked_is_read_until_the_last_chunk_even_split() -> None:
    """Chunk boundaries do not depend on how the bytes arrive (RFC 9112 7.1)."""
    data = chunked(200, [b"abc", b"defgh", b"i" * 300], trailers=[(b"t", b"1")], ext=b";e")
    whole = coalesce(_one(b"GET").receive_data(data))
    assert coalesce(dripfeed(_one(b"GET"), data)) == whole
    assert whole[-1] == Trailers(1, [(b"t", b"1")])
