"""permessage-deflate (RFC 7692): negotiation, and bounded inflate/deflate of messages.

* :data:`OFFER` is the ``sec-websocket-extensions`` value we send:
  ``permessage-deflate; client_max_window_bits`` (RFC 7692 7.1.2.2: we can compress
  with a smaller window if the server asks for one).
* :func:`parse_extensions` parses a ``sec-websocket-extensions`` field (RFC 6455 9.1).
* :func:`accept_response` checks the server's answer to our offer (RFC 7692 7.1) and
  returns the :class:`DeflateParams` in force, or a message saying what is wrong.
* :class:`Inflater` decompresses one message at a time, with the output bounded by the
  caller (a small frame can never inflate to more than the message size limit).
* :class:`Deflater` compresses outgoing messages.

Context takeover (RFC 7692 7.2.1, 7.2.2): without ``*_no_context_takeover`` the LZ77
window carries over from message to message; with it, each message starts afresh.
"""

from __future__ import annotations

import re
import zlib
from collections import deque
from dataclasses import dataclass

from .ws_frames import CloseCode, FrameError

__all__ = [
    "OFFER",
    "TAIL",
    "DeflateParams",
    "Deflater",
    "Inflater",
    "accept_response",
    "parse_extensions",
]

#: The extension offer we send (RFC 7692 7.1.2.2: ``client_max_window_bits`` without value).
OFFER = b"permessage-deflate; client_max_window_bits"
#: RFC 7692 7.2.1: the 4 bytes a compressor's sync flush ends with; stripped on send,
#: appended again before decompressing (7.2.2).
TAIL = b"\x00\x00\xff\xff"
EXTENSION = "permessage-deflate"

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED = re.compile(r'"((?:[^"\\\r\n]|\\[^\r\n])*)"')
_OWS = re.compile(r"[ \t]*")
_QUOTED_PAIR = re.compile(r"\\(.)")
#: RFC 7692 7.1.2.1: a decimal integer without leading zeroes between 8 and 15.
_WINDOW_BITS = re.compile(r"(?:8|9|1[0-5])")


