"""A minimal blocking HTTP/2 client on a raw socket, to check the test servers (RFC 9113).

Test infrastructure, not the project's client: the smoke tests use it to prove that
a server really speaks HTTP/2 (h2c prior knowledge, TLS+ALPN), pushes, sends trailers
and accepts extended CONNECT (RFC 8441). HPACK comes from the ``hpack`` package.
It keeps its receive windows wide open (16 MiB, refilled after every DATA frame) and
ignores its send windows, so request bodies must stay under 64 KiB.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from dataclasses import dataclass, field

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
SETTINGS_ENABLE_PUSH, SETTINGS_INITIAL_WINDOW_SIZE, SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x2, 0x4, 0x8
WINDOW = 1 << 24

Headers = list[tuple[str, str]]


@dataclass
class Stream:
    """What arrived on one stream."""

    stream_id: int
    informational: list[Headers] = field(default_factory=list)
    headers: Headers | None = None
    data: bytearray = field(default_factory=bytearray)
    trailers: Headers | None = None
    pushes: list[tuple[int, Headers]] = field(default_factory=list)
    ended: bool = False
    reset: int | None = None

    @property
    def status(self) -> int | None:
        for name, value in self.headers or []:
            if name == ":status":
                return int(value)
        return None

    def header(self, name: str) -> str | None:
        for key, value in self.headers or []:
            if key == name:
                return value
        return None


class H2Connection:
    """One HTTP/2 connection: call :meth:`request`, then :meth:`wait` for the stream."""

    def __init__(self, sock: socket.socket, authority: str, scheme: str, *, enable_push: bool = True) -> None:
        self.sock = sock
        self.authority = authority
        self.scheme = scheme
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.buf = bytearray()
        self.next_id = 1
        self.streams: dict[int, Stream] = {}
        self.server_settings: dict[int, int] = {}
        self.settings_received = False
        self.goaway: tuple[int, int] | None = None
        self.closed = False
        settings = struct.pack("!HI", SETTINGS_ENABLE_PUSH, int(enable_push)) + struct.pack(
            "!HI", SETTINGS_INITIAL_WINDOW_SIZE, WINDOW
        )
        self.sock.sendall(
            PREFACE
            + self._frame(SETTINGS, 0, 0, settings)
            + self._frame(WINDOW_UPDATE, 0, 0, struct.pack("!I", WINDOW - 65535))
        )

    @classmethod
    def connect(
        cls, host: str, port: int, *, ssl_context: ssl.SSLContext | None = None, timeout: float = 10.0,
        enable_push: bool = True,
    ) -> H2Connection:  # fmt: skip
        """Connect; over TLS ALPN must select ``h2`` (else ``ConnectionError``)."""
        sock = socket.create_connection((host, port), timeout=timeout)
        scheme = "http"
        if ssl_context is not None:
            sock = ssl_context.wrap_socket(sock, server_hostname=host)
            if sock.selected_alpn_protocol() != "h2":
                sock.close()
                raise ConnectionError(f"ALPN selected {sock.selected_alpn_protocol()!r}, not h2")
            scheme = "https"
        return cls(sock, f"{host}:{port}", scheme, enable_push=enable_push)

    @staticmethod
    def _frame(ftype: int, flags: int, stream_id: int, payload: bytes) -> bytes:
        return struct.pack("!I", len(payload))[1:] + struct.pack("!BBI", ftype, flags, stream_id) + payload

    def close(self) -> None:
        try:
            self.sock.sendall(self._frame(GOAWAY, 0, 0, struct.pack("!II", 0, 0)))
        except OSError:
            pass
        self.sock.close()

    # -- sending ----------------------------------------------------------------------------------

    def request(
        self,
        method: str = "GET",
        path: str = "/",
        headers: Headers | None = None,
        body: bytes | None = None,
        *,
        end_stream: bool | None = None,
        pseudo: Headers | None = None,
    ) -> int:
        """Open a stream, send ``body`` if any; the stream ends after the headers or the body
        unless ``end_stream`` is False. Returns the stream id."""
        stream_id = self.next_id
        self.next_id += 2
        block: Headers = [(":method", method), (":scheme", self.scheme), (":authority", self.authority)]
        block += pseudo or []
        if method != "CONNECT" or pseudo:
            block.append((":path", path))
        block += headers or []
        self.streams[stream_id] = Stream(stream_id)
        if end_stream is None:
            end_stream = True
        flags = END_HEADERS | (END_STREAM if end_stream and not body else 0)
        self.sock.sendall(self._frame(HEADERS, flags, stream_id, self.encoder.encode(block)))
        if body:
            self.send_data(stream_id, body, end_stream=end_stream)
        return stream_id

    def send_data(self, stream_id: int, data: bytes, *, end_stream: bool = False) -> None:
        self.sock.sendall(self._frame(DATA, END_STREAM if end_stream else 0, stream_id, data))

    # -- receiving --------------------------------------------------------------------------------

    def _read_frame(self) -> tuple[int, int, int, bytes] | None:
        while True:
            if len(self.buf) >= 9:
                length = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) >= 9 + length:
                    ftype, flags, sid = self.buf[3], self.buf[4], int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
                    payload = bytes(self.buf[9 : 9 + length])
                    del self.buf[: 9 + length]
                    return ftype, flags, sid, payload
            chunk = self.sock.recv(65536)
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk

    def _header_block(self, flags: int, payload: bytes, *, promise: bool = False) -> tuple[int, Headers]:
        pad = 0
        if flags & PADDED:
            pad = payload[0]
            payload = payload[1:]
        if pad:
            payload = payload[:-pad]
        promised = 0
        if promise:
            promised = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            payload = payload[4:]
        elif flags & PRIORITY_FLAG:
            payload = payload[5:]
        block = bytearray(payload)
        while not flags & END_HEADERS:
            frame = self._read_frame()
            if frame is None or frame[0] != CONTINUATION:
                raise ConnectionError("header block not continued by CONTINUATION")
            flags = frame[1]
            block += frame[3]
        return promised, [(str(n), str(v)) for n, v in self.decoder.decode(bytes(block))]

    def step(self) -> bool:
        """Read and handle one frame; False once the connection is closed."""
        frame = self._read_frame()
        if frame is None:
            return False
        ftype, flags, sid, payload = frame
        stream = self.streams.setdefault(sid, Stream(sid)) if sid else None
        if ftype == SETTINGS and not flags & ACK:
            for i in range(0, len(payload) - 5, 6):
                key, value = struct.unpack_from("!HI", payload, i)
                self.server_settings[key] = value
            self.settings_received = True
            self.sock.sendall(self._frame(SETTINGS, ACK, 0, b""))
        elif ftype == PING and not flags & ACK:
            self.sock.sendall(self._frame(PING, ACK, 0, payload))
        elif ftype == GOAWAY:
            last, code = struct.unpack_from("!II", payload)
            self.goaway = (last & 0x7FFFFFFF, code)
        elif ftype == HEADERS and stream is not None:
            _, block = self._header_block(flags, payload)
            status = next((v for n, v in block if n == ":status"), None)
            if stream.headers is None and status is not None and status.startswith("1"):
                stream.informational.append(block)
            elif stream.headers is None:
                stream.headers = block
            else:
                stream.trailers = block
            stream.ended = stream.ended or bool(flags & END_STREAM)
        elif ftype == PUSH_PROMISE and stream is not None:
            promised, block = self._header_block(flags, payload, promise=True)
            stream.pushes.append((promised, block))
            self.streams[promised] = Stream(promised)
        elif ftype == DATA and stream is not None:
            data = payload
            if flags & PADDED:
                data = payload[1 : len(payload) - payload[0]]
            stream.data += data
            stream.ended = stream.ended or bool(flags & END_STREAM)
            if payload:
                increment = struct.pack("!I", len(payload))
                self.sock.sendall(
                    self._frame(WINDOW_UPDATE, 0, 0, increment) + self._frame(WINDOW_UPDATE, 0, sid, increment)
                )
        elif ftype == RST_STREAM and stream is not None:
            stream.reset = struct.unpack("!I", payload)[0]
            stream.ended = True
        return True

    def wait(self, stream_id: int, *, timeout: float = 10.0, until: str = "ended") -> Stream:
        """Handle frames until the stream has ended (``until="ended"``) or has its response
        headers (``until="headers"``); raise ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        stream = self.streams[stream_id]
        while not (stream.ended or (until == "headers" and stream.headers is not None)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"stream {stream_id} not {until} after {timeout}s")
            if not self.step():
                raise ConnectionError(f"connection closed before stream {stream_id} was {until}")
        return stream

    def wait_settings(self, timeout: float = 10.0) -> dict[int, int]:
        """Handle frames until the server's first SETTINGS arrived."""
        deadline = time.monotonic() + timeout
        while not self.settings_received and time.monotonic() < deadline:
            if not self.step():
                break
        return self.server_settings
