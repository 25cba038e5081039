"""Per-stream state of the HTTP/2 client machine.

A stream's state is two half-states, as in cowlib: ``local`` (what we send) and
``remote`` (what the peer sends), each :class:`Half` ``IDLE``, ``NOFIN`` or ``FIN``.
They map onto the RFC 9113 5.1 states:

============  ============  ===========================================
local         remote        RFC 9113 5.1 state
============  ============  ===========================================
IDLE          IDLE          idle (a request still queued by us)
NOFIN         IDLE/NOFIN    open
FIN           IDLE/NOFIN    half-closed (local)
NOFIN         FIN           half-closed (remote)
FIN           FIN           closed
FIN           IDLE          reserved (remote), for a promised push stream
============  ============  ===========================================

A stream also holds its send window, its receive window (:class:`~gun_core.flow.RecvWindow`),
the request body data waiting for window, and what is needed to check the response
(content-length, HEAD, which phase of the response we are in).
"""

from __future__ import annotations

from collections import deque
from enum import Enum
from typing import Any

from .flow import RecvWindow
from .headers import Headers

__all__ = ["Half", "Phase", "Stream"]


class Half(Enum):
    """One direction of a stream: nothing sent yet, sending, or finished (END_STREAM)."""

    IDLE = "idle"
    NOFIN = "nofin"
    FIN = "fin"


class Phase(Enum):
    """Where the response is: waiting for its final status, in the body, or done with trailers."""

    HEADERS = "headers"  # no final response yet (maybe 1xx ones)
    BODY = "body"  # final response received: DATA or trailers may follow
    TRAILERS = "trailers"  # trailers received


_IDLE = Half.IDLE
_NOFIN = Half.NOFIN
_FIN = Half.FIN

_RFC_STATES = {
    (_IDLE, _IDLE): "idle",
    (_NOFIN, _IDLE): "open",
    (_NOFIN, _NOFIN): "open",
    (_FIN, _IDLE): "half-closed (local)",
    (_FIN, _NOFIN): "half-closed (local)",
    (_NOFIN, _FIN): "half-closed (remote)",
    (_IDLE, _FIN): "half-closed (remote)",
    (_FIN, _FIN): "closed",
}


class Stream:
    """One HTTP/2 stream, known by its local ``handle`` and, once started, its ``wire_id``."""

    __slots__ = (
        "authority",
        "body_fin",
        "content_length",
        "handle",
        "head",
        "local",
        "method",
        "pending",
        "phase",
        "protocol",
        "pushed",
        "queue",
        "queued_bytes",
        "received",
        "recv",
        "remote",
        "retries",
        "send_window",
        "sent",
        "status",
        "wire_id",
    )

    def __init__(
        self,
        handle: int,
        method: bytes,
        recv: RecvWindow,
        *,
        authority: bytes = b"",
        pushed: bool = False,
        protocol: bytes | None = None,
    ) -> None:
        self.handle = handle
        self.wire_id = 0  # 0 until the stream starts on the wire
        self.method = method
        self.head = method == b"HEAD"
        self.authority = authority
        self.pushed = pushed
        self.protocol = protocol
        self.local = _FIN if pushed else _IDLE
        self.remote = _IDLE
        self.send_window = 0
        self.recv = recv
        # Request body waiting for window: pieces of bytes/memoryview; body_fin once the
        # caller said the body is complete.
        self.queue: deque[bytes | memoryview] = deque()
        self.queued_bytes = 0
        self.body_fin = False
        # The request's field list (pseudo-headers first), kept so that a request the
        # server refused (REFUSED_STREAM) can be sent again.
        self.pending: Headers | None = None
        self.sent = 0  # body bytes sent so far
        self.retries = 0  # times the request was sent again after REFUSED_STREAM
        self.phase = Phase.HEADERS
        self.status = 0
        self.content_length: int | None = None
        self.received = 0

    @property
    def started(self) -> bool:
        """Whether the stream has a wire id (its HEADERS went out, or it was promised)."""
        return self.wire_id != 0

    def rfc_state(self) -> str:
        """The RFC 9113 5.1 name of the current state."""
        if self.pushed and self.remote is _IDLE:
            return "reserved (remote)"
        return _RFC_STATES[(self.local, self.remote)]

    def info(self) -> dict[str, Any]:
        """What ``stream_info`` reports."""
        return {
            "state": "running" if self.started else "queued",
            "rfc_state": self.rfc_state(),
            "local": self.local.value,
            "remote": self.remote.value,
            "wire_id": self.wire_id or None,
            "pushed": self.pushed,
            "send_window": self.send_window,
            "recv_window": self.recv.available,
            "flow": self.recv.credit,
            "queued_bytes": self.queued_bytes,
        }

    def __repr__(self) -> str:
        return (
            f"Stream(handle={self.handle}, wire_id={self.wire_id}, local={self.local.value}, "
            f"remote={self.remote.value}, send_window={self.send_window}, queued={self.queued_bytes})"
        )
