"""Pure-Python reference versions of the accelerated functions: the specification for the C twins.

Every function here has a twin of the same name and signature in ``gun_core.accel._cffi`` (built
from ``csrc/gun_accel.c``) that gives identical results; ``tests/accel`` proves it. Callers import
from ``gun_core.accel``, which picks one of the two.

Buffers (``Buffer``) are ``bytes``, ``bytearray`` or a byte-format ``memoryview``. Bad arguments
from the caller raise ``ValueError``; bad bytes from the peer never raise, they come back as a
status.
"""

from __future__ import annotations

import codecs
import os
import struct
import types
from typing import Any

__all__ = [
    "SCAN_ERROR",
    "SCAN_NEED_HEADER",
    "SCAN_NEED_PAYLOAD",
    "SCAN_OK",
    "Buffer",
    "Filler",
    "H2Header",
    "MaskKeys",
    "Utf8Validator",
    "WakeupBase",
    "WsHeader",
    "apply_mask",
    "build_ws_frame",
    "parse_ws_headers",
    "scan_h2_headers",
    "slot_builder",
    "ws_event_types",
    "ws_simple_frames",
]

Buffer = bytes | bytearray | memoryview

# Why parse_ws_headers / scan_h2_headers stopped (the same numbers as GUN_SCAN_* in gun_accel.h).
SCAN_OK = 0  # at a frame boundary: the buffer ends there, or max_frames frames were returned
SCAN_NEED_HEADER = 1  # the frame header at next_pos is not complete yet
SCAN_NEED_PAYLOAD = 2  # the last frame returned has its header but not all of its payload
SCAN_ERROR = 3  # the frame header at next_pos is malformed (see each function)

# (b0, masked, payload_length, mask_key, header_length); see parse_ws_headers.
WsHeader = tuple[int, bool, int, bytes | None, int]
# (length, type, flags, stream_id); see scan_h2_headers.
H2Header = tuple[int, int, int, int]

_SMALL = 1024  # up to here XOR through int.from_bytes wins, above it bytes.translate (bench/)
_U16 = struct.Struct("!H")
_U64 = struct.Struct("!Q")
_H2_HEADER = struct.Struct("!HBBBI")  # 24-bit length as H + B, type, flags, stream id
_WS_HEAD16 = struct.Struct("!BBH")
_WS_HEAD64 = struct.Struct("!BBQ")
_XOR_TABLES: dict[int, bytes] = {}
_MemberDescriptor = types.MemberDescriptorType
_object_new: Any = object.__new__


def _xor_table(k: int) -> bytes:
    table = _XOR_TABLES.get(k)
    if table is None:
        table = _XOR_TABLES[k] = bytes(i ^ k for i in range(256))
    return table


class Filler(bytearray):
    """``size`` new bytes to write through a ``memoryview``, then :meth:`take` as ``bytes``.

    What a driver receives a body into (``socket.recv_into``). The C twin (built with the
    accelerator) exports a new ``bytes`` object itself, so its ``take`` makes no copy; this one
    is a ``bytearray`` and copies once. Both refuse ``take`` while a view is
    open, and are empty after it.
    """

    def __init__(self, size: int) -> None:
        if size < 2:
            raise ValueError(f"a Filler holds at least 2 bytes, not {size}")
        super().__init__(size)

    def take(self) -> bytes:
        """The bytes written; no view may be open."""
        if not self:
            raise ValueError("the Filler's bytes were already taken")
        try:
            self.append(0)  # a resize fails while a view is open, as the C twin's take does
        except BufferError:
            raise BufferError("a view of the Filler is still open: release it before take()") from None
        del self[-1]
        out = bytes(self)
        self.clear()
        return out


def apply_mask(data: Buffer, key: Buffer, offset: int = 0) -> bytes:
    """XOR ``data`` with the 4-byte websocket masking ``key`` (RFC 6455 5.3), starting at ``key[offset % 4]``.

    ``offset`` is the number of payload bytes already unmasked, so a payload split across reads
    unmasks piece by piece: ``apply_mask(p[:i], k) + apply_mask(p[i:], k, i) == apply_mask(p, k)``.
    """
    if len(key) != 4:
        raise ValueError("a websocket masking key is 4 bytes (RFC 6455 5.3)")
    n = len(data)
    if n == 0:
        return b""
    r = offset % 4
    k = bytes(key[r:]) + bytes(key[:r])
    if n <= _SMALL:
        reps = (n + 3) // 4
        m = int.from_bytes(k * reps, "big") >> (8 * (reps * 4 - n))
        return (int.from_bytes(data, "big") ^ m).to_bytes(n, "big")
    out = bytearray(n)
    for i in range(4):
        out[i::4] = bytes(data[i::4]).translate(_xor_table(k[i]))
    return bytes(out)


