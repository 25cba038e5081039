"""The owner's mailbox: messages in arrival order, received selectively (an Erlang receive).

``Mailbox`` is for threads: ``receive`` blocks. ``gun_io.aio.Mailbox`` has the same
surface with a coroutine ``receive``. Both accept messages from any thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from gun_core.errors import Timeout

__all__ = ["Mailbox", "Match"]

Match = Callable[[Any], bool]


class _BaseMailbox:
    """Storage and matching shared by the sync and asyncio mailboxes."""

    __slots__ = ("_lock", "_messages")

    def __init__(self) -> None:
        self._messages: deque[Any] = deque()  # never replaced (the sync driver looks at it)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._messages)

    def _take(self, match: Match | None) -> tuple[bool, Any]:
        """Remove and return the first message that matches (caller holds the lock)."""
        msgs = self._messages
        if not msgs:
            return False, None
        if match is None:
            return True, msgs.popleft()
        for i, msg in enumerate(msgs):
            if match(msg):
                del msgs[i]
                return True, msg
        return False, None

    def _peek(self, match: Match) -> tuple[bool, Any]:
        for msg in self._messages:
            if match(msg):
                return True, msg
        return False, None

    def take(self, match: Match | None) -> tuple[bool, Any]:
        """Remove and return ``(True, msg)`` for the first match, or ``(False, None)``; never waits."""
        lock = self._lock
        lock.acquire()  # (acquire/release rather than `with`: on every message's path, and cheaper)
        try:
            return self._take(match)
        finally:
            lock.release()

    def peek(self, match: Match) -> Any | None:
        """The first message that matches, left in place, or ``None``."""
        with self._lock:
            return self._peek(match)[1]

    def drop(self, match: Match) -> int:
        """Remove every message that matches; return how many."""
        with self._lock:
            msgs = self._messages  # changed in place: it is the same deque for the mailbox's life
            keep = [m for m in msgs if not match(m)]
            n = len(msgs) - len(keep)
            if n:
                msgs.clear()
                msgs.extend(keep)
            return n

    def messages(self) -> list[Any]:
        """A snapshot of the messages waiting, oldest first."""
        with self._lock:
            return list(self._messages)


class Mailbox(_BaseMailbox):
    """A thread-safe mailbox with blocking selective receive."""

    __slots__ = ("_cond", "_sleepers")

    def __init__(self) -> None:
        super().__init__()
        self._cond = threading.Condition(self._lock)
        self._sleepers = 0  # threads blocked in the condition (a pumping wait is not one of them)

    def put(self, msg: Any) -> None:
        """Deliver a message (from any thread)."""
        lock = self._lock
        lock.acquire()  # (not `with`: see take)
        try:
            self._messages.append(msg)
            if self._sleepers:
                self._cond.notify_all()
        finally:
            lock.release()

    def _sleep(self, timeout: float | None) -> None:
        """Block in the condition (the lock held) until a put or a notify, or ``timeout``."""
        self._sleepers += 1
        try:
            self._cond.wait(timeout)
        finally:
            self._sleepers -= 1

    def receive(self, timeout: float | None = None, match: Match | None = None) -> Any:
        """Remove and return the first message (that ``match`` accepts), waiting up to ``timeout`` s.

        Raises :class:`gun_core.errors.Timeout` when nothing matching arrives in time.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                found, msg = self._take(match)
                if found:
                    return msg
                if deadline is None:
                    self._sleep(None)
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise Timeout(f"no message within {timeout} s")
                    self._sleep(left)

    def wait_for(self, match: Match, timeout: float | None, wake: Callable[[], bool] | None = None) -> Any:
        """Like ``receive`` but also returns ``None`` early when ``wake()`` becomes true."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                found, msg = self._take(match)
                if found:
                    return msg
                if wake is not None and wake():
                    return None
                if deadline is None:
                    self._sleep(1.0 if wake is not None else None)
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise Timeout(f"no message within {timeout} s")
                    self._sleep(min(left, 1.0) if wake is not None else left)

    def notify(self) -> None:
        """Wake every waiter so it re-checks its wake condition."""
        with self._cond:
            self._cond.notify_all()
