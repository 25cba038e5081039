"""The HTTP/1.1 client machine (RFC 9112), sans-IO.

:class:`Http1Protocol` implements :class:`~gun_core.protocol.CoreProtocol`. It turns
the bytes the server sends into events keyed by the stream ids ``request`` returned,
and queues the bytes to send. After *every* call to :meth:`~Http1Protocol.receive_data`
or to a command method, the driver must call :meth:`~Http1Protocol.data_to_send` and
write what it returns.

Requests
    Stream ids are 1, 2, 3... Requests are pipelined: each is written at once, except
    while an earlier request's body is still being streamed (``data()``) or an upgrade
    request waits for its answer; then its bytes are held, in order, until that is over.

Responses
    Per stream, in order: any number of ``Inform`` (1xx other than 101), then
    ``Response(fin=True)`` for a response without body, or ``Response(fin=False)``
    followed by ``Data`` events whose last has ``fin=True``, or by ``Data(fin=False)``
    events and a ``Trailers`` event that ends it. Body bytes are delivered as they
    arrive; a whole read that is all body is passed on without a copy.

Protocol switch
    A ``101`` answering a request made with ``upgrade=True`` gives
    ``SwitchProtocol(stream_id, protocol, 101, headers, trailing)`` (``protocol`` is
    the lowercased ``upgrade`` field value; ``trailing`` the bytes already received
    after the 101 head). Requests held behind the upgrade each get
    ``Error(id, Reason.stream("badstate", ...))`` just before it. The core is then
    inert: ``receive_data`` returns ``[]`` and commands raise ``UsageError``. A 2xx
    answering ``CONNECT`` gives ``Response(fin=True)`` then ``SwitchProtocol`` with
    protocol ``"tunnel"``.

End of the connection: always exactly one ``Closed`` event, then the core is inert.
    * The response just completed says the connection ends (``connection: close``
      from either side, HTTP/1.0 without keep-alive, a close-delimited body): after its
      last event, ``Closed(reason, killed=(), unprocessed=<later requests>)``.
    * The peer closed (``receive_data(b"")``): a close-delimited body ends with
      ``Data(fin=True, b"")`` (then ``Closed`` as above); otherwise the stream being
      answered is listed in ``killed`` (no ``Error`` event: like Gun, the driver
      reports it in ``GunDown``) and the reason says how much of it had arrived;
      later requests are ``unprocessed``.
    * The server broke the protocol: ``Error(current, Reason.stream("protocol_error",
      msg))`` for the stream whose response was bad, then
      ``Closed(Reason.connection("protocol_error", msg), killed=(current,),
      unprocessed=<later requests>)``. Every message cites the RFC section.
    * ``close_gracefully()``: ``Closed(Reason.connection("normal", "shutdown"))`` once
      no response is outstanding; ``timeout("closing")`` ends it at once.
    Cancelled streams are never listed and get no event.

Flow control
    ``request(flow=N)`` lets the stream receive N bytes of ``Data``; at zero credit in
    the middle of its body, :attr:`~Http1Protocol.paused` becomes true (the driver stops
    reading) and bytes that still arrive are buffered unparsed. ``update_flow`` and
    ``cancel`` resume parsing and return the events that produces.
"""

from __future__ import annotations

import re
from collections import deque
from itertools import islice
from typing import Any

from .buffer import ReceiveBuffer
from .errors import InvalidHeader, Reason, UsageError
from .events import Closed, Data, Error, Event, Inform, Response, SwitchProtocol, Trailers
from .headers import BAD_TARGET, BAD_VALUE, TOKEN, Headers
from .http1_body import (
    MAX_CONTENT_LENGTH_DIGITS,
    ChunkedReader,
    check_block,
    content_length,
    parse_field_lines,
    split_list,
    transfer_codings,
)
from .options import Http1Opts

__all__ = ["MAX_INFORMATIONAL", "Http1Protocol"]

#: 1xx responses accepted before the final response of one request.
MAX_INFORMATIONAL = 32

# Receiving phases of the response being read.
_HEAD = 0
_LENGTH = 1
_CHUNKED = 2
_CLOSE = 3
_PHASES = ("head", "body", "body", "body")

# Response body framing (RFC 9112 6.3).
_NONE = 0
_TUNNEL = 4

# Request body sending modes.
_SENT = 0
_SEND_LENGTH = 1
_SEND_CHUNKED = 2

