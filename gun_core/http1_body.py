"""HTTP/1.1 message framing: field lines, body length rules, the chunked decoder.

Pure codecs used by :mod:`gun_core.http1`; no state beyond what each reader holds in
plain fields. Errors are returned (a ``str`` message citing the RFC), never raised.

* :func:`check_block` and :func:`parse_field_lines`: a header or trailer section that
  has already been split on CRLF (RFC 9112 2.2, 5).
* :func:`content_length` and :func:`transfer_codings`: the framing fields
  (RFC 9112 6.1, 6.2, 6.3).
* :class:`ChunkedReader`: the chunked transfer coding, including the trailer section
  (RFC 9112 7.1), resumable at any byte boundary.
"""

from __future__ import annotations

from itertools import repeat

from .headers import Headers

__all__ = [
    "MAX_CHUNK_LINE",
    "MAX_CHUNK_SIZE_DIGITS",
    "MAX_CONTENT_LENGTH_DIGITS",
    "ChunkedReader",
    "check_block",
    "content_length",
    "parse_field_lines",
    "split_list",
    "transfer_codings",
]

#: Longest chunk-size line (size, extensions, no CRLF) we buffer (RFC 9112 7.1.1).
MAX_CHUNK_LINE = 4096
#: A chunk size has at most this many hex digits (2^64 - 1).
MAX_CHUNK_SIZE_DIGITS = 16
#: A content-length has at most this many decimal digits.
MAX_CONTENT_LENGTH_DIGITS = 18

# RFC 9110 5.6.2: tchar
_TCHAR = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_HEXDIG = b"0123456789ABCDEFabcdef"
_OWS = b" \t"
_partition = bytes.partition
_COLONS = repeat(b":")

# Field names seen before, already checked: raw name -> lowercase name. Bounded.
_NAMES: dict[bytes, bytes] = {}
_MAX_CACHED_NAMES = 1024


def check_block(block: bytes, nlines: int, what: str) -> str | None:
    """Refuse a block (split into ``nlines`` CRLF-separated lines) holding a bare CR, a bare
    LF or a NUL (RFC 9112 2.2, RFC 9110 5.5)."""
    crlf = nlines - 1
    if block.count(b"\n") != crlf or block.count(b"\r") != crlf:
        return f"{what} holds a bare CR or LF (RFC 9112 2.2)"
    if b"\x00" in block:
        return f"{what} holds a NUL byte (RFC 9110 5.5)"
    return None


def _bad_name(line: bytes, name: bytes, sep: bytes, what: str) -> str | None:
    if not sep:
        if line[:1] in (b" ", b"\t"):
            return f"obsolete line folding in the {what} is not accepted (RFC 9112 5.2): {line[:60]!r}"
        return f"{what} field line without a colon (RFC 9112 5): {line[:60]!r}"
    if not name:
        return f"{what} field line with an empty name (RFC 9112 5): {line[:60]!r}"
    if name.translate(None, _TCHAR):
        if name[:1] in (b" ", b"\t"):
            return f"obsolete line folding in the {what} is not accepted (RFC 9112 5.2): {line[:60]!r}"
        if name[-1:] in (b" ", b"\t"):
            return f"whitespace between a field name and the colon (RFC 9112 5.1): {line[:60]!r}"
        return f"invalid field name {name[:60]!r} in the {what} (RFC 9110 5.1)"
    return None


def parse_field_lines(
    lines: list[bytes], start: int, what: str, special: frozenset[bytes], found: list[tuple[bytes, bytes]]
) -> Headers | str:
    """Parse ``lines[start:]`` as field lines (RFC 9112 5).

    Returns ``[(lowercase name, value without surrounding OWS), ...]`` or an error
    message. Fields whose name is in ``special`` are also appended to ``found``.
    """
    if start:
        lines = lines[start:]
    names = _NAMES
    try:
        # Fast path: every name was seen (and checked) before, every line has a colon.
        out = [(names[name], value.strip(_OWS)) for name, sep, value in map(_partition, lines, _COLONS) if sep]
    except KeyError:
        out = None
    if out is None or len(out) != len(lines):
        return _parse_parts([line.partition(b":") for line in lines], what, special, found)
    for field in out:
        if field[0] in special:
            found.append(field)
    return out


