"""Scripted fake origins: a listening socket on 127.0.0.1 whose connections run a script.

Each accepted connection runs ``script(sock, index)`` in a thread, where ``index``
counts connections from 0. Scripts send exact bytes, which is how tests cover what
real servers will not do on request (malformed responses, abrupt closes, trickles).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable

Script = Callable[[socket.socket, int], None]


class FakeOrigin:
    """A loopback server running ``script`` for each connection it accepts."""

    def __init__(
        self,
        script: Script,
        *,
        family: int = socket.AF_INET,
        ssl_context: ssl.SSLContext | None = None,
        port: int = 0,
    ) -> None:
        self.script = script
        self.ssl_context = ssl_context
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self.errors: list[BaseException] = []
        self._conns: list[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            index = self.connections
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._run, args=(conn, index), daemon=True).start()

    def _run(self, conn: socket.socket, index: int) -> None:
        try:
            if self.ssl_context is not None:
                conn.settimeout(5)
                conn = self.ssl_context.wrap_socket(conn, server_side=True)
                self._conns.append(conn)
            self.script(conn, index)
        except (ConnectionError, BrokenPipeError, OSError):
            pass
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        """Stop accepting and close every connection."""
        self._stop = True
        try:
            self.sock.close()
        except OSError:
            pass
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass

    def __enter__(self) -> FakeOrigin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_request(sock: socket.socket, buf: bytearray | None = None, timeout: float = 5.0) -> tuple[bytes, bytes]:
    """Read one HTTP/1.1 request head and its content-length/chunked body.

    Returns ``(head, body)``. ``buf`` carries bytes over between calls (pipelining).
    Raises ``ConnectionError`` when the peer closes first.
    """
    if buf is None:
        buf = bytearray()
    sock.settimeout(timeout)
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("client closed")
        buf += chunk
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end])
    del buf[:end]
    lower = head.lower()
    body = b""
    if b"\r\ncontent-length:" in lower:
        n = int(lower.split(b"\r\ncontent-length:")[1].split(b"\r\n")[0])
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("client closed")
            buf += chunk
        body = bytes(buf[:n])
        del buf[:n]
    elif b"\r\ntransfer-encoding: chunked" in lower:
        out = bytearray()
        while True:
            while b"\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("client closed")
                buf += chunk
            line_end = buf.index(b"\r\n")
            size = int(bytes(buf[:line_end]).split(b";")[0], 16)
            del buf[: line_end + 2]
            while len(buf) < size + 2:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("client closed")
                buf += chunk
            if size == 0:
                # no trailers in our requests: the final CRLF
                del buf[:2]
                break
            out += buf[:size]
            del buf[: size + 2]
        body = bytes(out)
    return head, body


def response(status: int = 200, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> bytes:
    """A plain HTTP/1.1 response with content-length."""
    lines = [f"HTTP/1.1 {status} X"]
    for n, v in headers or []:
        lines.append(f"{n}: {v}")
    lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