def build_ws_frame(opcode_byte: int, payload: Buffer, key: Buffer | None) -> bytes:
    """Return one whole websocket frame (RFC 6455 5.2): header, then the payload, masked with ``key``.

    ``opcode_byte`` is the frame's first byte as sent: FIN (0x80), RSV1-3 (0x70) and the opcode
    (0x0F); it is not checked beyond being a byte. The payload length uses the shortest encoding
    (RFC 6455 5.2). With a 4-byte ``key`` (a client's frames, RFC 6455 5.3) the mask bit is set, the
    key follows the length and the payload is masked; with ``key=None`` the payload goes as is.
    """
    if not 0 <= opcode_byte <= 0xFF:
        raise ValueError(f"the first byte of a websocket frame is 0..255, not {opcode_byte}")
    if key is not None and len(key) != 4:
        raise ValueError("a websocket masking key is 4 bytes (RFC 6455 5.3)")
    n = len(payload)
    mask_bit = 0x80 if key is not None else 0
    if n <= 125:
        head = bytes((opcode_byte, mask_bit | n))
    elif n <= 0xFFFF:
        head = _WS_HEAD16.pack(opcode_byte, mask_bit | 126, n)
    else:
        head = _WS_HEAD64.pack(opcode_byte, mask_bit | 127, n)
    if key is None:
        return head + payload
    return head + key + apply_mask(payload, key)


def _check_scan_args(n: int, pos: int, max_frames: int) -> None:
    if not 0 <= pos <= n:
        raise ValueError(f"pos {pos} is outside the buffer (0..{n})")
    if max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, not {max_frames}")


def _ws_length(buf: Buffer, pos: int, end: int) -> tuple[int, int] | None:
    """The payload length of the websocket frame at ``buf[pos]`` (7, 16 or 64-bit form, RFC 6455
    5.2) and the size of the header up to the masking key, or None while that is not all in
    ``buf[:end]``; ``end - pos >= 2``."""
    length = buf[pos + 1] & 0x7F
    if length == 126:
        return None if end - pos < 4 else (_U16.unpack_from(buf, pos + 2)[0], 4)
    if length == 127:
        return None if end - pos < 10 else (_U64.unpack_from(buf, pos + 2)[0], 10)
    return length, 2


def parse_ws_headers(buf: Buffer, pos: int = 0, max_frames: int = 64) -> tuple[int, int, list[WsHeader]]:
    """Parse the websocket frame headers (RFC 6455 5.2) of consecutive frames in ``buf[pos:]``.

    Input: the receive buffer, the offset where the next frame starts, and the most frames to
    return (at least 1). Nothing is copied except the 4-byte mask keys.

    Returns ``(status, next_pos, frames)``. Each frame is a tuple
    ``(b0, masked, payload_length, mask_key, header_length)``:

    - ``b0``: the first byte as received: FIN ``0x80``, RSV1-3 ``0x70``, opcode ``0x0F``;
    - ``masked``: the MASK bit;
    - ``payload_length``: from the 7-bit, 16-bit or 64-bit length field;
    - ``mask_key``: the 4 key bytes when ``masked``, else ``None``;
    - ``header_length``: 2 to 14 bytes; the payload starts ``header_length`` bytes after the frame.

    Frame ``i + 1`` starts ``header_length + payload_length`` bytes after frame ``i``; the first
    starts at ``pos``. ``next_pos`` is the end of the last frame that is wholly in ``buf`` (``pos``
    when there is none): the caller consumes ``buf[pos:next_pos]`` and keeps the rest.

    ``status`` says why the scan stopped:

    - ``SCAN_OK``: at a frame boundary: ``next_pos == len(buf)``, or ``max_frames`` frames were returned;
    - ``SCAN_NEED_HEADER``: the header starting at ``next_pos`` is incomplete (wait for more bytes);
    - ``SCAN_NEED_PAYLOAD``: the last frame returned starts at ``next_pos`` and its header is complete,
      but its payload is not all in ``buf`` yet;
    - ``SCAN_ERROR``: the frame at ``next_pos`` has a 64-bit payload length with the most significant
      bit set, which RFC 6455 5.2 forbids (fail the connection with close code 1002). That frame is
      not returned.

    Everything else (reserved bits, unknown opcodes, control-frame rules, non-minimal lengths, the
    MASK bit a client must not see) is for the caller to judge.
    """
    n = len(buf)
    _check_scan_args(n, pos, max_frames)
    frames: list[WsHeader] = []
    status = SCAN_OK
    while len(frames) < max_frames and pos < n:
        avail = n - pos
        if avail < 2:
            status = SCAN_NEED_HEADER
            break
        b1 = buf[pos + 1]
        got = _ws_length(buf, pos, n)
        if got is None:
            status = SCAN_NEED_HEADER
            break
        length, hlen = got
        if length >> 63:  # RFC 6455 5.2: the most significant bit MUST be 0
            status = SCAN_ERROR
            break
        masked = b1 >= 0x80
        if masked:
            hlen += 4
        if avail < hlen:
            status = SCAN_NEED_HEADER
            break
        key = bytes(buf[pos + hlen - 4 : pos + hlen]) if masked else None
        frames.append((buf[pos], masked, length, key, hlen))
        if length > avail - hlen:
            status = SCAN_NEED_PAYLOAD
            break
        pos += hlen + length
    return status, pos, frames


