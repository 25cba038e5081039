"""A scripted HTTP/2 server side for tests: builds raw frames and reads the client's.

Written straight from RFC 9113 with ``struct`` and ``hpack``; it does not use
``gun_core.http2_frames``, so the codec under test is checked against an independent
implementation. Every builder returns ``bytes`` and allows the odd values that
conformance tests need (wrong stream ids, bad lengths, raw flags, padding).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hpack import Decoder, Encoder

__all__ = [
    "ACK",
    "END_HEADERS",
    "END_STREAM",
    "PADDED",
    "PREFACE",
    "PRIORITY",
    "T_CONTINUATION",
    "T_DATA",
    "T_GOAWAY",
    "T_HEADERS",
    "T_PING",
    "T_PRIORITY",
    "T_PUSH_PROMISE",
    "T_RST_STREAM",
    "T_SETTINGS",
    "T_WINDOW_UPDATE",
    "H2Server",
    "RawFrame",
    "Wire",
    "connect_client",
    "expect_connection_error",
    "expect_stream_error",
    "split_frames",
]

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

T_DATA = 0
T_HEADERS = 1
T_PRIORITY = 2
T_RST_STREAM = 3
T_SETTINGS = 4
T_PUSH_PROMISE = 5
T_PING = 6
T_GOAWAY = 7
T_WINDOW_UPDATE = 8
T_CONTINUATION = 9

END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY = 0x20

_HDR = struct.Struct(">BHBBL")  # length as 8+16 bits, type, flags, stream id

HeaderPairs = Sequence[tuple[bytes | str, bytes | str]]


@dataclass
class RawFrame:
    """A frame as read off the wire by the test server."""

    type: int
    flags: int
    stream_id: int
    payload: bytes

    @property
    def end_stream(self) -> bool:
        return bool(self.flags & END_STREAM) and self.type in (T_DATA, T_HEADERS)

    @property
    def ack(self) -> bool:
        return bool(self.flags & ACK) and self.type in (T_SETTINGS, T_PING)

    def u32(self, offset: int = 0) -> int:
        return int(struct.unpack_from(">L", self.payload, offset)[0])

    def settings(self) -> dict[int, int]:
        return {k: v for k, v in struct.iter_unpack(">HL", self.payload)}

    def error_code(self) -> int:
        """The error code of a RST_STREAM or GOAWAY."""
        return self.u32(4 if self.type == T_GOAWAY else 0)


def split_frames(data: bytes) -> tuple[list[RawFrame], bytes]:
    """Split ``data`` into complete frames; return them and the incomplete rest."""
    frames: list[RawFrame] = []
    pos = 0
    while len(data) - pos >= 9:
        hi, lo, ftype, flags, sid = _HDR.unpack_from(data, pos)
        length = hi << 16 | lo
        if len(data) - pos - 9 < length:
            break
        frames.append(RawFrame(ftype, flags, sid & 0x7FFFFFFF, data[pos + 9 : pos + 9 + length]))
        pos += 9 + length
    return frames, data[pos:]


def _b(x: bytes | str) -> bytes:
    return x.encode("latin-1") if isinstance(x, str) else x


class H2Server:
    """The server end of a test connection: frame builders plus a reader of client output."""

    def __init__(self) -> None:
        self.encoder = Encoder()
        self.decoder = Decoder()
        self._pending = b""
        self._preface_seen = False
        self.frames: list[RawFrame] = []  # everything read so far

    # ------------------------------------------------------------------ reading the client

    def read(self, data: bytes) -> list[RawFrame]:
        """Read client bytes: the preface once, then frames (kept in ``self.frames`` too)."""
        data = self._pending + data
        if not self._preface_seen:
            if len(data) < len(PREFACE):
                self._pending = data
                return []
            assert data.startswith(PREFACE), f"bad client preface {data[:24]!r}"
            data = data[len(PREFACE) :]
            self._preface_seen = True
        frames, self._pending = split_frames(data)
        self.frames.extend(frames)
        return frames

    def decode(self, block: bytes) -> list[tuple[bytes, bytes]]:
        """HPACK-decode a client header block with the server's decoder."""
        return [(bytes(n), bytes(v)) for n, v in self.decoder.decode(block, raw=True)]

    def request_headers(self, frames: Iterable[RawFrame]) -> dict[int, list[tuple[bytes, bytes]]]:
        """Decode the header blocks (HEADERS + CONTINUATION) in ``frames`` by stream id."""
        out: dict[int, list[tuple[bytes, bytes]]] = {}
        block = b""
        sid = 0
        for f in frames:
            if f.type == T_HEADERS:
                block, sid = f.payload, f.stream_id
            elif f.type == T_CONTINUATION:
                block += f.payload
            else:
                continue
            if f.flags & END_HEADERS:
                out[sid] = self.decode(block)
        return out

    # ------------------------------------------------------------------ building frames

    @staticmethod
    def frame(ftype: int, flags: int, stream_id: int, payload: bytes = b"", *, length: int | None = None) -> bytes:
        """Any frame; ``length`` overrides the length field (to lie about it)."""
        n = len(payload) if length is None else length
        return _HDR.pack(n >> 16, n & 0xFFFF, ftype, flags, stream_id) + payload

    def encode(self, headers: HeaderPairs | Mapping[Any, Any]) -> bytes:
        """HPACK-encode with the server's encoder (the client decodes in the same order)."""
        items = headers.items() if isinstance(headers, Mapping) else headers
        return bytes(self.encoder.encode([(_b(n), _b(v)) for n, v in items]))

    @staticmethod
    def _pad(payload: bytes, padding: int | None) -> tuple[bytes, int]:
        if padding is None:
            return payload, 0
        return bytes([padding]) + payload + b"\0" * padding, PADDED

    def settings(self, settings: Mapping[int, int] | Iterable[tuple[int, int]] = (), *, ack: bool = False) -> bytes:
        items = settings.items() if isinstance(settings, Mapping) else settings
        payload = b"".join(struct.pack(">HL", k, v) for k, v in items)
        return self.frame(T_SETTINGS, ACK if ack else 0, 0, payload)

    def settings_ack(self) -> bytes:
        return self.frame(T_SETTINGS, ACK, 0)

    def headers(
        self,
        stream_id: int,
        headers: HeaderPairs | Mapping[Any, Any],
        *,
        end_stream: bool = False,
        end_headers: bool = True,
        padding: int | None = None,
        priority: tuple[int, int] | None = None,
        block: bytes | None = None,
    ) -> bytes:
        """A HEADERS frame; ``priority`` is ``(depends_on, weight)``; ``block`` a ready HPACK block."""
        payload = self.encode(headers) if block is None else block
        flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
        if priority is not None:
            payload = struct.pack(">LB", priority[0], priority[1]) + payload
            flags |= PRIORITY
        payload, pf = self._pad(payload, padding)
        return self.frame(T_HEADERS, flags | pf, stream_id, payload)

    def headers_split(
        self, stream_id: int, headers: HeaderPairs | Mapping[Any, Any], pieces: int, *, end_stream: bool = False
    ) -> bytes:
        """HEADERS + CONTINUATION frames carrying one block cut in ``pieces`` parts."""
        block = self.encode(headers)
        size = max(1, -(-len(block) // pieces))
        chunks = [block[i : i + size] for i in range(0, len(block), size)] or [b""]
        out = [self.frame(T_HEADERS, END_STREAM if end_stream else 0, stream_id, chunks[0])]
        for i, c in enumerate(chunks[1:], 2):
            out.append(self.frame(T_CONTINUATION, END_HEADERS if i == len(chunks) else 0, stream_id, c))
        if len(chunks) == 1:
            out.append(self.frame(T_CONTINUATION, END_HEADERS, stream_id, b""))
        return b"".join(out)

    def continuation(self, stream_id: int, fragment: bytes, *, end_headers: bool = True) -> bytes:
        return self.frame(T_CONTINUATION, END_HEADERS if end_headers else 0, stream_id, fragment)

    def response(
        self,
        stream_id: int,
        status: int = 200,
        headers: HeaderPairs = (),
        body: bytes | None = None,
        *,
        trailers: HeaderPairs | None = None,
    ) -> bytes:
        """A whole response: HEADERS, then DATA (if ``body``), then trailers (if any)."""
        fields = [(b":status", str(status).encode()), *((_b(n), _b(v)) for n, v in headers)]
        if body is None and trailers is None:
            return self.headers(stream_id, fields, end_stream=True)
        out = self.headers(stream_id, fields)
        if body is not None:
            out += self.data(stream_id, body, end_stream=trailers is None)
        if trailers is not None:
            out += self.headers(stream_id, trailers, end_stream=True)
        return out

    def data(self, stream_id: int, data: bytes, *, end_stream: bool = False, padding: int | None = None) -> bytes:
        payload, pf = self._pad(data, padding)
        return self.frame(T_DATA, (END_STREAM if end_stream else 0) | pf, stream_id, payload)

    def priority(self, stream_id: int, depends_on: int = 0, weight: int = 15, *, exclusive: bool = False) -> bytes:
        dep = depends_on | (0x80000000 if exclusive else 0)
        return self.frame(T_PRIORITY, 0, stream_id, struct.pack(">LB", dep, weight))

    def rst_stream(self, stream_id: int, code: int) -> bytes:
        return self.frame(T_RST_STREAM, 0, stream_id, struct.pack(">L", code))

    def ping(self, opaque: bytes = b"12345678", *, ack: bool = False) -> bytes:
        return self.frame(T_PING, ACK if ack else 0, 0, opaque)

    def goaway(self, last_stream_id: int, code: int = 0, debug: bytes = b"") -> bytes:
        return self.frame(T_GOAWAY, 0, 0, struct.pack(">LL", last_stream_id, code) + debug)

    def window_update(self, stream_id: int, increment: int) -> bytes:
        return self.frame(T_WINDOW_UPDATE, 0, stream_id, struct.pack(">L", increment))

    def push_promise(
        self,
        stream_id: int,
        promised: int,
        headers: HeaderPairs | Mapping[Any, Any],
        *,
        end_headers: bool = True,
        padding: int | None = None,
    ) -> bytes:
        payload = struct.pack(">L", promised) + self.encode(headers)
        payload, pf = self._pad(payload, padding)
        return self.frame(T_PUSH_PROMISE, (END_HEADERS if end_headers else 0) | pf, stream_id, payload)


class Wire:
    """A client core wired to an :class:`H2Server`: feed server bytes, read what the client sent.

    ``client`` is any core with ``receive_data``/``data_to_send`` (duck-typed, so this
    helper does not depend on the code under test).
    """

    def __init__(self, client: Any, server: H2Server | None = None) -> None:
        self.client = client
        self.server = server if server is not None else H2Server()
        self.sent: list[RawFrame] = self.server.read(client.data_to_send())

    def feed(self, data: bytes) -> list[Any]:
        """Give ``data`` to the client; keep the frames it answers with in ``self.sent``."""
        events: list[Any] = self.client.receive_data(data)
        self.pull()
        return events

    def pull(self) -> list[RawFrame]:
        """Read what the client queued (after a command call)."""
        self.sent = self.server.read(self.client.data_to_send())
        return self.sent

    def handshake(self, settings: Mapping[int, int] | Iterable[tuple[int, int]] = ()) -> list[Any]:
        """The server preface (SETTINGS) and the ACK of the client's SETTINGS."""
        return self.feed(self.server.settings(settings) + self.server.settings_ack())

    def sent_of(self, ftype: int) -> list[RawFrame]:
        """The frames of one type in the last batch the client sent."""
        return [f for f in self.sent if f.type == ftype]


def connect_client(
    opts: Mapping[str, Any] | None = None,
    settings: Mapping[int, int] | Iterable[tuple[int, int]] = (),
    *,
    handshake: bool = True,
    **kw: Any,
) -> Wire:
    """A ``gun_core.http2.Http2Protocol`` for ``example.com`` wired to a test server, after the
    SETTINGS exchange (unless ``handshake`` is false)."""
    from gun_core.http2 import Http2Protocol
    from gun_core.options import check_http2_opts

    w = Wire(Http2Protocol(b"example.com", b"https", check_http2_opts(opts), **kw))
    if handshake:
        w.handshake(settings)
    return w


def expect_connection_error(w: Wire, data: bytes, code: int) -> Any:
    """Feed ``data``; the client must answer with one GOAWAY ``code`` and end with one ``Closed``
    event carrying that code (RFC 9113 5.4.1). Returns the ``Closed`` event."""
    from gun_core.events import Closed, Error

    events = w.feed(data)
    assert events, "no event: expected a connection error"
    closed = events[-1]
    assert isinstance(closed, Closed), events
    assert closed.reason.scope == "connection" and closed.reason.code == code, closed.reason
    assert "RFC" in closed.reason.message
    assert not any(isinstance(e, (Closed, Error)) for e in events[:-1]), events
    goaways = w.sent_of(T_GOAWAY)
    assert len(goaways) == 1 and goaways[0].error_code() == code, w.sent
    assert w.client.closing and w.client.receive_data(w.server.ping()) == []
    return closed


def expect_stream_error(w: Wire, data: bytes, code: int, handle: int | None = 1) -> Any:
    """Feed ``data``; the client must reset the stream with ``code`` and, when ``handle`` is not
    ``None``, report ``Error(handle)`` with that code (RFC 9113 5.4.2). The connection survives."""
    from gun_core.events import Closed, Error

    events = w.feed(data)
    assert not any(isinstance(e, Closed) for e in events), events
    rst = w.sent_of(T_RST_STREAM)
    assert rst and rst[-1].error_code() == code, w.sent
    errors = [e for e in events if isinstance(e, Error)]
    if handle is None:
        assert errors == [], errors
        return None
    assert len(errors) == 1 and errors[0].stream_id == handle, events
    reason = errors[0].reason
    assert reason.scope == "stream" and reason.code == code and "RFC" in reason.message, reason
    assert handle not in w.client.active_streams()
    return errors[0]
