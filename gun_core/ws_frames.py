"""The websocket frame codec (RFC 6455 5): pure functions over bytes, no state machine.

* :func:`parse_header` reads one frame header from a buffer at an offset. It is the
  function a C twin may replace: a module-level pure function with a fixed contract.
* :func:`build_frame` writes one frame (header, optional mask key, payload) through
  :func:`gun_core.accel.build_ws_frame`: one C call with the accelerator.
* :class:`MaskKeys` hands out fresh random 4-byte masking keys without one system call
  per frame (RFC 6455 5.3 and 10.3: keys must be unpredictable).
* :func:`encode_close` / :func:`decode_close` handle the Close frame body (RFC 6455 5.5.1).

Checking that a parsed header is acceptable (reserved bits, opcodes, control frame rules)
belongs to the machine in :mod:`gun_core.ws`, which knows what was negotiated.
"""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import NamedTuple

from .accel import MaskKeys, build_ws_frame

__all__ = [
    "CLOSE_CODES_ALLOWED",
    "MAX_CONTROL_PAYLOAD",
    "MAX_PAYLOAD_LENGTH",
    "CloseCode",
    "FrameError",
    "MaskKeys",
    "Opcode",
    "build_frame",
    "decode_close",
    "encode_close",
    "is_allowed_close_code",
    "parse_header",
]


class Opcode(IntEnum):
    """Frame opcodes (RFC 6455 5.2, 11.8)."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(IntEnum):
    """Close status codes (RFC 6455 7.4.1, and the IANA registry of 11.7)."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RCVD = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_FRAME_PAYLOAD_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015


#: RFC 6455 5.5: control frames carry at most 125 bytes of payload.
MAX_CONTROL_PAYLOAD = 125
#: RFC 6455 5.2: the most significant bit of a 64-bit payload length must be 0.
MAX_PAYLOAD_LENGTH = 2**63 - 1

#: The close codes that may appear on the wire (RFC 6455 7.4.1, 7.4.2): the defined
#: ones minus those reserved for local use only (1004, 1005, 1006, 1015), plus the
#: ranges for libraries (3000-3999) and applications (4000-4999).
CLOSE_CODES_ALLOWED = frozenset((1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014))

_U16 = struct.Struct("!H")
_U64 = struct.Struct("!Q")


class FrameError(NamedTuple):
    """Why a frame is unacceptable: the close code to fail the connection with, and a message."""

    code: CloseCode
    message: str


def is_allowed_close_code(code: int) -> bool:
    """Whether ``code`` may be sent or received in a Close frame (RFC 6455 7.4)."""
    return code in CLOSE_CODES_ALLOWED or 3000 <= code <= 4999


def parse_header(buf: bytes | bytearray, pos: int) -> tuple[int, int, int, int] | None:
    """Read the frame header that starts at ``buf[pos]`` (RFC 6455 5.2).

    Contract (a C twin must honour it exactly):

    * Returns ``None`` when ``buf[pos:]`` does not yet hold the whole header (2 to 14 bytes).
    * Otherwise returns ``(b0, b1, length, start)``: ``b0`` is the first byte (FIN, RSV1-3,
      opcode), ``b1`` the second (MASK bit and the 7-bit length field, unchanged),
      ``length`` the payload length decoded from the 7, 16 or 64-bit form, and ``start``
      the offset in ``buf`` where the payload begins. When the MASK bit is set the 4-byte
      masking key is ``buf[start - 4:start]``.
    * It validates nothing: the caller checks the bits, the opcode and whether
      ``length`` exceeds :data:`MAX_PAYLOAD_LENGTH` (most significant bit set). Non-minimal
      length encodings are accepted, as RFC 6455 does not require the minimal form
      of the receiver.
    """
    end = len(buf)
    if end - pos < 2:
        return None
    b1 = buf[pos + 1]
    length = b1 & 0x7F
    start = pos + 2
    if length == 126:
        if end < pos + 4:
            return None
        length = _U16.unpack_from(buf, start)[0]
        start += 2
    elif length == 127:
        if end < pos + 10:
            return None
        length = _U64.unpack_from(buf, start)[0]
        start += 8
    if b1 & 0x80:
        start += 4
        if end < start:
            return None
    return buf[pos], b1, length, start


def build_frame(
    opcode: int,
    payload: bytes | bytearray | memoryview,
    *,
    fin: bool = True,
    rsv1: bool = False,
    mask_key: bytes | None = None,
) -> bytes:
    """Return one frame: header, masking key when ``mask_key`` is given, masked payload.

    The length uses the minimal encoding (RFC 6455 5.2). ``mask_key`` must be 4 bytes.
    """
    return build_ws_frame(opcode | (0x80 if fin else 0) | (0x40 if rsv1 else 0), payload, mask_key)


def encode_close(code: int | None, reason: str = "") -> bytes:
    """The body of a Close frame: a 2-byte code then the UTF-8 reason, or nothing (RFC 6455 5.5.1)."""
    if code is None:
        return b""
    return _U16.pack(code) + reason.encode("utf-8")


def decode_close(payload: bytes) -> tuple[int | None, str] | FrameError:
    """Decode a received Close body (RFC 6455 5.5.1, 7.4).

    Returns ``(code, reason)`` (``(None, "")`` for an empty body), or a :class:`FrameError`
    when the body is invalid: 1002 for a one-byte body or a code that may not be sent,
    1007 for a reason that is not UTF-8.
    """
    n = len(payload)
    if n == 0:
        return None, ""
    if n == 1:
        return FrameError(
            CloseCode.PROTOCOL_ERROR, "a 1-byte Close frame body cannot hold a status code (RFC 6455 5.5.1)"
        )
    code = _U16.unpack_from(payload, 0)[0]
    if not is_allowed_close_code(code):
        return FrameError(CloseCode.PROTOCOL_ERROR, f"invalid close code {code} in a Close frame (RFC 6455 7.4)")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        return FrameError(CloseCode.INVALID_FRAME_PAYLOAD_DATA, "the close reason is not valid UTF-8 (RFC 6455 5.5.1)")
    return code, reason
