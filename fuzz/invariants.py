"""The robustness invariants every fuzz target checks, in one place.

* :func:`call` runs a core method on peer input: the core must never raise (an exception
  becomes :class:`InvariantError`, chained to the original).
* :func:`check_event` / :func:`check_reason`: every event is one of the types of
  :mod:`gun_core.events` with well-typed fields; no reason reports an internal error (the
  HTTP/2 and websocket cores catch their own bugs and report them as ``internal error``:
  that is a crash too).
* :class:`Ledger`: per-stream event order (1xx, then the response, then data, then the
  end) and "every started stream ends exactly once": by a fin, a ``Trailers``, an
  ``Error``, a protocol switch, or by being listed in the ``Closed`` event (``killed`` or
  ``unprocessed``); nothing happens after the end; ``Closed`` comes at most once.
* ``check_*_bounds``: the cores' receive buffers and tables stay under the configured limits.

Each check raises :class:`InvariantError` with a message saying what broke.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from gun_core.errors import Reason
from gun_core.events import (
    Closed,
    Data,
    Error,
    Event,
    Inform,
    Notify,
    Push,
    Response,
    SwitchProtocol,
    Trailers,
    Upgrade,
    Ws,
)

__all__ = [
    "EVENT_TYPES",
    "InvariantError",
    "Ledger",
    "call",
    "check_event",
    "check_events",
    "check_http1_bounds",
    "check_http2_bounds",
    "check_reason",
    "check_ws_bounds",
    "ensure",
]

EVENT_TYPES = (Inform, Response, Data, Trailers, Push, Upgrade, Ws, Error, Notify, SwitchProtocol, Closed)

T = TypeVar("T")


class InvariantError(AssertionError):
    """A robustness invariant does not hold: the fuzz input found a bug."""


def ensure(cond: object, message: str) -> None:
    """Raise :class:`InvariantError` with ``message`` unless ``cond``."""
    if not cond:
        raise InvariantError(message)


#: Names of known, reported bugs to let pass during a long fuzz run (``GUN_FUZZ_KNOWN=a,b``), so
#: that the fuzzer can look for new ones meanwhile. Empty by default: every check is strict.
KNOWN = frozenset(filter(None, os.environ.get("GUN_FUZZ_KNOWN", "").split(",")))


def ensure_known(name: str, cond: object, message: str) -> None:
    """:func:`ensure`, unless the known bug ``name`` is tolerated (see :data:`KNOWN`)."""
    if not cond and name not in KNOWN:
        raise InvariantError(f"[{name}] {message}")


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a core method fed with peer input: any exception is a violation of "never raises"."""
    try:
        return fn(*args, **kwargs)
    except InvariantError:
        raise
    except Exception as exc:
        name = getattr(fn, "__qualname__", repr(fn))
        raise InvariantError(f"{name} raised on peer input: {type(exc).__name__}: {exc}") from exc


# --------------------------------------------------------------------------- typing


def _is_headers(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, tuple)
        and len(item) == 2
        and type(item[0]) is bytes
        and type(item[1]) is bytes
        and item[0] != b""
        and item[0] == item[0].lower()
        for item in value
    )


def _is_sid(value: object) -> bool:
    return type(value) is int and value > 0


# Messages the cores put in a reason when they caught an exception of their own.
_INTERNAL = ("INTERNAL_ERROR: internal error", "internal error in the websocket parser")


def check_reason(reason: object, scope: str | None = None) -> None:
    """A well-formed :class:`Reason`, not an internal error of ours."""
    ensure(type(reason) is Reason, f"reason is not a Reason: {reason!r}")
    assert isinstance(reason, Reason)
    ensure(reason.scope in ("stream", "connection"), f"reason scope {reason.scope!r}")
    if scope is not None:
        ensure(reason.scope == scope, f"reason scope {reason.scope!r}, expected {scope!r}: {reason}")
    ensure(isinstance(reason.kind, str) and reason.kind, f"reason kind {reason.kind!r}")
    ensure(isinstance(reason.message, str) and reason.message, f"empty reason message: {reason!r}")
    ensure(reason.code is None or isinstance(reason.code, int), f"reason code {reason.code!r}")
    ensure(
        not reason.message.startswith(_INTERNAL) and reason.kind != "internal_error",
        f"the core caught an exception of its own (a bug): {reason}",
    )


