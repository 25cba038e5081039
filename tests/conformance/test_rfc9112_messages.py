"""RFC 9112 sections 2, 4 and 5: message format, status line and field lines, as a client reads them."""

from __future__ import annotations

import pytest

from gun_core.events import Closed, Data, Error, Event, Response
from tests.helpers.h1 import dripfeed, proto, response


def _failed(events: list[Event]) -> str:
    """The message of the protocol error that ended the connection."""
    assert len(events) == 2, events
    err, closed = events
    assert isinstance(err, Error) and err.stream_id == 1 and err.reason.kind == "protocol_error"
    assert isinstance(closed, Closed) and closed.reason.kind == "protocol_error" and closed.killed == (1,)
    return err.reason.message


def test_crlf_line_endings() -> None:
    """A message is a start line, field lines each ended by CRLF, and an empty line (RFC 9112 2.1)."""
    p = proto(1)
    events = p.receive_data(b"HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok")
    assert events == [Response(1, False, 200, [(b"x-a", b"1"), (b"content-length", b"2")]), Data(1, True, b"ok")]


@pytest.mark.parametrize("head", [b"HTTP/1.1 200 OK\nX-A: 1\r\n\r\n", b"HTTP/1.1 200 OK\r\nX-A: 1\rX-B: 2\r\n\r\n"])
def test_bare_cr_or_lf_is_refused(head: bytes) -> None:
    """A bare CR inside a message is invalid; we also refuse bare LF rather than guess (RFC 9112 2.2)."""
    assert "bare CR or LF (RFC 9112 2.2)" in _failed(proto(1).receive_data(head))


def test_empty_lines_before_the_status_line_are_skipped() -> None:
    """Robustness: empty lines before a start line are ignored (RFC 9112 2.2)."""
    p = proto(1)
    assert p.receive_data(b"\r\n\r\n" + response(200, b"x"))[-1] == Data(1, True, b"x")


@pytest.mark.parametrize(("version", "persistent"), [(b"HTTP/1.1", True), (b"HTTP/1.0", False), (b"HTTP/1.9", True)])
def test_http_version(version: bytes, persistent: bool) -> None:
    """HTTP/1.x responses are accepted; a higher minor version is treated as 1.1 (RFC 9112 2.3)."""
    p = proto(2)
    events = p.receive_data(response(200, b"x", version=version))
    assert events[0] == Response(1, False, 200, [(b"content-length", b"1")])
    assert (not any(isinstance(e, Closed) for e in events)) is persistent


@pytest.mark.parametrize("line", [b"HTTP/2 200 OK", b"HTTP/2.0 200 OK", b"HTTP/0.9 200 OK"])
def test_other_major_versions_are_refused(line: bytes) -> None:
    """Only HTTP/1.x may answer an HTTP/1.1 request (RFC 9112 2.3)."""
    assert "unsupported HTTP version" in _failed(proto(1).receive_data(line + b"\r\n\r\n"))


@pytest.mark.parametrize(
    ("line", "status"),
    [(b"HTTP/1.1 200 OK", 200), (b"HTTP/1.1 200", 200), (b"HTTP/1.1 200 ", 200), (b"HTTP/1.1 404 Not  Found!", 404)],
)
def test_status_line_reason_phrase_is_optional(line: bytes, status: int) -> None:
    """status-line = HTTP-version SP status-code SP [ reason-phrase ]; a missing SP is tolerated (RFC 9112 4)."""
    p = proto(1)
    assert p.receive_data(line + b"\r\ncontent-length: 0\r\n\r\n") == [
        Response(1, True, status, [(b"content-length", b"0")])
    ]


@pytest.mark.parametrize(
    "line",
    [
        b"HTTP/1.1 abc Nope",
        b"HTTP/1.1 20 OK",
        b"HTTP/1.1 2000 OK",
        b"HTTP/1.1  200 OK",
        b"HTTP/1.1200 OK",
        b"http/1.1 200 OK",
        b"HTTP/1.x 200 OK",
        b"ICY 200 OK",
        b"",
    ],
)
def test_malformed_status_lines(line: bytes) -> None:
    """A status line that does not match the grammar is a connection error quoting it (RFC 9112 4)."""
    message = _failed(proto(1).receive_data(b"\r\n" + line + b"\r\nx: 1\r\n\r\n"))
    assert "status line" in message


