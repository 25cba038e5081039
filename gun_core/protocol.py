"""The interface every sans-IO protocol core implements (HTTP/1.1, HTTP/2, Websocket).

Rules shared by every implementation:

* ``receive_data(data)`` takes the bytes read from the socket (``b""`` means the peer
  closed) and returns the events they produced. It never raises because of what the
  peer sent: protocol violations become ``Error``/``Closed`` events.
* After *every* call to ``receive_data`` or to a command method, the driver must call
  ``data_to_send()`` and write what it returns.
* Command methods (``request``, ``data``, ``cancel``...) raise at once for bad input from
  the caller (:class:`~gun_core.errors.UsageError`, :class:`~gun_core.errors.InvalidHeader`)
  and return the events they produced, if any.
* Stream ids in events are the ids returned by ``request`` (or announced by ``Push``);
  they are local handles, unique within one core instance.
* The core never reads a clock. The driver owns the timers named by the options and
  calls ``keepalive()`` / ``timeout(name)`` when they fire.
* ``paused`` tells the driver to stop reading from the socket (flow control towards the
  owner); it becomes false again after ``update_flow``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .events import Event
from .headers import Headers

__all__ = ["CoreProtocol"]


@runtime_checkable
class CoreProtocol(Protocol):
    """What a driver may call on any protocol core."""

    #: ``"http"``, ``"http2"`` or ``"ws"``.
    protocol: str

    @property
    def paused(self) -> bool:
        """Whether the driver should stop reading from the socket for now."""
        ...

    @property
    def closing(self) -> bool:
        """Whether the connection refuses new streams (shutdown, GOAWAY, ``connection: close``)."""
        ...

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes read from the peer (``b""``: the peer closed)."""
        ...

    def data_to_send(self) -> bytes:
        """Return and forget the bytes the driver must write now."""
        ...

    def request(
        self,
        method: bytes,
        path: bytes,
        headers: Headers,
        body: bytes | None,
        *,
        body_follows: bool = False,
        flow: int | None = None,
    ) -> int:
        """Queue a request; return its stream id. ``body_follows``: ``data()`` calls follow."""
        ...

    def data(self, stream_id: int, fin: bool, data: bytes) -> list[Event]:
        """Queue a piece of a request body (or websocket-less stream data)."""
        ...

    def cancel(self, stream_id: int) -> list[Event]:
        """Cancel a stream (HTTP/2: RST_STREAM CANCEL; HTTP/1.1: silence it)."""
        ...

    def update_flow(self, stream_id: int, increment: int) -> list[Event]:
        """Grant ``increment`` more bytes of data events for a stream opened with ``flow``."""
        ...

    def keepalive(self) -> list[Event]:
        """The keepalive timer fired: ping the peer if the protocol has a way to."""
        ...

    def timeout(self, name: str) -> list[Event]:
        """A timer the driver started for this core expired (``"settings"``, ``"closing"``...)."""
        ...

    def close_gracefully(self) -> list[Event]:
        """Start a graceful shutdown: no new streams, finish the current ones, then ``Closed``."""
        ...

    def stream_info(self, stream_id: int) -> dict[str, Any] | None:
        """Information about a stream, or ``None`` if it is unknown or finished."""
        ...

    def active_streams(self) -> list[int]:
        """The ids of the streams still in progress."""
        ...
