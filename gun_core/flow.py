"""HTTP/2 flow-control window arithmetic and the WINDOW_UPDATE policy (RFC 9113 5.2, 6.9).

Send side: a window is a plain ``int`` (it may go negative after the peer lowers
SETTINGS_INITIAL_WINDOW_SIZE, RFC 9113 6.9.2); :func:`add_window` applies an increment
and refuses a result above 2^31-1, :func:`sendable` says how much may go in one frame.

Receive side: :class:`RecvWindow` tracks how much the peer may still send and decides
when to open the window again. It never sends one WINDOW_UPDATE per DATA frame: an
update is due only once the open window has fallen to half of its target (or less), and
then it tops the window back up to the target in one go. With an owner credit (the
``flow`` request option) the target is further capped by the credit the owner has left.
"""

from __future__ import annotations

__all__ = ["DEFAULT_WINDOW", "MAX_WINDOW", "RecvWindow", "add_window", "sendable"]

#: RFC 9113 6.9.1: a flow-control window must not exceed 2^31-1 octets.
MAX_WINDOW = 2**31 - 1
#: RFC 9113 6.9.2: the initial window of streams and of the connection.
DEFAULT_WINDOW = 65535


def add_window(window: int, increment: int) -> int | None:
    """Return ``window + increment``, or ``None`` when it would exceed 2^31-1 (RFC 9113 6.9.1)."""
    new = window + increment
    return None if new > MAX_WINDOW else new


def sendable(stream_window: int, conn_window: int, max_frame_size: int, pending: int) -> int:
    """How many of ``pending`` bytes may go out in the next DATA frame (0 when blocked)."""
    n = min(stream_window, conn_window, max_frame_size, pending)
    return n if n > 0 else 0


class RecvWindow:
    """The receive window of one stream or of the connection.

    ``available`` is what the peer may still send. ``target`` is the size we keep the
    window at. ``credit`` (``None`` = unlimited) is how many more bytes the owner agreed
    to receive; it goes down as data is delivered and up with :meth:`grant`.
    """

    __slots__ = ("available", "credit", "target")

    def __init__(self, available: int, target: int, credit: int | None = None) -> None:
        self.available = available
        self.target = target
        self.credit = credit

    def consume(self, size: int) -> bool:
        """The peer sent ``size`` flow-controlled bytes; ``False`` when that exceeds the window."""
        self.available -= size
        return self.available >= 0

    def delivered(self, size: int) -> None:
        """``size`` bytes of data went to the owner: they use up owner credit."""
        if self.credit is not None:
            self.credit -= size

    def grant(self, increment: int) -> None:
        """The owner allows ``increment`` more bytes (``update_flow``)."""
        if self.credit is not None:
            self.credit += increment

    def limit(self) -> int:
        """The window size we are willing to offer right now."""
        credit = self.credit
        if credit is None or credit >= self.target:
            return self.target
        return credit if credit > 0 else 0

    def take_update(self) -> int:
        """Return the WINDOW_UPDATE increment to send now (0 for none) and count it as sent.

        An update is due when the open window is at most half of what we are willing to
        offer; it restores the window to that amount.
        """
        limit = self.limit()
        available = self.available
        if available > limit >> 1:
            return 0
        increment = limit - available
        if increment <= 0:
            return 0
        self.available = limit
        return increment
