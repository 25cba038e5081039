"""The asyncio driver: the same connection surface, with coroutines for waiting.

``aio.open`` must be called inside a running event loop; the request methods are
plain calls that return a ``StreamRef`` at once; ``await_up``, ``await_``,
``await_body`` and ``Mailbox.receive`` are coroutines. Call a connection's methods
from its event loop's thread.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from gun_core import accel
from gun_core import events as ev
from gun_core.errors import (
    BadOption,
    ConnectionDown,
    ConnectionFailure,
    GunException,
    InvalidHeader,
    Reason,
    StreamError,
    Timeout,
)
from gun_core.events import (
    GunData,
    GunDown,
    GunError,
    GunInform,
    GunNotify,
    GunPush,
    GunResponse,
    GunTrailers,
    GunUp,
    GunUpgrade,
    GunWs,
)
from gun_core.ws import Binary, Close, Ping, Pong, Text

from .connection import _reason_for
from .engine import ConnOpts, Engine, StreamRef, check_opts
from .mailbox import Match, _BaseMailbox
from .transport import ALPN_REVERSE, apply_tcp_opts, make_ssl_context

__all__ = [
    "BadOption",
    "Binary",
    "Close",
    "Connection",
    "ConnectionDown",
    "ConnectionFailure",
    "GunData",
    "GunDown",
    "GunError",
    "GunException",
    "GunInform",
    "GunNotify",
    "GunPush",
    "GunResponse",
    "GunTrailers",
    "GunUp",
    "GunUpgrade",
    "GunWs",
    "InvalidHeader",
    "Mailbox",
    "Ping",
    "Pong",
    "StreamError",
    "StreamRef",
    "Text",
    "Timeout",
    "open",
    "open_unix",
]


# Thread id -> the wake-ups to run when the data callback running in that thread ends (see
# _Wakeup): a plain dict, as a threading.local costs several times more per data callback.
_eager: dict[int, list[_Wakeup]] = {}
_get_ident = threading.get_ident


def _current_task_getter() -> Callable[[asyncio.AbstractEventLoop], asyncio.Task[Any] | None]:
    """``asyncio.current_task``, without its Python layer where there is one (3.10, 3.11)."""
    c_module = sys.modules.get("_asyncio")  # (asyncio imports it when it exists)
    fn: Any = getattr(c_module, "current_task", None)
    tasks: Any = getattr(c_module, "_current_tasks", None)
    shared = type(tasks) is dict and getattr(asyncio.tasks, "_current_tasks", None) is tasks
    if fn is None and shared:
        fn = tasks.get
    return cast(Callable[[asyncio.AbstractEventLoop], "asyncio.Task[Any] | None"], fn or asyncio.current_task)


_current_task = _current_task_getter()


class _LoopThreadOnly:
    """The lock of an asyncio connection: a no-op.

    A connection is used from its event loop's thread only (as its transport is), so the
    engine's sections need no exclusion; this spares each of them a real lock's cost.
    """

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return True

    def release(self) -> None:
        return None


_NO_LOCK = _LoopThreadOnly()


if TYPE_CHECKING:
    _RareBase = accel.WakeupBase
else:
    _RareBase = object  # (at run time the mixin adds methods only)


class _WakeupRare(_RareBase):
    """The rare paths of ``_Wakeup`` (the hot ones are ``accel.WakeupBase``'s, in C when built)."""

    __slots__ = ()

    def _result_other(self) -> tuple[Any] | None:
        if self._state == 2:
            message = self._cancel_message
            raise asyncio.CancelledError(*(() if message is None else (message,)))
        raise asyncio.InvalidStateError("the wake-up has not happened yet")

    def _add_late(self, fn: Callable[[Any], object], context: Any) -> None:
        self._loop.call_soon(fn, self, context=context)

    def exception(self) -> BaseException | None:
        self.result()
        return None

    def remove_done_callback(self, fn: Callable[[Any], object]) -> int:
        callbacks = self._callbacks or []
        self._callbacks = [(f, c) for f, c in callbacks if f != fn]
        return len(callbacks) - len(self._callbacks)

    def cancel(self, msg: Any = None) -> bool:
        if self._state:
            return False
        self._state = 2
        self._cancel_message = msg
        self._schedule()
        return True

    def set_result(self, result: tuple[Any] | None) -> None:
        """Complete; the waiting task resumes in a later pass of the loop (as a Future's would)."""
        if self._state:
            raise asyncio.InvalidStateError("the wake-up already happened")
        self._state = 1
        self._result = result
        self._schedule()

    def _schedule(self) -> None:
        callbacks, self._callbacks = self._callbacks, None
        if callbacks:
            for fn, context in callbacks:
                self._loop.call_soon(fn, self, context=context)


class _Wakeup(_WakeupRare, accel.WakeupBase):
    """What a task waiting in a mailbox awaits: an asyncio future-like (Task takes any object
    with ``_asyncio_future_blocking``) that can resume the task *now*.

    An ``asyncio.Future`` resumes its task through ``call_soon``: one more pass of the event
    loop (a poll, a handle) between a message arriving and the task seeing it. When the
    driver's data callback hands a message to a waiting task, the task is resumed right after
    that callback instead (see ``Connection._on_data``); every other completion (a timeout, a
    ``put`` from elsewhere, a cancel) goes through ``call_soon`` as a Future's does.
    ``_WakeupRare`` has the rare paths; the ones a Task uses on every wait come from
    ``gun_core.accel.WakeupBase`` (C when the accelerator is built).
    """

    __slots__ = ()


class Mailbox(_BaseMailbox):
    """An asyncio mailbox: ``await receive()``; ``put`` is safe from any thread."""

    __slots__ = ("_timer", "_timer_at", "_timer_loop", "_waiters")

    def __init__(self) -> None:
        super().__init__()
        self._waiters: list[_Waiter] = []
        # One deadline timer for all the waiters of one loop: a wait arms it only when it must
        # fire sooner than it is set to (back-to-back waits with the same timeout re-arm it
        # once per timeout, not once per message); when it fires, the waiters it finds due wake.
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def put(self, msg: Any) -> None:
        """Deliver a message."""
        # (acquire/release rather than `with`: this is on every message's path, and a `with`
        # on a lock costs over twice as much.)
        lock = self._lock
        lock.acquire()
        try:
            waiters = self._waiters
            if not waiters:
                self._messages.append(msg)
                return
            # A registered waiter has already looked at every queued message and wants none of
            # them: this message goes to the first waiter that wants it, and wakes no other.
            me = _get_ident()
            for i, (_, fut, tid, match, _) in enumerate(waiters):
                if fut._state or not (match is None or match(msg)):
                    continue  # (a done one is about to look at the queue again)
                if tid == me:
                    # Handed over: no queueing, no second match. Inside a data callback the
                    # task resumes when the callback ends (Connection._on_data), else later.
                    del waiters[i]
                    fut._state = 1
                    fut._result = (msg,)
                    pending = _eager.get(me)
                    if pending is None:
                        fut._schedule()
                    else:
                        pending.append(fut)
                    return
                # It waits in another thread's loop: queue the message and wake the waiters there.
                self._messages.append(msg)
                self._waiters = []
                break
            else:
                self._messages.append(msg)  # nobody waits for this one
                return
        finally:
            lock.release()
        _wake(waiters)

    def notify(self) -> None:
        """Wake every waiter so it re-checks its wake condition."""
        with self._lock:
            waiters, self._waiters = self._waiters, []
        _wake(waiters)

    async def receive(self, timeout: float | None = None, match: Match | None = None) -> Any:
        """Remove and return the first message (that ``match`` accepts), waiting up to ``timeout`` s."""
        msg = await self._wait(asyncio.get_running_loop(), match, timeout, None)
        return msg

    async def wait_for(self, match: Match | None, timeout: float | None, wake: Callable[[], bool] | None = None) -> Any:
        """Like ``receive``, but returns ``None`` early when ``wake()`` becomes true."""
        msg = await self._wait(asyncio.get_running_loop(), match, timeout, wake)
        return msg

    async def _wait(
        self,
        loop: asyncio.AbstractEventLoop,
        match: Match | None,
        timeout: float | None,
        wake: Callable[[], bool] | None,
    ) -> Any:
        """``wait_for`` in ``loop``, the running loop (a connection knows its own)."""
        now = loop.time()
        deadline = None if timeout is None else now + timeout
        lock = self._lock
        while True:
            lock.acquire()  # (not `with`: see put)
            try:
                if self._messages:
                    found, msg = self._take(match)
                    if found:
                        return msg
                if wake is not None and wake():
                    return None
                if deadline is not None and now >= deadline:
                    raise Timeout(f"no message within {timeout} s")
                fut = _Wakeup(loop)
                waiter = (loop, fut, _get_ident(), match, deadline)
                self._waiters.append(waiter)
                own_timer = False
                if deadline is not None:
                    timer = self._timer
                    if timer is None or self._timer_at > deadline:
                        if timer is None or self._timer_loop is loop:
                            if timer is not None:
                                timer.cancel()
                            self._arm(loop, deadline)
                        else:  # the timer belongs to another loop: this wait has its own
                            own_timer = True
            finally:
                lock.release()
            try:
                if own_timer:
                    assert deadline is not None
                    handle = loop.call_at(deadline, _resolve, fut)
                    try:
                        got = await fut
                    finally:
                        handle.cancel()
                else:
                    got = await fut
            except BaseException:
                self._withdraw(waiter)
                raise
            if got is not None:
                return got[0]
            if self._waiters:  # woken without a message (wake(), a deadline): no longer waiting
                self._withdraw(waiter)
            now = loop.time()

    def _withdraw(self, waiter: _Waiter) -> None:
        """Forget a waiter that stops waiting; a message handed to it goes back in front."""
        fut = waiter[1]
        with self._lock:
            try:
                self._waiters.remove(waiter)
            except ValueError:
                pass
            if not (fut.done() and not fut.cancelled()):
                return
            got = fut.result()
            if got is None:
                return
            self._messages.appendleft(got[0])  # cancelled after the hand-off: the message stays
            waiters, self._waiters = self._waiters, []
        _wake(waiters)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        """The deadline timer fired: wake the waiters that are due, re-arm for the next one."""
        now = loop.time()
        due: list[_Waiter] = []
        with self._lock:
            self._timer = None
            keep: list[_Waiter] = []
            next_at: float | None = None
            for w in self._waiters:
                at = w[4]
                if w[0] is loop and at is not None:
                    if at <= now:
                        due.append(w)
                        continue
                    if next_at is None or at < next_at:
                        next_at = at
                keep.append(w)
            self._waiters = keep
            if next_at is not None:
                self._arm(loop, next_at)
        for w in due:
            _resolve(w[1])

    def _arm(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        """(Lock held.) Set the deadline timer to fire at ``at`` (loop time) in ``loop``."""
        self._timer = loop.call_at(at, self._expire, loop)
        self._timer_at = at
        self._timer_loop = loop


# (loop, future, thread id of that loop, match, deadline in loop time): a put from the loop's own
# thread resolves the future at once, from another thread through call_soon_threadsafe.
_Waiter = tuple[asyncio.AbstractEventLoop, _Wakeup, int, Match | None, float | None]


def _wake(waiters: list[_Waiter]) -> None:
    me = _get_ident()
    for loop, fut, tid, _, _ in waiters:
        if tid == me:
            if not fut.done():
                fut.set_result(None)
        else:
            loop.call_soon_threadsafe(_resolve, fut)


def _resolve(fut: _Wakeup) -> None:
    if not fut.done():
        fut.set_result(None)


#: What one read may bring: asyncio's own read size for a socket.
_READ_SIZE = 256 * 1024
_read_buffers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, memoryview] = weakref.WeakKeyDictionary()
_read_buffers_lock = threading.Lock()


def _read_buffer(loop: asyncio.AbstractEventLoop) -> memoryview:
    """The buffer the connections of ``loop`` read into: one per loop, since every read is
    copied out of it before the next one starts (``_Proto.buffer_updated``)."""
    with _read_buffers_lock:
        buf = _read_buffers.get(loop)
        if buf is None:
            buf = _read_buffers[loop] = memoryview(bytearray(_READ_SIZE))
        return buf


class _Proto(asyncio.BufferedProtocol):
    """The connection's asyncio protocol. It reads into its loop's buffer (a BufferedProtocol):
    a plain Protocol gets every read as a new bytes object of asyncio's full read size, shrunk to
    what came, and with glibc's malloc such a block can be mmap'd and unmapped on every read
    (system calls and page faults for a 16 B websocket message)."""

    __slots__ = ("buf", "conn", "transport")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.transport: asyncio.Transport | None = None
        self.buf = _read_buffer(conn._loop)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buf

    def buffer_updated(self, nbytes: int) -> None:
        self.conn._on_data(self, self.buf[:nbytes].tobytes())

    def eof_received(self) -> bool | None:
        self.conn._on_data(self, b"")
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.conn._on_lost(self, exc)


class Connection(Engine):
    """A Gun connection driven by an asyncio event loop (see ``gun_io.aio.open``)."""

    def __init__(
        self, host: str, port: int | None, opts: ConnOpts, owner: Mailbox | None = None, *, unix_path: str | None = None
    ) -> None:
        super().__init__(host, port, opts, owner if owner is not None else Mailbox(), unix_path=unix_path)
        self._lock = _NO_LOCK  # type: ignore[assignment]
        self._loop = asyncio.get_running_loop()
        self._proto: _Proto | None = None
        self._attempt = 0
        self._task: asyncio.Task[None] | None = None
        self._io_connect()

    # ------------------------------------------------------------------ I/O hooks

    def _io_connect(self) -> None:
        self._attempt += 1
        self._task = self._loop.create_task(self._connect(self._attempt))

    async def _connect(self, attempt: int) -> None:
        opts = self.opts
        try:
            if self.unix_path is not None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.setblocking(False)
                try:
                    await asyncio.wait_for(self._loop.sock_connect(sock, self.unix_path), opts.connect_timeout)
                except BaseException:
                    sock.close()
                    raise
            else:
                lookup = self._loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
                try:
                    addrs = await asyncio.wait_for(lookup, opts.domain_lookup_timeout)
                except asyncio.TimeoutError:
                    raise TimeoutError(
                        f"domain lookup of {self.host!r} took more than {opts.domain_lookup_timeout} s"
                    ) from None
                sock = await self._connect_any(addrs)
                apply_tcp_opts(sock, opts.tcp_opts)
            ssl_ctx: ssl.SSLContext | None = None
            server_hostname = None
            if opts.transport == "tls":
                ssl_ctx = make_ssl_context(opts.tls_opts, list(opts.protocols))
                if isinstance(opts.tls_opts, dict):
                    server_hostname = opts.tls_opts.get("server_hostname")
                server_hostname = server_hostname or self.host
            proto = _Proto(self)
            try:
                if ssl_ctx is not None:
                    await asyncio.wait_for(
                        self._loop.create_connection(
                            lambda: proto,
                            sock=sock,
                            ssl=ssl_ctx,
                            server_hostname=server_hostname,
                            ssl_handshake_timeout=opts.tls_handshake_timeout,
                        ),
                        opts.tls_handshake_timeout,
                    )
                else:
                    await self._loop.create_connection(lambda: proto, sock=sock)
            except BaseException:
                sock.close()
                raise
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if isinstance(exc, asyncio.TimeoutError) and not isinstance(exc, TimeoutError):
                exc = TimeoutError("TLS handshake timed out")
            self._on_connect_failed(attempt, _reason_for(exc))
            return
        transport = proto.transport
        assert transport is not None
        protocol = opts.protocols[0]
        if ssl_ctx is not None:
            sslobj = transport.get_extra_info("ssl_object")
            alpn = sslobj.selected_alpn_protocol() if sslobj is not None else None
            protocol = ALPN_REVERSE.get(alpn or "", "http")
            if protocol not in opts.protocols:
                transport.abort()
                self._on_connect_failed(
                    attempt, Reason.connection("connect", f"the server selected {alpn!r} by ALPN, not offered")
                )
                return
        with self._lock:
            if attempt != self._attempt or self._state != "connecting":
                transport.abort()
                return
            self._proto = proto
            self._io_paused = False
            self._connected(protocol, transport.get_extra_info("sockname"), transport.get_extra_info("peername"))

    async def _connect_any(self, addrs: list[Any]) -> socket.socket:
        last: BaseException | None = None
        for family, type_, proto, _, addr in addrs:
            sock = socket.socket(family, type_, proto)
            sock.setblocking(False)
            try:
                try:
                    await asyncio.wait_for(self._loop.sock_connect(sock, addr), self.opts.connect_timeout)
                except asyncio.TimeoutError:
                    raise TimeoutError(f"connect to {addr} took more than {self.opts.connect_timeout} s") from None
                return sock
            except OSError as exc:
                sock.close()
                last = exc
            except BaseException:
                sock.close()
                raise
        raise last if last is not None else OSError("no address to connect to")

    def _on_connect_failed(self, attempt: int, reason: Reason) -> None:
        with self._lock:
            if attempt != self._attempt or self._state != "connecting":
                return
            self._connect_failed(reason)

    def _on_data(self, proto: _Proto, data: bytes) -> None:
        if proto is not self._proto:
            return
        # Tasks that get a message from this read resume when it is fully handled, here,
        # rather than one pass of the event loop later (see _Wakeup).
        me = _get_ident()
        outer = _eager.get(me)
        pending: list[_Wakeup] = []
        _eager[me] = pending
        try:
            self._receive(data)
            if not data and proto is self._proto:
                self._transport_lost(Reason.connection("closed", "the server closed the connection"))
        finally:
            if outer is None:
                del _eager[me]
            else:
                _eager[me] = outer
        if not pending:
            return
        if _current_task(self._loop) is not None:  # (not from a loop callback): no task may be stepped now
            for fut in pending:
                fut._schedule()
            return
        for i, fut in enumerate(pending):
            try:
                fut._fire()
            except BaseException:  # KeyboardInterrupt or SystemExit out of a task: the others wake later
                for rest in pending[i + 1 :]:
                    rest._schedule()
                raise

    def _on_lost(self, proto: _Proto, exc: Exception | None) -> None:
        with self._lock:
            if proto is not self._proto:
                return
            reason = (
                Reason.connection("closed", "the server closed the connection")
                if exc is None or isinstance(exc, ConnectionResetError)
                else _reason_for(exc)
            )
            self._transport_lost(reason)

    # No lock to take (see _LoopThreadOnly): the engine's body of ws_send is the whole call.
    ws_send = Engine._ws_send

    def _io_write(self, data: bytes) -> None:
        proto = self._proto
        if proto is not None and proto.transport is not None:
            proto.transport.write(data)

    def _io_close(self) -> None:
        proto = self._proto
        self._proto = None
        if proto is not None and proto.transport is not None:
            proto.transport.close()

    def _io_pause(self, paused: bool) -> None:
        if paused == self._io_paused:
            return
        self._io_paused = paused
        proto = self._proto
        if proto is not None and proto.transport is not None:
            if paused:
                proto.transport.pause_reading()
            else:
                proto.transport.resume_reading()

    def _io_call_later(self, delay: float, fn: Callable[[], None]) -> Any:
        return self._loop.call_later(delay, fn)

    def close(self) -> None:
        """Brutal close: drop the socket and every stream now, without reconnecting."""
        task = self._task
        super().close()
        if task is not None and not task.done():
            task.cancel()

    # ------------------------------------------------------------------ waiting

    async def await_up(self, timeout: float | None = 5.0) -> str:
        """Wait for the connection to be up; return ``"http"`` or ``"http2"``."""
        match = lambda m: type(m) is ev.GunUp and m.conn is self  # noqa: E731
        msg = await self.owner.wait_for(match, timeout, wake=lambda: self._state == "dead")
        if msg is None:
            raise ConnectionDown(self._down_reason)
        protocol: str = msg.protocol
        return protocol

    async def await_(self, ref: StreamRef, timeout: float | None = 5.0) -> Any:
        """The next message of the stream ``ref``; errors become exceptions."""
        # (A coroutine function, not a method returning the wait's coroutine, though that saves
        # a coroutine level: the coroutine may be made in another thread and run in the loop's,
        # as with run_coroutine_threadsafe, and nothing of the connection may be read there.)
        s = self._by_ref.get(ref) if type(ref) is StreamRef else None
        if s is not None and s.await_match is not None:  # a live stream awaited before: most calls
            mailbox, match, wake = s.mailbox, s.await_match, s.await_wake
        else:
            mailbox, match, wake = self._await_args(ref)
        if type(mailbox) is Mailbox:
            msg = await mailbox._wait(self._loop, match, timeout, wake)
        else:
            msg = await mailbox.wait_for(match, timeout, wake)
        if msg is None:
            raise ConnectionDown(self._down_for(ref))
        return self._await_result(ref, msg)

    async def await_body(self, ref: StreamRef, timeout: float | None = 5.0) -> bytes:
        """The whole response body of ``ref`` (the timeout applies to each message)."""
        parts: list[bytes] = []
        while not self._body_step(await self.await_(ref, timeout), parts):
            pass
        return b"".join(parts)

    async def wait_closed(self, timeout: float | None = 5.0) -> None:
        """Wait until the connection is dead (after ``shutdown`` or ``close``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._dead_event.is_set():
            if deadline is not None and time.monotonic() > deadline:
                raise Timeout(f"connection not closed within {timeout} s")
            await asyncio.sleep(0.01)

    def __repr__(self) -> str:
        where = self.unix_path or f"{self.host}:{self.port}"
        return f"<gun_io.aio.Connection #{self._id} {where} {self._state} {self._protocol or '-'}>"


def open(host: str, port: int, opts: Mapping[str, Any] | None = None, *, owner: Mailbox | None = None) -> Connection:
    """Open a connection inside the running event loop; ``GunUp`` follows."""
    from . import _check_host_port

    _check_host_port(host, port)
    return Connection(host, port, check_opts(opts, port), owner)


def open_unix(path: str, opts: Mapping[str, Any] | None = None, *, owner: Mailbox | None = None) -> Connection:
    """Open a connection over a Unix domain socket inside the running event loop."""
    if not isinstance(path, str) or not path:
        raise BadOption(f"path must be a non-empty str, not {path!r}")
    return Connection("localhost", None, check_opts(opts, None, unix=True), owner, unix_path=path)