def _check_ws_frame(frame: object) -> None:
    from gun_core.ws import Binary, Close, Ping, Pong, Text

    t = type(frame)
    if t is Text:
        ensure(type(frame.data) is str, f"Text data {type(frame.data)}")  # type: ignore[attr-defined]
    elif t is Binary or t is Ping or t is Pong:
        ensure(type(frame.data) is bytes, f"{t.__name__} data {type(frame.data)}")  # type: ignore[attr-defined]
        if t is not Binary:
            ensure(len(frame.data) <= 125, "control frame payload over 125 bytes")  # type: ignore[attr-defined]
    elif t is Close:
        code = frame.code  # type: ignore[attr-defined]
        ensure(code is None or (type(code) is int or isinstance(code, int)), f"Close code {code!r}")
        ensure(type(frame.reason) is str, "Close reason not str")  # type: ignore[attr-defined]
    else:
        raise InvariantError(f"Ws event carries {frame!r}, not a websocket frame")


def check_event(ev: object) -> None:
    """One event: an event type of :mod:`gun_core.events` with fields of the right types."""
    t = type(ev)
    ensure(t in EVENT_TYPES, f"not a core event: {ev!r}")
    if t is Inform:
        assert isinstance(ev, Inform)
        ensure(_is_sid(ev.stream_id), f"bad stream id {ev!r}")
        ensure(type(ev.status) is int and 100 <= ev.status <= 199 and ev.status != 101, f"Inform status {ev!r}")
        ensure(_is_headers(ev.headers), f"Inform headers {ev.headers!r}")
    elif t is Response:
        assert isinstance(ev, Response)
        ensure(_is_sid(ev.stream_id), f"bad stream id {ev!r}")
        ensure(type(ev.fin) is bool, f"fin {ev!r}")
        ensure(type(ev.status) is int and 200 <= ev.status <= 999, f"Response status {ev!r}")
        ensure(_is_headers(ev.headers), f"Response headers {ev.headers!r}")
    elif t is Data:
        assert isinstance(ev, Data)
        ensure(_is_sid(ev.stream_id), f"bad stream id {ev!r}")
        ensure(type(ev.fin) is bool and type(ev.data) is bytes, f"Data fields {ev!r}")
    elif t is Trailers:
        assert isinstance(ev, Trailers)
        ensure(_is_sid(ev.stream_id) and _is_headers(ev.headers), f"Trailers {ev!r}")
    elif t is Push:
        assert isinstance(ev, Push)
        ensure(_is_sid(ev.stream_id) and _is_sid(ev.new_stream_id), f"Push ids {ev!r}")
        ensure(type(ev.method) is bytes and type(ev.uri) is bytes and _is_headers(ev.headers), f"Push {ev!r}")
    elif t is Upgrade:
        assert isinstance(ev, Upgrade)
        ensure(_is_sid(ev.stream_id) and _is_headers(ev.headers), f"Upgrade {ev!r}")
        ensure(isinstance(ev.protocols, list) and all(type(p) is str for p in ev.protocols), f"Upgrade {ev!r}")
    elif t is Ws:
        assert isinstance(ev, Ws)
        ensure(_is_sid(ev.stream_id), f"bad stream id {ev!r}")
        _check_ws_frame(ev.frame)
    elif t is Error:
        assert isinstance(ev, Error)
        ensure(ev.stream_id is None or _is_sid(ev.stream_id), f"bad stream id {ev!r}")
        check_reason(ev.reason)
    elif t is Notify:
        assert isinstance(ev, Notify)
        ensure(type(ev.event) is str and ev.event, f"Notify {ev!r}")
    elif t is SwitchProtocol:
        assert isinstance(ev, SwitchProtocol)
        ensure(_is_sid(ev.stream_id) and type(ev.protocol) is str, f"SwitchProtocol {ev!r}")
        ensure_known("switch-without-upgrade", ev.protocol, f"SwitchProtocol names no protocol: {ev!r}")
        ensure(type(ev.status) is int and _is_headers(ev.headers), f"SwitchProtocol {ev!r}")
        ensure(type(ev.trailing) is bytes, f"SwitchProtocol trailing {type(ev.trailing)}")
    else:
        assert isinstance(ev, Closed)
        check_reason(ev.reason, "connection")
        for ids in (ev.killed, ev.unprocessed):
            ensure(isinstance(ids, tuple) and all(_is_sid(i) for i in ids), f"Closed ids {ev!r}")


