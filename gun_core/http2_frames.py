"""HTTP/2 frame codec (RFC 9113 section 4 and 6): pure parse and build functions.

:func:`parse` looks at a buffer at an offset and returns one of four results:

* :class:`FrameOk` - a decoded frame and the number of bytes it used;
* :data:`MORE` (a :class:`NeedMore`) - the frame is not complete yet;
* :class:`FrameStreamError` - the frame is bad but only its stream is affected
  (the result says how many bytes to skip);
* :class:`FrameConnectionError` - the connection must be closed with ``code``.

The codec checks what can be checked on one frame alone (lengths, stream id zero or
not, padding, setting values). Everything that needs connection state (stream states,
windows, HPACK) belongs to the machine in :mod:`gun_core.http2`.

Payloads of DATA frames, header block fragments and GOAWAY debug data are returned as
``memoryview`` slices of the caller's buffer: copy them (``bytes(...)``) before the
buffer changes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import ClassVar

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "FRAME_HEADER_SIZE",
    "MAX_FRAME_SIZE_LIMIT",
    "MAX_STREAM_ID",
    "MORE",
    "PREFACE",
    "SETTINGS_ACK",
    "ContinuationFrame",
    "DataFrame",
    "ErrorCode",
    "Flag",
    "Frame",
    "FrameConnectionError",
    "FrameOk",
    "FrameStreamError",
    "FrameType",
    "GoawayFrame",
    "HeadersFrame",
    "NeedMore",
    "ParseResult",
    "PingFrame",
    "PriorityFrame",
    "PushPromiseFrame",
    "RstStreamFrame",
    "SettingCode",
    "SettingsFrame",
    "UnknownFrame",
    "WindowUpdateFrame",
    "build_data",
    "build_goaway",
    "build_headers",
    "build_ping",
    "build_rst_stream",
    "build_settings",
    "build_window_update",
    "error_code",
    "frame_header",
    "parse",
]

#: RFC 9113 3.4: the client connection preface starts with this string.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#: RFC 9113 4.1: every frame starts with a 9-octet header.
FRAME_HEADER_SIZE = 9
#: RFC 9113 6.5.2: initial SETTINGS_MAX_FRAME_SIZE.
DEFAULT_MAX_FRAME_SIZE = 16384
#: RFC 9113 6.5.2: largest allowed SETTINGS_MAX_FRAME_SIZE (2^24-1).
MAX_FRAME_SIZE_LIMIT = 16777215
#: RFC 9113 5.1.1: stream identifiers are 31-bit.
MAX_STREAM_ID = 2**31 - 1
_MAX_WINDOW = 2**31 - 1


class FrameType(IntEnum):
    """RFC 9113 6 / 11.2: frame types."""

    DATA = 0x0
    HEADERS = 0x1
    PRIORITY = 0x2
    RST_STREAM = 0x3
    SETTINGS = 0x4
    PUSH_PROMISE = 0x5
    PING = 0x6
    GOAWAY = 0x7
    WINDOW_UPDATE = 0x8
    CONTINUATION = 0x9


class ErrorCode(IntEnum):
    """RFC 9113 7: error codes of RST_STREAM and GOAWAY."""

    NO_ERROR = 0x0
    PROTOCOL_ERROR = 0x1
    INTERNAL_ERROR = 0x2
    FLOW_CONTROL_ERROR = 0x3
    SETTINGS_TIMEOUT = 0x4
    STREAM_CLOSED = 0x5
    FRAME_SIZE_ERROR = 0x6
    REFUSED_STREAM = 0x7
    CANCEL = 0x8
    COMPRESSION_ERROR = 0x9
    CONNECT_ERROR = 0xA
    ENHANCE_YOUR_CALM = 0xB
    INADEQUATE_SECURITY = 0xC
    HTTP_1_1_REQUIRED = 0xD


class SettingCode(IntEnum):
    """RFC 9113 6.5.2 (and RFC 8441 3): setting identifiers."""

    HEADER_TABLE_SIZE = 0x1
    ENABLE_PUSH = 0x2
    MAX_CONCURRENT_STREAMS = 0x3
    INITIAL_WINDOW_SIZE = 0x4
    MAX_FRAME_SIZE = 0x5
    MAX_HEADER_LIST_SIZE = 0x6
    ENABLE_CONNECT_PROTOCOL = 0x8


class Flag(IntFlag):
    """RFC 9113 6: frame flags (``ACK`` and ``END_STREAM`` share the bit 0x1)."""

    END_STREAM = 0x1
    ACK = 0x1
    END_HEADERS = 0x4
    PADDED = 0x8
    PRIORITY = 0x20


_END_STREAM = 0x1
_ACK = 0x1
_END_HEADERS = 0x4
_PADDED = 0x8
_PRIORITY = 0x20


def error_code(code: int) -> int:
    """Return ``code`` as an :class:`ErrorCode` when it is a known one, else the int (RFC 9113 7)."""
    try:
        return ErrorCode(code)
    except ValueError:
        return code


def _short(data: bytes | memoryview, limit: int = 20) -> str:
    b = bytes(data[:limit])
    return f"{b!r}..<{len(data)}>" if len(data) > limit else repr(b)


# --------------------------------------------------------------------------- frames


@dataclass(slots=True)
class DataFrame:
    """DATA (RFC 9113 6.1). ``data`` has the padding stripped; ``flow_size`` is the full
    payload length, which is what flow control counts (RFC 9113 6.9)."""

    type: ClassVar[FrameType] = FrameType.DATA
    stream_id: int
    fin: bool
    data: memoryview | bytes
    flow_size: int

    def __repr__(self) -> str:
        return f"DataFrame(stream_id={self.stream_id}, fin={self.fin}, data={_short(self.data)}, flow={self.flow_size})"


@dataclass(slots=True)
class HeadersFrame:
    """HEADERS (RFC 9113 6.2) carrying a field block fragment (padding stripped).

    ``self_dependent`` is set when the deprecated priority fields make the stream depend
    on itself: a stream error, which the machine raises after decoding the block so that
    the HPACK context stays in sync.
    """

    type: ClassVar[FrameType] = FrameType.HEADERS
    stream_id: int
    fin: bool
    end_headers: bool
    fragment: memoryview | bytes
    self_dependent: bool = False

    def __repr__(self) -> str:
        return (
            f"HeadersFrame(stream_id={self.stream_id}, fin={self.fin}, end_headers={self.end_headers}, "
            f"fragment={_short(self.fragment)})"
        )


@dataclass(slots=True)
class PriorityFrame:
    """PRIORITY (RFC 9113 6.3); deprecated, parsed only to be ignored."""

    type: ClassVar[FrameType] = FrameType.PRIORITY
    stream_id: int
    depends_on: int
    exclusive: bool
    weight: int


@dataclass(slots=True)
class RstStreamFrame:
    """RST_STREAM (RFC 9113 6.4)."""

    type: ClassVar[FrameType] = FrameType.RST_STREAM
    stream_id: int
    error_code: int


@dataclass(slots=True)
class SettingsFrame:
    """SETTINGS (RFC 9113 6.5). ``settings`` keeps the order of the frame; unknown
    identifiers are kept too (the machine ignores them, RFC 9113 6.5.2)."""

    type: ClassVar[FrameType] = FrameType.SETTINGS
    ack: bool
    settings: list[tuple[int, int]]
    stream_id: int = 0


@dataclass(slots=True)
class PushPromiseFrame:
    """PUSH_PROMISE (RFC 9113 6.6)."""

    type: ClassVar[FrameType] = FrameType.PUSH_PROMISE
    stream_id: int
    promised_stream_id: int
    end_headers: bool
    fragment: memoryview | bytes

    def __repr__(self) -> str:
        return (
            f"PushPromiseFrame(stream_id={self.stream_id}, promised_stream_id={self.promised_stream_id}, "
            f"end_headers={self.end_headers}, fragment={_short(self.fragment)})"
        )


@dataclass(slots=True)
class PingFrame:
    """PING (RFC 9113 6.7); ``opaque`` is always 8 bytes."""

    type: ClassVar[FrameType] = FrameType.PING
    ack: bool
    opaque: bytes
    stream_id: int = 0


@dataclass(slots=True)
class GoawayFrame:
    """GOAWAY (RFC 9113 6.8)."""

    type: ClassVar[FrameType] = FrameType.GOAWAY
    last_stream_id: int
    error_code: int
    debug_data: bytes
    stream_id: int = 0


@dataclass(slots=True)
class WindowUpdateFrame:
    """WINDOW_UPDATE (RFC 9113 6.9); ``increment`` is never 0 here (the parser refuses it)."""

    type: ClassVar[FrameType] = FrameType.WINDOW_UPDATE
    stream_id: int
    increment: int


@dataclass(slots=True)
class ContinuationFrame:
    """CONTINUATION (RFC 9113 6.10)."""

    type: ClassVar[FrameType] = FrameType.CONTINUATION
    stream_id: int
    end_headers: bool
    fragment: memoryview | bytes

    def __repr__(self) -> str:
        return (
            f"ContinuationFrame(stream_id={self.stream_id}, end_headers={self.end_headers}, "
            f"fragment={_short(self.fragment)})"
        )


@dataclass(slots=True)
class UnknownFrame:
    """A frame of an unknown type: ignored, except inside a field block (RFC 9113 4.1, 5.5)."""

    frame_type: int
    flags: int
    stream_id: int
    length: int


Frame = (
    DataFrame
    | HeadersFrame
    | PriorityFrame
    | RstStreamFrame
    | SettingsFrame
    | PushPromiseFrame
    | PingFrame
    | GoawayFrame
    | WindowUpdateFrame
    | ContinuationFrame
    | UnknownFrame
)


# --------------------------------------------------------------------------- results


@dataclass(slots=True)
class FrameOk:
    """A complete, well-formed frame that used ``used`` bytes of the buffer."""

    frame: Frame
    used: int


class NeedMore:
    """More bytes are needed before a frame can be parsed."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MORE"