def _parse_parts(
    parts: list[tuple[bytes, bytes, bytes]], what: str, special: frozenset[bytes], found: list[tuple[bytes, bytes]]
) -> Headers | str:
    names = _NAMES
    out: Headers = []
    for name, sep, value in parts:
        lname = names.get(name)
        if lname is None or not sep:
            err = _bad_name(name + sep + value, name, sep, what)
            if err is not None:
                return err
            lname = name.lower()
            if len(names) < _MAX_CACHED_NAMES:
                names[name] = lname
        field = (lname, value.strip(_OWS))
        out.append(field)
        if lname in special:
            found.append(field)
    return out


def split_list(value: bytes) -> list[bytes]:
    """The lowercase, non-empty elements of a comma-separated list (RFC 9110 5.6.1)."""
    return [t for t in (e.strip(_OWS).lower() for e in value.split(b",")) if t]


def content_length(values: list[bytes]) -> int | str:
    """The body length announced by one or more content-length field values.

    Repeated identical values (``5`` twice, or ``5, 5``) count as one; differing or
    non-numeric ones are an error (RFC 9112 6.3 item 5, RFC 9110 8.6).
    """
    length: bytes | None = None
    for value in values:
        for element in value.split(b","):
            element = element.strip(_OWS)
            if not element.isdigit() or len(element) > MAX_CONTENT_LENGTH_DIGITS:
                return f"invalid content-length {value[:40]!r} (RFC 9112 6.3)"
            element = element.lstrip(b"0") or b"0"
            if length is None:
                length = element
            elif element != length:
                return f"conflicting content-length values {b', '.join(values)[:80]!r} (RFC 9112 6.3)"
    if length is None:
        return "empty content-length (RFC 9112 6.3)"
    return int(length)


def transfer_codings(values: list[bytes]) -> tuple[bool, str | None]:
    """Whether a response with these transfer-encoding values is chunked.

    Returns ``(True, None)`` when chunked is the final coding (and appears once),
    ``(False, None)`` when chunked is absent (the body then ends when the connection
    closes, RFC 9112 6.3 item 4), or ``(False, message)`` when chunked is applied
    more than once or is not the final coding (RFC 9112 6.1).
    """
    codings: list[bytes] = []
    for value in values:
        codings += split_list(value)
    n = codings.count(b"chunked")
    if n == 0:
        return False, None
    if n > 1:
        return False, "transfer-encoding applies chunked more than once (RFC 9112 6.1)"
    if codings[-1] != b"chunked":
        return False, "transfer-encoding has chunked before another coding (RFC 9112 6.1)"
    return True, None


def chunk_size(line: bytes | bytearray) -> int:
    """The size in a chunk-size line (extensions ignored), or -1 if it is invalid (RFC 9112 7.1)."""
    size = line.partition(b";")[0].rstrip(_OWS)
    if not size or len(size) > MAX_CHUNK_SIZE_DIGITS or size.translate(None, _HEXDIG):
        return -1
    return int(size, 16)


# ChunkedReader phases
_SIZE = 0
_DATA = 1
_DATA_END = 2
_TRAILERS = 3
_DONE = 4

_TRAILER_SPECIAL: frozenset[bytes] = frozenset()


