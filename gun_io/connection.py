"""The sync driver's :class:`Connection`: sockets on the shared selectors loop.

Connecting (DNS, TCP connect, TLS handshake) runs in a short-lived helper thread
with the configured timeouts, then the socket joins the loop. Reads happen in the
loop thread; writes happen in the caller's thread when the socket takes them at
once, else the loop finishes them. A per-connection lock serialises the core.
"""

from __future__ import annotations

import os
import select
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from gun_core import events as ev
from gun_core.accel import Filler
from gun_core.errors import ConnectionDown, Reason, Timeout
from gun_core.http1 import Http1Protocol

from .engine import ConnOpts, Engine, StreamRef
from .loop import Loop, get_loop
from .mailbox import Mailbox
from .transport import ALPN_REVERSE, apply_tcp_opts, make_ssl_context

__all__ = ["Connection", "connect_socket"]

_RECV = 262144  # bytes per read while data streams in
_RECV_SMALL = 16384  # the reusable buffer for ordinary reads (see _read_some)
_tls = threading.local()


def _read_buffer() -> memoryview:
    """This thread's reusable read buffer (shared by its connections: each read is copied out at once)."""
    try:
        buf: memoryview = _tls.rbuf
    except AttributeError:
        buf = _tls.rbuf = memoryview(bytearray(_RECV_SMALL))
    return buf


_PUMP_HOLD = 0.002  # seconds the loop thread leaves reading to callers after a pumping wait
# await_body reads a content-length body of this many bytes or more straight into the bytes it
# returns (up to _DIRECT_MAX, so that what a server announces cannot reserve more memory).
_DIRECT_MIN = 65536
_DIRECT_MAX = 64 << 20


def connect_socket(host: str, port: int | None, opts: ConnOpts, unix_path: str | None) -> tuple[socket.socket, str]:
    """Blocking connect with the configured timeouts; return the socket and the protocol."""
    if unix_path is not None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(opts.connect_timeout)
        try:
            sock.connect(unix_path)
        except BaseException:
            sock.close()
            raise
        addrs: list[Any] = []
    else:
        addrs = _resolve(host, port, opts.domain_lookup_timeout)
        sock = _connect_any(addrs, opts.connect_timeout)
        apply_tcp_opts(sock, opts.tcp_opts)
    protocol = opts.protocols[0]
    if opts.transport == "tls":
        ctx = make_ssl_context(opts.tls_opts, list(opts.protocols))
        server_hostname = None
        if isinstance(opts.tls_opts, dict):
            server_hostname = opts.tls_opts.get("server_hostname")
        sock.settimeout(opts.tls_handshake_timeout)
        try:
            tls = ctx.wrap_socket(sock, server_hostname=server_hostname or host, do_handshake_on_connect=False)
            tls.do_handshake()
        except BaseException:
            sock.close()
            raise
        sock = tls
        alpn = tls.selected_alpn_protocol()
        # RFC 7301: no ALPN answer means HTTP/1.1.
        protocol = ALPN_REVERSE.get(alpn or "", "http")
        if protocol not in opts.protocols:
            sock.close()
            raise ConnectionError(f"the server selected {alpn!r} by ALPN, which we did not offer")
    sock.setblocking(False)
    return sock, protocol


def _resolve(host: str, port: int | None, timeout: float | None) -> list[Any]:
    result: list[Any] = []
    error: list[BaseException] = []

    def lookup() -> None:
        try:
            result.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as exc:
            error.append(exc)

    if timeout is None:
        lookup()
    else:
        t = threading.Thread(target=lookup, daemon=True, name="gun-dns")
        t.start()
        t.join(timeout)
        if t.is_alive():
            raise TimeoutError(f"domain lookup of {host!r} took more than {timeout} s")
    if error:
        raise error[0]
    return result