#: The only :class:`NeedMore` instance.
MORE = NeedMore()


@dataclass(slots=True)
class FrameStreamError:
    """The frame is bad, but only stream ``stream_id`` is affected; skip ``used`` bytes."""

    stream_id: int
    code: ErrorCode
    message: str
    used: int


@dataclass(slots=True)
class FrameConnectionError:
    """The frame is bad in a way that must end the connection (GOAWAY ``code``)."""

    code: ErrorCode
    message: str


ParseResult = FrameOk | NeedMore | FrameStreamError | FrameConnectionError

# --------------------------------------------------------------------------- parsing

# RFC 9113 4.1: Length (24) | Type (8) | Flags (8) | R (1) + Stream Identifier (31)
_HEADER = struct.Struct(">HBBBL")
_U32 = struct.Struct(">L")
_U32_U32 = struct.Struct(">LL")
_PRIORITY_FIELDS = struct.Struct(">LB")
_SETTING = struct.Struct(">HL")
_unpack_header = _HEADER.unpack_from
_pack_header = _HEADER.pack

_PROTOCOL_ERROR = ErrorCode.PROTOCOL_ERROR
_FRAME_SIZE_ERROR = ErrorCode.FRAME_SIZE_ERROR


def _conn(code: ErrorCode, message: str) -> FrameConnectionError:
    return FrameConnectionError(code, message)