@dataclass(frozen=True, slots=True)
class DeflateParams:
    """The permessage-deflate parameters in force on a connection (RFC 7692 7.1)."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15


Extension = tuple[str, list[tuple[str, "str | None"]]]


def parse_extensions(value: bytes | str) -> list[Extension] | str:
    """Parse a ``sec-websocket-extensions`` value into ``[(name, [(param, value|None)])]``.

    Names are lowercased. Follows the grammar of RFC 6455 9.1: a comma-separated list of
    tokens with ``;``-separated parameters whose values are tokens or quoted strings
    (a quoted value must still be a token once unescaped). Returns a message on
    malformed input.
    """
    s = value.decode("latin-1") if isinstance(value, bytes) else value
    out: list[Extension] = []
    pos = 0
    n = len(s)
    while True:
        pos = _OWS.match(s, pos).end()  # type: ignore[union-attr]
        if pos >= n:
            return out
        if s[pos] == ",":  # RFC 9110 5.6.1: empty list elements are ignored
            pos += 1
            continue
        m = _TOKEN.match(s, pos)
        if m is None:
            return f"invalid extension name at {s[pos : pos + 20]!r} (RFC 6455 9.1)"
        name = m.group().lower()
        pos = m.end()
        params: list[tuple[str, str | None]] = []
        while True:
            pos = _OWS.match(s, pos).end()  # type: ignore[union-attr]
            if pos >= n or s[pos] == ",":
                break
            if s[pos] != ";":
                return f"unexpected {s[pos : pos + 20]!r} in extension {name} (RFC 6455 9.1)"
            pos = _OWS.match(s, pos + 1).end()  # type: ignore[union-attr]
            m = _TOKEN.match(s, pos)
            if m is None:
                return f"invalid parameter name at {s[pos : pos + 20]!r} in extension {name} (RFC 6455 9.1)"
            pname = m.group().lower()
            pos = _OWS.match(s, m.end()).end()  # type: ignore[union-attr]
            pvalue: str | None = None
            if pos < n and s[pos] == "=":
                pos = _OWS.match(s, pos + 1).end()  # type: ignore[union-attr]
                m = _TOKEN.match(s, pos)
                if m is not None:
                    pvalue = m.group()
                else:
                    q = _QUOTED.match(s, pos)
                    if q is None:
                        return f"invalid value for {pname} in extension {name} (RFC 6455 9.1)"
                    pvalue = _QUOTED_PAIR.sub(r"\1", q.group(1))
                    if not _TOKEN.fullmatch(pvalue):
                        return f"quoted value {pvalue!r} of {pname} is not a token (RFC 6455 9.1)"
                    m = q
                pos = m.end()
            params.append((pname, pvalue))
        out.append((name, params))


def accept_response(
    params: list[tuple[str, str | None]], *, offered_client_max_window_bits: bool = True
) -> DeflateParams | str:
    """Check the parameters of a permessage-deflate response to our offer (RFC 7692 7.1).

    The client must fail the connection when the response has a parameter not defined
    for responses, an invalid value, or the same parameter twice (RFC 7692 7.1).
    Returns the agreed :class:`DeflateParams`, or a message.
    """
    seen: set[str] = set()
    snct = cnct = False
    smwb = cmwb = 15
    for name, value in params:
        if name in seen:
            return f"permessage-deflate parameter {name} appears twice in the response (RFC 7692 7.1)"
        seen.add(name)
        if name == "server_no_context_takeover":
            if value is not None:
                return f"server_no_context_takeover takes no value, got {value!r} (RFC 7692 7.1.1.1)"
            snct = True
        elif name == "client_no_context_takeover":
            if value is not None:
                return f"client_no_context_takeover takes no value, got {value!r} (RFC 7692 7.1.1.2)"
            cnct = True
        elif name == "server_max_window_bits":
            if value is None or not _WINDOW_BITS.fullmatch(value):
                return f"server_max_window_bits must be 8..15 in a response, got {value!r} (RFC 7692 7.1.2.1)"
            smwb = int(value)
        elif name == "client_max_window_bits":
            if not offered_client_max_window_bits:
                return "the response has client_max_window_bits but the offer did not (RFC 7692 7.1.2.2)"
            if value is None or not _WINDOW_BITS.fullmatch(value):
                return f"client_max_window_bits must be 8..15 in a response, got {value!r} (RFC 7692 7.1.2.2)"
            cmwb = int(value)
        else:
            return f"unknown permessage-deflate parameter {name} in the response (RFC 7692 7.1)"
    return DeflateParams(snct, cnct, smwb, cmwb)


# DEFLATE's largest expansion: a 258-byte match from about 2 bits of input (1032:1).
_MAX_RATIO = 1032


def _fills_before_error(state: zlib._Decompress, data: bytes, room: int) -> bool:
    """Whether ``state`` fed ``data`` produces ``room`` bytes before it meets the bad code.

    Bisects on the prefix of ``data`` that first fails (at most log2(len) decompressions of a
    copy); only called once, when a message already failed.
    """
    lo, hi = 0, len(data)  # data[:lo] decodes without error, data[:hi] fails
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            state.copy().decompress(data[:mid], room)
        except zlib.error:
            hi = mid
        else:
            lo = mid
    try:
        return len(state.copy().decompress(data[:lo], room)) >= room
    except zlib.error:  # pragma: no cover - data[:lo] decoded above
        return False


class Inflater:
    """Decompresses the messages received from the peer (RFC 7692 7.2.2).

    Feed each piece of a compressed message's payload to :meth:`feed` as it arrives, then
    call :meth:`finish` at the end of the message. Both take ``limit``, how many more
    decompressed bytes the message may grow by; going beyond it returns a
    :class:`FrameError` with 1009 instead of output. Bad compressed data gives 1007.

    A block with BFINAL set ends a zlib stream, but not the message (RFC 7692 7.2.3.4):
    the bytes after it are further DEFLATE blocks, decompressed by a new stream primed
    with the last 32 KiB of output so that the LZ77 window carries on.
    """

    __slots__ = ("_d", "_hist", "_hist_len", "_reset", "_restarts")

    #: Final blocks allowed in one message: each restart copies the 32 KiB window, so a
    #: stream of tiny final blocks must not turn into unbounded work.
    MAX_RESTARTS = 1000

    def __init__(self, no_context_takeover: bool) -> None:
        self._reset = no_context_takeover
        self._d = zlib.decompressobj(-15)  # 15 bits inflate any smaller window too
        self._hist: deque[bytes] = deque()  # recent output, to rebuild the window after a final block
        self._hist_len = 0
        self._restarts = 0

    def feed(self, data: bytes, limit: int) -> bytes | FrameError:
        """Decompress a piece of the current message; at most ``limit`` bytes of output."""
        parts: list[bytes] = []
        total = 0
        d = self._d
        try:
            while True:
                if d.eof:
                    if self._restarts >= self.MAX_RESTARTS:
                        return FrameError(
                            CloseCode.INVALID_FRAME_PAYLOAD_DATA,
                            "too many final DEFLATE blocks in one message (RFC 7692 7.2.3.4)",
                        )
                    self._restarts += 1
                    d = self._restart()
                room = limit + 1 - total
                # zlib decodes the next code even when the output is full, so a call that fills
                # it can fail on bad data that lies after the limit was crossed: which error
                # wins would then depend on how the message was cut into reads. When this call
                # could fill the output, keep a copy of the state to settle it (_fills_before_error).
                before = d.copy() if len(data) * _MAX_RATIO >= room else None
                try:
                    out = d.decompress(data, room)
                except zlib.error:
                    if before is not None and _fills_before_error(before, data, room):
                        return FrameError(
                            CloseCode.MESSAGE_TOO_BIG, "the decompressed message exceeds max_message_size"
                        )
                    raise
                if out:
                    total += len(out)
                    if total > limit:
                        return FrameError(
                            CloseCode.MESSAGE_TOO_BIG, "the decompressed message exceeds max_message_size"
                        )
                    self._remember(out)
                    parts.append(out)
                if not (d.eof and d.unused_data):
                    break
                data = d.unused_data
        except zlib.error as exc:
            return FrameError(CloseCode.INVALID_FRAME_PAYLOAD_DATA, f"invalid compressed data: {exc} (RFC 7692 7.2.2)")
        if not parts:
            return b""
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def finish(self, limit: int) -> bytes | FrameError:
        """End the current message: append the 4-byte tail and flush (RFC 7692 7.2.2)."""
        out = b""
        if not self._d.eof:  # after a final block that ended the payload, the tail is not needed
            out_or_error = self.feed(TAIL, limit)
            if isinstance(out_or_error, FrameError):
                return out_or_error
            out = out_or_error
        self._restarts = 0
        if self._reset:
            self._hist.clear()
            self._hist_len = 0
            self._d = zlib.decompressobj(-15)
        elif self._d.eof:
            self._restart()
        return out

    def _restart(self) -> zlib._Decompress:
        window = b"".join(self._hist)[-32768:]
        self._hist.clear()
        self._hist_len = 0
        if window:
            self._remember(window)
            self._d = zlib.decompressobj(-15, zdict=window)
        else:
            self._d = zlib.decompressobj(-15)
        return self._d

    def _remember(self, out: bytes) -> None:
        hist = self._hist
        hist.append(out)
        self._hist_len += len(out)
        while self._hist_len - len(hist[0]) >= 32768:
            self._hist_len -= len(hist.popleft())


class Deflater:
    """Compresses the messages we send (RFC 7692 7.2.1).

    ``window_bits`` is the most the peer allows us (8..15). zlib cannot produce raw
    DEFLATE with a 256-byte window, so with 8 :meth:`compress` returns ``None`` and the
    message goes uncompressed, which RFC 7692 6 allows for any message.
    """

    __slots__ = ("_c", "_flush")

    def __init__(self, window_bits: int, no_context_takeover: bool, level: int = zlib.Z_DEFAULT_COMPRESSION) -> None:
        self._c = zlib.compressobj(level, zlib.DEFLATED, -window_bits) if window_bits >= 9 else None
        # A full flush empties the LZ77 window: the next message cannot refer back.
        self._flush = zlib.Z_FULL_FLUSH if no_context_takeover else zlib.Z_SYNC_FLUSH

    def compress(self, data: bytes) -> bytes | None:
        """The compressed payload of one whole message (the tail removed), or ``None``."""
        c = self._c
        if c is None:
            return None
        out = c.compress(data) + c.flush(self._flush)
        if out[-4:] == TAIL:
            out = out[:-4]
        return out