def _connect_any(addrs: list[Any], timeout: float | None) -> socket.socket:
    last: BaseException | None = None
    for family, type_, proto, _, addr in addrs:
        sock = socket.socket(family, type_, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(addr)
            return sock
        except BaseException as exc:
            sock.close()
            last = exc
            if not isinstance(exc, OSError):
                raise
    raise last if last is not None else OSError("no address to connect to")


def _reason_for(exc: BaseException) -> Reason:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Reason.connection("tls", f"certificate verification failed: {exc.verify_message or exc}")
    if isinstance(exc, ssl.SSLError):
        return Reason.connection("tls", f"TLS error: {exc}")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return Reason.connection("timeout", str(exc) or "timed out")
    if isinstance(exc, socket.gaierror):
        return Reason.connection("domain_lookup", str(exc))
    if isinstance(exc, ConnectionRefusedError):
        return Reason.connection("connect", f"connection refused ({exc})")
    return Reason.connection("connect", f"{type(exc).__name__}: {exc}")


class Connection(Engine):
    """A Gun connection driven by the shared selectors loop (see ``gun_io.open``)."""

    def __init__(
        self, host: str, port: int | None, opts: ConnOpts, owner: Mailbox | None = None, *, unix_path: str | None = None
    ) -> None:
        super().__init__(host, port, opts, owner if owner is not None else Mailbox(), unix_path=unix_path)
        self._loop: Loop = get_loop()
        self._sock: socket.socket | None = None
        self._wbuf = bytearray()
        self._attempt = 0
        self._pumpers = 0
        # After a pumping wait the loop thread's read interest stays off for a short while
        # (_PUMP_HOLD), so that back-to-back waits (a request/response or echo loop) cost no
        # selector change each; a timer in the loop thread gives reading back to the loop once
        # no caller has pumped for that long. While callers keep pumping, the timer re-arms
        # itself from the loop thread: no wake-up write and no lock per wait.
        self._pump_hold = False
        self._hold_end = 0.0  # when the last pumping wait ended (time.monotonic)
        self._hold_timer: Any = None
        # Reads go into a reusable buffer (one per thread, _read_buffer), then into bytes of
        # the right size: a fresh 256 KiB bytes per read costs glibc an mmap, an mremap and a
        # munmap (three system calls per message). Once a read fills the buffer, data is
        # streaming: reads then go straight into large bytes, until one comes back short.
        self._bulk = False
        self._pump_r, self._pump_w = os.pipe()
        os.set_blocking(self._pump_r, False)
        os.set_blocking(self._pump_w, False)
        self._io_connect()

    def __del__(self) -> None:
        for fd in (getattr(self, "_pump_r", -1), getattr(self, "_pump_w", -1)):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass

    # ------------------------------------------------------------------ I/O hooks

    def _io_connect(self) -> None:
        self._attempt += 1
        attempt = self._attempt

        def work() -> None:
            try:
                sock, protocol = connect_socket(self.host, self.port, self.opts, self.unix_path)
            except BaseException as exc:
                reason = _reason_for(exc)
                self._loop.call_soon(lambda: self._on_connect_failed(attempt, reason))
                return
            self._loop.call_soon(lambda: self._on_connected(attempt, sock, protocol))

        threading.Thread(target=work, daemon=True, name="gun-connect").start()

    def _on_connected(self, attempt: int, sock: socket.socket, protocol: str) -> None:
        with self._lock:
            if attempt != self._attempt or self._state != "connecting":
                sock.close()
                return
            self._sock = sock
            self._wbuf.clear()
            self._io_paused = False
            self._update_interest()
            try:
                sockname, peername = sock.getsockname(), sock.getpeername()
            except OSError:
                sockname = peername = None
            self._connected(protocol, sockname, peername)

    def _on_connect_failed(self, attempt: int, reason: Reason) -> None:
        with self._lock:
            if attempt != self._attempt or self._state != "connecting":
                return
            self._connect_failed(reason)

    def _io_write(self, data: bytes) -> None:
        sock = self._sock
        if sock is None:
            return
        if self._wbuf:
            self._wbuf += data
            return
        try:
            n = sock.send(data)
        except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            n = 0
        except OSError as exc:
            err = exc
            self._loop.call_soon(lambda: self._on_error(sock, err))
            return
        if n < len(data):
            self._wbuf += memoryview(data)[n:]
            self._post_interest()

    def _io_close(self) -> None:
        sock = self._sock
        self._sock = None
        pending = bytes(self._wbuf)
        self._wbuf.clear()
        if sock is None:
            return
        loop = self._loop

        def close() -> None:
            loop.forget(sock)
            try:
                sock.close()
            except OSError:
                pass

        if not pending:
            if loop.in_loop():
                close()
            else:
                loop.call_soon(close)
            return
        # Bytes still queued (a websocket Close, a GOAWAY): write them, then close, at most 2 s later.
        left = bytearray(pending)

        def drain(mask: int) -> None:
            try:
                n = sock.send(left)
            except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                return
            except OSError:
                n = len(left)
            del left[:n]
            if not left:
                close()

        def start() -> None:
            loop.set_interest(sock, selectors.EVENT_WRITE, drain)
            loop.call_later(2.0, close)

        if loop.in_loop():
            start()
        else:
            loop.call_soon(start)

    def _io_pause(self, paused: bool) -> None:
        if self._io_paused == paused:
            return
        self._io_paused = paused
        self._post_interest()

    def _io_call_later(self, delay: float, fn: Callable[[], None]) -> Any:
        return self._loop.call_later(delay, fn)

    # ------------------------------------------------------------------ loop side

    def _post_interest(self) -> None:
        if self._loop.in_loop():
            self._update_interest()
        else:
            self._loop.call_soon(self._locked_update_interest)

    def _locked_update_interest(self) -> None:
        with self._lock:
            self._update_interest()

    def _update_interest(self) -> None:
        sock = self._sock
        if sock is None:
            return
        events = 0
        if not self._io_paused and not self._pumpers and not self._pump_hold:
            events |= selectors.EVENT_READ
        if self._wbuf:
            events |= selectors.EVENT_WRITE
        self._loop.set_interest(sock, events, self._on_ready)

    def _on_ready(self, mask: int) -> None:
        with self._lock:
            sock = self._sock
            if sock is None:
                return
            if mask & selectors.EVENT_WRITE and self._wbuf:
                self._write_some(sock)
            if mask & selectors.EVENT_READ and self._sock is sock:
                self._read_some(sock)
                if self._pumpers:
                    try:
                        os.write(self._pump_w, b"\0")
                    except OSError:
                        pass
            if self._sock is sock:
                self._update_interest()

    def _write_some(self, sock: socket.socket) -> None:
        try:
            n = sock.send(self._wbuf)
        except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            return
        except OSError as exc:
            self._on_error(sock, exc)
            return
        del self._wbuf[:n]

    def _read_some(self, sock: socket.socket) -> None:
        while True:
            try:
                if self._bulk:
                    data = sock.recv(_RECV)
                    self._bulk = len(data) >= _RECV_SMALL
                else:
                    rbuf = _read_buffer()
                    n = sock.recv_into(rbuf)
                    data = rbuf[:n].tobytes()
                    self._bulk = n == _RECV_SMALL
            except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except OSError as exc:
                self._on_error(sock, exc)
                return
            if not data:
                self._peer_closed(sock)
                return
            self._receive(data)
            if self._sock is not sock or self._io_paused:
                return
            # TLS may hold decrypted bytes the selector cannot see.
            if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                return

    def _peer_closed(self, sock: socket.socket) -> None:
        """(Lock held.) A read of ``sock`` found the end: the core reports it, else the connection is lost."""
        self._receive(b"")
        if self._sock is sock:
            self._transport_lost(Reason.connection("closed", "the server closed the connection"))

    def _on_error(self, sock: socket.socket, exc: BaseException) -> None:
        with self._lock:
            if self._sock is not sock:
                return
            self._transport_lost(
                _reason_for(exc)
                if not isinstance(exc, ConnectionResetError)
                else Reason.connection("closed", f"connection reset by peer ({exc})")
            )

    # ------------------------------------------------------------------ waiting

    def _wait(self, mailbox: Any, match: Callable[[Any], bool], timeout: float | None, wake: Callable[[], bool]) -> Any:
        """Wait for a matching message; while waiting, read this connection's socket here.

        Reading in the waiting thread (under the connection lock, as the loop thread
        does) saves the hand-off from the loop thread on the request/response path.
        """
        if self._loop.in_loop() or not isinstance(mailbox, Mailbox):
            return mailbox.wait_for(match, timeout, wake=wake)
        messages = mailbox._messages  # looked at without its lock: take() decides under it
        if messages:
            found, msg = mailbox.take(match)
            if found:
                return msg
        deadline = None if timeout is None else time.monotonic() + timeout
        pump_r = self._pump_r
        lock = self._lock
        while True:
            if wake():
                return None
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if left <= 0:
                raise Timeout(f"no message within {timeout} s")
            sock = self._sock
            if sock is None or self._io_paused or self._state not in ("up", "closing"):
                if self._pump_hold:
                    self._end_hold()
                try:
                    return mailbox.wait_for(match, left, wake=wake)
                except Timeout:
                    continue
            fd = sock.fileno()
            if fd < 0:
                continue
            lock.acquire()  # (acquire/release rather than `with`: on every wait, and cheaper)
            try:
                self._pump_begin(sock)
            finally:
                lock.release()
            try:
                # The loop thread may have delivered it before it knew we were waiting here.
                if messages:
                    found, msg = mailbox.take(match)
                    if found:
                        return msg
                try:
                    ready, _, _ = select.select((fd, pump_r), (), (), left)
                except (OSError, ValueError):  # the socket was closed under us
                    continue
                if pump_r in ready:
                    try:
                        while os.read(pump_r, 512):
                            pass
                    except OSError:
                        pass
                if fd in ready:
                    lock.acquire()
                    try:
                        if self._sock is sock and not self._io_paused:
                            self._read_some(sock)
                    finally:
                        lock.release()
                if messages:
                    found, msg = mailbox.take(match)
                    if found:
                        return msg
            finally:
                self._pump_end(sock)

    def _pump_begin(self, sock: socket.socket) -> None:
        """(Lock held.) A caller reads ``sock`` from now on: the loop thread stops reading it."""
        self._pumpers += 1
        if self._pumpers == 1 and not self._pump_hold and self._sock is sock:
            self._update_interest()

    def _pump_end(self, sock: socket.socket) -> None:
        """A caller stops reading ``sock``: the loop thread takes over after the hold."""
        lock = self._lock
        lock.acquire()
        try:
            self._pumpers -= 1
            if self._pumpers == 0 and self._sock is sock:
                self._pump_hold = True
                self._hold_end = time.monotonic()
                if self._hold_timer is None:
                    self._hold_timer = self._loop.call_later(_PUMP_HOLD, self._hold_check)
        finally:
            lock.release()

    def _hold_check(self) -> None:
        """(Loop thread.) Give reading back to the loop unless a caller pumped in the last _PUMP_HOLD."""
        if self._pumpers or time.monotonic() - self._hold_end < _PUMP_HOLD:
            # Still pumping: look again later. Read without the lock: at worst one more look;
            # the handle is replaced, never cleared, so a caller does not arm a second timer.
            self._hold_timer = self._loop.call_later(_PUMP_HOLD, self._hold_check)
            return
        with self._lock:
            if self._pumpers:  # a caller started pumping meanwhile
                self._hold_timer = self._loop.call_later(_PUMP_HOLD, self._hold_check)
                return
            self._end_hold()

    def _end_hold(self) -> None:
        """Give reading back to the loop thread now (no caller pumps, or none can)."""
        with self._lock:
            timer, self._hold_timer = self._hold_timer, None
            if timer is not None:
                timer.cancel()
            if self._pump_hold:
                self._pump_hold = False
                self._update_interest()

    def await_up(self, timeout: float | None = 5.0) -> str:
        """Wait for the connection to be up; return ``"http"`` or ``"http2"``."""
        match = lambda m: type(m) is ev.GunUp and m.conn is self  # noqa: E731
        msg = self._wait(self.owner, match, timeout, lambda: self._state == "dead")
        if msg is None:
            raise ConnectionDown(self._down_reason)
        protocol: str = msg.protocol
        return protocol

    def await_(self, ref: StreamRef, timeout: float | None = 5.0) -> Any:
        """The next message of the stream ``ref``; errors become exceptions."""
        mailbox, match, wake = self._await_args(ref)
        msg = self._wait(mailbox, match, timeout, wake)
        if msg is None:
            raise ConnectionDown(self._down_for(ref))
        return self._await_result(ref, msg)

    def await_body(self, ref: StreamRef, timeout: float | None = 5.0) -> bytes:
        """The whole response body of ``ref`` (the timeout applies to each message, or read)."""
        parts: list[bytes] = []
        while True:
            msg = self.await_(ref, timeout)
            if self._body_step(msg, parts):
                return b"".join(parts)
            if type(msg) is ev.GunResponse or type(msg) is ev.GunData:
                body = self._read_body(ref, parts, timeout)
                if body is not None:
                    return body

    def _read_body(self, ref: StreamRef, parts: list[bytes], timeout: float | None) -> bytes | None:
        """Read the rest of a large content-length body from the socket straight into the result.

        As http.client does, without a message per read or a join at the end: the core says how
        many body bytes come next (``body_to_read``) and is told of each read (``body_read``).
        Returns the whole body, or ``None`` (``parts`` then holds what was read) when the body
        is not one to read this way or someone else read the socket meanwhile: the messages
        take over from there.
        """
        with self._lock:
            s = self._by_ref.get(ref)
            core = self._core
            sock = self._sock
            if (
                s is None
                or s.core_id is None
                or sock is None
                or not isinstance(core, Http1Protocol)
                or not isinstance(s.mailbox, Mailbox)
                or self.opts.trace
                or self._io_paused
                or self._loop.in_loop()
            ):
                return None
            sid = s.core_id
            left = core.body_to_read(sid)
            # Messages that await_ would return come first (await_ has just made its match).
            match = s.await_match
            if not _DIRECT_MIN <= left <= _DIRECT_MAX or match is None or s.mailbox.peek(match) is not None:
                return None
            self._pump_begin(sock)
        view: memoryview | None = None
        try:
            filler = Filler(sum(map(len, parts)) + left)
            view = memoryview(filler)
            pos = 0
            for p in parts:
                view[pos : pos + len(p)] = p
                pos += len(p)
            fd = sock.fileno()
            while left:
                with self._lock:
                    if self._sock is not sock or self._core is not core or core.body_to_read(sid) != left:
                        break  # closed, or another thread read the socket: messages take over
                    try:
                        n = sock.recv_into(view[pos:], left)
                    except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                        n = -1
                    except OSError as exc:
                        self._on_error(sock, exc)
                        break
                    if n == 0:
                        self._peer_closed(sock)  # in the middle of the body: the core reports it
                        break
                    if n > 0:
                        pos += n
                        left -= n
                        events = core.body_read(sid, n)
                        if not left:
                            self._end_stream(sid)
                            if events:
                                self._handle_events(events)
                            self._flush_out()
                        continue
                try:
                    ready, _, _ = select.select((fd,), (), (), timeout)
                except (OSError, ValueError):  # the socket was closed under us
                    continue
                if not ready:
                    raise Timeout(f"no body bytes within {timeout} s")
        finally:
            if view is not None:
                view.release()
            self._pump_end(sock)
        if not left:
            return filler.take()
        parts[:] = [filler.take()[:pos]] if pos else []
        return None

    def __repr__(self) -> str:
        where = self.unix_path or f"{self.host}:{self.port}"
        return f"<gun_io.Connection #{self._id} {where} {self._state} {self._protocol or '-'}>"

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_closed(self, timeout: float | None = 5.0) -> None:
        """Wait until the connection is dead (after ``shutdown`` or ``close``)."""
        if not self._dead_event.wait(timeout):
            raise Timeout(f"connection not closed within {timeout} s")