def parse(
    buf: bytes | bytearray | memoryview, offset: int = 0, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
) -> ParseResult:
    """Parse the frame starting at ``buf[offset]``.

    ``max_frame_size`` is the SETTINGS_MAX_FRAME_SIZE we advertised: a longer frame is
    refused as soon as its header is seen, before its payload arrives (RFC 9113 4.2).
    """
    avail = len(buf) - offset
    if avail < 9:
        return MORE
    hi, lo, ftype, flags, sid = _unpack_header(buf, offset)
    length = (hi << 8) | lo
    sid &= 0x7FFFFFFF  # RFC 9113 4.1: the reserved bit is ignored on receipt
    if length > max_frame_size:
        return _conn(
            _FRAME_SIZE_ERROR,
            f"frame of type {ftype} is {length} bytes, more than our SETTINGS_MAX_FRAME_SIZE {max_frame_size} "
            "(RFC 9113 4.2)",
        )
    if avail < 9 + length:
        return MORE
    start = offset + 9
    end = start + length
    used = 9 + length
    view = buf if isinstance(buf, memoryview) else memoryview(buf)
    if ftype == 0:
        return _parse_data(view, start, end, length, flags, sid, used)
    if ftype == 1:
        return _parse_headers(view, start, end, length, flags, sid, used)
    if ftype == 3:
        if sid == 0:
            return _conn(_PROTOCOL_ERROR, "RST_STREAM frame on stream 0 (RFC 9113 6.4)")
        if length != 4:
            return _conn(_FRAME_SIZE_ERROR, f"RST_STREAM frame of length {length}, not 4 (RFC 9113 6.4)")
        return FrameOk(RstStreamFrame(sid, error_code(_U32.unpack_from(buf, start)[0])), used)
    if ftype == 4:
        return _parse_settings(view, start, length, flags, sid, used)
    if ftype == 5:
        return _parse_push_promise(view, start, end, length, flags, sid, used)
    if ftype == 6:
        if sid != 0:
            return _conn(_PROTOCOL_ERROR, f"PING frame on stream {sid}, not 0 (RFC 9113 6.7)")
        if length != 8:
            return _conn(_FRAME_SIZE_ERROR, f"PING frame of length {length}, not 8 (RFC 9113 6.7)")
        return FrameOk(PingFrame(bool(flags & _ACK), bytes(view[start:end])), used)
    if ftype == 7:
        if sid != 0:
            return _conn(_PROTOCOL_ERROR, f"GOAWAY frame on stream {sid}, not 0 (RFC 9113 6.8)")
        if length < 8:
            return _conn(_FRAME_SIZE_ERROR, f"GOAWAY frame of length {length}, less than 8 (RFC 9113 6.8)")
        last, code = _U32_U32.unpack_from(buf, start)
        return FrameOk(GoawayFrame(last & 0x7FFFFFFF, error_code(code), bytes(view[start + 8 : end])), used)
    if ftype == 8:
        if length != 4:
            return _conn(_FRAME_SIZE_ERROR, f"WINDOW_UPDATE frame of length {length}, not 4 (RFC 9113 6.9)")
        increment = _U32.unpack_from(buf, start)[0] & 0x7FFFFFFF
        if increment == 0:
            if sid == 0:
                return _conn(_PROTOCOL_ERROR, "WINDOW_UPDATE with an increment of 0 on the connection (RFC 9113 6.9)")
            return FrameStreamError(
                sid, _PROTOCOL_ERROR, f"WINDOW_UPDATE with an increment of 0 on stream {sid} (RFC 9113 6.9)", used
            )
        return FrameOk(WindowUpdateFrame(sid, increment), used)
    if ftype == 9:
        if sid == 0:
            return _conn(_PROTOCOL_ERROR, "CONTINUATION frame on stream 0 (RFC 9113 6.10)")
        return FrameOk(ContinuationFrame(sid, bool(flags & _END_HEADERS), view[start:end]), used)
    if ftype == 2:
        if sid == 0:
            return _conn(_PROTOCOL_ERROR, "PRIORITY frame on stream 0 (RFC 9113 6.3)")
        if length != 5:
            return FrameStreamError(
                sid, _FRAME_SIZE_ERROR, f"PRIORITY frame of length {length}, not 5 (RFC 9113 6.3)", used
            )
        dep, weight = _PRIORITY_FIELDS.unpack_from(buf, start)
        if dep & 0x7FFFFFFF == sid:
            return FrameStreamError(sid, _PROTOCOL_ERROR, f"stream {sid} depends on itself (RFC 9113 5.3.1)", used)
        return FrameOk(PriorityFrame(sid, dep & 0x7FFFFFFF, bool(dep & 0x80000000), weight + 1), used)
    # RFC 9113 4.1 / 5.5: frames of unknown types are ignored.
    return FrameOk(UnknownFrame(ftype, flags, sid, length), used)


