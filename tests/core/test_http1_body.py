"""gun_core.http1_body: field lines, framing fields and the chunked decoder, as pure codecs."""

from __future__ import annotations

import pytest

from gun_core.http1_body import (
    MAX_CHUNK_LINE,
    ChunkedReader,
    check_block,
    chunk_size,
    content_length,
    parse_field_lines,
    split_list,
    transfer_codings,
)

SPECIAL = frozenset([b"content-length", b"connection"])


def fields(block: bytes) -> list[tuple[bytes, bytes]] | str:
    lines = block.split(b"\r\n")
    return parse_field_lines(lines, 0, "test section", SPECIAL, [])


def test_check_block() -> None:
    """Bare CR, bare LF and NUL are found; clean blocks pass."""
    assert check_block(b"a: 1\r\nb: 2", 2, "x") is None
    assert "bare CR or LF" in str(check_block(b"a: 1\nb: 2", 1, "x"))
    assert "bare CR or LF" in str(check_block(b"a: 1\rb: 2", 1, "x"))
    assert "NUL" in str(check_block(b"a: 1\x00", 1, "x"))


def test_field_lines_are_lowercased_and_trimmed() -> None:
    """Names are lowercased; leading and trailing spaces and tabs of values are dropped, inner ones kept."""
    assert fields(b"Content-Type: \t text/html; q=1 \t\r\nX-Empty:\r\nX-Colon: a:b") == [
        (b"content-type", b"text/html; q=1"),
        (b"x-empty", b""),
        (b"x-colon", b"a:b"),
    ]


def test_field_lines_cached_and_uncached_agree() -> None:
    """The fast path (names seen before) and the checking path give the same result."""
    block = b"X-Never-Seen-Before-42: v\r\nServer: s"
    first = fields(block)
    second = fields(block)
    assert first == second == [(b"x-never-seen-before-42", b"v"), (b"server", b"s")]


def test_special_fields_are_collected() -> None:
    """Fields named in ``special`` are also returned in ``found``, on both paths."""
    for block in (b"Content-Length: 5\r\nX-A: 1\r\nConnection: close", b"X-Brand-New-B: 1\r\nContent-Length: 5"):
        found: list[tuple[bytes, bytes]] = []
        out = parse_field_lines(block.split(b"\r\n"), 0, "x", SPECIAL, found)
        assert isinstance(out, list)
        assert found == [f for f in out if f[0] in SPECIAL]
        assert (b"content-length", b"5") in found


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (b"X-A: 1\r\n folded", "obsolete line folding"),
        (b"X-A: 1\r\n\tfolded: x", "obsolete line folding"),
        (b"no colon here", "without a colon"),
        (b": value", "empty name"),
        (b"X-A : 1", "whitespace between a field name and the colon"),
        (b"X(A): 1", "invalid field name b'X(A)'"),
        (b"X\x80: 1", "invalid field name"),
    ],
)
def test_bad_field_lines(block: bytes, message: str) -> None:
    """Malformed field lines give an error message saying what is wrong."""
    out = fields(block)
    assert isinstance(out, str) and message in out and "RFC 911" in out


def test_a_known_name_without_colon_is_still_refused() -> None:
    """A line that is only a name seen before is not taken for a field."""
    assert isinstance(fields(b"Server: x"), list)
    out = fields(b"Server")
    assert isinstance(out, str) and "without a colon" in out


def test_split_list() -> None:
    """List elements are lowercased and trimmed; empty elements are dropped (RFC 9110 5.6.1)."""
    assert split_list(b"Keep-Alive , ,Upgrade,, TE ") == [b"keep-alive", b"upgrade", b"te"]
    assert split_list(b"") == []


def test_content_length() -> None:
    """One number, repeats of the same number, or a list of the same number; anything else is an error."""
    assert content_length([b"42"]) == 42
    assert content_length([b"5", b"5"]) == 5
    assert content_length([b"5, 5"]) == 5
    assert content_length([b"05", b"5"]) == 5
    assert content_length([b"0"]) == 0
    for values in ([b"5", b"6"], [b"5, 6"]):
        out = content_length(values)
        assert isinstance(out, str) and "conflicting content-length" in out
    for values in ([b"abc"], [b"-1"], [b"+5"], [b"1 2"], [b""], [b"5,"], [b"1" * 19], [b"0x10"]):
        out = content_length(values)
        assert isinstance(out, str) and "content-length" in out


def test_transfer_codings() -> None:
    """chunked must be final and appear once; without it the body is close-delimited."""
    assert transfer_codings([b"chunked"]) == (True, None)
    assert transfer_codings([b"gzip, Chunked"]) == (True, None)
    assert transfer_codings([b"gzip", b"chunked"]) == (True, None)
    assert transfer_codings([b"gzip"]) == (False, None)
    chunked, err = transfer_codings([b"chunked, gzip"])
    assert not chunked and err is not None and "before another coding" in err
    chunked, err = transfer_codings([b"chunked", b"chunked"])
    assert not chunked and err is not None and "more than once" in err