class ChunkedReader:
    """Decodes a chunked body (RFC 9112 7.1), resumable at any byte.

    Call :meth:`read` with each new span of bytes. After it returns, exactly one of
    these holds: more bytes are needed; ``blocked`` (the data ``limit`` ran out inside
    a chunk); ``done`` (``trailers`` holds the trailer fields, or ``None`` when there
    were none); ``error`` (a message).
    """

    __slots__ = ("blocked", "done", "error", "max_trailers", "phase", "remaining", "scanned", "trailers")

    def __init__(self, max_trailers: int) -> None:
        self.max_trailers = max_trailers
        self.phase = _SIZE
        self.remaining = 0
        self.scanned = 0
        self.done = False
        self.blocked = False
        self.error: str | None = None
        self.trailers: Headers | None = None

    @property
    def in_data(self) -> bool:
        """Whether the reader is inside chunk data (where flow control applies)."""
        return self.phase == _DATA

    @property
    def state(self) -> str:
        """The phase, as a word (for stream_info and error messages)."""
        return ("size", "data", "data_end", "trailers", "done")[self.phase]

    def read(self, buf: bytes | bytearray, pos: int, end: int, limit: int | None, out: list[bytes]) -> int:
        """Decode ``buf[pos:end]``; append chunk data to ``out`` (at most ``limit`` bytes,
        ``None``: no limit) and return the offset where decoding stopped."""
        self.blocked = False
        phase = self.phase
        while pos < end:
            if phase == _DATA:
                take = self.remaining
                avail = end - pos
                if avail < take:
                    take = avail
                if limit is not None:
                    if limit <= 0:
                        self.blocked = True
                        break
                    if limit < take:
                        take = limit
                    limit -= take
                if type(buf) is bytes:
                    out.append(buf[pos : pos + take])
                else:
                    out.append(bytes(buf[pos : pos + take]))
                pos += take
                self.remaining -= take
                if self.remaining == 0:
                    phase = _DATA_END
            elif phase == _SIZE:
                i = buf.find(b"\r\n", pos + self.scanned)
                if i < 0:
                    if end - pos > MAX_CHUNK_LINE:
                        self.error = f"chunk size line longer than {MAX_CHUNK_LINE} bytes (RFC 9112 7.1)"
                        break
                    self.scanned = max(0, end - pos - 1)
                    break
                self.scanned = 0
                line = buf[pos:i]
                size = chunk_size(line)
                if size < 0:
                    self.error = f"invalid chunk size line: {bytes(line[:60])!r} (RFC 9112 7.1)"
                    break
                pos = i + 2
                if size:
                    self.remaining = size
                    phase = _DATA
                else:
                    phase = _TRAILERS
            elif phase == _DATA_END:
                if end - pos < 2:
                    if buf[pos] != 13:
                        self.error = "chunk data not followed by CRLF (RFC 9112 7.1)"
                    break
                if buf[pos] != 13 or buf[pos + 1] != 10:
                    self.error = "chunk data not followed by CRLF (RFC 9112 7.1)"
                    break
                pos += 2
                phase = _SIZE
            elif phase == _TRAILERS:
                pos = self._trailers(buf, pos, end)
                phase = self.phase
                break
            else:  # _DONE
                break
        self.phase = phase
        return pos

    def _trailers(self, buf: bytes | bytearray, pos: int, end: int) -> int:
        self.phase = _TRAILERS
        if self.scanned == 0 and buf.startswith(b"\r\n", pos):
            self.phase = _DONE
            self.done = True
            return pos + 2
        i = buf.find(b"\r\n\r\n", pos + self.scanned)
        limit = self.max_trailers
        if i < 0:
            if end - pos >= limit + 4:
                self.error = f"trailer section larger than max_trailer_block_size ({limit} bytes, RFC 9112 7.1.2)"
                return pos
            self.scanned = max(0, end - pos - 3)
            return pos
        if i - pos > limit:
            self.error = f"trailer section larger than max_trailer_block_size ({limit} bytes, RFC 9112 7.1.2)"
            return pos
        block = bytes(buf[pos:i])
        lines = block.split(b"\r\n")
        err = check_block(block, len(lines), "trailer section")
        if err is None:
            fields = parse_field_lines(lines, 0, "trailer section", _TRAILER_SPECIAL, [])
            if isinstance(fields, str):
                err = fields
            else:
                self.trailers = fields
        if err is not None:
            self.error = err
            return pos
        self.scanned = 0
        self.phase = _DONE
        self.done = True
        return i + 4
