"""Normalising caller-supplied headers and refusing what cannot go on the wire."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .errors import InvalidHeader

__all__ = ["BAD_TARGET", "Headers", "HeadersIn", "get_header", "has_header", "normalize_headers", "to_bytes"]

Headers = list[tuple[bytes, bytes]]
HeaderPart = str | bytes | bytearray | int
# Mapping keys are invariant: list the key types a caller's dict may have.
HeadersIn = (
    Mapping[str, HeaderPart]
    | Mapping[bytes, HeaderPart]
    | Mapping[str | bytes, HeaderPart]
    | Iterable[tuple[HeaderPart, HeaderPart]]
    | None
)

#: RFC 9110 5.6.2: token = 1*tchar (a field name, a method): ``TOKEN.fullmatch(name)``.
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: A byte never allowed in a field value: CR, LF or NUL (RFC 9110 5.5).
BAD_VALUE = re.compile(rb"[\r\n\x00]")
#: A byte a request target may not hold: a space or a control character (RFC 9112 3.2, RFC 3986 2).
BAD_TARGET = re.compile(rb"[\x00-\x20\x7f]")


def to_bytes(value: HeaderPart, what: str = "value") -> bytes:
    """Return ``value`` as bytes (``str`` is encoded as latin-1, ``int`` in decimal)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            raise InvalidHeader(f"header {what} {value!r} is not latin-1 text") from None
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode()
    raise InvalidHeader(f"header {what} must be str or bytes, not {type(value).__name__}")


def normalize_headers(headers: HeadersIn, *, validate: bool = True) -> Headers:
    """Return ``headers`` as a list of ``(lowercase name, value)`` byte pairs.

    Raises :class:`InvalidHeader` for a name that is not a token or a name or value
    holding CR, LF or NUL, unless ``validate`` is false (then such headers are dropped).
    """
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: Headers = []
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise InvalidHeader(f"a header must be a (name, value) pair, not {item!r}") from None
        bname = to_bytes(name, "name").lower()
        bvalue = to_bytes(value, "value")
        # Pseudo-headers (":protocol") may be passed through for HTTP/2 only by the core.
        if not TOKEN.fullmatch(bname):
            if validate:
                raise InvalidHeader(f"invalid header name {bname!r}: not an RFC 9110 token")
            continue
        if BAD_VALUE.search(bvalue):
            if validate:
                raise InvalidHeader(f"header {bname!r} value holds CR, LF or NUL: {bvalue!r}")
            continue
        out.append((bname, bvalue.strip(b" \t")))
    return out


def get_header(headers: Headers, name: bytes) -> bytes | None:
    """Return the first value of ``name`` (lowercase) or ``None``."""
    for n, v in headers:
        if n == name:
            return v
    return None


def has_header(headers: Headers, name: bytes) -> bool:
    """Whether ``name`` (lowercase) is present."""
    for n, _ in headers:
        if n == name:
            return True
    return False