def scan_h2_headers(
    buf: Buffer, pos: int = 0, max_frame_size: int = 16384, max_frames: int = 64
) -> tuple[int, int, list[H2Header]]:
    """Scan the 9-byte HTTP/2 frame headers (RFC 9113 4.1) of consecutive frames in ``buf[pos:]``.

    ``max_frame_size`` is the SETTINGS_MAX_FRAME_SIZE this endpoint advertised (RFC 9113 6.5.2).
    Returns ``(status, next_pos, frames)``, with ``next_pos`` and ``status`` exactly as in
    :func:`parse_ws_headers`. Each frame is ``(length, type, flags, stream_id)``; the reserved bit of
    the stream identifier is ignored (RFC 9113 4.1); the payload starts 9 bytes after the frame.
    ``SCAN_ERROR``: the frame at ``next_pos`` is longer than ``max_frame_size``, a FRAME_SIZE_ERROR
    (RFC 9113 4.2); that frame is not returned. Frame types, flags and stream ids are not judged.
    """
    n = len(buf)
    _check_scan_args(n, pos, max_frames)
    if not 0 <= max_frame_size <= 0xFFFFFFFF:
        raise ValueError(f"max_frame_size must fit in 32 bits, not {max_frame_size}")
    frames: list[H2Header] = []
    status = SCAN_OK
    while len(frames) < max_frames and pos < n:
        if n - pos < 9:
            status = SCAN_NEED_HEADER
            break
        hi, lo, ftype, flags, sid = _H2_HEADER.unpack_from(buf, pos)
        length = hi << 8 | lo
        if length > max_frame_size:  # RFC 9113 4.2: FRAME_SIZE_ERROR
            status = SCAN_ERROR
            break
        frames.append((length, ftype, flags, sid & 0x7FFFFFFF))
        if length > n - pos - 9:
            status = SCAN_NEED_PAYLOAD
            break
        pos += 9 + length
    return status, pos, frames


# RFC 3629 4: the byte after these leads has a narrower range than %x80-BF.
_SECOND_BYTE = {0xE0: (0xA0, 0xBF), 0xED: (0x80, 0x9F), 0xF0: (0x90, 0xBF), 0xF4: (0x80, 0x8F)}


def _valid_prefix(pending: bytes) -> bool:
    """Whether the start of a character that the decoder holds back can still become valid."""
    lo, hi = _SECOND_BYTE.get(pending[0], (0x80, 0xBF))
    if len(pending) > 1 and not lo <= pending[1] <= hi:
        return False
    return all(0x80 <= b <= 0xBF for b in pending[2:])