def check_events(events: object) -> list[Event]:
    """The result of a core call: a list of well-typed events."""
    ensure(type(events) is list, f"a core returned {type(events).__name__}, not a list of events")
    assert isinstance(events, list)
    for ev in events:
        check_event(ev)
    return events


# --------------------------------------------------------------------------- stream accounting

_PENDING = "pending"  # no final response yet
_BODY = "body"  # the response head came, the body is arriving
_WS = "ws"  # an open websocket stream
_DONE = "done"  # ended by fin, trailers or a switch
_FAILED = "failed"  # ended by an Error
_CANCELLED = "cancelled"  # cancelled by the caller: no more events (but see SwitchProtocol)


class _Stream:
    __slots__ = ("body", "connect", "head", "length", "state", "status", "uploads")

    def __init__(self, method: bytes, state: str, uploads: bool = False) -> None:
        self.uploads = uploads
        self.head = method == b"HEAD"
        self.connect = method == b"CONNECT"
        self.state = state
        self.length: int | None = None
        self.body = 0
        self.status = 0


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    values = [v for n, v in headers if n == b"content-length"]
    if len(values) != 1 or not values[0].strip().isdigit():
        return None
    return int(values[0].strip())


class Ledger:
    """Follows the events of one connection and checks that every stream ends exactly once.

    ``start(sid)`` registers a stream when ``request`` returns it (pushes are registered by
    their ``Push`` event). ``feed(events)`` checks each event against the stream's state.
    ``finish()`` at the very end: the connection must be over (``Closed``, or switched to
    another protocol) and every stream accounted for. ``strict_head``: a HEAD or 204/304
    response must come with ``fin`` (HTTP/1.1 framing, RFC 9112 6.3).
    """

    def __init__(self, *, strict_head: bool = False) -> None:
        self.streams: dict[int, _Stream] = {}
        self.closed: Closed | None = None
        self.switched: SwitchProtocol | None = None
        self.strict_head = strict_head
        self.events: list[Event] = []

    @property
    def over(self) -> bool:
        """The connection is finished (closed or handed to another protocol)."""
        return self.closed is not None or self.switched is not None

    def start(self, sid: int, method: bytes = b"GET", *, ws: bool = False, uploads: bool = False) -> None:
        """A new stream; ``uploads``: its request body may still be going out after its response ended
        (HTTP/2, RFC 9113 8.1), so an ``Error`` (a reset of the upload) or a ``killed`` listing in ``Closed``
        may follow its fin, as in Gun."""
        ensure(sid not in self.streams, f"stream id {sid} returned twice")
        self.streams[sid] = _Stream(method, _WS if ws else _PENDING, uploads)

    def cancel(self, sid: int) -> None:
        """The caller cancelled ``sid``: no event may follow for it, and no listing."""
        s = self.streams.get(sid)
        if s is not None and s.state not in (_DONE, _FAILED):
            s.state = _CANCELLED

    def open_ids(self) -> list[int]:
        return [sid for sid, s in self.streams.items() if s.state not in (_DONE, _FAILED, _CANCELLED)]

    def _get(self, sid: int, ev: Event) -> _Stream:
        s = self.streams.get(sid)
        ensure(s is not None, f"event for a stream never started: {ev!r}")
        assert s is not None
        ensure(s.state not in (_DONE, _FAILED, _CANCELLED), f"event after the stream ended ({s.state}): {ev!r}")
        return s

    def _end_body(self, s: _Stream, ev: Event) -> None:
        if s.length is not None and not s.head and s.status not in (204, 304):
            ensure(s.body == s.length, f"body of {s.body} bytes but content-length {s.length}: {ev!r}")
        s.state = _DONE

    def feed(self, events: Iterable[Event]) -> None:
        for ev in events:
            self._one(ev)

    def _one(self, ev: Event) -> None:
        self.events.append(ev)
        ensure(not self.over, f"event after the connection ended: {ev!r}")
        t = type(ev)
        if t is Inform:
            assert isinstance(ev, Inform)
            s = self._get(ev.stream_id, ev)
            ensure(s.state == _PENDING, f"1xx after the final response: {ev!r}")
        elif t is Response:
            assert isinstance(ev, Response)
            s = self._get(ev.stream_id, ev)
            ensure(s.state == _PENDING, f"second response: {ev!r}")
            s.status = ev.status
            s.length = _content_length(ev.headers)
            if self.strict_head and (s.head or ev.status in (204, 304)):
                ensure(ev.fin, f"a response to HEAD, or a 204/304, has a body: {ev!r}")
            if ev.fin:
                if s.connect and 200 <= ev.status <= 299:
                    s.state = _DONE
                else:
                    self._end_body(s, ev)
            else:
                s.state = _BODY
        elif t is Data:
            assert isinstance(ev, Data)
            s = self._get(ev.stream_id, ev)
            ensure(s.state == _BODY, f"data before the response: {ev!r}")
            ensure(ev.fin or ev.data, f"an empty Data event that does not end the stream: {ev!r}")
            s.body += len(ev.data)
            if ev.fin:
                self._end_body(s, ev)
        elif t is Trailers:
            assert isinstance(ev, Trailers)
            s = self._get(ev.stream_id, ev)
            ensure(s.state == _BODY, f"trailers before the response: {ev!r}")
            self._end_body(s, ev)
        elif t is Push:
            assert isinstance(ev, Push)
            self._get(ev.stream_id, ev)
            self.start(ev.new_stream_id, ev.method)
        elif t is Ws:
            assert isinstance(ev, Ws)
            s = self._get(ev.stream_id, ev)
            ensure(s.state == _WS, f"websocket frame on a stream that is not a websocket: {ev!r}")
        elif t is Error:
            assert isinstance(ev, Error)
            if ev.stream_id is not None:
                uploading = self.streams.get(ev.stream_id)
                if uploading is not None and uploading.uploads and uploading.state == _DONE:
                    # The response was complete but the request body was still going out (RFC 9113
                    # 8.1): a reset other than NO_ERROR fails the upload, after the response's fin.
                    uploading.state = _FAILED
                else:
                    s = self._get(ev.stream_id, ev)
                    s.state = _FAILED
        elif t is SwitchProtocol:
            assert isinstance(ev, SwitchProtocol)
            switched = self.streams.get(ev.stream_id)
            ensure(switched is not None, f"switch of a stream never started: {ev!r}")
            assert switched is not None
            s = switched
            if s.state == _CANCELLED:
                # The switch concerns the whole connection: the driver must see it even for a
                # cancelled stream (HTTP/1.1 documents "no event" for cancelled streams otherwise).
                pass
            elif ev.protocol == "tunnel":  # CONNECT: Response(fin=True) came first
                ensure(s.state == _DONE and 200 <= s.status <= 299, f"tunnel without a 2xx response: {ev!r}")
            else:
                ensure(s.state == _PENDING and ev.status == 101, f"switch of a stream in state {s.state}: {ev!r}")
            s.state = _DONE
            for sid in self.open_ids():
                raise InvariantError(f"stream {sid} left open by the protocol switch {ev!r}")
            self.switched = ev
        elif t is Closed:
            assert isinstance(ev, Closed)
            listed = list(ev.killed) + list(ev.unprocessed)
            ensure(len(set(listed)) == len(listed), f"a stream listed twice in {ev!r}")
            for sid in listed:
                listed_stream = self.streams.get(sid)
                ensure(listed_stream is not None, f"{ev!r} lists stream {sid}, never started")
                assert listed_stream is not None
                s = listed_stream
                ensure(
                    s.state != _CANCELLED and (s.state != _DONE or (s.uploads and sid in ev.killed)),
                    f"{ev!r} lists stream {sid}, which had completed",
                )
                if sid in ev.unprocessed:
                    ensure_known(
                        "unprocessed-after-response",
                        s.state == _PENDING,
                        f"{ev!r}: stream {sid} got a response, it cannot be unprocessed",
                    )
                s.state = _FAILED
            for sid in self.open_ids():
                raise InvariantError(f"stream {sid} never ended and is not listed in {ev!r}")
            self.closed = ev

    def finish(self) -> None:
        """The end of the input: the connection is over and every stream accounted for."""
        ensure(self.over, "the connection is not over after the peer closed it")
        for sid in self.open_ids():
            raise InvariantError(f"stream {sid} never ended")