def _strip_padding(
    view: memoryview, start: int, end: int, length: int, flags: int, name: str, section: str
) -> tuple[int, int] | FrameConnectionError:
    """Return the (start, end) of the payload without the Pad Length field and padding."""
    if not flags & _PADDED:
        return start, end
    if length < 1:
        return _conn(_FRAME_SIZE_ERROR, f"padded {name} frame too short for its Pad Length field (RFC 9113 {section})")
    pad = view[start]
    if pad >= length:
        return _conn(
            _PROTOCOL_ERROR, f"{name} padding of {pad} bytes does not fit a payload of {length} (RFC 9113 {section})"
        )
    return start + 1, end - pad


def _parse_data(view: memoryview, start: int, end: int, length: int, flags: int, sid: int, used: int) -> ParseResult:
    if sid == 0:
        return _conn(_PROTOCOL_ERROR, "DATA frame on stream 0 (RFC 9113 6.1)")
    if flags & _PADDED:
        r = _strip_padding(view, start, end, length, flags, "DATA", "6.1")
        if isinstance(r, FrameConnectionError):
            return r
        start, end = r
    return FrameOk(DataFrame(sid, bool(flags & _END_STREAM), view[start:end], length), used)


def _parse_headers(view: memoryview, start: int, end: int, length: int, flags: int, sid: int, used: int) -> ParseResult:
    if sid == 0:
        return _conn(_PROTOCOL_ERROR, "HEADERS frame on stream 0 (RFC 9113 6.2)")
    if flags & _PADDED:
        r = _strip_padding(view, start, end, length, flags, "HEADERS", "6.2")
        if isinstance(r, FrameConnectionError):
            return r
        start, end = r
    self_dependent = False
    if flags & _PRIORITY:
        if end - start < 5:
            return _conn(_FRAME_SIZE_ERROR, "HEADERS frame too short for its priority fields (RFC 9113 6.2)")
        dep = _U32.unpack_from(view, start)[0] & 0x7FFFFFFF
        self_dependent = dep == sid
        start += 5
    return FrameOk(
        HeadersFrame(sid, bool(flags & _END_STREAM), bool(flags & _END_HEADERS), view[start:end], self_dependent), used
    )


