"""RFC 9112 sections 3, 6 and 7 from the sending side: the requests the client writes."""

from __future__ import annotations

import pytest

from gun_core.errors import InvalidHeader, UsageError
from gun_core.http1 import Http1Protocol
from gun_core.options import Http1Opts
from tests.helpers.h1 import parse_request


def _sent(
    method: bytes = b"GET", path: bytes = b"/", headers: list[tuple[bytes, bytes]] | None = None, **kw: object
) -> bytes:
    p = Http1Protocol(b"example.com")
    p.request(method, path, headers or [], kw.pop("body", None), **kw)  # type: ignore[arg-type]
    return p.data_to_send()


def test_request_line() -> None:
    """request-line = method SP request-target SP HTTP-version, then CRLF (RFC 9112 3)."""
    line, _, _ = parse_request(_sent(b"DELETE", b"/items/1?x=%20"))
    assert line == b"DELETE /items/1?x=%20 HTTP/1.1"


@pytest.mark.parametrize("target", [b"/", b"/a/b?c=d", b"*", b"http://example.com/x", b"example.com:443"])
def test_request_target_forms(target: bytes) -> None:
    """Origin, asterisk, absolute and authority forms are sent as given (RFC 9112 3.2)."""
    line, _, _ = parse_request(_sent(b"OPTIONS" if target == b"*" else b"GET", target))
    assert line.split(b" ")[1] == target


@pytest.mark.parametrize("target", [b"/a b", b"/a\tb", b"/\r\n", b"", b"/\x00"])
def test_request_target_without_whitespace(target: bytes) -> None:
    """A request-target holds no whitespace or control characters (RFC 9112 3.2)."""
    with pytest.raises(UsageError):
        _sent(b"GET", target)


def test_method_is_a_token() -> None:
    """method = token (RFC 9112 3.1)."""
    assert parse_request(_sent(b"M-SEARCH", b"*"))[0] == b"M-SEARCH * HTTP/1.1"
    with pytest.raises(UsageError):
        _sent(b"GET /x", b"/")


def test_host_is_sent_first() -> None:
    """A client sends host in every HTTP/1.1 request, as the first field line (RFC 9112 3.2)."""
    _, fields, _ = parse_request(_sent(headers=[(b"accept", b"*/*")]))
    assert fields[0] == (b"host", b"example.com")


def test_field_lines_format() -> None:
    """field-line = field-name ":" OWS field-value OWS, each ended by CRLF; an empty line ends the
    section (RFC 9112 5)."""
    raw = _sent(headers=[(b"x-a", b"1"), (b"x-b", b"")])
    assert b"\r\nx-a: 1\r\nx-b: \r\n" in raw and raw.endswith(b"\r\n\r\n")


def test_no_header_injection() -> None:
    """A field value never carries CR or LF onto the wire (RFC 9110 5.5)."""
    with pytest.raises(InvalidHeader):
        _sent(headers=[(b"x-a", b"1\r\nx-injected: 1")])


def test_te_trailers_with_connection_te() -> None:
    """We announce trailers with TE: trailers and, TE being hop-by-hop, list it in connection
    (RFC 9110 10.1.4, 7.6.1)."""
    _, fields, _ = parse_request(_sent())
    assert (b"te", b"trailers") in fields and (b"connection", b"te") in fields
    _, fields, _ = parse_request(_sent(headers=[(b"connection", b"close")]))
    assert (b"connection", b"close, te") in fields


def test_caller_te_is_listed_in_connection() -> None:
    """A caller's TE is kept, and connection still lists te (RFC 9110 10.1.4)."""
    _, fields, _ = parse_request(_sent(headers=[(b"te", b"gzip")]))
    assert [v for n, v in fields if n == b"te"] == [b"gzip"]
    assert (b"connection", b"te") in fields


def test_content_length_for_a_known_body() -> None:
    """A body known in advance is framed by content-length (RFC 9112 6.2)."""
    _, fields, rest = parse_request(_sent(b"PUT", body=b"x" * 70_000))
    assert (b"content-length", b"70000") in fields and len(rest) == 70_000


def test_content_length_zero_for_empty_post() -> None:
    """A POST without content sends content-length: 0, as a user agent should when the method
    expects content (RFC 9110 8.6)."""
    _, fields, _ = parse_request(_sent(b"POST"))
    assert (b"content-length", b"0") in fields


def test_no_content_length_for_get() -> None:
    """A user agent should not send content-length when the request has no content and the method
    does not expect any (RFC 9110 8.6)."""
    _, fields, _ = parse_request(_sent(b"GET"))
    assert not any(n == b"content-length" for n, _ in fields)


def test_never_both_content_length_and_transfer_encoding() -> None:
    """A sender must not send content-length in a message with transfer-encoding (RFC 9112 6.2)."""
    with pytest.raises(UsageError):
        _sent(b"POST", headers=[(b"content-length", b"3"), (b"transfer-encoding", b"chunked")], body_follows=True)


def test_chunked_request_body() -> None:
    """A streamed body of unknown length is sent chunked, ended by the last chunk and an empty
    trailer section (RFC 9112 7.1)."""
    p = Http1Protocol(b"h")
    sid = p.request(b"POST", b"/", [], None, body_follows=True)
    p.data(sid, False, b"a" * 17)
    p.data(sid, True, b"bc")
    _, fields, rest = parse_request(p.data_to_send())
    assert (b"transfer-encoding", b"chunked") in fields
    assert rest == b"11\r\n" + b"a" * 17 + b"\r\n2\r\nbc\r\n0\r\n\r\n"


def test_chunked_is_final_in_requests() -> None:
    """When a request has transfer codings, chunked is the final one (RFC 9112 6.1)."""
    with pytest.raises(UsageError):
        _sent(b"POST", headers=[(b"transfer-encoding", b"chunked, gzip")], body_follows=True)
    _, fields, _ = parse_request(_sent(b"POST", headers=[(b"transfer-encoding", b"gzip, chunked")], body_follows=True))
    assert (b"transfer-encoding", b"gzip, chunked") in fields


def test_http10_has_no_chunked_coding() -> None:
    """Transfer-Encoding was added in HTTP/1.1: an HTTP/1.0 request never uses it (RFC 9112 6.1)."""
    p = Http1Protocol(b"h", Http1Opts(version="HTTP/1.0"))
    with pytest.raises(UsageError):
        p.request(b"POST", b"/", [], None, body_follows=True)
    with pytest.raises(UsageError):
        p.request(b"POST", b"/", [(b"transfer-encoding", b"chunked")], b"x")


def test_http10_keep_alive() -> None:
    """An HTTP/1.0 client asks for a persistent connection with connection: keep-alive (RFC 9112 9.3,
    C.2.2)."""
    p = Http1Protocol(b"h", Http1Opts(version="HTTP/1.0"))
    p.request(b"GET", b"/", [], None)
    line, fields, _ = parse_request(p.data_to_send())
    assert line.endswith(b"HTTP/1.0") and (b"connection", b"keep-alive") in fields


def test_close_option_ends_the_connection_after_the_request() -> None:
    """A client that sends connection: close sends no further requests on that connection
    (RFC 9112 9.6)."""
    p = Http1Protocol(b"h")
    p.request(b"GET", b"/", [(b"connection", b"close")], None)
    assert p.closing
    with pytest.raises(UsageError):
        p.request(b"GET", b"/", [], None)
