"""The websocket client machine (RFC 6455, RFC 7692) and the frame classes.

Frames (frozen, slotted dataclasses; what ``ws_send`` takes and ``Ws`` events carry):
``Text(data: str)``, ``Binary(data: bytes)``, ``Ping(data: bytes = b"")``,
``Pong(data: bytes = b"")``, ``Close(code: int | None = None, reason: str = "")``.
Control frames are checked when built: at most 125 bytes of payload (a Close: 2 bytes
of code plus the UTF-8 reason), and a Close code must be one that may be sent
(1000-1003, 1007-1014, 3000-4999). A bad frame raises :class:`UsageError` (a ``ValueError``).

:class:`WsProtocol` is the sans-IO core of one websocket connection. It follows the
:class:`~gun_core.protocol.CoreProtocol` rules: after *every* call to
``receive_data``, ``send``, ``keepalive``, ``timeout``, ``update_flow`` or
``close_gracefully`` the driver must call ``data_to_send()`` and write what it returns.

Events (``sid`` is the ``stream_id`` given at construction):

* ``Ws(sid, Text | Binary)`` for each complete message (fragments reassembled, permessage-
  deflate undone). Text is checked as UTF-8 as it arrives, so an invalid byte fails the
  connection at once, not at the end of the message (RFC 6455 8.1).
* Pings are answered with a Pong carrying the same payload (RFC 6455 5.5.3). With
  ``silence_pings=False`` received ``Ping`` and ``Pong`` frames are delivered too as
  ``Ws(sid, Ping | Pong)``; with the default ``True`` neither is.
* The peer closes (RFC 6455 5.5.1, 7.1.2): ``Ws(sid, Close(code, reason))`` then, once our
  answering Close (same code, or an empty body if the peer sent none) is queued,
  ``Closed(Reason("connection", "normal", ..., code))`` with ``killed=(sid,)``; ``code`` is
  the peer's code, or 1005 when it sent none.
* We close first (``send(Close(...))`` or ``close_gracefully()``): no event until the
  peer's Close arrives, then ``Ws(sid, Close(...))`` and ``Closed(normal)``. If the driver's
  ``closing_timeout`` fires first, ``timeout("closing")`` returns
  ``Closed(Reason("connection", "timeout", ..., 1006))``.
* The peer breaks the protocol (RFC 6455 7.1.7, "fail the websocket connection"): we
  queue a Close with the matching code and return ``Error(sid, reason)`` then
  ``Closed(reason)`` with the same reason, whose kind is ``"protocol_error"`` (codes 1002
  and 1007), ``"limit"`` (1009: a message larger than ``max_message_size``, counted after
  decompression) or ``"internal_error"`` (1011, a bug of ours). The driver writes the
  Close and closes the socket.
* ``receive_data(b"")`` (the peer closed TCP) before the closing handshake:
  ``Closed(Reason("connection", "closed", ..., 1006))``.

After ``Closed`` the core is finished: ``receive_data`` returns ``[]`` and ``send`` raises.
Any frame sent after our Close also raises :class:`UsageError` (RFC 6455 5.5.1).

Every ``Closed`` lists the websocket stream in ``killed`` (as Gun's ``down`` does); after
an ``Error`` for the stream the driver has already finished it.

Flow control (``ws_opts.flow``): a credit in bytes of delivered message payload. While
it is exhausted ``paused`` is true and received frames stay buffered; ``update_flow``
grants more and returns the messages that were waiting.

Receiving: the buffer is the bytes object last received plus a read offset (the
leftover of a previous call, at most a partial header or control frame, is prepended),
so a read holding whole frames is parsed without copying it. Every complete frame in a
read is handled in one call. The payload of a data frame is consumed as it arrives, so
nothing but the message being reassembled grows, and that is bounded by
``max_message_size``, after inflating.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .accel import Utf8Validator, apply_mask, build_ws_frame, ws_event_types, ws_simple_frames
from .errors import Reason, UsageError
from .events import Closed, Error, Event, Ws
from .headers import Headers
from .options import WsOpts
from .ws_deflate import Deflater, Inflater
from .ws_frames import (
    MAX_CONTROL_PAYLOAD,
    MAX_PAYLOAD_LENGTH,
    CloseCode,
    FrameError,
    MaskKeys,
    Opcode,
    decode_close,
    encode_close,
    is_allowed_close_code,
    parse_header,
)
from .ws_handshake import Negotiated

__all__ = [
    "Binary",
    "Close",
    "CloseCode",
    "Frame",
    "Negotiated",
    "Opcode",
    "Ping",
    "Pong",
    "Text",
    "WsProtocol",
    "WsState",
]


def _short(data: bytes | str, limit: int = 40) -> str:
    if len(data) <= limit:
        return repr(data)
    return f"{data[:limit]!r}...<{len(data)} total>"


def _control_payload(cls: str, data: object) -> bytes:
    if isinstance(data, (bytearray, memoryview)):
        out = bytes(data)
    elif isinstance(data, bytes):
        out = data
    else:
        raise UsageError(f"{cls} data must be bytes, not {type(data).__name__}")
    if len(out) > MAX_CONTROL_PAYLOAD:
        raise UsageError(f"{cls} payload of {len(out)} bytes exceeds 125 (RFC 6455 5.5)")
    return out


@dataclass(frozen=True, slots=True)
class Text:
    """A text message."""

    data: str

    def __repr__(self) -> str:
        return f"Text({_short(self.data)})"


@dataclass(frozen=True, slots=True)
class Binary:
    """A binary message."""

    data: bytes

    def __repr__(self) -> str:
        return f"Binary({_short(self.data)})"


@dataclass(frozen=True, slots=True)
class Ping:
    """A ping (RFC 6455 5.5.2); at most 125 bytes of payload."""

    data: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", _control_payload("Ping", self.data))


@dataclass(frozen=True, slots=True)
class Pong:
    """A pong (RFC 6455 5.5.3); at most 125 bytes of payload."""

    data: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", _control_payload("Pong", self.data))


@dataclass(frozen=True, slots=True)
class Close:
    """A close frame (RFC 6455 5.5.1): an optional status code and a UTF-8 reason."""

    code: int | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        code, reason = self.code, self.reason
        if not isinstance(reason, str):
            raise UsageError(f"a close reason must be a str, not {type(reason).__name__}")
        if code is None:
            if reason:
                raise UsageError("a close reason needs a close code (RFC 6455 5.5.1)")
            return
        if isinstance(code, bool) or not isinstance(code, int) or not is_allowed_close_code(code):
            raise UsageError(f"close code {code!r} may not be sent (RFC 6455 7.4: 1000-1003, 1007-1014, 3000-4999)")
        if len(reason.encode("utf-8")) > MAX_CONTROL_PAYLOAD - 2:
            raise UsageError("a close reason is at most 123 bytes of UTF-8 (RFC 6455 5.5)")


Frame = Text | Binary | Ping | Pong | Close
_FRAME_TYPES = (Text, Binary, Ping, Pong, Close)


# The hot path (accel.ws_simple_frames) builds Ws events of Text/Binary frames by setting their
# slots, as their generated __init__ does, without a Python-level call (tests check equality).
ws_event_types(Ws, Text, Binary)


class WsState(enum.Enum):
    """Where the closing handshake stands (RFC 6455 7)."""

    OPEN = "open"
    CLOSING = "closing"  # we sent a Close and wait for the peer's
    CLOSED = "closed"


_OPEN = WsState.OPEN
_CLOSING = WsState.CLOSING
_CLOSED = WsState.CLOSED
_PROTOCOL_ERROR = CloseCode.PROTOCOL_ERROR
_TEXT, _BINARY, _CLOSE, _PING, _PONG = 1, 2, 8, 9, 10
_KIND_BY_CODE = {
    CloseCode.PROTOCOL_ERROR: "protocol_error",
    CloseCode.INVALID_FRAME_PAYLOAD_DATA: "protocol_error",
    CloseCode.MESSAGE_TOO_BIG: "limit",
    CloseCode.INTERNAL_ERROR: "internal_error",
}


class WsProtocol:
    """The websocket core of one connection, client side (see the module docstring).

    ``negotiated`` is what :func:`gun_core.ws_handshake.check_response` returned.
    ``mask=False`` plays the server role instead (frames sent unmasked, received frames
    must be masked, permessage-deflate parameters mirrored); the tests use it.
    """

    protocol = "ws"

    def __init__(self, stream_id: int, opts: WsOpts, negotiated: Negotiated, *, mask: bool = True) -> None:
        self.stream_id = stream_id
        self.opts = opts
        self.negotiated = negotiated
        self._state = _OPEN
        self._keys = MaskKeys() if mask else None
        self._mask_bit = 0 if mask else 0x80  # the MASK bit received frames must have (RFC 6455 5.1)
        self._out: list[bytes] = []
        self._buf = b""
        self._pos = 0
        self._max = opts.max_message_size
        self._silence = opts.silence_pings
        self._credit = opts.flow
        #: True while the flow credit is exhausted: stop reading until ``update_flow``. (An
        #: attribute kept up to date, not a property: the driver reads it after every read.)
        self.paused = opts.flow is not None and opts.flow <= 0
        # The message being reassembled (RFC 6455 5.4).
        self._msg_op = 0
        self._msg_deflate = False
        self._msg_size = 0
        self._parts: list[bytes] = []
        self._utf8: Utf8Validator | None = None
        # The data frame whose payload is arriving.
        self._left = 0
        self._fin = False
        self._key: bytes | None = None
        self._key_off = 0
        d = negotiated.deflate
        self._inflater: Inflater | None = None
        self._deflater: Deflater | None = None
        self._rsv_ok = 0
        if d is not None:
            self._rsv_ok = 0x40  # RFC 7692 6: RSV1 marks a compressed message
            if mask:
                self._inflater = Inflater(d.server_no_context_takeover)
                self._deflater = Deflater(d.client_max_window_bits, d.client_no_context_takeover)
            else:
                self._inflater = Inflater(d.client_no_context_takeover)
                self._deflater = Deflater(d.server_max_window_bits, d.server_no_context_takeover)

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> WsState:
        """Where the closing handshake stands."""
        return self._state

    @property
    def closing(self) -> bool:
        """True once a Close was sent or received: the connection is ending."""
        return self._state is not _OPEN

    # ------------------------------------------------------------------ bytes in

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes from the peer (``b""``: the peer closed the connection)."""
        if self._state is _CLOSED:
            return []
        events: list[Event] = []
        if not data:
            self._run(events, True)
            if self._state is not _CLOSED:
                was = self._state
                self._finish()
                msg = (
                    "the connection was closed before the server answered our Close (RFC 6455 7.1.5)"
                    if was is _CLOSING
                    else "the connection was closed without a closing handshake (RFC 6455 7.1.5)"
                )
                reason = Reason.connection("closed", msg, code=CloseCode.ABNORMAL_CLOSURE)
                events.append(Closed(reason, killed=(self.stream_id,)))
            return events
        if type(data) is not bytes:
            data = bytes(data)
        pos = 0
        if self._pos < len(self._buf):
            data = self._buf[self._pos :] + data
        elif not self._msg_op and not self._mask_bit and self._credit is None:
            # Nothing left over, no message under way: the whole simple messages at the start
            # of the read are built straight from it (what _parse would do first, one call less).
            try:
                pos = ws_simple_frames(data, 0, self._max, self.stream_id, events)
            except Exception as exc:
                self._internal_error(events, exc)
                return events
            if pos == len(data):
                self._buf = b""
                self._pos = 0
                return events
        self._buf = data
        self._pos = pos
        self._run(events, False)
        return events

    def _run(self, events: list[Event], ignore_flow: bool) -> None:
        try:
            self._parse(events, ignore_flow)
        except Exception as exc:
            self._internal_error(events, exc)

    def _internal_error(self, events: list[Event], exc: Exception) -> None:
        """A bug of ours in the parser: 1011 to the peer, the detail only locally."""
        self._fail(events, CloseCode.INTERNAL_ERROR, f"internal error in the websocket parser: {exc!r}")

    def _parse(self, events: list[Event], ignore_flow: bool) -> None:
        buf = self._buf
        pos = self._pos
        end = len(buf)
        sid = self.stream_id
        limit = self._max
        flow = self._credit is not None and not ignore_flow
        # Whole unfragmented, uncompressed, unmasked messages (what a server sends most) are built
        # in one call; the loop below parses the frame it stops at. Not with flow (per-frame credit).
        simple = not self._mask_bit and not flow
        while pos < end:
            left = self._left
            if left:
                # Payload of a data frame, taken as it arrives (fail-fast UTF-8, bounded inflate).
                take = end - pos
                if take > left:
                    take = left
                chunk = buf[pos : pos + take]
                pos += take
                left -= take
                self._left = left
                if not self._payload(chunk, events):
                    return
                if left == 0 and self._fin and not self._end_message(events):
                    return
                continue
            if flow and self._credit <= 0:  # type: ignore[operator]
                break
            if simple and not self._msg_op:
                pos = ws_simple_frames(buf, pos, limit, sid, events)
                if pos >= end:
                    break
            if end - pos >= 2 and buf[pos + 1] < 126:  # unmasked, 7-bit length: a 2-byte header
                b0 = buf[pos]
                b1 = length = buf[pos + 1]
                start = pos + 2
            else:
                header = parse_header(buf, pos)
                if header is None:
                    break
                b0, b1, length, start = header
            opcode = b0 & 0x0F
            if b1 & 0x80 != self._mask_bit:
                if self._mask_bit:
                    self._fail(events, _PROTOCOL_ERROR, "the client sent an unmasked frame (RFC 6455 5.1)")
                else:
                    self._fail(events, _PROTOCOL_ERROR, "the server sent a masked frame (RFC 6455 5.1)")
                return
            rsv = b0 & 0x70
            if opcode >= 8:
                if rsv:
                    self._fail(
                        events, _PROTOCOL_ERROR, f"reserved bits {rsv >> 4:03b} set on a control frame (RFC 6455 5.2)"
                    )
                    return
                if opcode > 10:
                    self._fail(events, _PROTOCOL_ERROR, f"unknown opcode {opcode} (RFC 6455 5.2)")
                    return
                if not b0 & 0x80:
                    self._fail(events, _PROTOCOL_ERROR, "fragmented control frame (RFC 6455 5.5)")
                    return
                if length > MAX_CONTROL_PAYLOAD:
                    self._fail(
                        events, _PROTOCOL_ERROR, f"control frame of {length} bytes, more than 125 (RFC 6455 5.5)"
                    )
                    return
                if end - start < length:
                    break
                pos = start + length
                payload = buf[start:pos]
                if b1 & 0x80:
                    payload = apply_mask(payload, buf[start - 4 : start])
                if not self._control(opcode, payload, events):
                    return
                continue
            if opcode > 2:
                self._fail(events, _PROTOCOL_ERROR, f"unknown opcode {opcode} (RFC 6455 5.2)")
                return
            if rsv and (rsv != self._rsv_ok or opcode == 0):
                if rsv == 0x40 and self._rsv_ok:
                    msg = "RSV1 set on a continuation frame (RFC 7692 6.1)"
                else:
                    msg = f"reserved bits {rsv >> 4:03b} set without an extension defining them (RFC 6455 5.2)"
                self._fail(events, _PROTOCOL_ERROR, msg)
                return
            if length > MAX_PAYLOAD_LENGTH:
                self._fail(events, _PROTOCOL_ERROR, "payload length with the most significant bit set (RFC 6455 5.2)")
                return
            fin = b0 & 0x80
            if opcode:
                if self._msg_op:
                    self._fail(
                        events,
                        _PROTOCOL_ERROR,
                        "a new data frame arrived while a fragmented message was in progress (RFC 6455 5.4)",
                    )
                    return
                self._msg_op = opcode
                self._msg_deflate = rsv != 0
                self._msg_size = 0
                self._utf8 = Utf8Validator() if opcode == 1 else None
            elif not self._msg_op:
                self._fail(events, _PROTOCOL_ERROR, "a continuation frame without a message to continue (RFC 6455 5.4)")
                return
            if not self._msg_deflate and self._msg_size + length > self._max:
                self._too_big(events, self._msg_size + length)
                return
            pos = start
            self._fin = fin != 0
            if b1 & 0x80:
                self._key = buf[start - 4 : start]
                self._key_off = 0
            self._left = length
            if length == 0 and fin and not self._end_message(events):
                return
        if pos >= end:
            self._buf = b""
            self._pos = 0
        else:
            self._pos = pos

    def _payload(self, chunk: bytes, events: list[Event]) -> bool:
        """A piece of a data frame's payload; False when it failed the connection."""
        key = self._key
        if key is not None:
            chunk = apply_mask(chunk, key, self._key_off)
            self._key_off += len(chunk)
        if self._msg_deflate:
            assert self._inflater is not None
            out = self._inflater.feed(chunk, self._max - self._msg_size)
            if type(out) is FrameError:
                self._frame_error(events, out)
                return False
            assert isinstance(out, bytes)
            if not out:
                return True
            chunk = out
        self._msg_size += len(chunk)
        utf8 = self._utf8
        if utf8 is not None and not utf8.feed(chunk, False):
            self._fail(events, CloseCode.INVALID_FRAME_PAYLOAD_DATA, "a text message is not valid UTF-8 (RFC 6455 8.1)")
            return False
        self._parts.append(chunk)
        return True

    def _end_message(self, events: list[Event]) -> bool:
        """The last frame of a message is complete; False when that failed the connection."""
        self._key = None
        if self._msg_deflate:
            assert self._inflater is not None
            out = self._inflater.finish(self._max - self._msg_size)
            if type(out) is FrameError:
                self._frame_error(events, out)
                return False
            assert isinstance(out, bytes)
            if out:
                self._msg_size += len(out)
                if self._utf8 is not None and not self._utf8.feed(out, False):
                    self._fail(
                        events, CloseCode.INVALID_FRAME_PAYLOAD_DATA, "a text message is not valid UTF-8 (RFC 6455 8.1)"
                    )
                    return False
                self._parts.append(out)
        data = b"".join(self._parts)
        self._parts = []
        frame: Frame
        if self._msg_op == 1:
            utf8 = self._utf8
            try:
                if utf8 is not None and not utf8.feed(b"", True):
                    raise UnicodeDecodeError("utf-8", data, len(data), len(data), "truncated sequence")
                frame = Text(data.decode("utf-8"))
            except UnicodeDecodeError:
                self._fail(
                    events,
                    CloseCode.INVALID_FRAME_PAYLOAD_DATA,
                    "a text message ends inside a UTF-8 sequence (RFC 6455 8.1)",
                )
                return False
        else:
            frame = Binary(data)
        self._msg_op = 0
        self._msg_deflate = False
        self._utf8 = None
        events.append(Ws(self.stream_id, frame))
        if self._credit is not None:
            self._credit -= len(data)
            if self._credit <= 0:
                self.paused = True
        return True

    def _control(self, opcode: int, payload: bytes, events: list[Event]) -> bool:
        """A complete control frame; False when it ended the connection."""
        sid = self.stream_id
        if opcode == 9:
            if self._state is _OPEN:
                self._queue(_PONG, payload)  # RFC 6455 5.5.3: same application data
            if not self._silence:
                events.append(Ws(sid, Ping(payload)))
            return True
        if opcode == 10:
            if not self._silence:
                events.append(Ws(sid, Pong(payload)))
            return True
        result = decode_close(payload)
        if type(result) is FrameError:
            self._frame_error(events, result)
            return False
        code, reason = result
        assert code is None or isinstance(code, int)
        assert isinstance(reason, str)
        events.append(Ws(sid, Close(code, reason)))
        if self._state is _OPEN:
            # RFC 6455 5.5.1: answer with a Close, echoing the status code.
            self._queue(_CLOSE, encode_close(code))
            msg = f"the server closed the websocket with {code if code is not None else 'no code'} {reason!r}"
        else:
            msg = "the closing handshake completed (RFC 6455 7.1.2)"
        self._finish()
        wire = code if code is not None else CloseCode.NO_STATUS_RCVD
        events.append(Closed(Reason.connection("normal", msg, code=wire), killed=(sid,)))
        return False

    # ------------------------------------------------------------------ failing and finishing

    def _too_big(self, events: list[Event], size: int) -> None:
        self._fail(
            events,
            CloseCode.MESSAGE_TOO_BIG,
            f"a message of at least {size} bytes exceeds max_message_size {self._max} (RFC 6455 7.4.1)",
        )

    def _frame_error(self, events: list[Event], err: FrameError) -> None:
        if err.code == CloseCode.MESSAGE_TOO_BIG:
            self._too_big(events, self._max + 1)
        else:
            self._fail(events, err.code, err.message)

    def _fail(self, events: list[Event], code: CloseCode, message: str) -> None:
        """Fail the websocket connection (RFC 6455 7.1.7): Close with ``code``, Error, Closed."""
        if self._state is _OPEN:
            text = "internal error" if code == CloseCode.INTERNAL_ERROR else message.split(" (RFC")[0]
            wire_reason = text.encode("utf-8")[:123].decode("utf-8", "ignore")
            self._queue(_CLOSE, encode_close(code, wire_reason))
        self._finish()
        reason = Reason.connection(_KIND_BY_CODE.get(code, "protocol_error"), message, code=code)
        events.append(Error(self.stream_id, reason))
        events.append(Closed(reason, killed=(self.stream_id,)))

    def _finish(self) -> None:
        self._state = _CLOSED
        self.paused = False
        self._buf = b""
        self._pos = 0
        self._parts = []
        self._left = 0
        self._msg_op = 0
        self._utf8 = None

    # ------------------------------------------------------------------ bytes out

    def _queue(self, opcode: int, payload: bytes | bytearray | memoryview, rsv1: bool = False) -> None:
        # One C call (with the accelerator) builds the header and the masked payload together.
        keys = self._keys
        b0 = opcode | (0xC0 if rsv1 else 0x80)  # FIN (one frame per message), RSV1 for deflate
        self._out.append(build_ws_frame(b0, payload, None if keys is None else keys.next()))

    def data_to_send(self) -> bytes:
        """Return and forget the bytes to write now."""
        out = self._out
        if not out:
            return b""
        self._out = []
        return out[0] if len(out) == 1 else b"".join(out)

    def send(self, frames: Frame | Sequence[Frame]) -> list[Event]:
        """Queue one frame or a list of frames; a Close starts the closing handshake.

        Raises :class:`UsageError` for something that is not a frame, and for any frame
        after our Close or once the connection is closed (RFC 6455 5.5.1).
        """
        t = type(frames)
        if t is Text or t is Binary:  # the common case: one data message
            if self._state is not _OPEN:
                raise UsageError(f"cannot send {t.__name__}: the websocket is {self._state.value} (RFC 6455 5.5.1)")
            self._send_message(frames)  # type: ignore[arg-type]
            return []
        items: Sequence[Any] = frames if isinstance(frames, (list, tuple)) else (frames,)
        state = self._state
        for f in items:
            if type(f) not in _FRAME_TYPES:
                raise UsageError(f"not a websocket frame: {f!r} (use Text, Binary, Ping, Pong or Close)")
            if state is not _OPEN:
                raise UsageError(f"cannot send {type(f).__name__}: the websocket is {state.value} (RFC 6455 5.5.1)")
            if type(f) is Close:
                state = _CLOSING
            elif type(f) is Text and not isinstance(f.data, str):
                raise UsageError(f"Text data must be a str, not {type(f.data).__name__}")
            elif type(f) is Binary and not isinstance(f.data, (bytes, bytearray, memoryview)):
                raise UsageError(f"Binary data must be bytes, not {type(f.data).__name__}")
        for f in items:
            t = type(f)
            if t is Text or t is Binary:
                self._send_message(f)
            elif t is Ping:
                self._queue(_PING, f.data)
            elif t is Pong:
                self._queue(_PONG, f.data)
            else:
                self._queue(_CLOSE, encode_close(f.code, f.reason))
                self._state = _CLOSING
        return []

    def message_bytes(self, f: Text | Binary) -> bytes:
        """The wire bytes of one data message, for a driver that writes them at once.

        The same as ``send(f)`` then ``data_to_send()`` (and it raises as ``send`` does), one
        call instead of three for the common case; nothing else may be waiting to be sent.
        """
        if type(f) is not Binary and type(f) is not Text:
            raise UsageError(f"message_bytes takes a Text or Binary message, not {f!r}")
        if self._state is not _OPEN:
            raise UsageError(f"cannot send {type(f).__name__}: the websocket is {self._state.value} (RFC 6455 5.5.1)")
        data = f.data
        if type(f) is Binary and type(data) is bytes and self._deflater is None and not self._out:
            keys = self._keys
            return build_ws_frame(0x82, data, None if keys is None else keys.next())
        self._send_message(f)
        return self.data_to_send()

    def _send_message(self, f: Text | Binary) -> None:
        data = f.data
        if type(f) is Text:
            if type(data) is not str:
                raise UsageError(f"Text data must be a str, not {type(data).__name__}")
            payload = data.encode("utf-8")
            opcode = _TEXT
        else:
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise UsageError(f"Binary data must be bytes, not {type(data).__name__}")
            payload = data
            opcode = _BINARY
        deflater = self._deflater
        if deflater is not None:
            compressed = deflater.compress(payload)
            if compressed is not None:
                self._queue(opcode, compressed, True)  # RFC 7692 6: RSV1 on the (only) frame
                return
        self._queue(opcode, payload)

    # ------------------------------------------------------------------ CoreProtocol commands

    def request(
        self,
        method: bytes,
        path: bytes,
        headers: Headers,
        body: bytes | None,
        *,
        body_follows: bool = False,
        flow: int | None = None,
    ) -> int:
        """Not possible: a websocket connection carries no HTTP requests."""
        raise UsageError("the connection was upgraded to websocket: it takes no HTTP requests")

    def data(self, stream_id: int, fin: bool, data: bytes) -> list[Event]:
        """Not possible: send frames with :meth:`send`."""
        raise UsageError("the connection was upgraded to websocket: send frames with ws_send")

    def cancel(self, stream_id: int) -> list[Event]:
        """Nothing to cancel on a websocket."""
        return []

    def update_flow(self, stream_id: int, increment: int) -> list[Event]:
        """Grant ``increment`` more bytes of messages; returns the messages that were waiting."""
        if stream_id != self.stream_id or self._credit is None or self._state is _CLOSED:
            return []
        self._credit += increment
        self.paused = self._credit <= 0
        events: list[Event] = []
        if self._credit > 0 and self._pos < len(self._buf):
            self._run(events, False)
        return events

    def keepalive(self) -> list[Event]:
        """Send a Ping (nothing once closing)."""
        if self._state is _OPEN:
            self._queue(_PING, b"")
        return []

    def timeout(self, name: str) -> list[Event]:
        """``"closing"``: the peer did not finish the closing handshake in time."""
        if name != "closing" or self._state is _CLOSED:
            return []
        self._finish()
        reason = Reason.connection(
            "timeout",
            "the closing handshake did not complete in time (RFC 6455 7.1.1)",
            code=CloseCode.ABNORMAL_CLOSURE,
        )
        return [Closed(reason, killed=(self.stream_id,))]

    def close_gracefully(self) -> list[Event]:
        """Start the closing handshake with 1000 (normal closure) unless already closing."""
        if self._state is _OPEN:
            self._queue(_CLOSE, encode_close(CloseCode.NORMAL_CLOSURE))
            self._state = _CLOSING
        return []

    def stream_info(self, stream_id: int) -> dict[str, Any] | None:
        """Information about the websocket stream, ``None`` once closed or for another id."""
        if stream_id != self.stream_id or self._state is _CLOSED:
            return None
        return {
            "state": "running",
            "websocket": self._state.value,
            "subprotocol": self.negotiated.protocol,
            "compress": self.negotiated.deflate is not None,
        }

    def active_streams(self) -> list[int]:
        """The websocket stream until the connection is closed."""
        return [] if self._state is _CLOSED else [self.stream_id]