def _parse_settings(view: memoryview, start: int, length: int, flags: int, sid: int, used: int) -> ParseResult:
    if sid != 0:
        return _conn(_PROTOCOL_ERROR, f"SETTINGS frame on stream {sid}, not 0 (RFC 9113 6.5)")
    if flags & _ACK:
        if length != 0:
            return _conn(_FRAME_SIZE_ERROR, f"SETTINGS ACK with a payload of {length} bytes (RFC 9113 6.5)")
        return FrameOk(SettingsFrame(True, []), used)
    if length % 6:
        return _conn(_FRAME_SIZE_ERROR, f"SETTINGS frame of length {length}, not a multiple of 6 (RFC 9113 6.5)")
    settings: list[tuple[int, int]] = []
    for ident, value in _SETTING.iter_unpack(view[start : start + length]):
        if ident == 2 and value > 1:
            return _conn(_PROTOCOL_ERROR, f"SETTINGS_ENABLE_PUSH of {value}, not 0 or 1 (RFC 9113 6.5.2)")
        if ident == 4 and value > _MAX_WINDOW:
            return _conn(
                ErrorCode.FLOW_CONTROL_ERROR,
                f"SETTINGS_INITIAL_WINDOW_SIZE of {value} is above 2^31-1 (RFC 9113 6.5.2)",
            )
        if ident == 5 and not DEFAULT_MAX_FRAME_SIZE <= value <= MAX_FRAME_SIZE_LIMIT:
            return _conn(_PROTOCOL_ERROR, f"SETTINGS_MAX_FRAME_SIZE of {value} is out of range (RFC 9113 6.5.2)")
        if ident == 8 and value > 1:
            return _conn(_PROTOCOL_ERROR, f"SETTINGS_ENABLE_CONNECT_PROTOCOL of {value}, not 0 or 1 (RFC 8441 3)")
        settings.append((ident, value))
    return FrameOk(SettingsFrame(False, settings), used)