@pytest.mark.parametrize("status", [b"000", b"099", b"600", b"999"])
def test_status_code_range(status: bytes) -> None:
    """Status codes are three digits from 100 to 599 (RFC 9110 15)."""
    assert "out of range" in _failed(proto(1).receive_data(b"HTTP/1.1 " + status + b" X\r\n\r\n"))


def test_field_names_are_case_insensitive_and_values_trimmed() -> None:
    """Field names are case-insensitive (delivered lowercase); OWS around the value is not part of it
    (RFC 9112 5, RFC 9110 5.1, 5.5)."""
    p = proto(1)
    events = p.receive_data(b"HTTP/1.1 204 No Content\r\nX-MiXeD:\t  a b  \t\r\nx-empty:\r\n\r\n")
    assert events == [Response(1, True, 204, [(b"x-mixed", b"a b"), (b"x-empty", b"")])]


def test_repeated_fields_are_kept_in_order() -> None:
    """Repeated field lines are all delivered, in order (RFC 9110 5.3)."""
    p = proto(1)
    events = p.receive_data(b"HTTP/1.1 204 No Content\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n")
    assert events == [Response(1, True, 204, [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")])]


def test_whitespace_before_colon_is_refused() -> None:
    """No whitespace is allowed between the field name and the colon (RFC 9112 5.1)."""
    message = _failed(proto(1).receive_data(b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"))
    assert "(RFC 9112 5.1)" in message


@pytest.mark.parametrize("fold", [b" folded", b"\tfolded"])
def test_obs_fold_is_refused(fold: bytes) -> None:
    """Obsolete line folding in a response is not accepted (RFC 9112 5.2)."""
    message = _failed(proto(1).receive_data(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n" + fold + b"\r\n\r\n"))
    assert "obsolete line folding" in message and "(RFC 9112 5.2)" in message


@pytest.mark.parametrize("name", [b"X A", b'X"A', b"X(A)", b"X/A", b"X@A", b"\xc3\xa9", b"X{A}"])
def test_field_name_must_be_a_token(name: bytes) -> None:
    """field-name = token (RFC 9110 5.1)."""
    message = _failed(proto(1).receive_data(b"HTTP/1.1 200 OK\r\n" + name + b": v\r\n\r\n"))
    assert "field name" in message


def test_line_without_colon_is_refused() -> None:
    """Every field line is name ":" value (RFC 9112 5)."""
    assert "without a colon" in _failed(proto(1).receive_data(b"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n"))


def test_nul_in_a_field_value_is_refused() -> None:
    """A recipient of NUL within a field value must reject the message or replace it (RFC 9110 5.5)."""
    assert "NUL" in _failed(proto(1).receive_data(b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n"))


def test_obs_text_in_values_is_accepted() -> None:
    """Field values may hold obs-text (bytes 0x80-0xFF) (RFC 9110 5.5)."""
    p = proto(1)
    assert p.receive_data(b"HTTP/1.1 204 X\r\nX-A: caf\xe9\r\n\r\n") == [Response(1, True, 204, [(b"x-a", b"caf\xe9")])]


@pytest.mark.parametrize("drip", [False, True])
def test_header_section_size_is_bounded(drip: bool) -> None:
    """A server that sends a larger header section than max_header_block_size is cut off, whether the
    section ends or not (RFC 9112 2.3 lets a recipient limit what it parses)."""
    p = proto(1, max_header_block_size=100)
    data = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200
    events = dripfeed(p, data) if drip else p.receive_data(data)
    assert "max_header_block_size (100 bytes)" in _failed(events)
    p = proto(1, max_header_block_size=100)
    events = p.receive_data(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100 + b"\r\n\r\n")
    assert "max_header_block_size (100 bytes)" in _failed(events)


def test_header_section_at_the_limit_is_accepted() -> None:
    """A header section of exactly max_header_block_size bytes is accepted."""
    head = b"HTTP/1.1 204 X\r\nX-Big: "
    head += b"a" * (100 - len(head))
    assert len(head) == 100
    p = proto(1, max_header_block_size=100)
    events = p.receive_data(head + b"\r\n\r\n")
    assert isinstance(events[0], Response)


def test_trickled_header_section_is_linear() -> None:
    """A 60 kB header section trickled one byte at a time is parsed without rescanning."""
    import time

    p = proto(1, max_header_block_size=70_000)
    data = b"HTTP/1.1 204 X\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 50) for i in range(1000)) + b"\r\n"
    t = time.perf_counter()
    events = dripfeed(p, data)
    assert time.perf_counter() - t < 5.0
    assert isinstance(events[0], Response) and len(events[0].headers) == 1000