class Utf8Validator:
    """Incremental UTF-8 validation (RFC 3629 4) whose state carries across ``feed`` calls.

    A text message split anywhere, even inside a character, validates as if it came whole.
    Overlong forms, surrogates (U+D800-DFFF) and code points above U+10FFFF are rejected, as
    soon as the bytes seen so far cannot start a valid character.
    """

    __slots__ = ("_dec", "_ok")

    def __init__(self) -> None:
        self._dec = codecs.getincrementaldecoder("utf-8")("strict")
        self._ok = True

    def feed(self, data: Buffer, final: bool) -> bool:
        """Return False as soon as the bytes so far cannot be the start of valid UTF-8.

        With ``final=True`` the bytes so far must also end on a character boundary; after it the
        next ``feed`` starts a new message. Once False, every later call returns False until
        :meth:`reset`.
        """
        if not self._ok:
            return False
        try:
            self._dec.decode(data, final)
        except UnicodeDecodeError:
            self._ok = False
            return False
        if not final:
            # CPython's decoder holds back %xED %xA0-BF (a surrogate's start) instead of failing.
            pending = self._dec.getstate()[0]
            if pending and not _valid_prefix(pending):
                self._ok = False
        return self._ok

    def reset(self) -> None:
        """Forget everything: start a new message."""
        self._dec.reset()
        self._ok = True


# ws_simple_frames builds these (set by ws_event_types): the builders of Ws, Text and Binary.
_ws_types: tuple[Any, Any, Any] | None = None


def ws_event_types(ws: type, text: type, binary: type) -> None:
    """The classes ``ws_simple_frames`` builds: slotted, with the slots ``Ws.stream_id``,
    ``Ws.frame``, ``Text.data`` and ``Binary.data`` (set as their ``__init__`` would)."""
    global _ws_types
    _ws_types = (
        slot_builder(ws, ("stream_id", "frame")),
        slot_builder(text, ("data",)),
        slot_builder(binary, ("data",)),
    )


def ws_simple_frames(buf: bytes, pos: int, limit: int, stream_id: Any, events: list[Any]) -> int:
    """Append a ``Ws`` event for each whole message from ``buf[pos]`` on that needs no more
    than building it: a FIN text or binary frame, no RSV bit, unmasked, its payload all there
    and at most ``limit`` bytes, text valid UTF-8. Return where the first frame it does not
    take starts (the caller parses that one in full, and fails the connection if it must)."""
    if type(buf) is not bytes or type(events) is not list:
        raise TypeError("ws_simple_frames() takes bytes and a list")
    if _ws_types is None:
        raise RuntimeError("ws_simple_frames() before ws_event_types()")
    if not 0 <= pos <= len(buf):
        raise ValueError("pos is outside the buffer")
    make_ws, make_text, make_binary = _ws_types
    end = len(buf)
    append = events.append
    while end - pos >= 2:
        b0 = buf[pos]
        if (b0 != 0x81 and b0 != 0x82) or buf[pos + 1] & 0x80:
            break
        got = _ws_length(buf, pos, end)
        if got is None:
            break
        length, hlen = got
        start = pos + hlen
        stop = start + length
        if length > limit or stop > end:
            break
        if b0 == 0x81:
            try:
                data = buf[start:stop].decode("utf-8")
            except UnicodeDecodeError:
                break  # the caller fails the connection for it
            frame = make_text(data)
        else:
            frame = make_binary(buf[start:stop])
        append(make_ws(stream_id, frame))
        pos = stop
    return pos