_STATUS_LINE = re.compile(rb"HTTP/1\.[0-9] ")
_KNOWN_METHODS = frozenset([b"GET", b"HEAD", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS", b"TRACE", b"CONNECT"])
# Methods whose requests carry content: without a body they say content-length: 0.
_BODY_METHODS = frozenset([b"POST", b"PUT", b"PATCH"])
_REQ_SPECIAL = frozenset([b"host", b"content-length", b"transfer-encoding", b"connection", b"te"])
_RESP_SPECIAL = frozenset([b"content-length", b"transfer-encoding", b"connection", b"upgrade"])
_NO_BODY_STATUS = frozenset([204, 304])
_LAST_CHUNK = b"0\r\n\r\n"
_SERVER_CLOSE = Reason.connection("closed", "the server sent connection: close (RFC 9112 9.6)")
_HTTP10_CLOSE = Reason.connection("closed", "HTTP/1.0 response without keep-alive (RFC 9112 9.3)")
_BODY_CLOSE = Reason.connection(
    "closed", "the response body ended when the server closed the connection (RFC 9112 6.3)"
)
_CLIENT_CLOSE = Reason.connection("normal", "the request asked for connection: close (RFC 9112 9.6)")
_MAX_CACHED_NAMES = 1024


class _Stream:
    """One request and the state of its response."""

    __slots__ = (
        "cancelled",
        "close_conn",
        "credit",
        "held",
        "hold_writer",
        "id",
        "method",
        "path",
        "send_left",
        "send_mode",
        "upgrade",
    )

    def __init__(self, sid: int, method: bytes, path: bytes, credit: int | None, upgrade: bool) -> None:
        self.id = sid
        self.method = method
        self.path = path
        self.credit = credit
        self.upgrade = upgrade
        self.cancelled = False
        self.close_conn = False
        #: bytes of this request not written yet because an earlier request owns the wire
        self.held: list[bytes] | None = None
        #: an upgrade request keeps later requests back until it is answered
        self.hold_writer = upgrade
        self.send_mode = _SENT
        self.send_left = 0


class Http1Protocol:
    """An HTTP/1.1 (or HTTP/1.0) client connection, sans-IO.

    ``host`` is the value of the ``host`` field sent with every request that does not
    give one. See the module documentation for the events and their order.
    """

    __slots__ = (
        "_body_len",
        "_chunked",
        "_close_reason",
        "_closed",
        "_closing",
        "_eof",
        "_host",
        "_inflight",
        "_informs",
        "_keep",
        "_line_end",
        "_max_head",
        "_max_trailers",
        "_names",
        "_next_id",
        "_opts",
        "_out",
        "_paused",
        "_phase",
        "_rb",
        "_remaining",
        "_scan",
        "_shutdown",
        "_streams",
        "_transform",
        "_v10",
        "_w_cl",
        "_w_conn",
        "_w_host",
        "_w_te",
        "_w_te_chunked",
        "_writing",
        "protocol",
    )

    def __init__(self, host: bytes, opts: Http1Opts | None = None) -> None:
        if not isinstance(host, bytes) or not host or BAD_VALUE.search(host):
            raise InvalidHeader(f"invalid host {host!r}: must be non-empty bytes without CR, LF or NUL")
        if opts is None:
            opts = Http1Opts()
        self.protocol = "http"
        self._opts = opts
        self._v10 = opts.version == "HTTP/1.0"
        self._line_end = b" HTTP/1.0\r\n" if self._v10 else b" HTTP/1.1\r\n"
        self._transform = opts.transform_header_name
        self._names: dict[bytes, bytes] = {}
        self._host = host
        self._w_host = self._wire_name(b"host") + b": "
        self._w_cl = self._wire_name(b"content-length") + b": "
        self._w_conn = self._wire_name(b"connection") + b": "
        self._w_te = self._wire_name(b"te") + b": trailers\r\n"
        self._w_te_chunked = self._wire_name(b"transfer-encoding") + b": chunked\r\n"
        self._max_head = opts.max_header_block_size
        self._max_trailers = opts.max_trailer_block_size
        self._next_id = 1
        self._out: list[bytes] = []
        self._rb = ReceiveBuffer()
        # requests whose response is not complete, in order (the first is being answered)
        self._inflight: deque[_Stream] = deque()
        self._streams: dict[int, _Stream] = {}
        # requests not completely written; the first one owns the wire
        self._writing: deque[_Stream] = deque()
        self._phase = _HEAD
        self._scan = 0
        self._remaining = 0
        self._body_len = 0
        self._chunked: ChunkedReader | None = None
        self._informs = 0
        self._keep = True
        self._close_reason: Reason | None = None
        self._closing = False
        self._closed = False
        self._shutdown = False
        self._eof = False
        self._paused = False

    # ------------------------------------------------------------------ CoreProtocol surface

    @property
    def paused(self) -> bool:
        """Whether the driver should stop reading: the response being read is out of flow credit."""
        return self._paused

    @property
    def closing(self) -> bool:
        """Whether new requests are refused (``connection: close``, shutdown, closed, switched)."""
        return self._closing or self._closed

    def data_to_send(self) -> bytes:
        """Return and forget the bytes to write now."""
        out = self._out
        if not out:
            return b""
        self._out = []
        if len(out) == 1:
            return out[0]
        return b"".join(out)

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes from the server (``b""``: it closed the connection)."""
        if self._closed:
            return []
        if type(data) is not bytes:
            data = bytes(data)
        rb = self._rb
        events: list[Event] = []
        if not data:
            if self._paused:
                self._eof = True
            else:
                self._on_eof(events)
                rb.clear()
            return events
        if self._paused:
            rb.append(data)
            return events
        buf = rb.buf
        if rb.pos == len(buf):
            # Nothing buffered: parse the read in place and keep only its unparsed tail.
            pos = self._run(data, 0, events)
            if pos < len(data) and not self._closed:
                rb.load(data, pos)
        else:
            rb.append(data)
            pos = self._run(buf, rb.pos, events)
            if self._closed:
                rb.clear()
            else:
                rb.advance(pos)
        if self._phase != _HEAD:
            self._paused = self._flow_blocked()
        return events

    def request(
        self,
        method: bytes,
        path: bytes,
        headers: Headers,
        body: bytes | None,
        *,
        body_follows: bool = False,
        flow: int | None = None,
        upgrade: bool = False,
    ) -> int:
        """Queue a request; return its stream id.

        ``headers`` are normalized (lowercase names). ``body``: the whole body, sent with
        ``content-length``. ``body_follows``: ``data()`` calls send the body (with the
        caller's ``content-length``, else chunked). ``flow``: initial ``Data`` credit in
        bytes (default ``opts.flow``; ``None``: unlimited). ``upgrade``: the request asks
        for a protocol switch (websocket); a 101 answer gives ``SwitchProtocol``.
        """
        if self._closed:
            raise UsageError("the HTTP/1.1 connection is closed")
        if self._closing:
            raise UsageError("the HTTP/1.1 connection is closing and takes no new requests")
        if method not in _KNOWN_METHODS and (not isinstance(method, bytes) or not TOKEN.fullmatch(method)):
            raise UsageError(f"invalid request method {method!r}: not an RFC 9110 token")
        if not isinstance(path, bytes) or not path or BAD_TARGET.search(path):
            raise UsageError(f"invalid request target {path!r}: empty, or holds a space or control character")
        if flow is None:
            flow = self._opts.flow
        elif isinstance(flow, bool) or not isinstance(flow, int) or flow < 0:
            raise UsageError(f"flow must be None or a non-negative integer, not {flow!r}")
        if body is not None:
            if type(body) is not bytes:
                body = bytes(body)
            if body_follows:
                raise UsageError("give either a body or body_follows=True, not both")
        if upgrade:
            if body is not None or body_follows:
                raise UsageError("an upgrade request has no body")
            if self._v10:
                raise UsageError("protocol upgrade needs HTTP/1.1 (RFC 9110 7.8)")

        transform = self._transform
        parts: list[bytes] = [method, b" ", path, self._line_end, b""]
        nlines = 2  # request line and host line
        host = cl = te = conn = None
        te_given = False
        for name, value in headers:
            if name in _REQ_SPECIAL:
                if name == b"host":
                    host = value
                    continue
                if name == b"content-length":
                    if cl is not None and cl != value:
                        raise UsageError(f"conflicting content-length values {cl!r} and {value!r}")
                    cl = value
                    continue
                if name == b"transfer-encoding":
                    te = value if te is None else te + b", " + value
                    continue
                if name == b"connection":
                    conn = value if conn is None else conn + b", " + value
                    continue
                te_given = True
            parts += (name if transform is None else self._wire_name(name), b": ", value, b"\r\n")
            nlines += 1
        parts[4] = self._w_host + (self._host if host is None else host) + b"\r\n"

        send_mode = _SENT
        send_left = 0
        tail: bytes | None = None
        if cl is not None:
            if te is not None:
                raise UsageError("a request cannot have both content-length and transfer-encoding (RFC 9112 6.2)")
            if not cl.isdigit() or len(cl) > MAX_CONTENT_LENGTH_DIGITS:
                raise UsageError(f"invalid content-length {cl!r}")
            n = int(cl)
            if body is not None:
                if n != len(body):
                    raise UsageError(f"content-length {n} does not match the body length {len(body)}")
                tail = body
            elif body_follows:
                if n:
                    send_mode = _SEND_LENGTH
                    send_left = n
            elif n:
                raise UsageError(f"content-length {n} announces a body, but none is given and body_follows is false")
            parts += (self._w_cl, cl, b"\r\n")
            nlines += 1
        elif te is not None:
            codings = split_list(te)
            if not codings or codings[-1] != b"chunked" or codings.count(b"chunked") != 1:
                raise UsageError(f"transfer-encoding {te!r} must end with chunked, applied once (RFC 9112 6.1)")
            if self._v10:
                raise UsageError("HTTP/1.0 has no transfer-encoding (RFC 9112 6.1)")
            if body is not None:
                tail = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else _LAST_CHUNK
            elif body_follows:
                send_mode = _SEND_CHUNKED
            else:
                raise UsageError("transfer-encoding is given but no body follows")
            parts += (self._wire_name(b"transfer-encoding"), b": ", te, b"\r\n")
            nlines += 1
        elif body is not None:
            parts += (self._w_cl, b"%d\r\n" % len(body))
            nlines += 1
            tail = body
        elif body_follows:
            if self._v10:
                raise UsageError("HTTP/1.0 cannot stream a body of unknown length: give a content-length")
            parts.append(self._w_te_chunked)
            nlines += 1
            send_mode = _SEND_CHUNKED
        elif method in _BODY_METHODS:
            parts += (self._w_cl, b"0\r\n")
            nlines += 1

        close = False
        tokens: list[bytes] = []
        if conn is not None:
            conn_tokens = split_list(conn)
            close = b"close" in conn_tokens
            tokens.append(conn)
        elif self._v10:
            tokens.append(b"keep-alive")
        if not self._v10 and not upgrade and not te_given:
            # RFC 9110 10.1.4: we accept trailers; TE is hop-by-hop, so listed in connection.
            parts.append(self._w_te)
            nlines += 1
            te_given = True
        if te_given and (conn is None or b"te" not in conn_tokens):
            tokens.append(b"te")
        if tokens:
            parts += (self._w_conn, b", ".join(tokens), b"\r\n")
            nlines += 1
        parts.append(b"\r\n")
        nlines += 1
        head = b"".join(parts)
        # Defence in depth: every CR and LF must be one of the line ends we wrote.
        if head.count(b"\n") != nlines or head.count(b"\r") != nlines or b"\x00" in head:
            raise InvalidHeader("a header name or value holds CR, LF or NUL (RFC 9110 5.5)")

        sid = self._next_id
        self._next_id = sid + 1
        s = _Stream(sid, method, path, flow, upgrade)
        s.send_mode = send_mode
        s.send_left = send_left
        if close:
            s.close_conn = True
            self._closing = True
        self._streams[sid] = s
        self._inflight.append(s)
        if self._writing:
            # An earlier request still owns the wire: hold these bytes until it is done.
            s.held = [head] if not tail else [head, tail]
            self._writing.append(s)
        else:
            self._out.append(head)
            if tail:
                self._out.append(tail)
            if send_mode != _SENT or upgrade:
                self._writing.append(s)
        return sid

    def data(self, stream_id: int, fin: bool, data: bytes) -> list[Event]:
        """Queue a piece of the request body of ``stream_id``; ``fin`` ends it."""
        if self._closed:
            raise UsageError("the HTTP/1.1 connection is closed")
        s = self._streams.get(stream_id)
        if s is None:
            raise UsageError(f"stream {stream_id} is unknown or finished")
        mode = s.send_mode
        if mode == _SENT:
            if not data:
                return []  # nothing to send (e.g. fin after a content-length: 0 body)
            raise UsageError(f"stream {stream_id} has no request body left to send")
        if type(data) is not bytes:
            data = bytes(data)
        n = len(data)
        pieces: list[bytes]
        if mode == _SEND_LENGTH:
            left = s.send_left - n
            if left < 0:
                raise UsageError(f"stream {stream_id}: {n} bytes exceed the {s.send_left} left of its content-length")
            if fin and left:
                raise UsageError(f"stream {stream_id}: the body ends {left} bytes short of its content-length")
            s.send_left = left
            pieces = [data] if n else []
        else:
            # RFC 9112 7.1: chunk = chunk-size CRLF chunk-data CRLF; last-chunk = "0" CRLF.
            pieces = [b"%x\r\n" % n, data, b"\r\n"] if n else []
            if fin:
                pieces.append(_LAST_CHUNK)
        if fin:
            s.send_mode = _SENT
        if s.held is None:
            self._out += pieces
            if fin:
                self._advance_writer()
        else:
            s.held += pieces
        return []

    def cancel(self, stream_id: int) -> list[Event]:
        """Silence a stream: its response is still read, but gives no more events."""
        s = self._streams.get(stream_id)
        events: list[Event] = []
        if s is None or s.cancelled:
            return events
        s.cancelled = True
        if self._paused and self._inflight[0] is s:
            self._resume(events)
        return events

    def update_flow(self, stream_id: int, increment: int) -> list[Event]:
        """Grant a stream opened with ``flow`` ``increment`` more bytes of ``Data``."""
        if isinstance(increment, bool) or not isinstance(increment, int) or increment <= 0:
            raise UsageError(f"flow increment must be a positive integer, not {increment!r}")
        events: list[Event] = []
        s = self._streams.get(stream_id)
        if s is None or s.credit is None:
            return events
        s.credit += increment
        if self._paused and self._inflight[0] is s:
            self._resume(events)
        return events

    def body_to_read(self, stream_id: int) -> int:
        """How many body bytes of ``stream_id`` the driver may read from the transport itself.

        Non-zero only while the response of ``stream_id`` is in the middle of a content-length
        body with nothing buffered, no ``flow`` credit and no cancel: then the next bytes of the
        connection are exactly that many body bytes. A driver that reads some of them straight
        into their final place reports them with :meth:`body_read` instead of
        ``receive_data`` (no ``Data`` event is made for them).
        """
        if self._phase != _LENGTH or self._closed or self._paused or self._rb:
            return 0
        s = self._inflight[0]
        if s.id != stream_id or s.credit is not None or s.cancelled:
            return 0
        return self._remaining

    def body_read(self, stream_id: int, n: int) -> list[Event]:
        """The driver read ``n`` body bytes of ``stream_id`` itself (at most :meth:`body_to_read`).

        Returns the events of the response's end once its last byte is read (the connection
        closing when it may not be reused), else ``[]``. Raises :class:`UsageError` when the
        bytes were not the driver's to read.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise UsageError(f"body_read takes a byte count, not {n!r}")
        if n > self.body_to_read(stream_id):
            raise UsageError(f"{n} bytes of stream {stream_id} are not for the driver to read")
        events: list[Event] = []
        self._remaining -= n
        if n and not self._remaining:
            self._complete(events)
        return events

    def keepalive(self) -> list[Event]:
        """When no request is in flight, send an empty line (RFC 9112 2.2 lets servers skip it)."""
        if not self._closed and not self._inflight:
            self._out.append(b"\r\n")
        return []

    def timeout(self, name: str) -> list[Event]:
        """A driver timer expired: ``"closing"`` ends the connection, ``"keepalive"`` pings.
        Other names are ignored."""
        if name == "keepalive":
            return self.keepalive()
        events: list[Event] = []
        if name != "closing" or self._closed:
            return events
        n = len(self._inflight)
        reason = Reason.connection("timeout", f"closing_timeout expired with {n} response(s) still outstanding")
        current = self._inflight[0] if self._inflight else None
        killed = (current.id,) if current is not None and not current.cancelled else ()
        self._finish(reason, killed, self._later_ids(), events)
        return events

    def close_gracefully(self) -> list[Event]:
        """Take no new requests; ``Closed`` once every response is complete."""
        events: list[Event] = []
        if self._closed:
            return events
        self._closing = True
        self._shutdown = True
        if not self._inflight:
            self._finish(Reason.connection("normal", "shutdown"), (), (), events)
        return events

    def stream_info(self, stream_id: int) -> dict[str, Any] | None:
        """``state`` (``"queued"``: its bytes are held; ``"running"``), ``method``, ``path``,
        ``version``, ``flow`` (credit left or ``None``), ``upgrade``, ``request_body``
        (``"none"``/``"sending"``/``"sent"``), ``response`` (``"pending"``/``"head"``/``"body"``);
        ``None`` when the stream is unknown, finished or cancelled."""
        s = self._streams.get(stream_id)
        if s is None or s.cancelled:
            return None
        if self._inflight and self._inflight[0] is s:
            response = _PHASES[self._phase]
        else:
            response = "pending"
        return {
            "state": "queued" if s.held is not None else "running",
            "method": s.method,
            "path": s.path,
            "version": self._opts.version,
            "flow": s.credit,
            "upgrade": s.upgrade,
            "request_body": "sending" if s.send_mode != _SENT else "sent",
            "response": response,
        }

    def active_streams(self) -> list[int]:
        """Ids of the requests whose response is not complete (cancelled ones excepted), in order."""
        return [s.id for s in self._inflight if not s.cancelled]

    # ------------------------------------------------------------------ sending

    def _wire_name(self, name: bytes) -> bytes:
        """``name`` as sent: through ``transform_header_name`` when set (checked once, cached)."""
        transform = self._transform
        if transform is None:
            return name
        wire = self._names.get(name)
        if wire is None:
            out: Any = transform(name)
            if isinstance(out, str):
                out = out.encode("latin-1")
            if not isinstance(out, bytes) or not TOKEN.fullmatch(out):
                raise InvalidHeader(f"transform_header_name turned {name!r} into {out!r}, not an RFC 9110 token")
            wire = out
            if len(self._names) < _MAX_CACHED_NAMES:
                self._names[name] = wire
        return wire

    def _advance_writer(self) -> None:
        """Write the held requests whose turn has come."""
        writing = self._writing
        out = self._out
        while writing:
            s = writing[0]
            if s.held is not None:
                out += s.held
                s.held = None
            if s.send_mode != _SENT or s.hold_writer:
                return
            writing.popleft()

    # ------------------------------------------------------------------ receiving

    def _run(self, work: bytes | bytearray, pos: int, events: list[Event]) -> int:
        """Parse ``work[pos:]``; return the offset of the first byte not consumed."""
        end = len(work)
        while pos < end and not self._closed:
            phase = self._phase
            if phase == _HEAD:
                if self._scan == 0 and work[pos] == 13:
                    # Empty lines before a status line are skipped (robustness, RFC 9112 2.2).
                    while work.startswith(b"\r\n", pos):
                        pos += 2
                    if pos >= end or (pos + 1 == end and work[pos] == 13):
                        break  # nothing more, or maybe the CR of one more empty line
                r = self._head(work, pos, end, events)
                if r < 0:
                    break
                pos = r
            elif phase == _LENGTH or phase == _CLOSE:
                # content-length bodies end after _remaining bytes; close-delimited ones
                # (_CLOSE) take everything until the connection closes.
                s = self._inflight[0]
                sized = phase == _LENGTH
                take = end - pos
                if sized and self._remaining < take:
                    take = self._remaining
                credit = s.credit
                if credit is not None and not s.cancelled:
                    if credit <= 0:
                        break
                    if credit < take:
                        take = credit
                    s.credit = credit - take
                if type(work) is bytes:
                    chunk = work[pos : pos + take]
                else:
                    chunk = bytes(work[pos : pos + take])
                pos += take
                if sized:
                    left = self._remaining - take
                    self._remaining = left
                    fin = left == 0
                else:
                    self._remaining += take
                    fin = False
                if not s.cancelled:
                    events.append(Data(s.id, fin, chunk))
                if fin:
                    self._complete(events)
            elif phase == _CHUNKED:
                s = self._inflight[0]
                reader = self._chunked
                assert reader is not None
                limit = None if s.credit is None or s.cancelled else s.credit
                pieces: list[bytes] = []
                pos = reader.read(work, pos, end, limit, pieces)
                if reader.error is not None:
                    self._fail(reader.error, events)
                    break
                data = b""
                if pieces:
                    data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
                    if limit is not None:
                        s.credit = limit - len(data)
                if reader.done:
                    if not s.cancelled:
                        if reader.trailers is not None:
                            if data:
                                events.append(Data(s.id, False, data))
                            events.append(Trailers(s.id, reader.trailers))
                        else:
                            events.append(Data(s.id, True, data))
                    self._complete(events)
                else:
                    if data and not s.cancelled:
                        events.append(Data(s.id, False, data))
                    break
        return pos

    def _head(self, work: bytes | bytearray, pos: int, end: int, events: list[Event]) -> int:
        """Parse a response head at ``pos``; return where it ends, or -1 when incomplete or failed."""
        if not self._inflight:
            self._fail("the server sent data while no request was outstanding (RFC 9112 9.3)", events)
            return -1
        idx = work.find(b"\r\n\r\n", pos + self._scan)
        limit = self._max_head
        if idx < 0:
            n = end - pos
            if n >= limit + 4:
                self._fail(f"response header section larger than max_header_block_size ({limit} bytes)", events)
                return -1
            self._scan = n - 3 if n > 3 else 0
            return -1
        if idx - pos > limit:
            self._fail(f"response header section larger than max_header_block_size ({limit} bytes)", events)
            return -1
        self._scan = 0
        head = work[pos:idx]
        if type(head) is not bytes:
            head = bytes(head)
        pos = idx + 4
        lines = head.split(b"\r\n")
        line = lines[0]
        # RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
        code = line[9:12]
        if not (
            (line.startswith(b"HTTP/1.1 ") or line.startswith(b"HTTP/1.0 ") or _STATUS_LINE.match(line))
            and len(code) == 3
            and code.isdigit()
            and (len(line) == 12 or line[12] == 32)
        ):
            if line.startswith(b"HTTP/") and not line.startswith(b"HTTP/1."):
                msg = f"unsupported HTTP version in status line {line[:80]!r} (RFC 9112 2.3)"
            else:
                msg = f"malformed status line {line[:80]!r} (RFC 9112 4)"
            self._fail(msg, events)
            return -1
        # RFC 9112 2.2, RFC 9110 5.5: no bare CR or LF, no NUL.
        crlf = len(lines) - 1
        if head.count(b"\n") != crlf or head.count(b"\r") != crlf or b"\x00" in head:
            self._fail(check_block(head, len(lines), "response header section") or "bad header section", events)
            return -1
        status = int(code)
        if status < 100 or status > 599:
            self._fail(f"status code {status} out of range (RFC 9110 15)", events)
            return -1
        found: list[tuple[bytes, bytes]] = []
        fields = parse_field_lines(lines, 1, "response header section", _RESP_SPECIAL, found)
        if isinstance(fields, str):
            self._fail(fields, events)
            return -1
        s = self._inflight[0]

        if status < 200:
            if status == 101:
                if not s.upgrade:
                    self._fail(
                        "101 Switching Protocols answers a request that asked for no upgrade (RFC 9110 15.2.2)", events
                    )
                    return -1
                protocol = b""
                for name, value in found:
                    if name == b"upgrade":
                        protocol = value
                if not protocol.strip():
                    self._fail("101 Switching Protocols without an Upgrade field (RFC 9110 15.2.2, 7.8)", events)
                    return -1
                self._switch(s, protocol.lower().decode("latin-1"), status, fields, work, pos, events)
                return end
            self._informs += 1
            if self._informs > MAX_INFORMATIONAL:
                self._fail(f"more than {MAX_INFORMATIONAL} informational (1xx) responses to one request", events)
                return -1
            if not s.cancelled:
                events.append(Inform(s.id, status, fields))
            return pos

        # Framing (RFC 9112 6.3) and persistence (RFC 9112 9.3).
        v10 = line[7] == 48
        length = -1
        close = keep_alive = chunked = False
        te_values: list[bytes] | None = None
        if found:
            cl_values: list[bytes] | None = None
            for name, value in found:
                if name == b"content-length":
                    if cl_values is None:
                        cl_values = [value]
                    else:
                        cl_values.append(value)
                elif name == b"transfer-encoding":
                    if te_values is None:
                        te_values = [value]
                    else:
                        te_values.append(value)
                elif name == b"connection":
                    value = value.lower()
                    if value == b"keep-alive":
                        keep_alive = True
                    elif value == b"close":
                        close = True
                    else:
                        tokens = split_list(value)
                        close = close or b"close" in tokens
                        keep_alive = keep_alive or b"keep-alive" in tokens
            if cl_values is not None:
                if te_values is not None:
                    self._fail(
                        "response has both transfer-encoding and content-length (RFC 9112 6.1, 6.3): "
                        "a request smuggling risk",
                        events,
                    )
                    return -1
                value = cl_values[0]
                if len(cl_values) == 1 and value.isdigit() and len(value) <= MAX_CONTENT_LENGTH_DIGITS:
                    length = int(value)
                else:
                    r = content_length(cl_values)
                    if isinstance(r, str):
                        self._fail(r, events)
                        return -1
                    length = r
            elif te_values is not None and not v10:
                chunked, err = transfer_codings(te_values)
                if err is not None:
                    self._fail(err, events)
                    return -1
        method = s.method
        if method == b"HEAD" or status in _NO_BODY_STATUS:
            kind = _NONE
        elif method == b"CONNECT" and status < 300:
            kind = _TUNNEL
        elif te_values is not None:
            # RFC 9112 6.3 item 4; an HTTP/1.0 message with transfer-encoding has faulty
            # framing and is read until the connection closes (RFC 9112 6.1).
            kind = _CHUNKED if chunked else _CLOSE
        elif length > 0:
            kind = _LENGTH
        elif length == 0:
            kind = _NONE
        else:
            kind = _CLOSE  # RFC 9112 6.3 item 8

        if close:
            self._keep = False
            self._close_reason = _SERVER_CLOSE
        elif v10 and not keep_alive:
            self._keep = False
            self._close_reason = _HTTP10_CLOSE
        elif kind == _CLOSE:
            self._keep = False
            self._close_reason = _BODY_CLOSE
        elif s.close_conn:
            self._keep = False
            self._close_reason = _CLIENT_CLOSE
        if not self._keep:
            self._closing = True
        if s.hold_writer:
            # The upgrade was refused: requests held behind it may go now.
            s.hold_writer = False
            if self._keep:
                self._advance_writer()

        sid = s.id
        cancelled = s.cancelled
        if kind == _NONE:
            if not cancelled:
                events.append(Response(sid, True, status, fields))
            self._complete(events)
            return pos
        if kind == _LENGTH:
            credit = s.credit
            if end - pos >= length and (credit is None or credit >= length or cancelled):
                # The whole body is here: no body phase at all.
                if not cancelled:
                    chunk = work[pos : pos + length]
                    events.append(Response(sid, False, status, fields))
                    events.append(Data(sid, True, chunk if type(chunk) is bytes else bytes(chunk)))
                    if credit is not None:
                        s.credit = credit - length
                self._complete(events)
                return pos + length
            self._phase = _LENGTH
            self._remaining = self._body_len = length
        elif kind == _CHUNKED:
            self._phase = _CHUNKED
            self._chunked = ChunkedReader(self._max_trailers)
        elif kind == _CLOSE:
            self._phase = _CLOSE
            self._remaining = 0
        else:  # _TUNNEL
            if not cancelled:
                events.append(Response(sid, True, status, fields))
            self._switch(s, "tunnel", status, fields, work, pos, events)
            return end
        if not cancelled:
            events.append(Response(sid, False, status, fields))
        return pos

    def _switch(
        self,
        s: _Stream,
        protocol: str,
        status: int,
        fields: Headers,
        work: bytes | bytearray,
        pos: int,
        events: list[Event],
    ) -> None:
        """The connection now speaks another protocol: hand over the bytes that follow."""
        trailing = bytes(work[pos:])
        reason = Reason.stream("badstate", f"the connection switched to {protocol} before this request was sent")
        for later in islice(self._inflight, 1, None):
            if not later.cancelled:
                events.append(Error(later.id, reason))
        events.append(SwitchProtocol(s.id, protocol, status, fields, trailing))
        self._closed = True
        self._closing = True
        self._paused = False
        self._inflight.clear()
        self._streams.clear()
        self._writing.clear()

    def _complete(self, events: list[Event]) -> None:
        """The response being read is complete."""
        s = self._inflight.popleft()
        del self._streams[s.id]
        self._phase = _HEAD
        self._informs = 0
        self._chunked = None
        if s.send_mode != _SENT or s.held is not None:
            reason = Reason.connection(
                "closed",
                f"the response to stream {s.id} ended before its request body was sent, "
                "so the connection cannot be reused (RFC 9112 9.3)",
            )
            self._finish(reason, (), self._later_ids(0), events)
        elif not self._keep:
            assert self._close_reason is not None
            self._finish(self._close_reason, (), self._later_ids(0), events)
        elif self._shutdown and not self._inflight:
            self._finish(Reason.connection("normal", "shutdown"), (), (), events)

    def _later_ids(self, first: int = 1) -> tuple[int, ...]:
        """Ids of the outstanding requests from index ``first`` on (cancelled ones excepted)."""
        return tuple(s.id for s in islice(self._inflight, first, None) if not s.cancelled)

    def _fail(self, message: str, events: list[Event]) -> None:
        """The server broke the protocol: fail the stream being answered and the connection."""
        killed: tuple[int, ...] = ()
        if self._inflight:
            s = self._inflight[0]
            if not s.cancelled:
                events.append(Error(s.id, Reason.stream("protocol_error", message)))
                killed = (s.id,)
        self._finish(Reason.connection("protocol_error", message), killed, self._later_ids(), events)

    def _finish(
        self, reason: Reason, killed: tuple[int, ...], unprocessed: tuple[int, ...], events: list[Event]
    ) -> None:
        self._closed = True
        self._closing = True
        self._paused = False
        self._inflight.clear()
        self._streams.clear()
        self._writing.clear()
        self._chunked = None
        events.append(Closed(reason, killed, unprocessed))

    def _on_eof(self, events: list[Event]) -> None:
        """The server closed the connection; everything before was parsed."""
        if not self._inflight:
            self._finish(Reason.connection("closed", "the server closed the connection"), (), (), events)
            return
        s = self._inflight[0]
        phase = self._phase
        if phase == _CLOSE:
            if not s.cancelled:
                events.append(Data(s.id, True, b""))
            self._complete(events)
            return
        if phase == _LENGTH:
            got = self._body_len - self._remaining
            what = f"with {got} of {self._body_len} body bytes received (RFC 9112 6.3)"
        elif phase == _CHUNKED:
            assert self._chunked is not None
            what = f"in the middle of its chunked body (at chunk {self._chunked.state}, RFC 9112 7.1)"
        elif self._rb or self._scan:
            what = "before its response head was complete"
        else:
            what = "before it was answered"
        message = f"the server closed the connection during stream {s.id}, {what}"
        killed = () if s.cancelled else (s.id,)
        self._finish(Reason.connection("closed", message), killed, self._later_ids(), events)

    def _flow_blocked(self) -> bool:
        """Whether the response being read waits for flow credit in the middle of its body."""
        if self._closed or not self._inflight:
            return False
        s = self._inflight[0]
        credit = s.credit
        if credit is None or credit > 0 or s.cancelled:
            return False
        phase = self._phase
        if phase == _CHUNKED:
            reader = self._chunked
            return reader is not None and reader.in_data
        return phase != _HEAD

    def _resume(self, events: list[Event]) -> None:
        """Credit came back (or the stream was cancelled): parse what was buffered."""
        self._paused = self._flow_blocked()
        if self._paused:
            return
        rb = self._rb
        if rb:
            pos = self._run(rb.buf, rb.pos, events)
            if self._closed:
                rb.clear()
                return
            rb.advance(pos)
            self._paused = self._flow_blocked()
        if self._eof and not self._paused and not self._closed:
            self._on_eof(events)
            rb.clear()