# --------------------------------------------------------------------------- bounds


def check_http1_bounds(core: Any) -> None:
    """The HTTP/1.1 receive buffer holds at most one unfinished header/trailer block or chunk line."""
    from gun_core.http1 import _HEAD
    from gun_core.http1_body import MAX_CHUNK_LINE

    if core._closed or core.paused:
        return
    unread = len(core._rb)
    opts = core._opts
    if core._phase == _HEAD:
        bound = opts.max_header_block_size + 3
        what = "max_header_block_size"
    else:
        bound = max(MAX_CHUNK_LINE, opts.max_trailer_block_size) + 4
        what = "max_trailer_block_size / MAX_CHUNK_LINE"
    ensure(unread <= bound, f"HTTP/1.1 buffer holds {unread} unparsed bytes, over {bound} ({what})")


def check_http2_bounds(core: Any) -> None:
    """HTTP/2: one partial frame buffered, bounded field blocks, HPACK table, reset and ping memory, windows."""
    from gun_core.http2 import MAX_OUTSTANDING_PINGS, MAX_RECENT_RESETS, MAX_RESERVED_PUSHES

    opts = core._opts
    n = len(core._buf)
    ensure(n <= 9 + opts.max_frame_size_received, f"HTTP/2 buffer holds {n} bytes, more than one frame")
    block = core._block
    if block is not None:
        ensure(
            len(block.buf) <= opts.max_header_list_size,
            f"a field block of {len(block.buf)} bytes is buffered, over max_header_list_size",
        )
    table = core._decoder.header_table
    limit = max(4096, opts.max_decode_table_size)
    ensure(table._current_size <= limit, f"HPACK table of {table._current_size} bytes, over {limit}")
    ensure(len(core._reset) <= MAX_RECENT_RESETS, "too many remembered resets")
    ensure(len(core._keepalive_pings) <= MAX_OUTSTANDING_PINGS, "too many keepalive pings remembered")
    ensure(len(core._user_pings) <= MAX_OUTSTANDING_PINGS, "too many user pings remembered")
    ensure(0 <= core._push_reserved <= MAX_RESERVED_PUSHES, f"reserved pushes {core._push_reserved}")
    if not core._closed:
        ensure(core._conn_recv.available >= 0, f"connection receive window {core._conn_recv.available} < 0")
        for s in core._streams.values():
            ensure(s.recv.available >= 0, f"stream {s.handle} receive window {s.recv.available} < 0")


def check_ws_bounds(core: Any) -> None:
    """Websocket: at most a partial header plus a control frame buffered; messages within max_message_size."""
    limit = core.opts.max_message_size
    if not core.paused:
        unread = len(core._buf) - core._pos
        ensure(unread < 14 + 125, f"websocket buffer holds {unread} unparsed bytes")
    ensure(core._msg_size <= limit, f"message of {core._msg_size} bytes kept, over max_message_size {limit}")
    kept = sum(len(p) for p in core._parts)
    ensure(kept <= limit, f"{kept} bytes of message parts kept, over max_message_size {limit}")


def check_message_sizes(events: Iterable[Event], limit: int) -> None:
    """Every delivered websocket message is within ``max_message_size``."""
    from gun_core.ws import Binary, Text

    for ev in events:
        if type(ev) is Ws and type(ev.frame) in (Text, Binary):
            size = len(ev.frame.data.encode("utf-8")) if type(ev.frame) is Text else len(ev.frame.data)
            ensure(size <= limit, f"a {size}-byte message was delivered, over max_message_size {limit}")
