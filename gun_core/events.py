"""Core events (keyed by stream id) and the Gun messages the drivers deliver.

The sans-IO core emits the events in the first half of this module; a driver maps
each one to the matching ``Gun*`` message (adding ``conn`` and a ``StreamRef``)
through a single table. All are frozen, slotted dataclasses: match them with ``match``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import Reason

__all__ = [
    "Closed",
    "Data",
    "Error",
    "Event",
    "GunData",
    "GunDown",
    "GunError",
    "GunInform",
    "GunNotify",
    "GunPush",
    "GunResponse",
    "GunTrailers",
    # messages
    "GunUp",
    "GunUpgrade",
    "GunWs",
    # core events
    "Inform",
    "Message",
    "Notify",
    "Push",
    "Response",
    "SwitchProtocol",
    "Trailers",
    "Upgrade",
    "Ws",
]

Headers = list[tuple[bytes, bytes]]


def _short(data: bytes | str, limit: int = 40) -> str:
    if len(data) <= limit:
        return repr(data)
    return f"{data[:limit]!r}...<{len(data)} total>"


# --------------------------------------------------------------------------- core events


@dataclass(frozen=True, slots=True)
class Inform:
    """A 1xx informational response (not 101)."""

    stream_id: int
    status: int
    headers: Headers


@dataclass(frozen=True, slots=True)
class Response:
    """The final response status and headers."""

    stream_id: int
    fin: bool
    status: int
    headers: Headers


@dataclass(frozen=True, slots=True)
class Data:
    """A piece of a response body."""

    stream_id: int
    fin: bool
    data: bytes

    def __repr__(self) -> str:
        return f"Data(stream_id={self.stream_id}, fin={self.fin}, data={_short(self.data)})"


@dataclass(frozen=True, slots=True)
class Trailers:
    """Trailer fields; they end the response."""

    stream_id: int
    headers: Headers


@dataclass(frozen=True, slots=True)
class Push:
    """A server push (HTTP/2 PUSH_PROMISE) on ``stream_id`` announcing ``new_stream_id``."""

    stream_id: int
    new_stream_id: int
    method: bytes
    uri: bytes
    headers: Headers


@dataclass(frozen=True, slots=True)
class Upgrade:
    """A successful protocol upgrade (websocket) of a stream."""

    stream_id: int
    protocols: list[str]
    headers: Headers


@dataclass(frozen=True, slots=True)
class Ws:
    """A websocket frame received on a stream."""

    stream_id: int
    frame: Any


@dataclass(frozen=True, slots=True)
class Error:
    """An error; ``stream_id`` is ``None`` for a connection-wide error."""

    stream_id: int | None
    reason: Reason


@dataclass(frozen=True, slots=True)
class Notify:
    """Something the owner may want to know (``settings_changed``, ``ping_ack``...)."""

    event: str
    value: Any


@dataclass(frozen=True, slots=True)
class SwitchProtocol:
    """HTTP/1.1 answered 101: the driver must replace the core with ``protocol``.

    ``trailing`` holds the bytes already received after the 101 response; the new
    core must be fed them first.
    """

    stream_id: int
    protocol: str
    status: int
    headers: Headers
    trailing: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Closed:
    """The connection is finished (peer closed, fatal error, or graceful end).

    The driver closes the socket and reports ``GunDown``. ``killed`` are the streams
    that were active and did not complete; ``unprocessed`` the ones the server provably
    did not process.
    """

    reason: Reason
    killed: tuple[int, ...] = ()
    unprocessed: tuple[int, ...] = ()


Event = Inform | Response | Data | Trailers | Push | Upgrade | Ws | Error | Notify | SwitchProtocol | Closed


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class GunUp:
    """The connection (or reconnection) is up with ``protocol`` (``"http"``/``"http2"``)."""

    conn: Any
    protocol: str


@dataclass(frozen=True, slots=True)
class GunDown:
    """The connection went down; the driver may reconnect (``retry``)."""

    conn: Any
    protocol: str
    reason: Any
    killed_streams: list[Any]
    unprocessed_streams: list[Any]


@dataclass(frozen=True, slots=True)
class GunNotify:
    """A notification about the connection."""

    conn: Any
    event: str
    value: Any


@dataclass(frozen=True, slots=True)
class GunInform:
    """A 1xx informational response."""

    conn: Any
    stream_ref: Any
    status: int
    headers: Headers


@dataclass(frozen=True, slots=True)
class GunResponse:
    """The response status line and headers."""

    conn: Any
    stream_ref: Any
    fin: bool
    status: int
    headers: Headers


@dataclass(frozen=True, slots=True)
class GunData:
    """A piece of a response body."""

    conn: Any
    stream_ref: Any
    fin: bool
    data: bytes

    def __repr__(self) -> str:
        return f"GunData(stream_ref={self.stream_ref!r}, fin={self.fin}, data={_short(self.data)})"


@dataclass(frozen=True, slots=True)
class GunTrailers:
    """Response trailers; they end the response."""

    conn: Any
    stream_ref: Any
    headers: Headers


@dataclass(frozen=True, slots=True)
class GunPush:
    """A pushed response announced on ``stream_ref``; it arrives on ``new_stream_ref``."""

    conn: Any
    stream_ref: Any
    new_stream_ref: Any
    method: bytes
    uri: bytes
    headers: Headers


@dataclass(frozen=True, slots=True)
class GunUpgrade:
    """The stream was upgraded (to websocket)."""

    conn: Any
    stream_ref: Any
    protocols: list[str]
    headers: Headers


@dataclass(frozen=True, slots=True)
class GunWs:
    """A websocket frame."""

    conn: Any
    stream_ref: Any
    frame: Any


@dataclass(frozen=True, slots=True)
class GunError:
    """An error; ``stream_ref`` is ``None`` for a connection-wide error."""

    conn: Any
    stream_ref: Any
    reason: Any


Message = (
    GunUp
    | GunDown
    | GunNotify
    | GunInform
    | GunResponse
    | GunData
    | GunTrailers
    | GunPush
    | GunUpgrade
    | GunWs
    | GunError
)