def _parse_push_promise(
    view: memoryview, start: int, end: int, length: int, flags: int, sid: int, used: int
) -> ParseResult:
    if sid == 0:
        return _conn(_PROTOCOL_ERROR, "PUSH_PROMISE frame on stream 0 (RFC 9113 6.6)")
    if flags & _PADDED:
        r = _strip_padding(view, start, end, length, flags, "PUSH_PROMISE", "6.6")
        if isinstance(r, FrameConnectionError):
            return r
        start, end = r
    if end - start < 4:
        return _conn(_FRAME_SIZE_ERROR, "PUSH_PROMISE frame too short for its Promised Stream ID (RFC 9113 6.6)")
    promised = _U32.unpack_from(view, start)[0] & 0x7FFFFFFF
    return FrameOk(PushPromiseFrame(sid, promised, bool(flags & _END_HEADERS), view[start + 4 : end]), used)


# --------------------------------------------------------------------------- building


def frame_header(length: int, frame_type: int, flags: int, stream_id: int) -> bytes:
    """The 9-byte frame header (RFC 9113 4.1)."""
    return _pack_header(length >> 8, length & 0xFF, frame_type, flags, stream_id)


def build_data(stream_id: int, fin: bool, data: bytes) -> bytes:
    """One DATA frame (no padding); the caller keeps ``data`` within the peer's limits."""
    return _pack_header(len(data) >> 8, len(data) & 0xFF, 0, _END_STREAM if fin else 0, stream_id) + data


def build_headers(stream_id: int, fin: bool, block: bytes, max_frame_size: int) -> list[bytes]:
    """HEADERS then as many CONTINUATION frames as ``max_frame_size`` needs (RFC 9113 6.2, 6.10).

    The frames must be written back to back: nothing may come between them (RFC 9113 4.3).
    """
    n = len(block)
    flags = _END_STREAM if fin else 0
    if n <= max_frame_size:
        return [_pack_header(n >> 8, n & 0xFF, 1, flags | _END_HEADERS, stream_id), block]
    out = [frame_header(max_frame_size, 1, flags, stream_id), block[:max_frame_size]]
    pos = max_frame_size
    while pos < n:
        chunk = block[pos : pos + max_frame_size]
        pos += len(chunk)
        out.append(frame_header(len(chunk), 9, _END_HEADERS if pos >= n else 0, stream_id))
        out.append(chunk)
    return out


def build_settings(settings: Iterable[tuple[int, int]]) -> bytes:
    """A SETTINGS frame (RFC 9113 6.5)."""
    payload = b"".join(_SETTING.pack(ident, value) for ident, value in settings)
    return frame_header(len(payload), 4, 0, 0) + payload


#: A SETTINGS frame with the ACK flag (RFC 9113 6.5.3).
SETTINGS_ACK = frame_header(0, 4, _ACK, 0)


def build_ping(opaque: bytes, ack: bool = False) -> bytes:
    """A PING frame; ``opaque`` must be 8 bytes (RFC 9113 6.7)."""
    if len(opaque) != 8:
        raise ValueError("PING opaque data must be 8 bytes")
    return frame_header(8, 6, _ACK if ack else 0, 0) + opaque


def build_goaway(last_stream_id: int, code: int, debug_data: bytes = b"") -> bytes:
    """A GOAWAY frame (RFC 9113 6.8)."""
    return frame_header(8 + len(debug_data), 7, 0, 0) + _U32_U32.pack(last_stream_id, code) + debug_data


def build_rst_stream(stream_id: int, code: int) -> bytes:
    """A RST_STREAM frame (RFC 9113 6.4)."""
    return frame_header(4, 3, 0, stream_id) + _U32.pack(code)


def build_window_update(stream_id: int, increment: int) -> bytes:
    """A WINDOW_UPDATE frame (RFC 9113 6.9); ``increment`` is 1..2^31-1."""
    return frame_header(4, 8, 0, stream_id) + _U32.pack(increment)
