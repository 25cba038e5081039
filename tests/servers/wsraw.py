"""A minimal blocking websocket client on a raw socket, to check the test servers (RFC 6455).

This is test infrastructure, not the project's client: it exists so that the smoke
tests and the Autobahn helper can speak to a server with the standard library only.
It does one handshake and whole, unfragmented frames; it masks what it sends
(RFC 6455 section 5.3) and expects unmasked frames from the server.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


class HandshakeError(Exception):
    """The server did not answer 101 with the right ``sec-websocket-accept``."""

    def __init__(self, status: int, head: bytes) -> None:
        super().__init__(f"handshake refused: status {status}: {head[:200]!r}")
        self.status = status
        self.head = head


def accept_key(key: bytes) -> bytes:
    """``sec-websocket-accept`` for ``key`` (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True) -> bytes:
    """One frame; masked with a random key when ``mask`` (clients must mask, section 5.3)."""
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    bit = 0x80 if mask else 0
    if n < 126:
        header = struct.pack("!BB", first, bit | n)
    elif n < 65536:
        header = struct.pack("!BBH", first, bit | 126, n)
    else:
        header = struct.pack("!BBQ", first, bit | 127, n)
    if not mask:
        return header + payload
    key = os.urandom(4)
    stream = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")
    return header + key + masked


def decode_frame(buf: bytes | bytearray) -> tuple[bool, int, bytes, int] | None:
    """``(fin, opcode, payload, bytes used)`` of the frame at the start of ``buf``, None if incomplete.

    Masked frames are unmasked (a server must not send them, but this is only a checker).
    """
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    n = b1 & 0x7F
    offset = 2
    if n == 126:
        if len(buf) < 4:
            return None
        n = struct.unpack_from("!H", buf, 2)[0]
        offset = 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n = struct.unpack_from("!Q", buf, 2)[0]
        offset = 10
    key = b""
    if b1 & 0x80:
        key = bytes(buf[offset : offset + 4])
        offset += 4
    if len(buf) < offset + n:
        return None
    payload = bytes(buf[offset : offset + n])
    if key:
        stream = (key * (n // 4 + 1))[:n]
        payload = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")
    return bool(b0 & 0x80), b0 & 0x0F, payload, offset + n


class RawWebSocket:
    """One websocket connection on a blocking socket."""

    def __init__(self, sock: socket.socket, buffered: bytes, headers: dict[str, str]) -> None:
        self.sock = sock
        self.buf = bytearray(buffered)
        self.headers = headers

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        path: str = "/",
        *,
        protocols: tuple[str, ...] = (),
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
    ) -> RawWebSocket:
        sock = socket.create_connection((host, port), timeout=timeout)
        if ssl_context is not None:
            sock = ssl_context.wrap_socket(sock, server_hostname=host)
        key = base64.b64encode(os.urandom(16))
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key.decode()}",
            "Sec-WebSocket-Version: 13",
        ]
        if protocols:
            lines.append(f"Sec-WebSocket-Protocol: {', '.join(protocols)}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                sock.close()
                raise HandshakeError(0, data)
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ")[1])
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status != 101 or headers.get("sec-websocket-accept", "").encode() != accept_key(key):
            sock.close()
            raise HandshakeError(status, head)
        return cls(sock, rest, headers)

    def send(self, opcode: int, payload: bytes, *, fin: bool = True) -> None:
        self.sock.sendall(encode_frame(opcode, payload, fin=fin))

    def recv_frame(self) -> tuple[bool, int, bytes]:
        """The next frame as ``(fin, opcode, payload)``."""
        while True:
            frame = decode_frame(self.buf)
            if frame is not None:
                fin, opcode, payload, used = frame
                del self.buf[:used]
                return fin, opcode, payload
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed in the middle of a frame")
            self.buf += chunk

    def recv(self) -> tuple[int, bytes]:
        """The next whole message as ``(opcode, payload)``; pings are answered, close is returned."""
        opcode = 0
        parts: list[bytes] = []
        while True:
            fin, op, payload = self.recv_frame()
            if op == PING:
                self.send(PONG, payload)
                continue
            if op == PONG:
                continue
            if op == CLOSE:
                return CLOSE, payload
            if op != 0:
                opcode = op
            parts.append(payload)
            if fin:
                return opcode, b"".join(parts)

    def close(self, code: int = 1000) -> bytes:
        """Send a close frame, wait for the server's, close the socket; return its close payload."""
        payload = b""
        try:
            self.send(CLOSE, struct.pack("!H", code))
            while True:
                op, payload = self.recv()
                if op == CLOSE:
                    break
        except (OSError, ConnectionError):
            pass
        finally:
            self.sock.close()
        return payload