class WakeupBase:
    """A one-shot completion that a coroutine can await (the C twin is built with the accelerator).

    It speaks the part of the asyncio future protocol that a Task uses on every wait: the
    attribute ``_asyncio_future_blocking``, ``get_loop``, ``add_done_callback``, ``result``,
    ``done``, ``cancelled``, and ``await`` (which yields the object once, unless it is already
    complete, then returns ``result()``). A Task can therefore wait on it as on a Future.
    Nothing here completes it: a subclass does, by setting ``_state`` (0 pending, 1 done,
    2 cancelled) and ``_result``, and running ``_callbacks`` (a list of ``(fn, context)``
    pairs, or ``None``) as it sees fit, through the loop or at once with ``_fire()``. The
    subclass also provides the two rare paths:
    ``_result_other()``, which is what ``result()`` does when ``_state`` is not 1, and
    ``_add_late(fn, context)``, which is what ``add_done_callback`` does once it is complete.
    ``gun_io.aio`` builds its mailbox wake-up on this class.
    """

    __slots__ = ("_asyncio_future_blocking", "_callbacks", "_cancel_message", "_loop", "_result", "_state")

    def __init__(self, loop: Any) -> None:
        self._loop = loop
        self._state = 0
        self._result: Any = None
        self._callbacks: list[tuple[Any, Any]] | None = None
        self._cancel_message: Any = None
        self._asyncio_future_blocking = False

    def get_loop(self) -> Any:
        """The event loop it belongs to."""
        return self._loop

    def done(self) -> bool:
        """True once completed or cancelled."""
        return self._state != 0

    def cancelled(self) -> bool:
        """True once cancelled."""
        return self._state == 2

    def result(self) -> Any:
        """The result when completed; otherwise whatever the subclass's ``_result_other()`` does."""
        if self._state == 1:
            return self._result
        return self._result_other()  # type: ignore[attr-defined]

    def add_done_callback(self, fn: Any, *, context: Any = None) -> Any:
        """Keep ``(fn, context)`` in ``_callbacks``; once complete, ``_add_late(fn, context)`` instead."""
        if self._state:
            return self._add_late(fn, context)  # type: ignore[attr-defined]
        if self._callbacks is None:
            self._callbacks = [(fn, context)]
        else:
            self._callbacks.append((fn, context))
        return None

    def _fire(self) -> None:
        """Take ``_callbacks`` and call each ``(fn, context)`` now: ``fn(self)``, or
        ``context.run(fn, self)`` when there is a context."""
        callbacks, self._callbacks = self._callbacks, None
        for fn, context in callbacks or ():
            if context is None:
                fn(self)
            else:
                context.run(fn, self)

    def __await__(self) -> Any:
        if not self._state:
            self._asyncio_future_blocking = True
            yield self
        if not self._state:
            raise RuntimeError("await wasn't used with future")
        return self.result()

    __iter__ = __await__


def slot_builder(cls: type, names: tuple[str, ...]) -> Any:
    """A callable that makes an instance of ``cls`` with the slots ``names`` set from its
    positional arguments, in order, without calling ``__init__``.

    For slotted classes whose ``__new__`` is ``object.__new__``, such as a frozen dataclass:
    the result is what its ``__init__`` would make when given the same values, minus the cost
    of setting each field through ``object.__setattr__``. Slots left out stay unset. At most
    8 names; the C twin fills the slots directly.
    """
    if not isinstance(cls, type) or type(names) is not tuple:
        raise TypeError("slot_builder() takes a class and a tuple of slot names")
    if len(names) > 8:
        raise ValueError(f"slot_builder() sets at most 8 slots, not {len(names)}")
    if cls.__new__ is not _object_new:
        raise TypeError(f"{cls.__name__} has its own __new__: slot_builder() cannot make it")
    setters = []
    for name in names:
        if type(name) is not str:
            raise TypeError("slot_builder() takes a class and a tuple of slot names")
        descr = cls.__dict__.get(name)
        if type(descr) is not _MemberDescriptor:
            raise TypeError(f"{cls.__name__} has no slot {name}")
        setters.append(descr.__set__)
    n = len(setters)

    def build(*values: Any) -> Any:
        if len(values) != n:
            raise TypeError(f"the {cls.__name__} builder takes {n} positional arguments ({len(values)} given)")
        obj: Any = object.__new__(cls)
        for setter, value in zip(setters, values, strict=True):
            setter(obj, value)
        return obj

    return build


class MaskKeys:
    """A source of random 4-byte masking keys (RFC 6455 5.3).

    Keys come from a block of ``os.urandom`` bytes that is refilled when used up, so
    sending a frame costs no system call. The C twin draws the same keys from the same
    blocks, in one C call per key.
    """

    __slots__ = ("_block", "_pos", "_size")

    def __init__(self, size: int = 4096) -> None:
        if size < 4 or size % 4:
            raise ValueError("the key block size must be a positive multiple of 4")
        self._size = size
        self._block = os.urandom(size)
        self._pos = 0

    def next(self) -> bytes:
        """Return a fresh key; no key is ever handed out twice."""
        pos = self._pos
        if pos >= self._size:
            self._block = os.urandom(self._size)
            pos = 0
        self._pos = pos + 4
        return self._block[pos : pos + 4]