def test_chunk_size() -> None:
    """Hex sizes with optional extensions; anything else is -1."""
    assert chunk_size(b"0") == 0
    assert chunk_size(b"1a") == 26
    assert chunk_size(b"FF;name=value") == 255
    assert chunk_size(b"10 ;ext") == 16
    assert chunk_size(b"ffffffffffffffff") == 2**64 - 1
    for line in (b"", b"zz", b"0x5", b"+5", b"-1", b"1_0", b" 5", b"1" * 17, b";ext"):
        assert chunk_size(line) == -1, line


def read_all(data: bytes, step: int | None = None, limit: int | None = None) -> tuple[ChunkedReader, bytes, int]:
    r = ChunkedReader(1000)
    out: list[bytes] = []
    if step is None:
        pos = r.read(data, 0, len(data), limit, out)
        return r, b"".join(out), pos
    buf = bytearray()
    pos = 0
    for i in range(0, len(data), step):
        buf += data[i : i + step]
        pos = r.read(buf, pos, len(buf), limit, out)
        if r.done or r.error:
            break
    return r, b"".join(out), pos


def test_chunked_reader_whole_and_split() -> None:
    """The decoder gives the same data, trailers and end offset whole or split anywhere."""
    body = b"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT"
    for step in (None, 1, 2, 3, 7):
        r, data, pos = read_all(body, step)
        assert r.done and r.error is None
        assert data == b"hello world"
        assert r.trailers == [(b"x-t", b"1")]
        assert body[pos:] == b"NEXT"


def test_chunked_reader_no_trailers() -> None:
    """A last chunk followed by an empty line gives no trailers."""
    r, data, pos = read_all(b"0\r\n\r\nX")
    assert r.done and r.trailers is None and data == b"" and pos == 5


def test_chunked_reader_limit_blocks_inside_data() -> None:
    """With a limit the decoder stops inside chunk data and says it is blocked."""
    r = ChunkedReader(1000)
    out: list[bytes] = []
    data = b"a\r\n0123456789\r\n0\r\n\r\n"
    pos = r.read(data, 0, len(data), 4, out)
    assert out == [b"0123"] and r.blocked and r.in_data and not r.done
    pos = r.read(data, pos, len(data), 0, out)
    assert r.blocked and out == [b"0123"]
    pos = r.read(data, pos, len(data), None, out)
    assert r.done and b"".join(out) == b"0123456789" and pos == len(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"zz\r\n", "invalid chunk size line: b'zz'"),
        (b"-1\r\n", "invalid chunk size line: b'-1'"),
        (b"12345678901234567\r\n", "invalid chunk size line"),
        (b"3\r\nabcX", "chunk data not followed by CRLF"),
        (b"3\r\nabc\rX", "chunk data not followed by CRLF"),
        (b"3\r\nabcde", "chunk data not followed by CRLF"),
        (b"0\r\nbad trailer\r\n\r\n", "without a colon"),
        (b"0\r\nX: a\rb\r\n\r\n", "bare CR"),
    ],
)
def test_chunked_reader_errors(data: bytes, message: str) -> None:
    """Malformed chunked bodies give an error naming the problem."""
    for step in (None, 1):
        r, _, _ = read_all(data, step)
        assert r.error is not None and message in r.error and "RFC 911" in r.error


def test_chunk_size_line_is_bounded() -> None:
    """A chunk-size line (extensions included) longer than MAX_CHUNK_LINE is refused."""
    r, _, _ = read_all(b"5;" + b"e" * MAX_CHUNK_LINE)
    assert r.error is not None and "chunk size line longer" in r.error
    r, _, _ = read_all(b"5;" + b"e" * (MAX_CHUNK_LINE - 10) + b"\r\nhello\r\n0\r\n\r\n")
    assert r.done


def test_trailer_section_is_bounded() -> None:
    """Trailers larger than the limit are refused, whether their end has arrived or not."""
    big = b"0\r\nx-big: " + b"a" * 1000 + b"\r\n\r\n"
    for step in (None, 64):
        r, _, _ = read_all(big, step)
        assert r.error is not None and "max_trailer_block_size (1000 bytes" in r.error
    r, _, _ = read_all(b"0\r\nx: " + b"a" * 990 + b"\r\n\r\n")
    assert r.done and r.trailers is not None


def test_state_names() -> None:
    """state names the decoder phase (used in error messages)."""
    r = ChunkedReader(10)
    assert r.state == "size"
    r.read(b"5\r\nab", 0, 5, None, [])
    assert r.state == "data"
