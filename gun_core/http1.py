"""The HTTP/1.1 client machine (RFC 9112): requests, pipelining, bodies, keep-alive, upgrade.

:class:`Http1Protocol` follows the :class:`~gun_core.protocol.CoreProtocol` rules: after
*every* call to ``receive_data`` or a command method the driver must call
``data_to_send()`` and write what it returns.

Events, per request (stream ids are 1, 2, 3... in request order):

* ``Inform`` for each 1xx response other than 101;
* ``Response(fin)`` then ``Data`` pieces, the last with ``fin=True`` (an empty piece
  when a chunked body ends without trailers), or ``Trailers`` ending a chunked body;
* ``SwitchProtocol`` when a request made with ``upgrade=True`` gets 101: the core is
  then finished, and ``trailing`` holds the bytes already read after the 101 head.

The connection ends with one ``Closed`` event: after a response that closes it
(``connection: close``, HTTP/1.0, a close-delimited body), when the peer closes
(``receive_data(b"")``), on a protocol error, or after ``close_gracefully()``.
``killed`` lists the request whose response was being read; ``unprocessed`` the
pipelined requests after it, which the server provably did not answer. A response
that breaks the protocol first gets ``Error(stream_id, reason)`` for its stream, then
``Closed``; the stream is then not repeated in ``killed``.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidHeader, Reason, UsageError
from .events import Closed, Data, Error, Event, Inform, Response, SwitchProtocol, Trailers
from .headers import Headers
from .options import Http1Opts

__all__ = ["Http1Protocol"]

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}\Z")
_DIGITS = re.compile(rb"[0-9]{1,18}\Z")
_BAD_FIELD = re.compile(rb"[\x00\r\n]")
_MAX_CHUNK_LINE = 4096
_NO_BODY_STATUS = (204, 304)

# Receive states
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILERS, _CLOSE_BODY, _DONE = range(8)


@dataclass(slots=True)
class _Req:
    id: int
    method: bytes
    path: bytes
    upgrade: bool
    credit: int | None
    close_after: bool  # we asked for connection: close (or HTTP/1.0 without keep-alive)
    body_chunked: bool = False
    body_left: int | None = None  # bytes still owed with a content-length body
    body_open: bool = False  # data() calls expected
    pending: bytearray = field(default_factory=bytearray)  # bytes held behind a streaming body
    silenced: bool = False
    responded: bool = False


class Http1Protocol:
    """The client side of one HTTP/1.1 connection."""

    protocol = "http"

    def __init__(self, host: bytes, opts: Http1Opts | None = None) -> None:
        self._host = host
        self._opts = opts or Http1Opts()
        self._version = self._opts.version.encode()
        self._transform = self._opts.transform_header_name
        self._max_head = self._opts.max_header_block_size
        self._max_trailers = self._opts.max_trailer_block_size
        self._buf = bytearray()
        self._pos = 0
        self._scan = 0
        self._out = bytearray()
        self._next_id = 1
        self._inflight: deque[_Req] = deque()  # sent (or held), waiting for their response
        self._writer: _Req | None = None  # the request whose body is being streamed
        self._held: deque[_Req] = deque()  # requests waiting for the writer to finish
        self._state = _HEAD
        self._left = 0  # content-length or chunk bytes left
        self._keepalive = True
        self._closing = False
        self._finished = False
        self._shutdown = False
        self._resp_status = 0

    # ------------------------------------------------------------------ properties

    @property
    def paused(self) -> bool:
        """True while the current response's flow credit is used up."""
        if not self._inflight or self._state in (_HEAD, _DONE):
            return False
        credit = self._inflight[0].credit
        return credit is not None and credit <= 0

    @property
    def closing(self) -> bool:
        """True once no new request may be sent on this connection."""
        return self._closing or self._finished

    # ------------------------------------------------------------------ requests

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
        """Queue a request; return its stream id."""
        if self.closing:
            raise UsageError("the connection is closing: no new request (RFC 9112 9.6)")
        if not _TOKEN.match(method):
            raise UsageError(f"invalid request method {method!r}: not a token (RFC 9110 9.1)")
        if not path or b" " in path or _BAD_FIELD.search(path):
            raise UsageError(f"invalid request target {path!r} (RFC 9112 3.2)")
        if body is not None and body_follows:
            raise UsageError("a request has either a body or body_follows, not both")
        version = self._version
        http10 = version == b"HTTP/1.0"
        parts = [method, b" ", path, b" ", version, b"\r\n"]
        transform = self._transform
        has_host = False
        user_cl: int | None = None
        user_te: bytes | None = None
        conn_tokens: list[bytes] = []
        for name, value in headers:
            if not _TOKEN.match(name):
                raise InvalidHeader(f"invalid header name {name!r}: not an RFC 9110 token")
            if _BAD_FIELD.search(value):
                raise InvalidHeader(f"header {name!r} value holds CR, LF or NUL: {value!r}")
            if name == b"host":
                has_host = True
            elif name == b"content-length":
                if not _DIGITS.match(value):
                    raise UsageError(f"invalid content-length {value!r}")
                user_cl = int(value)
            elif name == b"transfer-encoding":
                user_te = value.lower()
            elif name == b"connection":
                conn_tokens += [t.strip().lower() for t in value.split(b",")]
                continue
            parts += [transform(name) if transform else name, b": ", value, b"\r\n"]
        if not has_host:
            parts[6:6] = [b"host: ", self._host, b"\r\n"]
        close_after = b"close" in conn_tokens or (http10 and b"keep-alive" not in conn_tokens)
        if http10 and not conn_tokens:
            conn_tokens.append(b"keep-alive")
            close_after = False
        req = _Req(self._next_id, method, path, upgrade, flow, close_after)
        if body is not None:
            if user_te is not None:
                raise UsageError("transfer-encoding with a body given at once: use body_follows and data()")
            if user_cl is None:
                parts += [b"content-length: ", str(len(body)).encode(), b"\r\n"]
            elif user_cl != len(body):
                raise UsageError(f"content-length {user_cl} does not match the body's {len(body)} bytes")
        elif body_follows:
            req.body_open = True
            if user_cl is not None:
                req.body_left = user_cl
                if user_te is not None:
                    raise UsageError("both content-length and transfer-encoding (RFC 9112 6.2)")
            elif user_te is not None:
                if user_te.split(b",")[-1].strip() != b"chunked":
                    raise UsageError(f"unsupported request transfer-encoding {user_te!r}: only chunked")
                req.body_chunked = True
            elif http10:
                raise UsageError("an HTTP/1.0 request body needs a content-length (no chunked in HTTP/1.0)")
            else:
                req.body_chunked = True
                parts.append(b"transfer-encoding: chunked\r\n")
            if req.body_left == 0:
                req.body_open = False
        elif user_cl is None and user_te is None and method in (b"POST", b"PUT", b"PATCH"):
            parts.append(b"content-length: 0\r\n")
        if not http10 and not upgrade and b"te" not in conn_tokens:
            # RFC 9110 10.1.4: we accept trailers; TE is hop-by-hop, so it is listed in connection.
            parts.append(b"te: trailers\r\n")
            conn_tokens.append(b"te")
        if conn_tokens:
            parts += [b"connection: ", b", ".join(conn_tokens), b"\r\n"]
        parts.append(b"\r\n")
        if body:
            parts.append(body)
        self._next_id += 1
        self._inflight.append(req)
        if close_after:
            self._closing = True
        wire = b"".join(parts)
        if self._writer is not None:
            req.pending += wire
            self._held.append(req)
        else:
            self._out += wire
            if req.body_open:
                self._writer = req
        return req.id

    def data(self, stream_id: int, fin: bool, data: bytes) -> list[Event]:
        """Queue a piece of a streamed request body."""
        req = self._find(stream_id)
        if req is None or not req.body_open:
            raise UsageError(f"stream {stream_id} has no request body open for data()")
        if req.body_left is not None:
            if len(data) > req.body_left:
                raise UsageError(f"data() exceeds the content-length of stream {stream_id} by {len(data) - req.body_left}")
            req.body_left -= len(data)
            if fin and req.body_left:
                raise UsageError(f"fin with {req.body_left} bytes of the content-length still owed")
            wire = data
        elif req.body_chunked:
            wire = b"%x\r\n%b\r\n" % (len(data), data) if data else b""
            if fin:
                wire += b"0\r\n\r\n"
        else:
            wire = data
        target = self._out if self._writer is req else req.pending
        target += wire
        if fin or (req.body_left == 0):
            req.body_open = False
            if self._writer is req:
                self._release_held()
        return []

    def _release_held(self) -> None:
        self._writer = None
        held = self._held
        while held:
            req = held.popleft()
            self._out += req.pending
            req.pending = bytearray()
            if req.body_open:
                self._writer = req
                return

    def _find(self, stream_id: int) -> _Req | None:
        for req in self._inflight:
            if req.id == stream_id:
                return req
        return None

    def cancel(self, stream_id: int) -> list[Event]:
        """Silence a stream: its response is still read, but not reported."""
        req = self._find(stream_id)
        if req is not None:
            req.silenced = True
            req.credit = None
        return self._parse() if self._inflight and self._inflight[0] is req else []

    def update_flow(self, stream_id: int, increment: int) -> list[Event]:
        """Grant more bytes of ``Data`` to a stream opened with ``flow``."""
        if increment <= 0:
            raise UsageError(f"flow increment must be positive, not {increment}")
        req = self._find(stream_id)
        if req is None or req.credit is None:
            return []
        req.credit += increment
        if self._inflight[0] is req and not self._finished:
            return self._parse()
        return []

    def keepalive(self) -> list[Event]:
        """Send an empty line when idle (Gun's HTTP/1.1 keepalive)."""
        if not self._inflight and not self._finished and not self._closing:
            self._out += b"\r\n"
        return []

    def timeout(self, name: str) -> list[Event]:
        """``"closing"``: the graceful shutdown took too long."""
        if name == "closing" and not self._finished:
            return [self._close(Reason.connection("closing_timeout", "shutdown did not finish in time"))]
        return []

    def close_gracefully(self) -> list[Event]:
        """No new requests; ``Closed`` once the responses in flight are complete."""
        self._closing = True
        self._shutdown = True
        if not self._inflight and not self._finished:
            return [self._close(Reason.connection("normal", "shutdown: no request in flight"))]
        return []

    def stream_info(self, stream_id: int) -> dict[str, Any] | None:
        """State of an in-flight request."""
        req = self._find(stream_id)
        if req is None:
            return None
        return {
            "state": "running",
            "method": req.method,
            "path": req.path,
            "responded": req.responded,
            "flow": req.credit,
            "request_body": "open" if req.body_open else "done",
        }

    def active_streams(self) -> list[int]:
        """Ids of the requests still waiting for (the end of) their response."""
        return [r.id for r in self._inflight]

    def data_to_send(self) -> bytes:
        """Bytes to write now."""
        out = self._out
        if not out:
            return b""
        data = bytes(out)
        out.clear()
        return data

    # ------------------------------------------------------------------ responses

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes from the server (``b""``: it closed the connection)."""
        if self._finished:
            return []
        if not data:
            return self._eof()
        self._buf += data
        return self._parse()

    def _close(self, reason: Reason, *, killed_current: bool = True) -> Closed:
        self._finished = True
        self._closing = True
        ids = [r.id for r in self._inflight]
        self._inflight.clear()
        self._held.clear()
        self._writer = None
        self._buf = bytearray()
        self._pos = 0
        if killed_current and ids:
            return Closed(reason, (ids[0],), tuple(ids[1:]))
        return Closed(reason, (), tuple(ids))

    def _fail(self, events: list[Event], message: str) -> list[Event]:
        """A protocol error in the response being read: report it and close."""
        reason = Reason.connection("protocol_error", message)
        if self._inflight:
            req = self._inflight[0]
            if not req.silenced:
                events.append(Error(req.id, Reason.stream("protocol_error", message)))
            events.append(self._close(reason, killed_current=False))
            # the failed stream was reported by its Error; the rest are unprocessed
            closed = events[-1]
            assert isinstance(closed, Closed)
            events[-1] = Closed(reason, (), closed.unprocessed[1:])
        else:
            events.append(self._close(reason))
        return events

    def _eof(self) -> list[Event]:
        events: list[Event] = []
        state = self._state
        if state == _CLOSE_BODY and self._inflight:
            req = self._inflight.popleft()
            if not req.silenced:
                events.append(Data(req.id, True, b""))
            events.append(self._close(Reason.connection("normal", "the response ended with the connection (RFC 9112 6.3)"), killed_current=False))
            return events
        if not self._inflight:
            events.append(self._close(Reason.connection("closed", "the server closed the idle connection")))
            return events
        if state == _LENGTH:
            msg = f"the server closed the connection with {self._left} body bytes still expected (RFC 9112 8)"
        elif state in (_CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILERS):
            msg = "the server closed the connection before the end of the chunked body (RFC 9112 7.1)"
        else:
            msg = "the server closed the connection before the response was complete"
        events.append(self._close(Reason.connection("closed", msg)))
        return events

    def _parse(self) -> list[Event]:
        events: list[Event] = []
        buf = self._buf
        while not self._finished:
            state = self._state
            if state == _HEAD:
                if not self._parse_head(events):
                    break
            elif state == _LENGTH:
                req = self._inflight[0]
                avail = len(buf) - self._pos
                if avail == 0:
                    break
                n = min(avail, self._left)
                credit = req.credit
                if credit is not None:
                    if credit <= 0:
                        break
                    n = min(n, credit)
                    req.credit = credit - n
                chunk = bytes(buf[self._pos : self._pos + n])
                self._pos += n
                self._left -= n
                fin = self._left == 0
                if not req.silenced:
                    events.append(Data(req.id, fin, chunk))
                if fin:
                    self._response_done(events)
            elif state == _CLOSE_BODY:
                req = self._inflight[0]
                avail = len(buf) - self._pos
                if avail == 0:
                    break
                n = avail
                credit = req.credit
                if credit is not None:
                    if credit <= 0:
                        break
                    n = min(n, credit)
                    req.credit = credit - n
                chunk = bytes(buf[self._pos : self._pos + n])
                self._pos += n
                if not req.silenced:
                    events.append(Data(req.id, False, chunk))
            elif state == _CHUNK_SIZE:
                end = buf.find(b"\r\n", self._pos)
                if end < 0:
                    if len(buf) - self._pos > _MAX_CHUNK_LINE:
                        return self._fail(events, f"chunk size line longer than {_MAX_CHUNK_LINE} bytes (RFC 9112 7.1)")
                    break
                line = bytes(buf[self._pos : end])
                size_part = line.split(b";", 1)[0].rstrip(b" \t")
                if not _HEX.match(size_part):
                    return self._fail(events, f"invalid chunk size line: {line[:64]!r} (RFC 9112 7.1)")
                self._pos = end + 2
                size = int(size_part, 16)
                if size == 0:
                    self._state = _TRAILERS
                else:
                    self._left = size
                    self._state = _CHUNK_DATA
            elif state == _CHUNK_DATA:
                req = self._inflight[0]
                avail = len(buf) - self._pos
                if avail == 0:
                    break
                n = min(avail, self._left)
                credit = req.credit
                if credit is not None:
                    if credit <= 0:
                        break
                    n = min(n, credit)
                    req.credit = credit - n
                chunk = bytes(buf[self._pos : self._pos + n])
                self._pos += n
                self._left -= n
                if not req.silenced:
                    events.append(Data(req.id, False, chunk))
                if self._left == 0:
                    self._state = _CHUNK_CRLF
            elif state == _CHUNK_CRLF:
                if len(buf) - self._pos < 2:
                    break
                if buf[self._pos : self._pos + 2] != b"\r\n":
                    found = bytes(buf[self._pos : self._pos + 2])
                    return self._fail(events, f"chunk data not followed by CRLF: {found!r} (RFC 9112 7.1)")
                self._pos += 2
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                req = self._inflight[0]
                if buf[self._pos : self._pos + 2] == b"\r\n":
                    self._pos += 2
                    if not req.silenced:
                        events.append(Data(req.id, True, b""))
                    self._response_done(events)
                    continue
                if len(buf) - self._pos < 2:
                    break
                end = buf.find(b"\r\n\r\n", self._pos)
                if end < 0:
                    if len(buf) - self._pos > self._max_trailers:
                        return self._fail(
                            events, f"trailer section larger than max_trailer_block_size ({self._max_trailers} bytes)"
                        )
                    break
                if end + 4 - self._pos > self._max_trailers:
                    return self._fail(
                        events, f"trailer section larger than max_trailer_block_size ({self._max_trailers} bytes)"
                    )
                block = bytes(buf[self._pos : end])
                self._pos = end + 4
                trailers = self._parse_fields(block.split(b"\r\n"))
                if isinstance(trailers, str):
                    return self._fail(events, trailers)
                if not req.silenced:
                    events.append(Trailers(req.id, trailers))
                self._response_done(events)
            else:
                break
        # Compact lazily: drop consumed bytes once they dominate the buffer.
        pos = self._pos
        if pos and (pos == len(buf) or pos > 65536):
            del buf[:pos]
            self._scan = max(0, self._scan - pos)
            self._pos = 0
        return events

    def _parse_head(self, events: list[Event]) -> bool:
        """Parse one response head if complete; return False when more bytes are needed."""
        buf = self._buf
        pos = self._pos
        # RFC 9112 2.2: be lenient with empty lines before the status line.
        while buf.startswith(b"\r\n", pos):
            pos += 2
        self._pos = pos
        if pos >= len(buf):
            return False
        if not self._inflight:
            self._fail(events, f"the server sent {bytes(buf[pos : pos + 32])!r} with no request in flight (RFC 9112 9.3)")
            return False
        end = buf.find(b"\r\n\r\n", max(pos, self._scan - 3))
        if end < 0:
            if len(buf) - pos > self._max_head:
                self._fail(events, f"response head larger than max_header_block_size ({self._max_head} bytes)")
                return False
            self._scan = len(buf)
            return False
        if end + 4 - pos > self._max_head:
            self._fail(events, f"response head larger than max_header_block_size ({self._max_head} bytes)")
            return False
        lines = bytes(buf[pos:end]).split(b"\r\n")
        self._pos = end + 4
        self._scan = self._pos
        status_line = lines[0]
        # RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
        if (
            len(status_line) < 12
            or not status_line.startswith(b"HTTP/1.")
            or status_line[7] not in b"01"
            or status_line[8] != 32
            or not status_line[9:12].isdigit()
            or (len(status_line) > 12 and status_line[12] != 32)
        ):
            self._fail(events, f"malformed status line {status_line[:80]!r} (RFC 9112 4)")
            return False
        http10 = status_line[7] == 48
        status = int(status_line[9:12])
        if status < 100:
            self._fail(events, f"invalid status code {status} (RFC 9110 15)")
            return False
        headers = self._parse_fields(lines[1:])
        if isinstance(headers, str):
            self._fail(events, headers)
            return False
        req = self._inflight[0]
        if status < 200:
            if status == 101:
                if not req.upgrade:
                    self._fail(events, "101 Switching Protocols to a request that asked for no upgrade (RFC 9110 15.2.2)")
                    return False
                proto = b""
                for n, v in headers:
                    if n == b"upgrade":
                        proto = v.lower()
                trailing = bytes(buf[self._pos :])
                self._finished = True
                self._closing = True
                self._inflight.clear()
                self._buf = bytearray()
                self._pos = 0
                events.append(SwitchProtocol(req.id, proto.decode("latin-1"), 101, headers, trailing))
                return False
            if not req.silenced:
                events.append(Inform(req.id, status, headers))
            return True
        req.responded = True
        self._resp_status = status
        # Keep-alive (RFC 9112 9.3): HTTP/1.0 needs keep-alive; close ends it either way.
        conn_tokens = [t.strip().lower() for n, v in headers if n == b"connection" for t in v.split(b",")]
        if b"close" in conn_tokens or (http10 and b"keep-alive" not in conn_tokens) or req.close_after:
            self._keepalive = False
        # Body length (RFC 9112 6.3)
        method = req.method
        if method == b"HEAD" or status in _NO_BODY_STATUS or (method == b"CONNECT" and status < 300):
            self._emit_response(events, req, True, status, headers)
            self._response_done(events)
            return True
        te_values = [v for n, v in headers if n == b"transfer-encoding"]
        cl_values = [v for n, v in headers if n == b"content-length"]
        if te_values:
            if cl_values:
                self._fail(events, "response with both transfer-encoding and content-length (RFC 9112 6.3, smuggling)")
                return False
            codings = [c.strip().lower() for v in te_values for c in v.split(b",") if c.strip()]
            if b"chunked" in codings[:-1]:
                self._fail(events, f"chunked is not the final transfer coding: {b', '.join(codings)!r} (RFC 9112 6.1)")
                return False
            if codings and codings[-1] == b"chunked":
                self._emit_response(events, req, False, status, headers)
                self._state = _CHUNK_SIZE
                return True
            self._keepalive = False
            self._emit_response(events, req, False, status, headers)
            self._state = _CLOSE_BODY
            return True
        if cl_values:
            values = {c.strip() for v in cl_values for c in v.split(b",")}
            if len(values) != 1:
                self._fail(events, f"conflicting content-length values {sorted(values)!r} (RFC 9112 6.3)")
                return False
            value = values.pop()
            if not _DIGITS.match(value):
                self._fail(events, f"invalid content-length {value!r} (RFC 9112 6.3)")
                return False
            length = int(value)
            if length == 0:
                self._emit_response(events, req, True, status, headers)
                self._response_done(events)
                return True
            self._emit_response(events, req, False, status, headers)
            self._left = length
            self._state = _LENGTH
            return True
        # No length: the body runs to the end of the connection (RFC 9112 6.3 point 8).
        self._keepalive = False
        self._emit_response(events, req, False, status, headers)
        self._state = _CLOSE_BODY
        return True

    @staticmethod
    def _emit_response(events: list[Event], req: _Req, fin: bool, status: int, headers: Headers) -> None:
        if not req.silenced:
            events.append(Response(req.id, fin, status, headers))

    @staticmethod
    def _parse_fields(lines: list[bytes]) -> Headers | str:
        """Parse header (or trailer) field lines; return the fields or an error message."""
        out: Headers = []
        append = out.append
        for line in lines:
            if not line:
                continue
            if line[0] in (32, 9):
                return f"obsolete line folding in {line[:64]!r} (RFC 9112 5.2)"
            name, sep, value = line.partition(b":")
            if not sep or not _TOKEN.match(name):
                return f"invalid header line {line[:64]!r} (RFC 9112 5.1)"
            value = value.strip(b" \t")
            if b"\n" in value or b"\x00" in value or b"\r" in value:
                return f"header {name!r} value holds CR, LF or NUL (RFC 9110 5.5)"
            append((name.lower(), value))
        return out

    def _response_done(self, events: list[Event]) -> None:
        """The current response is complete: move on, or close the connection."""
        self._inflight.popleft()
        self._state = _HEAD
        if not self._keepalive:
            reason = Reason.connection("normal", "the server closes the connection after this response (RFC 9112 9.6)")
            events.append(self._close(reason, killed_current=False))
        elif self._shutdown and not self._inflight:
            events.append(self._close(Reason.connection("normal", "shutdown: every response complete")))
