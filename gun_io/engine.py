"""What both drivers share: options, stream refs, the event-to-message table, lifecycle.

An :class:`Engine` owns one protocol core at a time and everything around it that
is not I/O: the map between core stream ids and :class:`StreamRef` objects, the
requests queued while the connection is not up, the translation of core events into
``Gun*`` messages, protocol switches (HTTP/1.1 to websocket), and the decisions of
the reconnect policy. A driver subclass supplies the I/O hooks (``_io_*``).
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from gun_core import accel
from gun_core import events as ev
from gun_core.errors import BadOption, ConnectionDown, ConnectionFailure, Reason, StreamError, UsageError
from gun_core.headers import BAD_TARGET, HeadersIn, has_header, normalize_headers, to_bytes
from gun_core.options import (
    Http1Opts,
    Http2Opts,
    WsOpts,
    check_http2_opts,
    check_http_opts,
    check_int,
    check_timeout,
    check_ws_opts,
)
from gun_core.protocol import CoreProtocol
from gun_core.ws import Binary, Text

from . import trace
from .retry import RetryFun, default_retry_fun, next_retry
from .transport import check_tcp_opts, check_tls_opts

__all__ = ["ConnOpts", "Engine", "StreamRef", "check_opts"]

_OPT_KEYS = {
    "connect_timeout",
    "domain_lookup_timeout",
    "tls_handshake_timeout",
    "transport",
    "tls_opts",
    "tcp_opts",
    "protocols",
    "retry",
    "retry_timeout",
    "retry_fun",
    "trace",
    "cookie_store",
    "http_opts",
    "http2_opts",
    "ws_opts",
}
_REQ_OPT_KEYS = {"reply_to", "flow", "invalid_request_headers"}
_NO_OPTS: Mapping[str, Any] = MappingProxyType({})
_MAX_DEAD_REFS = 4096

# The messages of the hot paths (GunWs, GunResponse, GunData) are made by setting their slots
# directly, as the generated __init__ of the frozen dataclass does, minus the cost of its call.
_make_gunws = accel.slot_builder(ev.GunWs, ("conn", "stream_ref", "frame"))
_make_data = accel.slot_builder(ev.GunData, ("conn", "stream_ref", "fin", "data"))
_make_response = accel.slot_builder(ev.GunResponse, ("conn", "stream_ref", "fin", "status", "headers"))


class StreamRef:
    """An opaque, hashable handle on one stream (Gun's stream reference)."""

    __slots__ = ("_n",)
    _counter = itertools.count(1)

    def __init__(self) -> None:
        self._n = next(StreamRef._counter)

    def __repr__(self) -> str:
        return f"<StreamRef #{self._n}>"


@dataclass(frozen=True, slots=True)
class ConnOpts:
    """The checked connection options."""

    transport: str
    protocols: tuple[str, ...]
    connect_timeout: float | None = None
    domain_lookup_timeout: float | None = None
    tls_handshake_timeout: float | None = None
    tls_opts: Any = None
    tcp_opts: dict[str, Any] = field(default_factory=dict)
    retry: int = 5
    retry_timeout: float = 5.0
    retry_fun: RetryFun = default_retry_fun
    trace: bool = False
    cookie_store: Any = None
    http: Http1Opts = field(default_factory=Http1Opts)
    http2: Http2Opts = field(default_factory=Http2Opts)
    ws: WsOpts = field(default_factory=WsOpts)
    raw: Mapping[str, Any] = field(default_factory=dict)


def check_opts(opts: Mapping[str, Any] | None, port: int | None, *, unix: bool = False) -> ConnOpts:
    """Validate the ``open`` options; raise :class:`BadOption` for anything unknown or ill-typed."""
    if opts is None:
        opts = {}
    if not isinstance(opts, Mapping):
        raise BadOption(f"opts must be a dict, not {type(opts).__name__}")
    for key in opts:
        if key not in _OPT_KEYS:
            raise BadOption(f"unknown option {key!r}; known: {', '.join(sorted(_OPT_KEYS))}")
    transport = opts.get("transport", "tls" if port == 443 and not unix else "tcp")
    if transport not in ("tcp", "tls"):
        raise BadOption(f"transport must be 'tcp' or 'tls', not {transport!r}")
    default_protocols = ["http2", "http"] if transport == "tls" else ["http"]
    protocols = opts.get("protocols", default_protocols)
    if isinstance(protocols, (str, bytes)) or not isinstance(protocols, (list, tuple)) or not protocols:
        raise BadOption(f"protocols must be a non-empty list of 'http' and 'http2', not {protocols!r}")
    for p in protocols:
        if p not in ("http", "http2"):
            raise BadOption(f"unknown protocol {p!r} in protocols; use 'http' or 'http2'")
    if len(set(protocols)) != len(protocols):
        raise BadOption(f"protocols lists a protocol twice: {protocols!r}")
    if transport == "tcp" and len(protocols) != 1:
        raise BadOption("over tcp, protocols must hold exactly one protocol (no ALPN without TLS)")
    retry_fun = opts.get("retry_fun", default_retry_fun)
    if not callable(retry_fun):
        raise BadOption(f"retry_fun must be callable, not {retry_fun!r}")
    trace_on = opts.get("trace", False)
    if not isinstance(trace_on, bool):
        raise BadOption(f"trace must be True or False, not {trace_on!r}")
    cookie_store = opts.get("cookie_store")
    if cookie_store is not None and not (
        hasattr(cookie_store, "cookie_header") and hasattr(cookie_store, "add_response")
    ):
        raise BadOption("cookie_store must have cookie_header() and add_response() (see gun_io.cookies)")
    retry_timeout = check_timeout("retry_timeout", opts.get("retry_timeout", 5.0), allow_none=False)
    assert retry_timeout is not None
    return ConnOpts(
        transport=transport,
        protocols=tuple(protocols),
        connect_timeout=check_timeout("connect_timeout", opts.get("connect_timeout")),
        domain_lookup_timeout=check_timeout("domain_lookup_timeout", opts.get("domain_lookup_timeout")),
        tls_handshake_timeout=check_timeout("tls_handshake_timeout", opts.get("tls_handshake_timeout")),
        tls_opts=check_tls_opts(opts.get("tls_opts")),
        tcp_opts=check_tcp_opts(opts.get("tcp_opts")),
        retry=check_int("retry", opts.get("retry", 5), 0) or 0,
        retry_timeout=retry_timeout,
        retry_fun=retry_fun,
        trace=trace_on,
        cookie_store=cookie_store,
        http=check_http_opts(opts.get("http_opts")),
        http2=check_http2_opts(opts.get("http2_opts")),
        ws=check_ws_opts(opts.get("ws_opts")),
        raw=dict(opts),
    )


def _check_req_opts(opts: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if opts is None:
        return {}
    if not isinstance(opts, Mapping):
        raise BadOption(f"request opts must be a dict, not {type(opts).__name__}")
    for key in opts:
        if key not in _REQ_OPT_KEYS:
            raise BadOption(f"unknown request option {key!r}; known: {', '.join(sorted(_REQ_OPT_KEYS))}")
    flow = opts.get("flow")
    if flow is not None:
        check_int("flow", flow, 0)
    irh = opts.get("invalid_request_headers")
    if irh not in (None, "ignore", "raise"):
        raise BadOption(f"invalid_request_headers must be 'ignore' or 'raise', not {irh!r}")
    return opts


@dataclass(slots=True)
class _Stream:
    """What the engine knows of one stream."""

    ref: StreamRef
    mailbox: Any
    method: bytes = b""
    path: bytes = b""
    kind: str = "http"  # "http" | "ws" | "push"
    ws_key: bytes | None = None
    ws_opts: WsOpts | None = None
    core_id: int | None = None
    authority: bytes = b""
    ws_core: Any = None  # the websocket core of an RFC 8441 stream, once upgraded
    ws_half_closed: bool = False
    await_match: Any = None  # the match and wake functions of await_ for this stream, made once
    await_wake: Any = None


@dataclass(slots=True)
class _Pending:
    """A command received while the connection was not up."""

    stream: _Stream
    call: Callable[[], None]


class Engine:
    """The protocol-independent part of a connection; drivers add the I/O."""

    #: the mailbox type of the driver (set by subclasses)
    _mailbox_type: type[Any]

    def __init__(self, host: str, port: int | None, opts: ConnOpts, owner: Any, *, unix_path: str | None = None):
        self._lock = threading.RLock()
        self.host = host
        self.port = port
        self.unix_path = unix_path
        self.opts = opts
        self.owner = owner
        self._id = next(_conn_ids)
        self._core: CoreProtocol | None = None
        self._protocol: str | None = None  # "http" | "http2" | "ws" when up
        self._state = "connecting"  # connecting | up | down | closing | dead
        self._retries = opts.retry
        self._by_core: dict[int, _Stream] = {}
        self._by_ref: dict[StreamRef, _Stream] = {}
        self._pending: list[_Pending] = []
        self._dead_refs: OrderedDict[StreamRef, Any] = OrderedDict()
        self._down_reason: Any = None
        self._timers: dict[str, Any] = {}
        self._shutdown_requested = False
        self.sockname: Any = None
        self.peername: Any = None
        self._ws_ref: StreamRef | None = None
        self._io_paused = False  # the driver stopped reading (flow control): kept by _io_pause
        self._dead_event = threading.Event()
        self._h2_settings_seen = False
        self._h2_wait_settings: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ I/O hooks (drivers)

    def _io_write(self, data: bytes) -> None:
        raise NotImplementedError

    def _io_close(self) -> None:
        raise NotImplementedError

    def _io_pause(self, paused: bool) -> None:
        """Stop (True) or resume (False) reading from the socket; sets ``_io_paused``."""
        raise NotImplementedError

    def _io_call_later(self, delay: float, fn: Callable[[], None]) -> Any:
        raise NotImplementedError

    def _io_connect(self) -> None:
        raise NotImplementedError

    def _mailboxes(self) -> list[Any]:
        """The owner and every mailbox a live stream reports to, once each."""
        mailboxes = {id(self.owner): self.owner}
        for s in self._by_ref.values():
            mailboxes[id(s.mailbox)] = s.mailbox
        return list(mailboxes.values())

    def _io_wake_waiters(self) -> None:
        """Wake threads or tasks waiting on mailboxes so they see a state change."""
        for m in self._mailboxes():
            notify = getattr(m, "notify", None)
            if notify is not None:
                notify()

    # ------------------------------------------------------------------ helpers

    @property
    def _scheme(self) -> bytes:
        return b"https" if self.opts.transport == "tls" else b"http"

    def _authority(self) -> bytes:
        host = self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        default = 443 if self.opts.transport == "tls" else 80
        if self.unix_path is not None or self.port in (None, default):
            return host.encode("idna") if not host.isascii() else host.encode()
        return f"{host}:{self.port}".encode()

    def _trace(self, what: str, item: Any) -> None:
        if self.opts.trace:
            trace.trace_event(self._id, what, item)

    def _timer(self, name: str, delay: float | None, fn: Callable[[], None]) -> None:
        self._cancel_timer(name)
        if delay is None:
            return

        def fire() -> None:
            with self._lock:
                self._timers.pop(name, None)
                fn()

        self._timers[name] = self._io_call_later(delay, fire)

    def _cancel_timer(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _cancel_all_timers(self) -> None:
        for name in list(self._timers):
            self._cancel_timer(name)

    def _flush_out(self) -> None:
        core = self._core
        if core is None:
            return
        out = core.data_to_send()
        if out:
            self._write_out(out)

    def _write_out(self, out: bytes) -> None:
        if self.opts.trace:
            trace.trace_bytes(self._id, ">>", out)
        self._io_write(out)

    def _deliver(self, mailbox: Any, msg: Any) -> None:
        self._trace("message", msg)
        mailbox.put(msg)

    # ------------------------------------------------------------------ lifecycle (driver callbacks)

    def _connected(self, protocol: str, sockname: Any = None, peername: Any = None) -> None:
        """The transport is up and ``protocol`` was selected: build the core, announce GunUp."""
        self.sockname, self.peername = sockname, peername
        self._retries = self.opts.retry
        if protocol == "http2":
            from gun_core.http2 import Http2Protocol

            self._core = Http2Protocol(self._authority(), self._scheme, self.opts.http2)
            h2 = self.opts.http2
            self._timer("settings", h2.settings_timeout, lambda: self._core_call(lambda c: c.timeout("settings")))
            self._timer("preface", h2.preface_timeout, lambda: self._core_call(lambda c: c.timeout("preface")))
            keepalive = h2.keepalive
        else:
            from gun_core.http1 import Http1Protocol

            self._core = Http1Protocol(self._authority(), self.opts.http)
            keepalive = self.opts.http.keepalive
        self._protocol = protocol
        self._state = "up"
        self._start_keepalive(keepalive)
        self._flush_out()
        self._deliver(self.owner, ev.GunUp(self, protocol))
        pending, self._pending = self._pending, []
        for p in pending:
            try:
                p.call()
            except UsageError as exc:
                # What only the protocol the server chose can refuse (the call could not tell
                # before it was known): that stream fails, the connection and the others go on.
                # (Its later queued commands find no stream in the core and do nothing.)
                self._refuse_queued(p.stream, exc)
        if self._shutdown_requested:
            self._begin_shutdown()

    def _refuse_queued(self, s: _Stream, exc: UsageError) -> None:
        """A command queued while connecting was refused by the core: fail its stream."""
        self._forget_stream(s)
        reason = Reason.stream("badarg", f"refused by {self._protocol}: {exc}")
        self._deliver(s.mailbox, ev.GunError(self, s.ref, reason))

    def _start_keepalive(self, interval: float | None) -> None:
        if interval is None or interval <= 0:
            self._cancel_timer("keepalive")
            return

        def tick() -> None:
            if self._core is not None and self._state in ("up", "closing"):
                self._core_call(lambda c: c.keepalive())
                self._timer("keepalive", interval, tick)

        self._timer("keepalive", interval, tick)

    def _connect_failed(self, reason: Reason) -> None:
        """A connection attempt failed: retry or give up."""
        self._trace("connect_failed", reason)
        self._down_reason = reason
        self._schedule_retry(reason, first=False)

    def _schedule_retry(self, reason: Any, *, first: bool) -> None:
        if self._shutdown_requested or self._state == "dead":
            self._give_up(reason)
            return
        if self._retries <= 0:
            self._give_up(reason)
            return
        try:
            self._retries, delay = next_retry(self.opts.retry_fun, self._retries, self.opts.raw)
        except Exception as exc:  # a bad retry_fun from the caller: give up loudly
            self._give_up(Reason.connection("retry_fun", f"retry_fun failed: {exc!r}"))
            return
        self._state = "down"
        if first:
            delay = 0.0
        self._timer("retry", delay, self._reconnect)

    def _reconnect(self) -> None:
        if self._state != "down":
            return
        self._state = "connecting"
        self._io_connect()

    def _give_up(self, reason: Any) -> None:
        """No more attempts: fail every queued stream and mark the connection dead."""
        self._state = "dead"
        self._down_reason = reason
        self._dead_event.set()
        self._cancel_all_timers()
        pending, self._pending = self._pending, []
        for p in pending:
            self._mark_dead(p.stream.ref, reason)
            self._deliver(p.stream.mailbox, ev.GunError(self, p.stream.ref, reason))
        self._io_wake_waiters()

    def _mark_dead(self, ref: StreamRef, reason: Any) -> None:
        self._dead_refs[ref] = reason
        while len(self._dead_refs) > _MAX_DEAD_REFS:
            self._dead_refs.popitem(last=False)

    def _transport_lost(self, reason: Reason) -> None:
        """The socket failed or was closed under us (not through a core ``Closed``)."""
        if self._core is not None and self._state in ("up", "closing"):
            events = self._core.receive_data(b"")
            self._handle_events(events)
            if self._core is not None and self._state in ("up", "closing"):
                # The core did not report Closed: do it for it.
                killed = tuple(self._core.active_streams())
                self._down(reason, killed, ())

    def _down(self, reason: Any, killed_ids: tuple[int, ...], unprocessed_ids: tuple[int, ...]) -> None:
        """The connection went down: report GunDown, then reconnect or give up."""
        protocol = self._protocol or "http"
        self._cancel_all_timers()
        self._io_close()
        killed = [s.ref for i in killed_ids if (s := self._by_core.get(i)) is not None]
        unprocessed = [s.ref for i in unprocessed_ids if (s := self._by_core.get(i)) is not None]
        listed = set(killed) | set(unprocessed)
        # Streams the core did not list but that never finished are killed too: nothing is lost.
        for s in self._by_core.values():
            if s.ref not in listed:
                killed.append(s.ref)
        for ref in killed + unprocessed:
            self._mark_dead(ref, reason)
            s = self._by_ref.get(ref)
            if s is not None and s.mailbox is not self.owner:
                # Other mailboxes do not get GunDown: tell them through an error.
                self._deliver(s.mailbox, ev.GunError(self, ref, reason))
        self._by_core.clear()
        self._by_ref.clear()
        self._core = None
        self._protocol = None
        self._ws_ref = None
        self._down_reason = reason
        self._deliver(self.owner, ev.GunDown(self, protocol, reason, killed, unprocessed))
        if self._shutdown_requested or self._state == "dead":
            self._give_up(reason)
        else:
            self._schedule_retry(reason, first=True)
        self._io_wake_waiters()

    # ------------------------------------------------------------------ bytes from the peer

    def _receive(self, data: bytes) -> None:
        """Bytes arrived (``b""``: the peer closed)."""
        core = self._core
        if core is None:
            return
        if self.opts.trace:
            trace.trace_bytes(self._id, "<<", data)
        self._core_done(core.receive_data(data))

    def _core_call(self, fn: Callable[[CoreProtocol], list[Any]]) -> None:
        core = self._core
        if core is None:
            return
        self._core_done(fn(core))

    def _core_done(self, events: list[Any]) -> None:
        """After a call into the core: write what it has to send, deliver its events, and stop
        or resume reading as its flow control says."""
        core = self._core
        if core is not None:
            out = core.data_to_send()  # (_flush_out, without the call: this is on every read)
            if out:
                self._write_out(out)
        if events:
            self._handle_events(events)
        core = self._core
        if core is not None:
            paused = core.paused
            if paused != self._io_paused:
                self._io_pause(paused)

    def _handle_events(self, events: list[Any]) -> None:
        by_core = self._by_core
        trace_on = self.opts.trace
        for e in events:
            if trace_on:
                self._trace("event", e)
            t = type(e)
            if t is ev.Ws:  # first: an echo or a stream of messages is nothing else
                s = by_core.get(e.stream_id)
                if s is not None:
                    s.mailbox.put(_make_gunws(self, s.ref, e.frame))
            elif t is ev.Data:
                s = by_core.get(e.stream_id)
                if s is not None:
                    if s.ws_core is not None:
                        self._h2_ws_data(s, e.data, e.fin)
                        continue
                    if e.fin:
                        self._end_stream(e.stream_id)
                    s.mailbox.put(_make_data(self, s.ref, e.fin, e.data))
            elif t is ev.Response:
                s = by_core.get(e.stream_id)
                if s is not None:
                    if s.kind == "ws" and self._protocol == "http2" and self._h2_ws_response(s, e):
                        continue
                    if self.opts.cookie_store is not None:
                        self._store_cookies(s, e.headers)
                    if e.fin:
                        self._end_stream(e.stream_id)
                    s.mailbox.put(_make_response(self, s.ref, e.fin, e.status, e.headers))
            elif t is ev.Inform:
                s = by_core.get(e.stream_id)
                if s is not None:
                    s.mailbox.put(ev.GunInform(self, s.ref, e.status, e.headers))
            elif t is ev.Trailers:
                s = by_core.get(e.stream_id)
                if s is not None:
                    self._end_stream(e.stream_id)
                    s.mailbox.put(ev.GunTrailers(self, s.ref, e.headers))
            elif t is ev.Error:
                if e.stream_id is None:
                    self._deliver(self.owner, ev.GunError(self, None, e.reason))
                else:
                    s = by_core.get(e.stream_id)
                    if s is not None:
                        self._end_stream(e.stream_id)
                        self._deliver(s.mailbox, ev.GunError(self, s.ref, e.reason))
            elif t is ev.Push:
                s = by_core.get(e.stream_id)
                if s is not None:
                    new = _Stream(StreamRef(), s.mailbox, e.method, e.uri, kind="push", core_id=e.new_stream_id)
                    by_core[e.new_stream_id] = new
                    self._by_ref[new.ref] = new
                    s.mailbox.put(ev.GunPush(self, s.ref, new.ref, e.method, e.uri, e.headers))
            elif t is ev.Upgrade:
                s = by_core.get(e.stream_id)
                if s is not None:
                    self._deliver(s.mailbox, ev.GunUpgrade(self, s.ref, e.protocols, e.headers))
            elif t is ev.Notify:
                if e.event == "settings_changed" and not self._h2_settings_seen:
                    self._h2_settings_seen = True
                    waiting, self._h2_wait_settings = self._h2_wait_settings, []
                    for call in waiting:
                        call()
                self._deliver(self.owner, ev.GunNotify(self, e.event, e.value))
            elif t is ev.SwitchProtocol:
                self._switch_protocol(e)
            elif t is ev.Closed:
                self._down(e.reason, e.killed, e.unprocessed)
                return

    def _end_stream(self, core_id: int) -> None:
        s = self._by_core.pop(core_id, None)
        if s is not None and s.kind != "ws":
            self._by_ref.pop(s.ref, None)

    def _store_cookies(self, s: _Stream, headers: list[tuple[bytes, bytes]]) -> None:
        try:
            self.opts.cookie_store.add_response(self._scheme.decode(), self.host, s.path.decode("latin-1"), headers)
        except Exception as exc:  # a broken cookie store must not break the connection
            self._trace("cookie_store_error", exc)

    def _switch_protocol(self, e: ev.SwitchProtocol) -> None:
        """HTTP/1.1 answered 101: validate the websocket handshake and swap the core."""
        from gun_core import ws_handshake
        from gun_core.ws import WsProtocol

        s = self._by_core.get(e.stream_id)
        if s is None or s.kind != "ws" or s.ws_opts is None:
            reason = Reason.connection("protocol_error", "unexpected 101 Switching Protocols (RFC 9110 15.2.2)")
            self._down(reason, tuple(self._by_core), ())
            return
        result = ws_handshake.check_response(s.ws_key, e.status, e.headers, s.ws_opts)
        if isinstance(result, Reason):
            self._by_core.pop(e.stream_id, None)
            self._deliver(s.mailbox, ev.GunError(self, s.ref, result))
            self._down(result, (), tuple(self._by_core))
            return
        core = WsProtocol(e.stream_id, s.ws_opts, result)
        self._core = core
        self._protocol = "ws"
        self._ws_ref = s.ref
        self._start_keepalive(s.ws_opts.keepalive)
        self._deliver(s.mailbox, ev.GunUpgrade(self, s.ref, ["websocket"], e.headers))
        if e.trailing:
            self._receive(e.trailing)

    # ------------------------------------------------------------------ commands from the caller

    def _new_stream(self, opts: Mapping[str, Any], method: bytes, path: bytes) -> _Stream:
        mailbox = opts.get("reply_to")
        if mailbox is None:
            mailbox = self.owner
        if not hasattr(mailbox, "put"):
            raise BadOption(f"reply_to must be a Mailbox, not {mailbox!r}")
        return _Stream(StreamRef(), mailbox, method, path)

    def _run_or_queue(self, s: _Stream, call: Callable[[], None]) -> None:
        if self._state == "dead":
            reason = self._down_reason or Reason.connection("closed", "the connection is closed")
            self._mark_dead(s.ref, reason)
            self._deliver(s.mailbox, ev.GunError(self, s.ref, reason))
        elif self._state in ("connecting", "down"):
            self._pending.append(_Pending(s, call))
        else:
            call()

    def _not_accepting(self, s: _Stream) -> bool:
        core = self._core
        if core is None or core.closing or self._state == "closing":
            reason = Reason.stream("closing", "the connection is closing and takes no new streams")
            self._deliver(s.mailbox, ev.GunError(self, s.ref, reason))
            return True
        return False

    def request(
        self,
        method: str | bytes,
        path: str | bytes,
        headers: HeadersIn = (),
        body: bytes | bytearray | memoryview | str | None = None,
        opts: Mapping[str, Any] | None = None,
    ) -> StreamRef:
        """Send a request; a body follows with ``data()`` when ``body`` is None and the
        headers announce one (``content-length`` or ``content-type``)."""
        ropts = _check_req_opts(opts) if opts is not None else _NO_OPTS
        if type(method) is bytes:
            bmethod = method
        else:
            bmethod = to_bytes(method, "method").upper() if isinstance(method, str) else bytes(method)
        bpath = path if type(path) is bytes else to_bytes(path, "path")
        if not bpath or BAD_TARGET.search(bpath):
            raise UsageError(f"invalid request path {bpath!r}")
        if headers:
            hdrs = normalize_headers(headers, validate=ropts.get("invalid_request_headers") != "ignore")
        else:
            hdrs = []
        bbody: bytes | None
        if body is None:
            bbody = None
        elif isinstance(body, str):
            bbody = body.encode("utf-8")
        else:
            bbody = bytes(body)
        body_follows = (
            bbody is None and bool(hdrs) and (has_header(hdrs, b"content-length") or has_header(hdrs, b"content-type"))
        )
        flow = ropts.get("flow")
        with self._lock:
            s = self._new_stream(ropts, bmethod, bpath)
            if self.opts.cookie_store is not None and not has_header(hdrs, b"cookie"):
                try:
                    cookie = self.opts.cookie_store.cookie_header(
                        self._scheme.decode(), self.host, bpath.decode("latin-1")
                    )
                except Exception:
                    cookie = None
                if cookie:
                    hdrs.append((b"cookie", to_bytes(cookie)))
            if self._state == "up":
                self._start_request(s, hdrs, bbody, body_follows, flow)
            else:
                self._run_or_queue(s, lambda: self._start_request(s, hdrs, bbody, body_follows, flow))
            return s.ref

    def _start_request(
        self, s: _Stream, hdrs: list[tuple[bytes, bytes]], body: bytes | None, body_follows: bool, flow: int | None
    ) -> None:
        """Hand a request to the core (the connection is up, or coming up with it queued)."""
        if self._not_accepting(s):
            return
        core = self._core
        assert core is not None
        if self._protocol == "ws":
            reason = Reason.stream("badstate", "the connection was upgraded to websocket")
            self._deliver(s.mailbox, ev.GunError(self, s.ref, reason))
            return
        cid = core.request(s.method, s.path, hdrs, body, body_follows=body_follows, flow=flow)
        s.core_id = cid
        self._by_core[cid] = s
        self._by_ref[s.ref] = s
        self._flush_out()

    def headers(
        self, method: str | bytes, path: str | bytes, headers: HeadersIn = (), opts: Mapping[str, Any] | None = None
    ) -> StreamRef:
        """Send the request headers only; the body follows with ``data()``."""
        hdrs = normalize_headers(headers, validate=(opts or {}).get("invalid_request_headers") != "ignore")
        if not (has_header(hdrs, b"content-length") or has_header(hdrs, b"content-type")):
            hdrs.append((b"content-type", b"application/octet-stream"))
        return self.request(method, path, hdrs, None, opts)

    def get(self, path: str | bytes, headers: HeadersIn = (), opts: Mapping[str, Any] | None = None) -> StreamRef:
        """GET a resource."""
        return self.request(b"GET", path, headers, None, opts)

    def head(self, path: str | bytes, headers: HeadersIn = (), opts: Mapping[str, Any] | None = None) -> StreamRef:
        """HEAD: the headers a GET would give, without the body."""
        return self.request(b"HEAD", path, headers, None, opts)

    def options(self, path: str | bytes, headers: HeadersIn = (), opts: Mapping[str, Any] | None = None) -> StreamRef:
        """OPTIONS of a resource (``"*"`` for the server)."""
        return self.request(b"OPTIONS", path, headers, None, opts)

    def delete(self, path: str | bytes, headers: HeadersIn = (), opts: Mapping[str, Any] | None = None) -> StreamRef:
        """DELETE a resource."""
        return self.request(b"DELETE", path, headers, None, opts)

    def post(
        self, path: str | bytes, headers: HeadersIn = (), body: Any = None, opts: Mapping[str, Any] | None = None
    ) -> StreamRef:
        """POST; with ``body=None`` a body follows by ``data()`` if the headers announce one."""
        return self.request(b"POST", path, headers, body, opts)

    def put(
        self, path: str | bytes, headers: HeadersIn = (), body: Any = None, opts: Mapping[str, Any] | None = None
    ) -> StreamRef:
        """PUT; with ``body=None`` a body follows by ``data()`` if the headers announce one."""
        return self.request(b"PUT", path, headers, body, opts)

    def patch(
        self, path: str | bytes, headers: HeadersIn = (), body: Any = None, opts: Mapping[str, Any] | None = None
    ) -> StreamRef:
        """PATCH; with ``body=None`` a body follows by ``data()`` if the headers announce one."""
        return self.request(b"PATCH", path, headers, body, opts)

    def data(self, ref: StreamRef, fin: bool, data: bytes | bytearray | memoryview | str) -> None:
        """Stream a piece of a request body; ``fin`` ends it."""
        if not isinstance(fin, bool):
            raise UsageError(f"fin must be True or False, not {fin!r}")
        bdata = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        with self._lock:
            s = self._stream_for(ref)
            if s is None:
                return

            def call() -> None:
                sid = s.core_id
                if sid is None or self._core is None or self._by_core.get(sid) is not s:
                    return
                self._core_call(lambda c: c.data(sid, fin, bdata))

            self._run_or_queue_existing(s, call)

    def _stream_for(self, ref: StreamRef) -> _Stream | None:
        if not isinstance(ref, StreamRef):
            raise UsageError(f"not a StreamRef: {ref!r}")
        s = self._by_ref.get(ref)
        if s is None:
            for p in self._pending:
                if p.stream.ref is ref:
                    return p.stream
        return s

    def _run_or_queue_existing(self, s: _Stream, call: Callable[[], None]) -> None:
        if self._state in ("connecting", "down") and any(p.stream is s for p in self._pending):
            self._pending.append(_Pending(s, call))
        elif self._state != "dead":
            call()

    def cancel(self, ref: StreamRef) -> None:
        """Cancel a stream: HTTP/2 resets it; HTTP/1.1 silences it."""
        with self._lock:
            s = self._stream_for(ref)
            if s is None:
                return
            self._pending = [p for p in self._pending if p.stream is not s]
            self._forget_stream(s)

    def _forget_stream(self, s: _Stream) -> None:
        """(Lock held.) Drop a stream: the core cancels it if it has it; no message follows."""
        self._by_ref.pop(s.ref, None)
        sid = s.core_id
        if sid is not None and self._by_core.get(sid) is s:
            self._by_core.pop(sid, None)
            self._core_call(lambda c: c.cancel(sid))

    def update_flow(self, ref: StreamRef, increment: int) -> None:
        """Grant ``increment`` more bytes of data messages to a stream opened with ``flow``."""
        check_int("increment", increment, 1)
        with self._lock:
            s = self._stream_for(ref)
            if s is None or s.core_id is None:
                return
            sid = s.core_id
            self._core_call(lambda c: c.update_flow(sid, increment))

    def ping(self) -> bytes | None:
        """Send an HTTP/2 PING; ``GunNotify(conn, "ping_ack", payload)`` answers it."""
        with self._lock:
            core = self._core
            if core is None or self._protocol != "http2":
                raise UsageError("ping() needs an HTTP/2 connection that is up")
            payload: bytes = core.ping()  # type: ignore[attr-defined]
            self._flush_out()
            return payload

    def ws_upgrade(
        self, path: str | bytes, headers: HeadersIn = (), opts: Mapping[str, Any] | None = None
    ) -> StreamRef:
        """Ask to upgrade to websocket; ``GunUpgrade`` or a ``GunResponse`` refusal follows."""
        from gun_core import ws_handshake

        base = self.opts.ws
        merged: dict[str, Any] = {}
        for f in ("compress", "protocols", "keepalive", "silence_pings", "closing_timeout", "max_message_size", "flow"):
            merged[f] = getattr(base, f)
        reply_to = None
        if opts:
            if not isinstance(opts, Mapping):
                raise BadOption(f"ws_upgrade opts must be a dict, not {type(opts).__name__}")
            o = dict(opts)
            reply_to = o.pop("reply_to", None)
            merged.update(o)
        merged["protocols"] = list(merged["protocols"])
        wsopts = check_ws_opts(merged)
        bpath = to_bytes(path, "path")
        if not bpath or BAD_TARGET.search(bpath):
            raise UsageError(f"invalid websocket path {bpath!r}")
        hdrs = normalize_headers(headers)
        with self._lock:
            s = self._new_stream({"reply_to": reply_to} if reply_to is not None else {}, b"GET", bpath)
            s.kind = "ws"
            s.ws_opts = wsopts

            def call() -> None:
                if self._not_accepting(s):
                    return
                core = self._core
                assert core is not None
                if self._protocol == "http2":
                    self._h2_ws_start(s, hdrs)
                    return
                if self._protocol != "http":
                    reason = Reason.stream(
                        "badstate", f"websocket upgrade needs an HTTP/1.1 or HTTP/2 connection, not {self._protocol}"
                    )
                    self._deliver(s.mailbox, ev.GunError(self, s.ref, reason))
                    return
                key = ws_handshake.new_key()
                s.ws_key = key
                user = [(n, v) for n, v in hdrs if n not in (b"connection", b"upgrade")]
                all_headers = user + ws_handshake.upgrade_headers(key, wsopts)
                cid = core.request(b"GET", bpath, all_headers, None, upgrade=True)  # type: ignore[call-arg]
                s.core_id = cid
                self._by_core[cid] = s
                self._by_ref[s.ref] = s
                self._flush_out()

            self._run_or_queue(s, call)
            return s.ref

    def ws_send(self, ref: StreamRef, frames: Any) -> None:
        """Send one websocket frame or a list of them on an upgraded stream."""
        lock = self._lock
        lock.acquire()  # (not `with`: on every message's path, and a `with` costs twice as much)
        try:
            self._ws_send(ref, frames)
        finally:
            lock.release()

    def _ws_send(self, ref: StreamRef, frames: Any) -> None:
        """Send one websocket frame or a list of them on an upgraded stream.

        The body of ``ws_send``, run with the lock held; a driver without a lock (asyncio) has
        it as its ``ws_send``."""
        t = type(frames)
        core = self._core
        if ref is self._ws_ref and (t is Binary or t is Text) and core is not None and not self.opts.trace:
            # The common case, a data message on the upgraded connection: it neither starts
            # the closing handshake nor makes events, so straight to the core and the socket.
            self._io_write(core.message_bytes(frames))  # type: ignore[attr-defined]
            return
        s = self._stream_for(ref)
        if s is None or s.kind != "ws":
            raise UsageError(f"{ref!r} is not an upgraded websocket stream")
        if s.ws_core is not None:
            self._h2_ws_send(s, frames)
            return
        if self._protocol != "ws" or self._ws_ref is not ref or s.core_id is None:
            raise UsageError(f"{ref!r} is not an upgraded websocket stream (not up)")
        self._core_call(lambda c: c.send(frames))  # type: ignore[attr-defined]
        core = self._core
        if core is not None and core.closing and "closing" not in self._timers:
            # We sent a Close: the peer has closing_timeout to answer (RFC 6455 7.1.1).
            wsopts = s.ws_opts or self.opts.ws

            def expire() -> None:
                self._core_call(lambda c: c.timeout("closing"))

            self._timer("closing", wsopts.closing_timeout, expire)

    # ------------------------------------------------------------------ websocket over HTTP/2 (RFC 8441)

    def _h2_ws_start(self, s: _Stream, hdrs: list[tuple[bytes, bytes]]) -> None:
        from gun_core import ws_handshake

        if not self._h2_settings_seen:
            self._h2_wait_settings.append(lambda: self._h2_ws_start(s, hdrs))
            return
        core: Any = self._core
        if core is None or not core.peer_settings.get("enable_connect_protocol"):
            reason = Reason.stream(
                "badstate", "the server did not enable extended CONNECT, so no websocket over HTTP/2 (RFC 8441 3)"
            )
            self._deliver(s.mailbox, ev.GunError(self, s.ref, reason))
            return
        assert s.ws_opts is not None
        user = [(n, v) for n, v in hdrs if n not in (b"connection", b"upgrade")]
        all_headers = user + ws_handshake.upgrade_headers(None, s.ws_opts, http2=True)
        cid = core.request(b"CONNECT", s.path, all_headers, None, body_follows=True, protocol=b"websocket")
        s.core_id = cid
        self._by_core[cid] = s
        self._by_ref[s.ref] = s
        self._flush_out()

    def _h2_ws_response(self, s: _Stream, e: ev.Response) -> bool:
        """Handle the answer to an extended CONNECT; False lets a refusal through as a response."""
        from gun_core import ws_handshake
        from gun_core.ws import WsProtocol

        if s.ws_core is not None or not 200 <= e.status < 300 or s.ws_opts is None or s.core_id is None:
            return False
        result = ws_handshake.check_response(None, e.status, e.headers, s.ws_opts)
        if isinstance(result, Reason):
            self._end_stream(s.core_id)
            sid = s.core_id
            self._core_call(lambda c: c.cancel(sid))
            self._deliver(s.mailbox, ev.GunError(self, s.ref, result))
            return True
        s.ws_core = WsProtocol(s.core_id, s.ws_opts, result)
        self._deliver(s.mailbox, ev.GunUpgrade(self, s.ref, ["websocket"], e.headers))
        return True

    def _h2_ws_events(self, s: _Stream, events: list[Any]) -> None:
        wcore = s.ws_core
        sid = s.core_id
        out = wcore.data_to_send()
        finished = any(type(x) is ev.Closed for x in events)
        # Our Close is the last thing we send (RFC 6455 5.5.1), so it carries END_STREAM,
        # the orderly end of the tunnel (RFC 8441 4).
        half_close = finished or (wcore.closing and not s.ws_half_closed)
        if sid is not None and self._core is not None and self._by_core.get(sid) is s and not s.ws_half_closed:
            if out or half_close:
                s.ws_half_closed = half_close
                self._core_call(lambda c: c.data(sid, half_close, out))
        for x in events:
            t = type(x)
            if t is ev.Ws:
                s.mailbox.put(ev.GunWs(self, s.ref, x.frame))
            elif t is ev.Error:
                self._deliver(
                    s.mailbox, ev.GunError(self, s.ref, Reason.stream(x.reason.kind, x.reason.message, x.reason.code))
                )
        if finished and sid is not None:
            s.ws_core = None
            self._by_core.pop(sid, None)
            self._by_ref.pop(s.ref, None)

    def _h2_ws_data(self, s: _Stream, data: bytes, fin: bool) -> None:
        wcore = s.ws_core
        events = wcore.receive_data(data) if data else []
        if fin and not any(type(x) is ev.Closed for x in events):
            events += wcore.receive_data(b"")
        self._h2_ws_events(s, events)

    def _h2_ws_send(self, s: _Stream, frames: Any) -> None:
        self._h2_ws_events(s, s.ws_core.send(frames))

    def info(self) -> dict[str, Any]:
        """What is known of the connection."""
        with self._lock:
            return {
                "owner": self.owner,
                "state": self._state,
                "transport": self.opts.transport if self.unix_path is None else "unix",
                "protocol": self._protocol,
                "origin_scheme": self._scheme.decode(),
                "origin_host": self.host,
                "origin_port": self.port,
                "unix_path": self.unix_path,
                "sockname": self.sockname,
                "peername": self.peername,
                "cookie_store": self.opts.cookie_store,
            }

    def stream_info(self, ref: StreamRef) -> dict[str, Any] | None:
        """What is known of a stream, or ``None`` once it is finished or unknown."""
        with self._lock:
            s = self._stream_for(ref)
            if s is None:
                return None
            info: dict[str, Any] = {
                "ref": s.ref,
                "reply_to": s.mailbox,
                "state": "running" if s.core_id is not None else "queued",
                "kind": s.kind,
                "method": s.method,
                "path": s.path,
                "protocol": self._protocol,
            }
            if s.core_id is not None and self._core is not None:
                core_info = self._core.stream_info(s.core_id)
                if core_info:
                    info.update({k: v for k, v in core_info.items() if k not in info or k == "state"})
            return info

    def set_owner(self, mailbox: Any) -> None:
        """Send connection messages (and streams without ``reply_to``) to ``mailbox`` from now on."""
        if not hasattr(mailbox, "put"):
            raise BadOption(f"owner must be a Mailbox, not {mailbox!r}")
        with self._lock:
            old = self.owner
            self.owner = mailbox
            for s in self._by_ref.values():
                if s.mailbox is old:
                    s.mailbox = mailbox
            for p in self._pending:
                if p.stream.mailbox is old:
                    p.stream.mailbox = mailbox

    def shutdown(self) -> None:
        """Graceful close: finish the streams in progress, then close (``closing_timeout``)."""
        with self._lock:
            self._shutdown_requested = True
            if self._state == "up":
                self._begin_shutdown()
            elif self._state in ("connecting", "down"):
                if not self._pending:
                    self._cancel_all_timers()
                    self._give_up(Reason.connection("normal", "shutdown"))

    def _begin_shutdown(self) -> None:
        self._state = "closing"
        if self._protocol == "http2":
            timeout = self.opts.http2.closing_timeout
        elif self._protocol == "ws":
            timeout = self.opts.ws.closing_timeout
        else:
            timeout = self.opts.http.closing_timeout

        def expire() -> None:
            self._core_call(lambda c: c.timeout("closing"))
            if self._state == "closing":
                self._down(
                    Reason.connection("closing_timeout", "shutdown did not finish in time"), tuple(self._by_core), ()
                )

        self._timer("closing", timeout, expire)
        self._core_call(lambda c: c.close_gracefully())

    def close(self) -> None:
        """Brutal close: drop the socket and every stream now, without reconnecting."""
        with self._lock:
            if self._state == "dead":
                return
            self._shutdown_requested = True
            reason = Reason.connection("closed", "closed by the owner")
            for s in list(self._by_ref.values()):
                self._mark_dead(s.ref, reason)
            self._by_core.clear()
            self._by_ref.clear()
            self._core = None
            self._cancel_all_timers()
            self._io_close()
            self._give_up(reason)

    # ------------------------------------------------------------------ waiting helpers

    def _stream_match(self, ref: StreamRef) -> Callable[[Any], bool]:
        return lambda m: getattr(m, "stream_ref", None) is ref and getattr(m, "conn", None) is self

    def _mailbox_for(self, ref: StreamRef) -> Any:
        s = self._stream_for(ref)
        return s.mailbox if s is not None else self.owner

    def _down_for(self, ref: StreamRef) -> Any:
        """The reason a stream can no longer get messages, or ``None``."""
        if ref in self._dead_refs:
            return self._dead_refs[ref]
        if self._state == "dead":
            return self._down_reason or Reason.connection("closed", "the connection is closed")
        return None

    def _await_match(self, ref: StreamRef) -> Callable[[Any], bool]:
        """Messages ``await_`` returns: the stream's own, and connection-wide errors."""

        def match(m: Any) -> bool:
            try:
                if m.conn is not self:
                    return False
                sr = m.stream_ref
            except AttributeError:
                return False
            return sr is ref or (sr is None and type(m) is ev.GunError)

        return match

    def _await_args(self, ref: StreamRef) -> tuple[Any, Callable[[Any], bool], Callable[[], bool]]:
        """The mailbox, match and wake functions an ``await_`` of ``ref`` waits with."""
        if not isinstance(ref, StreamRef):
            raise TypeError(f"await_ takes a StreamRef, not {ref!r}")
        s = self._by_ref.get(ref) or self._stream_for(ref)
        if s is None:  # finished or unknown: what is left of it is in the owner's mailbox
            return self.owner, self._await_match(ref), lambda: self._down_for(ref) is not None
        if s.await_match is None:
            s.await_match = self._await_match(ref)
            dead = self._dead_refs
            s.await_wake = lambda: ref in dead or self._state == "dead"  # (_down_for(ref) is not None)
        return s.mailbox, s.await_match, s.await_wake

    def flush(self, ref: StreamRef | None = None) -> None:
        """Drop every waiting message of this connection, or of one stream."""
        if ref is None:
            for m in self._mailboxes():
                m.drop(lambda msg: getattr(msg, "conn", None) is self)
        else:
            self._mailbox_for(ref).drop(self._stream_match(ref))

    @staticmethod
    def _body_step(msg: Any, parts: list[bytes]) -> bool:
        """Add one ``await_`` result to a body being collected; True once the body is complete."""
        t = type(msg)
        if t is ev.GunData:
            parts.append(msg.data)
            return bool(msg.fin)
        if t is ev.GunResponse:
            return bool(msg.fin)
        if t is ev.GunTrailers:
            return True
        if t is ev.GunInform or t is ev.GunPush:
            return False
        raise ValueError(f"await_body got an unexpected message {msg!r}")

    def _await_result(self, ref: StreamRef, msg: Any) -> Any:
        """Turn error messages into the exceptions ``await_`` raises."""
        if type(msg) is ev.GunError:
            reason = msg.reason
            if msg.stream_ref is None:
                raise ConnectionFailure(reason)
            if ref in self._dead_refs:
                raise ConnectionDown(reason)
            if getattr(reason, "scope", "stream") == "connection":
                raise ConnectionFailure(reason)
            raise StreamError(reason)
        return msg


_conn_ids = itertools.count(1)
