"""One ``selectors`` loop, in one background thread, serving every sync connection.

As one BEAM scheduler serves many Gun processes, this loop serves every
:class:`gun_io.Connection` of the process: readiness callbacks, a timer heap, and a
queue of calls posted from other threads. No thread or task per request.
"""

from __future__ import annotations

import heapq
import itertools
import os
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from . import trace

__all__ = ["Loop", "TimerHandle", "get_loop"]


class TimerHandle:
    """A scheduled call; ``cancel()`` stops it."""

    __slots__ = ("cancelled", "fn", "seq", "when")

    def __init__(self, when: float, seq: int, fn: Callable[[], None]) -> None:
        self.when = when
        self.seq = seq
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run the call."""
        self.cancelled = True

    def __lt__(self, other: TimerHandle) -> bool:
        return (self.when, self.seq) < (other.when, other.seq)


def _noop(mask: int) -> None:
    pass


class Loop:
    """The selector loop. Its methods are safe to call from any thread."""

    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()
        self._rsock, self._wsock = socket.socketpair()
        self._rsock.setblocking(False)
        self._wsock.setblocking(False)
        self._sel.register(self._rsock, selectors.EVENT_READ, None)
        self._timers: list[TimerHandle] = []
        self._calls: deque[Callable[[], None]] = deque()
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ident: int | None = None  # the loop thread's ident, once it runs
        self._woken = False
        self._pid = os.getpid()
        self._interest: dict[int, tuple[int, Callable[[int], None]]] = {}

    @property
    def thread(self) -> threading.Thread | None:
        """The loop's thread once started."""
        return self._thread

    def in_loop(self) -> bool:
        """Whether the caller runs in the loop thread."""
        return threading.get_ident() == self._ident

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    t = threading.Thread(target=self._run, name="gun-loop", daemon=True)
                    self._thread = t
                    t.start()

    def _wake(self) -> None:
        if self._woken or self.in_loop():
            return
        self._woken = True
        try:
            self._wsock.send(b"\0")
        except (BlockingIOError, InterruptedError):
            pass

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the loop thread, soon."""
        self._ensure_started()
        self._calls.append(fn)
        self._wake()

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle:
        """Run ``fn`` in the loop thread after ``delay`` seconds."""
        self._ensure_started()
        handle = TimerHandle(time.monotonic() + max(0.0, delay), next(self._seq), fn)
        with self._lock:
            heapq.heappush(self._timers, handle)
        self._wake()
        return handle

    def set_interest(self, sock: socket.socket, events: int, callback: Callable[[int], None]) -> None:
        """Watch ``sock`` for ``events`` (0: stop watching).

        Safe from any thread with an epoll or poll selector (the kernel serialises the
        changes); callers outside the loop thread hold the connection's lock.
        """
        fd = sock.fileno()
        if fd < 0:
            return
        current = self._interest.get(fd)
        if events == 0:
            if current is not None:
                del self._interest[fd]
                try:
                    self._sel.unregister(fd)
                except (KeyError, ValueError, OSError):
                    pass
        elif current is None:
            self._interest[fd] = (events, callback)
            self._sel.register(fd, events, callback)
        elif current != (events, callback):
            self._interest[fd] = (events, callback)
            self._sel.modify(fd, events, callback)

    def forget(self, sock: socket.socket) -> None:
        """Stop watching ``sock`` (before it is closed)."""
        fd = sock.fileno()
        if fd >= 0:
            self.set_interest(sock, 0, _noop)

    def _run(self) -> None:
        self._ident = threading.get_ident()
        sel = self._sel
        calls = self._calls
        timers = self._timers
        while True:
            timeout: float | None = None
            if calls:
                timeout = 0
            elif timers:
                timeout = max(0.0, timers[0].when - time.monotonic())
            try:
                ready = sel.select(timeout)
            except OSError:  # a socket closed under us: its callback will notice
                ready = []
            for key, mask in ready:
                cb = key.data
                if cb is None:
                    try:
                        while self._rsock.recv(4096):
                            pass
                    except (BlockingIOError, InterruptedError):
                        pass
                    self._woken = False
                    continue
                self._safe(cb, mask)
            if timers:
                now = time.monotonic()
                due: list[TimerHandle] = []
                with self._lock:
                    while timers and timers[0].when <= now:
                        due.append(heapq.heappop(timers))
                for h in due:
                    if not h.cancelled:
                        self._safe(h.fn)
            n = len(calls)
            for _ in range(n):
                self._safe(calls.popleft())

    @staticmethod
    def _safe(fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # a bug in one connection must not stop every connection
            trace.logger.exception("uncaught error in the gun loop")


_loop: Loop | None = None
_loop_lock = threading.Lock()


def get_loop() -> Loop:
    """The process-wide loop (created on first use, again after a fork)."""
    global _loop
    with _loop_lock:
        if _loop is None or _loop._pid != os.getpid():
            _loop = Loop()
        return _loop
