"""Websocket test helpers: server-side frame builders, a reader for what the client sent,
core factories and feeding helpers.

The builders can make any frame, valid or not (reserved bits, wrong lengths, masks...),
so the tests can play a misbehaving server byte for byte.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gun_core.accel import apply_mask
from gun_core.events import Closed, Error, Event
from gun_core.options import WsOpts
from gun_core.ws import WsProtocol
from gun_core.ws_deflate import DeflateParams
from gun_core.ws_handshake import Negotiated

__all__ = [
    "SID",
    "SentFrame",
    "ServerCompressor",
    "binary",
    "chunks",
    "client",
    "close",
    "error_code",
    "feed",
    "frame",
    "ping",
    "pong",
    "read_frames",
    "sent",
    "text",
]

SID = 7


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask: bytes | None = None,
    length: int | None = None,
    form: int | None = None,
) -> bytes:
    """One frame as a server would write it (unmasked unless ``mask`` is given).

    ``length`` overrides the length written in the header (the payload stays as is);
    ``form`` forces the length encoding: 7, 16 or 64 bits (non-minimal forms allowed).
    """
    b0 = opcode | (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | (0x10 if rsv3 else 0)
    n = len(payload) if length is None else length
    if form is None:
        form = 7 if n < 126 else 16 if n < 65536 else 64
    mbit = 0x80 if mask is not None else 0
    if form == 7:
        header = bytes([b0, mbit | n])
    elif form == 16:
        header = bytes([b0, mbit | 126]) + struct.pack("!H", n)
    else:
        header = bytes([b0, mbit | 127]) + struct.pack("!Q", n)
    if mask is not None:
        return header + mask + apply_mask(payload, mask)
    return header + payload


def text(data: str | bytes, **kw: Any) -> bytes:
    """A text frame (a str is UTF-8 encoded; bytes go as they are, valid or not)."""
    return frame(0x1, data.encode() if isinstance(data, str) else data, **kw)


def binary(data: bytes, **kw: Any) -> bytes:
    """A binary frame."""
    return frame(0x2, data, **kw)


def ping(data: bytes = b"", **kw: Any) -> bytes:
    """A ping frame."""
    return frame(0x9, data, **kw)


def pong(data: bytes = b"", **kw: Any) -> bytes:
    """A pong frame."""
    return frame(0xA, data, **kw)


def close(code: int | None = None, reason: bytes | str = b"", **kw: Any) -> bytes:
    """A close frame with a code and a reason (bytes taken as they are)."""
    r = reason.encode() if isinstance(reason, str) else reason
    body = b"" if code is None else struct.pack("!H", code) + r
    return frame(0x8, body, **kw)


class ServerCompressor:
    """Compresses messages as a permessage-deflate server would (RFC 7692 7.2.1)."""

    def __init__(self, wbits: int = 15, no_context_takeover: bool = False) -> None:
        self.wbits = wbits
        self.no_context_takeover = no_context_takeover
        self._c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -wbits)

    def compress(self, data: bytes) -> bytes:
        """The compressed payload of one message, the 00 00 ff ff tail removed."""
        out = self._c.compress(data) + self._c.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        if self.no_context_takeover:
            self._c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -self.wbits)
        return out[:-4]


@dataclass(frozen=True)
class SentFrame:
    """A frame the client wrote, unmasked."""

    fin: bool
    rsv: int
    opcode: int
    payload: bytes
    masked: bool
    key: bytes | None


def read_frames(data: bytes) -> list[SentFrame]:
    """Split the bytes the client wrote into frames (all of them must be complete)."""
    out: list[SentFrame] = []
    pos = 0
    while pos < len(data):
        b0, b1 = data[pos], data[pos + 1]
        n = b1 & 0x7F
        pos += 2
        if n == 126:
            n = struct.unpack_from("!H", data, pos)[0]
            pos += 2
        elif n == 127:
            n = struct.unpack_from("!Q", data, pos)[0]
            pos += 8
        key = None
        if b1 & 0x80:
            key = data[pos : pos + 4]
            pos += 4
        payload = data[pos : pos + n]
        assert len(payload) == n, "truncated frame"
        pos += n
        if key is not None:
            payload = apply_mask(payload, key)
        out.append(SentFrame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, payload, key is not None, key))
    return out


def client(
    *,
    deflate: DeflateParams | None = None,
    protocol: str | None = None,
    **opts: Any,
) -> WsProtocol:
    """A client core as the driver makes it after a successful handshake."""
    return WsProtocol(SID, WsOpts(**opts), Negotiated(protocol, deflate))


def sent(proto: WsProtocol) -> list[SentFrame]:
    """The frames the core has queued since the last call (drains ``data_to_send``)."""
    return read_frames(proto.data_to_send())


def chunks(data: bytes, sizes: Iterable[int]) -> list[bytes]:
    """Cut ``data`` at the given sizes (cycled); the last piece takes what remains."""
    sizes = list(sizes)
    out: list[bytes] = []
    pos = 0
    i = 0
    while pos < len(data):
        n = max(1, sizes[i % len(sizes)]) if sizes else len(data)
        out.append(data[pos : pos + n])
        pos += n
        i += 1
    return out


def feed(proto: WsProtocol, pieces: Sequence[bytes] | bytes) -> list[Event]:
    """Feed bytes (or a list of pieces one by one) and return all the events."""
    if isinstance(pieces, (bytes, bytearray)):
        pieces = [bytes(pieces)]
    events: list[Event] = []
    for p in pieces:
        events.extend(proto.receive_data(p))
    return events


def error_code(events: list[Event]) -> int | None:
    """The close code of the Error event in ``events`` (None when there is none).

    Also checks the sequence the machine documents: ``Error`` then ``Closed`` with the same reason.
    """
    for i, e in enumerate(events):
        if isinstance(e, Error):
            assert i + 1 < len(events), "Error must be followed by Closed"
            nxt = events[i + 1]
            assert isinstance(nxt, Closed) and nxt.reason == e.reason
            assert e.stream_id == SID
            return e.reason.code
    return None
