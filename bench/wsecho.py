"""A minimal, fast websocket echo server for the benchmarks (RFC 6455, no extensions).

Run as a script: it listens on 127.0.0.1 (an ephemeral port, printed on the first line of
stdout) and serves until its stdin is closed. One ``asyncio.Protocol`` per connection:

- the opening handshake (RFC 6455 4.2): read the request head, answer ``101`` with
  ``sec-websocket-accept``; no subprotocol, no extension;
- then every client frame is parsed (masked, as RFC 6455 5.1 requires of clients),
  unmasked, and echoed back at once as one unmasked frame with the same FIN bit and opcode
  (so fragmented messages come back fragmented the same way); a Ping is answered with a
  Pong, a Pong is dropped, a Close is echoed and the connection closed.

Unmasking uses ``websockets.speedups.apply_mask`` (C) when it is installed, else a
big-integer XOR (also C speed, a few passes over the payload). Every client of the
``ws`` workload talks to this one server, so the server's cost is the same for all of
them; it is much cheaper than the ``websockets`` asyncio server, so it bounds the
clients less.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct
import sys
from collections.abc import Callable

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
U16 = struct.Struct("!H")
U64 = struct.Struct("!Q")


def _xor_mask(data: bytes, key: bytes) -> bytes:
    n = len(data)
    if not n:
        return b""
    pad = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(pad, "little")).to_bytes(n, "little")


unmask: Callable[[bytes, bytes], bytes]
try:
    from websockets.speedups import apply_mask as unmask  # type: ignore[no-redef,unused-ignore]
except ImportError:  # pragma: no cover - depends on what is installed
    unmask = _xor_mask


def frame_header(first: int, n: int) -> bytes:
    """An unmasked frame header: FIN/RSV/opcode byte, then the length (RFC 6455 5.2)."""
    if n < 126:
        return bytes((first, n))
    if n < 65536:
        return bytes((first, 126)) + U16.pack(n)
    return bytes((first, 127)) + U64.pack(n)


class Echo(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        assert self.transport is not None
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            key = b""
            for line in bytes(buf[:end]).split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"sec-websocket-key":
                    key = value.strip()
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            self.transport.write(
                b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
                b"sec-websocket-accept: " + accept + b"\r\n\r\n"
            )
            del buf[: end + 4]
            self.open = True
        pos = 0
        size = len(buf)
        out: list[bytes] = []
        while size - pos >= 2:
            first = buf[pos]
            n = buf[pos + 1] & 0x7F
            at = pos + 2
            if n == 126:
                if size - at < 2:
                    break
                n = U16.unpack_from(buf, at)[0]
                at += 2
            elif n == 127:
                if size - at < 8:
                    break
                n = U64.unpack_from(buf, at)[0]
                at += 8
            if size - at < 4 + n:
                break
            key = bytes(buf[at : at + 4])
            payload = unmask(bytes(buf[at + 4 : at + 4 + n]), key)
            pos = at + 4 + n
            opcode = first & 0x0F
            if opcode == 0x9:  # Ping -> Pong
                out.append(frame_header(0x8A, n) + payload)
            elif opcode == 0xA:  # Pong
                continue
            elif opcode == 0x8:  # Close: echo it, then close
                out.append(frame_header(0x88, n) + payload)
                self.transport.writelines(out)
                self.transport.close()
                del buf[:]
                return
            else:
                out.append(frame_header(first, n))
                out.append(payload)
        if pos:
            del buf[:pos]
        if out:
            self.transport.writelines(out)


async def main() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
