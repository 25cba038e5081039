"""The HTTP/2 client machine (RFC 9113), sans-IO.

:class:`Http2Protocol` implements :class:`~gun_core.protocol.CoreProtocol`. It turns
the bytes the server sends into events keyed by local stream handles, and queues the
bytes to send. After *every* call to :meth:`~Http2Protocol.receive_data` or to a
command method, the driver must call :meth:`~Http2Protocol.data_to_send` and write what
it returns (the core never writes by itself).

Stream handles are local: ``request`` returns 1, 2, 3... and each accepted server push
gets the next one. They are mapped to wire stream ids internally, so a request that
waits for a concurrency slot (SETTINGS_MAX_CONCURRENT_STREAMS) keeps a stable handle.

Frames are decoded by :mod:`gun_core.http2_frames`, header blocks by the ``hpack``
package, windows are kept by :mod:`gun_core.flow`, per-stream state lives in
:mod:`gun_core.http2_stream`.

Connection errors are answered with GOAWAY and reported by one :class:`Closed` event
(no per-stream ``Error`` before it): ``killed`` lists the streams that had started,
``unprocessed`` the ones the server never saw (queued, or above a GOAWAY's last stream
id). Stream errors send RST_STREAM and report ``Error(handle, reason)``.
"""

from __future__ import annotations

import logging
import re
import struct
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from hpack import Decoder, Encoder
from hpack.exceptions import OversizedHeaderListError

from .errors import Reason, UsageError
from .events import Closed, Data, Error, Event, Inform, Notify, Push, Response, Trailers
from .flow import DEFAULT_WINDOW, MAX_WINDOW, RecvWindow, add_window
from .headers import Headers
from .http2_frames import (
    DEFAULT_MAX_FRAME_SIZE,
    MAX_STREAM_ID,
    PREFACE,
    SETTINGS_ACK,
    ContinuationFrame,
    DataFrame,
    ErrorCode,
    FrameConnectionError,
    FrameOk,
    FrameStreamError,
    GoawayFrame,
    HeadersFrame,
    NeedMore,
    PingFrame,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingCode,
    SettingsFrame,
    UnknownFrame,
    WindowUpdateFrame,
    build_goaway,
    build_headers,
    build_ping,
    build_rst_stream,
    build_settings,
    build_window_update,
    frame_header,
    parse,
)
from .http2_stream import Half, Phase, Stream
from .options import Http2Opts

__all__ = [
    "MAX_EMPTY_DATA",
    "MAX_OUTSTANDING_PINGS",
    "MAX_PINGS_PER_FLUSH",
    "MAX_RECENT_RESETS",
    "MAX_REFUSED_RETRIES",
    "MAX_RESERVED_PUSHES",
    "MAX_RESETS_PER_FLUSH",
    "MAX_SETTINGS_PER_FLUSH",
    "Http2Protocol",
]

log = logging.getLogger("gun_core.http2")

#: How many recently reset stream ids we remember, to ignore their late frames.
MAX_RECENT_RESETS = 1024
#: PING frames (not ACKs) the peer may send between two ``data_to_send()`` calls.
MAX_PINGS_PER_FLUSH = 1000
#: SETTINGS frames (not ACKs) the peer may send between two ``data_to_send()`` calls.
MAX_SETTINGS_PER_FLUSH = 100
#: RST_STREAMs the peer may cause (sent by us, or received for streams no longer
#: active) between two ``data_to_send()`` calls.
MAX_RESETS_PER_FLUSH = 1000
#: Consecutive empty DATA frames without END_STREAM the peer may send.
MAX_EMPTY_DATA = 100
#: Promised push streams that may wait for their response at once.
MAX_RESERVED_PUSHES = 100
#: Outstanding PINGs of one kind (keepalive or user) we remember.
MAX_OUTSTANDING_PINGS = 1024
#: Times a request refused with REFUSED_STREAM before any processing is sent again.
MAX_REFUSED_RETRIES = 3

_IDLE = Half.IDLE
_NOFIN = Half.NOFIN
_FIN = Half.FIN
_P_HEADERS = Phase.HEADERS
_P_BODY = Phase.BODY
_P_TRAILERS = Phase.TRAILERS

_END_STREAM = 0x1
_PING_ID = struct.Struct(">4sL")

# RFC 9113 8.2.2: connection-specific fields never go in an HTTP/2 message.
_CONNECTION_SPECIFIC = frozenset([b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"])
# RFC 7541 7.1.3: credentials are sent as never-indexed literals.
_SENSITIVE = frozenset([b"authorization", b"proxy-authorization"])
_HPACK_CACHE_SIZE = 64  # remembered field blocks per connection and direction (_decode, _encode)
_DECODE_CACHE_BLOCK = 2048  # the largest received block remembered, in bytes
_STATIC_ENTRIES = 61  # RFC 7541 Appendix A


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    """Store in a bounded HPACK cache, forgetting the oldest entry when it is full."""
    if len(cache) >= _HPACK_CACHE_SIZE:
        del cache[next(iter(cache))]
    cache[key] = value


def _hpack_int(data: bytes, pos: int, prefix: int) -> tuple[int, int]:
    """An HPACK integer with a ``prefix``-bit prefix at ``data[pos]`` (RFC 7541 5.1): (value, next pos).

    ``(-1, pos)`` when it runs past the end or is absurdly long.
    """
    limit = (1 << prefix) - 1
    value = data[pos] & limit
    pos += 1
    if value < limit:
        return value, pos
    shift = 0
    n = len(data)
    while pos < n and shift <= 28:
        b = data[pos]
        pos += 1
        value += (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
    return -1, pos


def _all_indexed(block: bytes) -> bool:
    """Whether a field block is only indexed fields (RFC 7541 6.1), which change no table."""
    pos = 0
    n = len(block)
    while pos < n:
        if not block[pos] & 0x80:
            return False
        index, pos = _hpack_int(block, pos, 7)
        if index <= 0:
            return False
    return True


def _static_only_representations(block: bytes) -> list[bool] | None:
    """For a field block that refers to no dynamic-table entry and has no size update, whether
    each field representation inserts into the table (RFC 7541 6); otherwise None."""
    out: list[bool] = []
    pos = 0
    n = len(block)
    while pos < n:
        b = block[pos]
        if b & 0x80:  # indexed field (6.1)
            index, pos = _hpack_int(block, pos, 7)
            if not 0 < index <= _STATIC_ENTRIES:
                return None
            out.append(False)
            continue
        if b & 0xE0 == 0x20:  # dynamic table size update (6.3)
            return None
        inserts = b & 0xC0 == 0x40  # literal with incremental indexing (6.2.1), or not (6.2.2, 6.2.3)
        index, pos = _hpack_int(block, pos, 6 if inserts else 4)
        if index < 0 or index > _STATIC_ENTRIES:
            return None
        for _ in range(1 if index else 2):  # the value, after the name when it is a literal
            if pos >= n:
                return None
            length, pos = _hpack_int(block, pos, 7)
            if length < 0:
                return None
            pos += length
        out.append(inserts)
    return out if pos == n else None


# RFC 9113 8.2.1: no 0x00-0x20, no uppercase, no 0x7f-0xff, no colon outside pseudo-headers.
_BAD_NAME = re.compile(rb"[\x00-\x20A-Z\x7f-\xff:]")
# RFC 9113 8.2.1: no NUL, CR or LF, and no leading or trailing SP/HTAB in a value.
_BAD_VALUE = re.compile(rb"[\x00\r\n]|\A[ \t]|[ \t]\Z")
_NO_CONTENT_STATUS = frozenset([204, 304])
_SAFE_PUSH_METHODS = frozenset([b"GET", b"HEAD"])


def _kind(code: ErrorCode) -> str:
    return code.name.lower()


def _field_error(name: bytes, value: bytes) -> str | None:
    """Why a regular field is malformed (RFC 9113 8.2), or ``None``."""
    if not name or _BAD_NAME.search(name):
        return f"invalid field name {name!r} (RFC 9113 8.2.1)"
    if _BAD_VALUE.search(value):
        return f"invalid value for field {name.decode('latin-1')!r} (RFC 9113 8.2.1)"
    if name in _CONNECTION_SPECIFIC:
        return f"connection-specific field {name.decode('latin-1')!r} (RFC 9113 8.2.2)"
    return None


def _parse_content_length(value: bytes) -> int | None:
    """RFC 9110 8.6: digits, or a list of identical values."""
    parts = [p.strip(b" \t") for p in value.split(b",")]
    first = parts[0]
    if not first.isdigit() or len(first) > 18 or any(p != first for p in parts):
        return None
    return int(first)


def _check_response(
    block: list[tuple[bytes, bytes]],
) -> tuple[int, Headers, int | None] | str:
    """Validate a response header section: ``(status, headers, content_length)`` or why not."""
    status: bytes | None = None
    headers: Headers = []
    content_length: int | None = None
    for name, value in block:
        if name[:1] == b":":
            if headers:
                return "pseudo-header field after a regular field (RFC 9113 8.3)"
            if name != b":status":
                return f"pseudo-header {name.decode('latin-1')!r} is not allowed in a response (RFC 9113 8.3.2)"
            if status is not None:
                return "more than one :status pseudo-header (RFC 9113 8.3.2)"
            status = value
            continue
        err = _field_error(name, value)
        if err is not None:
            return err
        if name == b"content-length":
            cl = _parse_content_length(value)
            if cl is None or (content_length is not None and cl != content_length):
                return f"invalid content-length {value!r} (RFC 9113 8.1.1)"
            content_length = cl
        headers.append((name, value))
    if status is None:
        return "response without a :status pseudo-header (RFC 9113 8.3.2)"
    if len(status) != 3 or not status.isdigit() or status[0] not in b"12345":
        return f"invalid :status {status!r}: not a 3-digit status code (RFC 9113 8.3.2, RFC 9110 15)"
    return int(status), headers, content_length


def _check_trailers(block: list[tuple[bytes, bytes]]) -> Headers | str:
    """Validate a trailer section: no pseudo-headers, well-formed fields (RFC 9113 8.1)."""
    headers: Headers = []
    for name, value in block:
        if name[:1] == b":":
            return f"pseudo-header {name.decode('latin-1')!r} in trailers (RFC 9113 8.1)"
        err = _field_error(name, value)
        if err is not None:
            return err
        headers.append((name, value))
    return headers


def _check_promise(
    block: list[tuple[bytes, bytes]],
) -> tuple[dict[bytes, bytes], Headers] | str:
    """Validate a promised request (RFC 9113 8.4, 8.3.1): ``(pseudo, headers)`` or why not."""
    pseudo: dict[bytes, bytes] = {}
    headers: Headers = []
    for name, value in block:
        if name[:1] == b":":
            if headers:
                return "pseudo-header field after a regular field (RFC 9113 8.3)"
            if name not in (b":method", b":scheme", b":authority", b":path"):
                return f"pseudo-header {name.decode('latin-1')!r} in a promised request (RFC 9113 8.3.1)"
            if name in pseudo:
                return f"duplicate {name.decode('latin-1')} in a promised request (RFC 9113 8.3.1)"
            if _BAD_VALUE.search(value):
                return f"invalid value for {name.decode('latin-1')} (RFC 9113 8.2.1)"
            pseudo[name] = value
            continue
        err = _field_error(name, value)
        if err is not None:
            return err
        headers.append((name, value))
    for required in (b":method", b":scheme", b":authority", b":path"):
        if not pseudo.get(required):
            return f"promised request without {required.decode()} (RFC 9113 8.4)"
    if pseudo[b":method"] not in _SAFE_PUSH_METHODS:
        return f"promised request method {pseudo[b':method']!r} is not safe and cacheable (RFC 9113 8.4)"
    return pseudo, headers


class _Block:
    """A field block being assembled from HEADERS/PUSH_PROMISE + CONTINUATION frames."""

    __slots__ = ("buf", "count", "fin", "promised", "self_dependent", "stream_id")

    def __init__(self, stream_id: int, fragment: memoryview | bytes, fin: bool, promised: int, self_dep: bool) -> None:
        self.stream_id = stream_id
        self.buf = bytearray(fragment)
        self.count = 1
        self.fin = fin
        self.promised = promised  # 0 for HEADERS, the promised stream id for PUSH_PROMISE
        self.self_dependent = self_dep


class Http2Protocol:
    """The client side of one HTTP/2 connection.

    ``authority`` is the default ``:authority`` (``host`` or ``host:port``), ``scheme``
    the ``:scheme``. ``enable_push=False`` advertises SETTINGS_ENABLE_PUSH 0.

    Construction queues the client connection preface, our SETTINGS and, when
    ``initial_connection_window_size`` is above 65535, a connection WINDOW_UPDATE: the
    driver must send ``data_to_send()`` at once (and start the ``settings`` and
    ``preface`` timers).
    """

    protocol = "http2"

    def __init__(
        self,
        authority: bytes,
        scheme: bytes = b"https",
        opts: Http2Opts | None = None,
        *,
        enable_push: bool = True,
    ) -> None:
        self._authority = bytes(authority)
        self._scheme = bytes(scheme)
        self._opts = opts = opts if opts is not None else Http2Opts()
        self._enable_push = enable_push
        self._out: list[bytes | memoryview] = []
        self._buf = bytearray()
        self._closed = False  # Closed was emitted: nothing more happens
        self._closing = False  # no new streams
        self._goaway_sent = False
        self._goaway_last: int | None = None  # last-stream-id of the peer's GOAWAY
        self._goaway_code: int = 0
        self._goaway_debug = b""
        self._got_preface = False  # the server's SETTINGS arrived
        self._settings_acked = False
        self._max_frame_in = opts.max_frame_size_received
        self._max_header_list = opts.max_header_list_size

        # HPACK (RFC 7541). Until our SETTINGS are acknowledged the peer may still use
        # a 4096-byte table (RFC 9113 6.5.3); after that the limit is ours.
        self._encoder = Encoder()
        # Field lists whose block is all indexed fields: encoding them left the encoder's table
        # unchanged, so while nothing else changes it (_encode_gen) the same list encodes to
        # the same bytes (see _encode).
        self._encode_cache: dict[tuple[tuple[bytes, bytes], ...], tuple[int, bytes]] = {}
        self._encode_gen = 0
        self._decoder = Decoder(max_header_list_size=opts.max_header_list_size)
        self._decoder.max_allowed_table_size = max(4096, opts.max_decode_table_size)
        # Field blocks that use only the static table, with what they insert (see _decode).
        self._decode_cache: dict[bytes, tuple[tuple[tuple[bytes, bytes], ...], tuple[tuple[bytes, bytes], ...]]] = {}

        # What the server told us (RFC 9113 6.5.2 defaults until it does).
        self._peer_max_frame = DEFAULT_MAX_FRAME_SIZE
        self._peer_initial_window = DEFAULT_WINDOW
        self._peer_max_concurrent: int | None = None
        self._peer_max_header_list: int | None = None
        self._peer_connect_protocol = False
        self._peer_settings: dict[str, Any] = {
            "header_table_size": 4096,
            "enable_push": True,
            "max_concurrent_streams": None,
            "initial_window_size": DEFAULT_WINDOW,
            "max_frame_size": DEFAULT_MAX_FRAME_SIZE,
            "max_header_list_size": None,
            "enable_connect_protocol": False,
        }

        # Windows (RFC 9113 6.9).
        self._conn_send = DEFAULT_WINDOW
        self._conn_recv = RecvWindow(DEFAULT_WINDOW, opts.initial_connection_window_size)
        self._local_initial_window = opts.initial_stream_window_size

        # Streams.
        self._streams: dict[int, Stream] = {}  # handle -> stream, started or queued, not finished
        self._by_wire: dict[int, Stream] = {}  # wire id -> started stream
        self._waiting: deque[Stream] = deque()  # requests waiting for a concurrency slot
        self._blocked: dict[int, Stream] = {}  # handle -> stream with body data waiting for window
        self._unprocessed: list[int] = []
        self._local_open = 0  # our started streams not yet closed
        self._push_open = 0  # pushed streams whose response started
        self._push_reserved = 0  # promised streams waiting for their response
        self._next_wire = 1
        self._next_handle = 1
        self._last_promised = 0
        self._reset: OrderedDict[int, None] = OrderedDict()
        self._block: _Block | None = None
        self._max_continuations = 2 + opts.max_header_list_size // 1024

        # PINGs and flood counters.
        self._ping_counter = 0
        self._keepalive_pings: OrderedDict[bytes, None] = OrderedDict()
        self._user_pings: OrderedDict[bytes, None] = OrderedDict()
        self._pings_in = 0
        self._settings_in = 0
        self._resets = 0
        self._empty_data = 0

        self._dispatch: dict[type, Callable[[Any, list[Event]], None]] = {
            DataFrame: self._on_data,
            HeadersFrame: self._on_headers,
            PriorityFrame: self._on_priority,
            RstStreamFrame: self._on_rst_stream,
            SettingsFrame: self._on_settings,
            PushPromiseFrame: self._on_push_promise,
            PingFrame: self._on_ping,
            GoawayFrame: self._on_goaway,
            WindowUpdateFrame: self._on_window_update,
            ContinuationFrame: self._on_continuation,
            UnknownFrame: self._on_unknown,
        }

        # RFC 9113 3.4: the preface, then our SETTINGS, then we may send at once.
        settings: list[tuple[int, int]] = []
        if opts.max_decode_table_size != 4096:
            settings.append((SettingCode.HEADER_TABLE_SIZE, opts.max_decode_table_size))
        if not enable_push:
            settings.append((SettingCode.ENABLE_PUSH, 0))
        if opts.max_concurrent_streams is not None:
            settings.append((SettingCode.MAX_CONCURRENT_STREAMS, opts.max_concurrent_streams))
        if opts.initial_stream_window_size != DEFAULT_WINDOW:
            settings.append((SettingCode.INITIAL_WINDOW_SIZE, opts.initial_stream_window_size))
        if opts.max_frame_size_received != DEFAULT_MAX_FRAME_SIZE:
            settings.append((SettingCode.MAX_FRAME_SIZE, opts.max_frame_size_received))
        settings.append((SettingCode.MAX_HEADER_LIST_SIZE, opts.max_header_list_size))
        if opts.enable_connect_protocol:
            settings.append((SettingCode.ENABLE_CONNECT_PROTOCOL, 1))
        self._out.append(PREFACE + build_settings(settings))
        increment = self._conn_recv.take_update()
        if increment:
            self._out.append(build_window_update(0, increment))

    # ------------------------------------------------------------------ CoreProtocol surface

    @property
    def paused(self) -> bool:
        """Always false: HTTP/2 flow control works through windows, not by pausing reads."""
        return False

    @property
    def closing(self) -> bool:
        """Whether new requests are refused (GOAWAY sent or received, or closed)."""
        return self._closing or self._closed

    @property
    def peer_settings(self) -> dict[str, Any]:
        """A copy of the server's settings as known now (RFC 9113 6.5.2 defaults before its SETTINGS)."""
        return dict(self._peer_settings)

    def data_to_send(self) -> bytes:
        """Return and forget the bytes to write now."""
        # The flood counters measure what the peer makes us queue between two flushes.
        self._pings_in = self._settings_in = self._resets = 0
        out = self._out
        if not out:
            return b""
        self._out = []
        return b"".join(out)

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes from the server (``b""``: it closed the connection)."""
        if self._closed:
            return []
        events: list[Event] = []
        if not data:
            self._peer_closed(events)
            return events
        view = memoryview(data)
        n = len(view)
        start = 0
        buf = self._buf
        if buf:
            # A frame straddles the reads: append only the bytes that complete it, so the
            # frames after it are parsed in place (each payload is copied once, into its event).
            while buf and start < n:
                if len(buf) < 9:
                    need = 9 - len(buf)
                else:
                    length = int.from_bytes(buf[:3], "big")
                    need = 9 + length - len(buf) if length <= self._max_frame_in else 0
                take = min(need, n - start)
                buf += view[start : start + take]
                start += take
                if take < need:
                    break  # still incomplete: wait for more
                if len(buf) < 9:
                    continue
                used = self._process(buf, events)
                if self._closed:
                    self._buf = bytearray()
                    return events
                del buf[:used]
            if buf or start >= n:
                return events
        used = self._process(view[start:] if start else view, events)
        if not self._closed and start + used < n:
            self._buf = bytearray(view[start + used :])
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
        protocol: bytes | None = None,
    ) -> int:
        """Queue a request and return its stream handle.

        ``body``: the whole request body, sent after the HEADERS (``content-length`` is
        added when the caller gave none). ``body_follows``: more comes with ``data()``;
        the stream stays open until ``data(..., fin=True)``. ``flow``: owner credit in
        bytes that caps the stream's WINDOW_UPDATEs (default: ``opts.flow``).
        ``protocol``: send an extended CONNECT with this ``:protocol`` (RFC 8441 4), only
        after the server allowed it with SETTINGS_ENABLE_CONNECT_PROTOCOL.
        """
        if self._closed or self._closing:
            raise UsageError("the HTTP/2 connection is closing and takes no new streams")
        if self._next_wire + 2 * len(self._waiting) > MAX_STREAM_ID:
            raise UsageError("HTTP/2 stream ids are exhausted on this connection (RFC 9113 5.1.1); open a new one")
        if flow is not None and flow < 0:
            raise UsageError(f"flow must be a non-negative number of bytes, not {flow!r}")
        method = bytes(method)
        path = bytes(path)
        authority = self._authority
        regular: list[tuple[bytes, bytes]] = []
        has_length = False
        for name, value in headers:
            name = bytes(name).lower()
            value = bytes(value)
            if name[:1] == b":":
                raise UsageError(f"pseudo-header {name!r} cannot be set by the caller")
            if name in _CONNECTION_SPECIFIC:
                continue  # RFC 9113 8.2.2
            if name == b"host":
                authority = value  # RFC 9113 8.3.1: :authority replaces Host
                continue
            if name == b"te" and value.strip(b" \t").lower() != b"trailers":
                continue  # RFC 9113 8.2.2: only "te: trailers"
            if name == b"content-length":
                has_length = True
            regular.append((name, value))
        pseudo: list[tuple[bytes, bytes]]
        if protocol is not None:
            if not self._peer_connect_protocol:
                raise UsageError(
                    "the server did not allow extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441 3)"
                )
            if method != b"CONNECT":
                raise UsageError(f"an extended CONNECT must use the CONNECT method, not {method!r} (RFC 8441 4)")
            if not path:
                raise UsageError("an extended CONNECT needs a path (RFC 8441 4)")
            pseudo = [
                (b":method", b"CONNECT"),
                (b":protocol", bytes(protocol)),
                (b":scheme", self._scheme),
                (b":authority", authority),
                (b":path", path),
            ]
        elif method == b"CONNECT":
            # RFC 9113 8.5: only :method and :authority (the target, host:port).
            pseudo = [(b":method", method), (b":authority", path or authority)]
        else:
            if not path:
                raise UsageError("the request path must not be empty (RFC 9113 8.3.1)")
            pseudo = [(b":method", method), (b":scheme", self._scheme), (b":authority", authority), (b":path", path)]
        if body is not None and not body_follows and not has_length:
            regular.append((b"content-length", str(len(body)).encode()))
        field_list = pseudo + regular
        peer_limit = self._peer_max_header_list
        if peer_limit is not None:
            size = sum(32 + len(n) + len(v) for n, v in field_list)
            if size > peer_limit:
                raise UsageError(
                    f"request header list of {size} bytes exceeds the server's SETTINGS_MAX_HEADER_LIST_SIZE "
                    f"{peer_limit} (RFC 9113 6.5.2)"
                )
        handle = self._next_handle
        self._next_handle += 1
        credit = flow if flow is not None else self._opts.flow
        initial = self._local_initial_window
        s = Stream(handle, method, RecvWindow(initial, initial, credit), authority=authority, protocol=protocol)
        s.pending = field_list
        if body:
            body = bytes(body)
            s.queue.append(body)
            s.queued_bytes = len(body)
        s.body_fin = not body_follows
        self._streams[handle] = s
        self._waiting.append(s)
        self._start_waiting([])
        return handle

    def data(self, stream_id: int, fin: bool, data: bytes) -> list[Event]:
        """Queue a piece of the request body; it goes out as the windows allow."""
        s = self._streams.get(stream_id)
        if s is None:
            if 0 < stream_id < self._next_handle:
                return []  # the stream ended meanwhile (reset, error, closed): drop quietly
            raise UsageError(f"unknown stream {stream_id}")
        if s.pushed:
            raise UsageError(f"stream {stream_id} is a pushed response: it takes no request body")
        if s.body_fin:
            raise UsageError(f"the request body of stream {stream_id} is already complete")
        if data:
            piece = data if type(data) is bytes else bytes(data)
            s.queue.append(piece)
            s.queued_bytes += len(piece)
        if fin:
            s.body_fin = True
        events: list[Event] = []
        if s.started:
            self._flush_stream(s, events)
        return events

    def cancel(self, stream_id: int) -> list[Event]:
        """Cancel a stream: RST_STREAM CANCEL (RFC 9113 8.7); its later frames are ignored."""
        s = self._streams.get(stream_id)
        events: list[Event] = []
        if s is None or self._closed:
            return events
        if s.started:
            self._out.append(build_rst_stream(s.wire_id, ErrorCode.CANCEL))
            self._note_reset(s.wire_id)
        self._close_stream(s, events)
        return events

    def update_flow(self, stream_id: int, increment: int) -> list[Event]:
        """Grant ``increment`` more bytes to a stream opened with ``flow``; may send WINDOW_UPDATE."""
        if isinstance(increment, bool) or not isinstance(increment, int) or increment <= 0:
            raise UsageError(f"flow increment must be a positive integer, not {increment!r}")
        s = self._streams.get(stream_id)
        if s is None or self._closed:
            return []
        s.recv.grant(increment)
        if s.started and s.remote is not _FIN:
            self._stream_window_update(s)
        return []

    def keepalive(self) -> list[Event]:
        """Send a keepalive PING; fail the connection if too many went unanswered."""
        events: list[Event] = []
        if self._closed:
            return events
        tolerance = self._opts.keepalive_tolerance
        outstanding = len(self._keepalive_pings)
        if tolerance is not None and outstanding >= tolerance:
            self._out.append(build_goaway(self._last_promised, ErrorCode.NO_ERROR))
            self._goaway_sent = True
            reason = Reason.connection(
                "timeout", f"{outstanding} keepalive PINGs unanswered (keepalive_tolerance {tolerance}, RFC 9113 6.7)"
            )
            self._finish(reason, events)
            return events
        payload = self._new_ping(b"gunK", self._keepalive_pings)
        self._out.append(build_ping(payload))
        return events

    def ping(self) -> bytes:
        """Send a PING; return its 8-byte payload. ``Notify("ping_ack", payload)`` reports the ACK."""
        if self._closed:
            raise UsageError("the HTTP/2 connection is closed")
        payload = self._new_ping(b"gunU", self._user_pings)
        self._out.append(build_ping(payload))
        return payload

    def timeout(self, name: str) -> list[Event]:
        """A driver timer expired: ``settings``, ``preface``, ``closing`` or ``keepalive``."""
        events: list[Event] = []
        if name == "keepalive":
            return self.keepalive()
        if name not in ("settings", "preface", "closing"):
            raise UsageError(f"unknown HTTP/2 timer {name!r}")
        if self._closed:
            return events
        if name == "settings":
            if not self._settings_acked:
                self._conn_error(
                    ErrorCode.SETTINGS_TIMEOUT,
                    "the server did not acknowledge our SETTINGS within settings_timeout (RFC 9113 6.5.3)",
                    events,
                    kind="timeout",
                )
        elif name == "preface":
            if not self._got_preface:
                self._conn_error(
                    ErrorCode.PROTOCOL_ERROR,
                    "the server sent no connection preface (SETTINGS) within preface_timeout (RFC 9113 3.4)",
                    events,
                    kind="timeout",
                )
        elif self._closing:
            n = len(self._streams)
            self._finish(
                Reason.connection("timeout", f"closing_timeout expired with {n} stream(s) still in progress"), events
            )
        return events

    def close_gracefully(self) -> list[Event]:
        """Start no new stream, let the current ones finish, then GOAWAY(NO_ERROR) and ``Closed``.

        The GOAWAY goes out once the streams are done (RFC 9113 6.8 lets either order
        be used): some servers stop serving a connection as soon as a client's GOAWAY
        arrives, which would kill the very streams a graceful shutdown waits for.
        """
        events: list[Event] = []
        if self._closed:
            return events
        self._closing = True
        self._drop_waiting()
        self._maybe_finish_closing(events)
        return events

    def stream_info(self, stream_id: int) -> dict[str, Any] | None:
        """``state`` (``"queued"``/``"running"``), ``rfc_state``, ``local``/``remote`` half-states,
        ``wire_id``, ``pushed``, ``send_window``, ``recv_window``, ``flow``, ``queued_bytes``;
        ``None`` when the stream is unknown or finished."""
        s = self._streams.get(stream_id)
        return None if s is None else s.info()

    def active_streams(self) -> list[int]:
        """Handles of the streams in progress (started or waiting for a slot), in order."""
        return sorted(self._streams)

    # ------------------------------------------------------------------ receiving

    def _process(self, buf: bytes | bytearray | memoryview, events: list[Event]) -> int:
        """Handle every complete frame in ``buf``; return how many bytes were used."""
        view = memoryview(buf)
        pos = 0
        max_size = self._max_frame_in
        dispatch = self._dispatch
        try:
            while not self._closed:
                if not self._got_preface and pos == 0 and bytes(view[:5]) == b"HTTP/":
                    self._conn_error(
                        ErrorCode.PROTOCOL_ERROR,
                        "the server answered in HTTP/1.x, not with an HTTP/2 preface (RFC 9113 3.4)",
                        events,
                    )
                    break
                r = parse(view, pos, max_size)
                t = type(r)
                if t is FrameOk:
                    assert isinstance(r, FrameOk)
                    pos += r.used
                    frame = r.frame
                    ftype = type(frame)
                    if self._block is not None and ftype is not ContinuationFrame:
                        self._conn_error(
                            ErrorCode.PROTOCOL_ERROR,
                            f"{frame.__class__.__name__} in the middle of a field block; only CONTINUATION may "
                            "follow (RFC 9113 4.3, 6.10)",
                            events,
                        )
                        break
                    if not self._got_preface and (ftype is not SettingsFrame or frame.ack):  # type: ignore[union-attr]
                        self._conn_error(
                            ErrorCode.PROTOCOL_ERROR,
                            f"the server preface must start with SETTINGS, not {frame.__class__.__name__} "
                            "(RFC 9113 3.4)",
                            events,
                        )
                        break
                    dispatch[ftype](frame, events)
                elif t is NeedMore:
                    break
                elif t is FrameStreamError:
                    assert isinstance(r, FrameStreamError)
                    pos += r.used
                    if self._block is not None or not self._got_preface:
                        self._conn_error(ErrorCode.PROTOCOL_ERROR, r.message, events)
                        break
                    self._peer_stream_error(r.stream_id, r.code, r.message, events)
                else:
                    assert isinstance(r, FrameConnectionError)
                    self._conn_error(r.code, r.message, events)
                    break
        except Exception as exc:  # a bug of ours: fail the connection, never raise at the driver
            log.exception("internal error in the HTTP/2 machine")
            self._conn_error(ErrorCode.INTERNAL_ERROR, f"internal error: {exc!r}", events, send_debug=False)
        return pos

    def _peer_closed(self, events: list[Event]) -> None:
        partial = " in the middle of a frame" if self._buf else ""
        if self._goaway_last is not None:
            reason = self._goaway_reason(f"; then it closed the connection{partial}")
        else:
            reason = Reason.connection("closed", f"the server closed the connection{partial}")
        self._finish(reason, events)

    # DATA ---------------------------------------------------------------------

    def _on_data(self, f: DataFrame, events: list[Event]) -> None:
        size = f.flow_size
        sid = f.stream_id
        # RFC 9113 6.9: every DATA frame counts against the connection window, whatever
        # the state of its stream.
        if not self._conn_recv.consume(size):
            self._conn_error(
                ErrorCode.FLOW_CONTROL_ERROR,
                f"DATA frame of {size} bytes on stream {sid} exceeds the connection window (RFC 9113 6.9.1)",
                events,
            )
            return
        increment = self._conn_recv.take_update()
        if increment:
            self._out.append(build_window_update(0, increment))
        s = self._by_wire.get(sid)
        if s is None:
            self._frame_on_inactive(sid, "DATA", events)
            return
        if s.remote is _IDLE and s.pushed:
            self._conn_error(
                ErrorCode.PROTOCOL_ERROR,
                f"DATA on promised stream {sid} before its HEADERS (RFC 9113 5.1, reserved (remote))",
                events,
            )
            return
        if s.remote is _FIN:
            self._quiet_reset(s, ErrorCode.STREAM_CLOSED, events)
            return
        if s.phase is not _P_BODY:
            self._stream_error(
                s, ErrorCode.PROTOCOL_ERROR, f"DATA on stream {sid} before a final response (RFC 9113 8.1)", events
            )
            return
        if not s.recv.consume(size):
            self._stream_error(
                s,
                ErrorCode.FLOW_CONTROL_ERROR,
                f"DATA frame of {size} bytes exceeds the window of stream {sid} (RFC 9113 6.9.1)",
                events,
            )
            return
        payload = f.data
        n = len(payload)
        fin = f.fin
        if n == 0 and not fin:
            self._empty_data += 1
            if self._empty_data > MAX_EMPTY_DATA:
                self._conn_error(
                    ErrorCode.ENHANCE_YOUR_CALM,
                    f"more than {MAX_EMPTY_DATA} empty DATA frames in a row (RFC 9113 10.5)",
                    events,
                )
                return
        else:
            self._empty_data = 0
        cl = s.content_length
        if cl is not None:
            received = s.received + n
            s.received = received
            if received > cl or (fin and received != cl):
                self._stream_error(
                    s,
                    ErrorCode.PROTOCOL_ERROR,
                    f"stream {sid} body of {received}{'+' if not fin else ''} bytes does not match "
                    f"content-length {cl} (RFC 9113 8.1.1)",
                    events,
                )
                return
        if n or fin:  # an empty DATA frame without END_STREAM carries nothing for the owner
            events.append(Data(s.handle, fin, bytes(payload)))
            s.recv.delivered(n)
        if fin:
            s.remote = _FIN
            if s.local is _FIN:
                self._close_stream(s, events)
        else:
            self._stream_window_update(s)

    # HEADERS / PUSH_PROMISE / CONTINUATION ------------------------------------

    def _on_headers(self, f: HeadersFrame, events: list[Event]) -> None:
        sid = f.stream_id
        if sid not in self._by_wire and self._is_idle(sid):
            self._conn_error(
                ErrorCode.PROTOCOL_ERROR,
                f"HEADERS on stream {sid}, which was neither opened by us nor promised (RFC 9113 5.1.1, 8.4)",
                events,
            )
            return
        if f.end_headers:
            self._headers_block(sid, f.fragment, f.fin, f.self_dependent, events)
        else:
            self._start_block(_Block(sid, f.fragment, f.fin, 0, f.self_dependent), events)

    def _on_push_promise(self, f: PushPromiseFrame, events: list[Event]) -> None:
        sid = f.stream_id
        promised = f.promised_stream_id
        if not self._enable_push and self._settings_acked:
            self._conn_error(
                ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE although we disabled push (RFC 9113 6.5.2, 8.4)", events
            )
            return
        if sid & 1 == 0 or sid >= self._next_wire:
            self._conn_error(
                ErrorCode.PROTOCOL_ERROR,
                f"PUSH_PROMISE on stream {sid}, which is not a request stream we opened (RFC 9113 6.6)",
                events,
            )
            return
        if promised == 0 or promised & 1 or promised <= self._last_promised:
            self._conn_error(
                ErrorCode.PROTOCOL_ERROR,
                f"PUSH_PROMISE promises stream {promised}: not a new even stream id (RFC 9113 5.1.1, 6.6)",
                events,
            )
            return
        self._last_promised = promised  # RFC 9113 5.1: the promised stream is reserved now
        if f.end_headers:
            self._promise_block(sid, promised, f.fragment, events)
        else:
            self._start_block(_Block(sid, f.fragment, False, promised, False), events)

    def _start_block(self, block: _Block, events: list[Event]) -> None:
        if len(block.buf) > self._max_header_list:
            self._header_block_too_large(block.stream_id, events)
            return
        self._block = block

    def _on_continuation(self, f: ContinuationFrame, events: list[Event]) -> None:
        block = self._block
        if block is None:
            self._conn_error(
                ErrorCode.PROTOCOL_ERROR,
                f"CONTINUATION on stream {f.stream_id} without a HEADERS or PUSH_PROMISE before it (RFC 9113 6.10)",
                events,
            )
            return
        if f.stream_id != block.stream_id:
            self._conn_error(
                ErrorCode.PROTOCOL_ERROR,
                f"CONTINUATION on stream {f.stream_id} in a field block of stream {block.stream_id} (RFC 9113 6.10)",
                events,
            )
            return
        block.count += 1
        block.buf += f.fragment
        if len(block.buf) > self._max_header_list:
            self._header_block_too_large(block.stream_id, events)
            return
        if block.count > self._max_continuations:
            self._conn_error(
                ErrorCode.ENHANCE_YOUR_CALM,
                f"field block of stream {block.stream_id} split over more than {self._max_continuations} frames "
                "(CONTINUATION flood, RFC 9113 10.5)",
                events,
            )
            return
        if f.end_headers:
            self._block = None
            if block.promised:
                self._promise_block(block.stream_id, block.promised, block.buf, events)
            else:
                self._headers_block(block.stream_id, block.buf, block.fin, block.self_dependent, events)

    def _header_block_too_large(self, sid: int, events: list[Event]) -> None:
        self._conn_error(
            ErrorCode.ENHANCE_YOUR_CALM,
            f"field block on stream {sid} larger than max_header_list_size {self._max_header_list} (RFC 9113 10.5.1)",
            events,
        )

    def _decode(self, block: memoryview | bytes | bytearray, events: list[Event]) -> list[tuple[bytes, bytes]] | None:
        """HPACK-decode a complete field block; ``None`` after a connection error.

        Blocks that refer to no dynamic-table entry and update no table size decode to the
        same fields whatever the table holds (RFC 7541 2.3, 4.2, 6): such a block is
        remembered with the fields it inserts, and the same bytes later are answered from
        memory, the insertions replayed so the table stays exactly in step. Servers send
        the same few blocks again and again (nginx re-sends its literals each response),
        and decoding one costs tens of microseconds in the hpack package.
        """
        key = bytes(block)
        dec = self._decoder
        hit = self._decode_cache.get(key)
        if hit is not None:
            add = dec.header_table.add
            for name, value in hit[1]:
                add(name, value)
            return list(hit[0])
        try:
            decoded = dec.decode(key, raw=True)
        except OversizedHeaderListError:
            self._conn_error(
                ErrorCode.ENHANCE_YOUR_CALM,
                f"decoded header list larger than max_header_list_size {self._max_header_list} (RFC 9113 10.5.1)",
                events,
            )
            return None
        except Exception as exc:
            self._conn_error(ErrorCode.COMPRESSION_ERROR, f"HPACK decoding failed: {exc} (RFC 9113 4.3)", events)
            return None
        fields = [(bytes(n), bytes(v)) for n, v in decoded]
        if len(key) <= _DECODE_CACHE_BLOCK:
            indexing = _static_only_representations(key)
            if indexing is not None and len(indexing) == len(fields):
                inserts = tuple(f for f, ins in zip(fields, indexing, strict=True) if ins)
                _remember(self._decode_cache, key, (tuple(fields), inserts))
        return fields

    def _headers_block(
        self, sid: int, fragment: memoryview | bytes | bytearray, fin: bool, self_dep: bool, events: list[Event]
    ) -> None:
        # RFC 9113 4.3: the block is always decoded, so the HPACK context stays in sync.
        block = self._decode(fragment, events)
        if block is None:
            return
        s = self._by_wire.get(sid)
        if s is None:
            self._frame_on_inactive(sid, "HEADERS", events)
            return
        if self_dep:
            self._stream_error(s, ErrorCode.PROTOCOL_ERROR, f"stream {sid} depends on itself (RFC 9113 5.3.1)", events)
            return
        if s.remote is _FIN:
            self._quiet_reset(s, ErrorCode.STREAM_CLOSED, events)
            return
        if s.phase is _P_HEADERS:
            self._response_headers(s, block, fin, events)
        else:
            self._trailers(s, block, fin, events)
        if fin and s.remote is _FIN and s.local is _FIN and s.handle in self._streams:
            self._close_stream(s, events)

    def _response_headers(self, s: Stream, block: list[tuple[bytes, bytes]], fin: bool, events: list[Event]) -> None:
        sid = s.wire_id
        if s.pushed and s.remote is _IDLE:
            limit = self._opts.max_concurrent_streams
            if limit is not None and self._push_open >= limit:
                # RFC 9113 5.1.2: beyond our SETTINGS_MAX_CONCURRENT_STREAMS.
                self._stream_error(
                    s,
                    ErrorCode.REFUSED_STREAM,
                    f"pushed stream {sid} would exceed our SETTINGS_MAX_CONCURRENT_STREAMS {limit} (RFC 9113 5.1.2)",
                    events,
                )
                return
            self._push_reserved -= 1
            self._push_open += 1
            s.remote = _NOFIN
        checked = _check_response(block)
        if isinstance(checked, str):
            self._stream_error(s, ErrorCode.PROTOCOL_ERROR, f"malformed response on stream {sid}: {checked}", events)
            return
        status, headers, content_length = checked
        if status < 200:
            if status == 101:
                self._stream_error(
                    s,
                    ErrorCode.PROTOCOL_ERROR,
                    f"101 response on stream {sid}: not allowed in HTTP/2 (RFC 9113 8.6)",
                    events,
                )
                return
            if fin:
                self._stream_error(
                    s,
                    ErrorCode.PROTOCOL_ERROR,
                    f"informational {status} response ends stream {sid} (RFC 9113 8.1)",
                    events,
                )
                return
            s.remote = _NOFIN
            events.append(Inform(s.handle, status, headers))
            return
        no_content = s.head or status in _NO_CONTENT_STATUS or (s.method == b"CONNECT" and status < 300)
        if not no_content and content_length is not None:
            if fin and content_length != 0:
                self._stream_error(
                    s,
                    ErrorCode.PROTOCOL_ERROR,
                    f"stream {sid} ended with no body but content-length {content_length} (RFC 9113 8.1.1)",
                    events,
                )
                return
            s.content_length = content_length
        s.status = status
        s.phase = _P_BODY
        s.remote = _FIN if fin else _NOFIN
        events.append(Response(s.handle, fin, status, headers))

    def _trailers(self, s: Stream, block: list[tuple[bytes, bytes]], fin: bool, events: list[Event]) -> None:
        sid = s.wire_id
        if not fin:
            self._stream_error(
                s, ErrorCode.PROTOCOL_ERROR, f"trailers on stream {sid} without END_STREAM (RFC 9113 8.1)", events
            )
            return
        checked = _check_trailers(block)
        if isinstance(checked, str):
            self._stream_error(s, ErrorCode.PROTOCOL_ERROR, f"malformed trailers on stream {sid}: {checked}", events)
            return
        cl = s.content_length
        if cl is not None and s.received != cl:
            self._stream_error(
                s,
                ErrorCode.PROTOCOL_ERROR,
                f"stream {sid} body of {s.received} bytes does not match content-length {cl} (RFC 9113 8.1.1)",
                events,
            )
            return
        s.phase = _P_TRAILERS
        s.remote = _FIN
        events.append(Trailers(s.handle, checked))

    def _promise_block(
        self, sid: int, promised: int, fragment: memoryview | bytes | bytearray, events: list[Event]
    ) -> None:
        block = self._decode(fragment, events)
        if block is None:
            return
        s = self._by_wire.get(sid)
        if s is None:
            if sid in self._reset:
                self._refuse_push(promised, ErrorCode.CANCEL, events)  # RFC 9113 6.6: the stream was reset
                return
            self._conn_error(ErrorCode.PROTOCOL_ERROR, f"PUSH_PROMISE on closed stream {sid} (RFC 9113 6.6)", events)
            return
        if s.remote is _FIN:
            self._conn_error(
                ErrorCode.PROTOCOL_ERROR,
                f"PUSH_PROMISE on stream {sid} after the server ended it (RFC 9113 6.6)",
                events,
            )
            return
        if self._goaway_sent or self._closing or not self._enable_push:
            self._refuse_push(promised, ErrorCode.REFUSED_STREAM, events)
            return
        checked = _check_promise(block)
        if isinstance(checked, str):
            self._refuse_push(promised, ErrorCode.PROTOCOL_ERROR, events)  # RFC 9113 8.4
            return
        pseudo, headers = checked
        authority = pseudo[b":authority"]
        if authority != s.authority and authority != self._authority:
            self._refuse_push(promised, ErrorCode.REFUSED_STREAM, events)  # RFC 9113 8.4: not authoritative
            return
        if self._push_reserved >= MAX_RESERVED_PUSHES:
            self._refuse_push(promised, ErrorCode.REFUSED_STREAM, events)
            return
        handle = self._next_handle
        self._next_handle += 1
        method = pseudo[b":method"]
        initial = self._local_initial_window
        ps = Stream(handle, method, RecvWindow(initial, initial, self._opts.flow), authority=authority, pushed=True)
        ps.wire_id = promised
        ps.send_window = self._peer_initial_window
        self._streams[handle] = ps
        self._by_wire[promised] = ps
        self._push_reserved += 1
        uri = pseudo[b":scheme"] + b"://" + authority + pseudo[b":path"]
        events.append(Push(s.handle, handle, method, uri, headers))

    def _refuse_push(self, promised: int, code: ErrorCode, events: list[Event]) -> None:
        self._rst_wire(promised, code, events)

    # Other frames ---------------------------------------------------------------

    def _on_priority(self, f: PriorityFrame, events: list[Event]) -> None:
        """RFC 9113 5.3.2: priority signals are ignored (they are valid in any state)."""

    def _on_unknown(self, f: UnknownFrame, events: list[Event]) -> None:
        """RFC 9113 5.5: unknown frame types are ignored."""

    def _on_rst_stream(self, f: RstStreamFrame, events: list[Event]) -> None:
        sid = f.stream_id
        s = self._by_wire.get(sid)
        if s is None:
            if self._is_idle(sid):
                self._conn_error(ErrorCode.PROTOCOL_ERROR, f"RST_STREAM on idle stream {sid} (RFC 9113 6.4)", events)
                return
            self._count_reset(events)
            return
        self._note_reset(sid)
        code = f.error_code
        if (
            code == ErrorCode.REFUSED_STREAM
            and not s.pushed
            and s.remote is _IDLE
            and s.sent == 0
            and s.retries < MAX_REFUSED_RETRIES
            and not self._closing
        ):
            # RFC 9113 8.7: REFUSED_STREAM means the request was not processed at all:
            # send it again when a slot frees (typically we sent it before the server's
            # SETTINGS_MAX_CONCURRENT_STREAMS arrived, RFC 9113 5.1.2).
            self._requeue(s, events)
            return
        if code == ErrorCode.NO_ERROR and s.remote is _FIN:
            # RFC 9113 8.1: the response is complete; the server only stops our upload.
            self._close_stream(s, events)
            return
        name = getattr(code, "name", str(code))
        events.append(
            Error(
                s.handle, Reason.stream("stream_reset", f"the server reset stream {sid}: {name} (RFC 9113 6.4)", code)
            )
        )
        self._close_stream(s, events)

    def _on_settings(self, f: SettingsFrame, events: list[Event]) -> None:
        if f.ack:
            if not self._settings_acked:
                self._settings_acked = True
                # RFC 9113 6.5.3: our SETTINGS apply from now on.
                self._decoder.max_allowed_table_size = self._opts.max_decode_table_size
            return
        self._settings_in += 1
        if self._settings_in > MAX_SETTINGS_PER_FLUSH:
            self._conn_error(
                ErrorCode.ENHANCE_YOUR_CALM,
                f"more than {MAX_SETTINGS_PER_FLUSH} SETTINGS frames at once (RFC 9113 10.5)",
                events,
            )
            return
        ps = self._peer_settings
        window_delta = 0
        for ident, value in f.settings:
            if ident == SettingCode.HEADER_TABLE_SIZE:
                # RFC 7541 4.2: we may use any table size up to the peer's; keep ours small.
                self._encoder.header_table_size = min(value, 4096)
                self._encode_gen += 1
                ps["header_table_size"] = value
            elif ident == SettingCode.ENABLE_PUSH:
                if value == 1:
                    self._conn_error(
                        ErrorCode.PROTOCOL_ERROR, "a server sent SETTINGS_ENABLE_PUSH 1 (RFC 9113 6.5.2)", events
                    )
                    return
                ps["enable_push"] = False
            elif ident == SettingCode.MAX_CONCURRENT_STREAMS:
                self._peer_max_concurrent = value
                ps["max_concurrent_streams"] = value
            elif ident == SettingCode.INITIAL_WINDOW_SIZE:
                window_delta += value - self._peer_initial_window
                self._peer_initial_window = value
                ps["initial_window_size"] = value
            elif ident == SettingCode.MAX_FRAME_SIZE:
                self._peer_max_frame = value
                ps["max_frame_size"] = value
            elif ident == SettingCode.MAX_HEADER_LIST_SIZE:
                self._peer_max_header_list = value
                ps["max_header_list_size"] = value
            elif ident == SettingCode.ENABLE_CONNECT_PROTOCOL:
                if self._peer_connect_protocol and value == 0:
                    self._conn_error(
                        ErrorCode.PROTOCOL_ERROR,
                        "SETTINGS_ENABLE_CONNECT_PROTOCOL went back from 1 to 0 (RFC 8441 3)",
                        events,
                    )
                    return
                self._peer_connect_protocol = value == 1
                ps["enable_connect_protocol"] = value == 1
            # RFC 9113 6.5.2: unknown settings are ignored.
        if window_delta:
            # RFC 9113 6.9.2: the change applies to every stream's send window.
            for s in self._by_wire.values():
                new = s.send_window + window_delta
                if new > MAX_WINDOW:
                    self._conn_error(
                        ErrorCode.FLOW_CONTROL_ERROR,
                        f"SETTINGS_INITIAL_WINDOW_SIZE change pushes stream {s.wire_id}'s window above 2^31-1 "
                        "(RFC 9113 6.9.2)",
                        events,
                    )
                    return
                s.send_window = new
        self._out.append(SETTINGS_ACK)
        self._got_preface = True
        events.append(Notify("settings_changed", dict(ps)))
        self._start_waiting(events)
        if window_delta > 0:
            self._flush_blocked(events)

    def _on_ping(self, f: PingFrame, events: list[Event]) -> None:
        if not f.ack:
            self._pings_in += 1
            if self._pings_in > MAX_PINGS_PER_FLUSH:
                self._conn_error(
                    ErrorCode.ENHANCE_YOUR_CALM,
                    f"more than {MAX_PINGS_PER_FLUSH} PINGs at once (RFC 9113 10.5)",
                    events,
                )
                return
            self._out.append(build_ping(f.opaque, ack=True))  # RFC 9113 6.7
            return
        opaque = f.opaque
        if opaque in self._keepalive_pings:
            self._keepalive_pings.clear()  # the peer is alive: nothing is outstanding any more
        elif opaque in self._user_pings:
            del self._user_pings[opaque]
            events.append(Notify("ping_ack", opaque))
        # An ACK we did not ask for is ignored.

    def _on_goaway(self, f: GoawayFrame, events: list[Event]) -> None:
        last = f.last_stream_id
        if self._goaway_last is not None and last > self._goaway_last:
            self._conn_error(
                ErrorCode.PROTOCOL_ERROR,
                f"a second GOAWAY raised the last stream id from {self._goaway_last} to {last} (RFC 9113 6.8)",
                events,
            )
            return
        self._goaway_last = last
        self._goaway_code = f.error_code
        self._goaway_debug = f.debug_data[:256]
        self._closing = True
        # RFC 9113 6.8: our streams above last-stream-id were not processed: retry-safe. One
        # the server already answered on contradicts that: it stays, and ends as it ends (done,
        # or killed with the connection), never offered for a retry.
        for s in sorted(self._by_wire.values(), key=lambda st: st.wire_id):
            if not s.pushed and s.wire_id > last and s.remote is _IDLE:
                self._unprocessed.append(s.handle)
                self._close_stream(s, events, check_closing=False)
        self._drop_waiting()
        self._maybe_finish_closing(events)

    def _on_window_update(self, f: WindowUpdateFrame, events: list[Event]) -> None:
        sid = f.stream_id
        if sid == 0:
            new = add_window(self._conn_send, f.increment)
            if new is None:
                self._conn_error(
                    ErrorCode.FLOW_CONTROL_ERROR,
                    "WINDOW_UPDATE takes the connection send window above 2^31-1 (RFC 9113 6.9.1)",
                    events,
                )
                return
            self._conn_send = new
            self._flush_blocked(events)
            return
        s = self._by_wire.get(sid)
        if s is None:
            if self._is_idle(sid):
                self._conn_error(
                    ErrorCode.PROTOCOL_ERROR, f"WINDOW_UPDATE on idle stream {sid} (RFC 9113 5.1, 6.9)", events
                )
            return  # closed or reset: ignored (RFC 9113 5.1)
        if s.pushed and s.remote is _IDLE:
            self._conn_error(
                ErrorCode.PROTOCOL_ERROR,
                f"WINDOW_UPDATE on promised stream {sid} before its HEADERS (RFC 9113 5.1, reserved (remote))",
                events,
            )
            return
        new = add_window(s.send_window, f.increment)
        if new is None:
            self._stream_error(
                s,
                ErrorCode.FLOW_CONTROL_ERROR,
                f"WINDOW_UPDATE takes the send window of stream {sid} above 2^31-1 (RFC 9113 6.9.1)",
                events,
            )
            return
        s.send_window = new
        if s.queue:
            self._flush_stream(s, events)

    # ------------------------------------------------------------------ stream bookkeeping

    def _is_idle(self, sid: int) -> bool:
        """RFC 9113 5.1: a stream id not used yet by either side."""
        if sid & 1:
            return sid >= self._next_wire
        return sid > self._last_promised

    def _note_reset(self, sid: int) -> None:
        reset = self._reset
        reset[sid] = None
        if len(reset) > MAX_RECENT_RESETS:
            reset.popitem(last=False)

    def _count_reset(self, events: list[Event]) -> bool:
        """Count one peer-caused RST; ``False`` (after a connection error) past the bound."""
        self._resets += 1
        if self._resets > MAX_RESETS_PER_FLUSH:
            self._conn_error(
                ErrorCode.ENHANCE_YOUR_CALM,
                f"more than {MAX_RESETS_PER_FLUSH} stream resets at once (RFC 9113 10.5)",
                events,
            )
            return False
        return True

    def _rst_wire(self, sid: int, code: ErrorCode, events: list[Event]) -> None:
        """Reset a stream the peer misused, by wire id, without any event."""
        if not self._count_reset(events):
            return
        self._out.append(build_rst_stream(sid, code))
        self._note_reset(sid)

    def _frame_on_inactive(self, sid: int, what: str, events: list[Event]) -> None:
        """A DATA or HEADERS frame (already accounted and decoded) for a stream with no state."""
        if self._is_idle(sid):
            self._conn_error(ErrorCode.PROTOCOL_ERROR, f"{what} on idle stream {sid} (RFC 9113 5.1)", events)
        elif sid in self._reset:
            return  # RFC 9113 5.4.2: late frames of a stream we reset are ignored
        else:
            self._rst_wire(sid, ErrorCode.STREAM_CLOSED, events)  # RFC 9113 5.1: closed

    def _peer_stream_error(self, sid: int, code: ErrorCode, message: str, events: list[Event]) -> None:
        """A stream error found by the codec (PRIORITY size, WINDOW_UPDATE of 0...)."""
        s = self._by_wire.get(sid)
        if s is not None:
            self._stream_error(s, code, message, events)
        elif self._is_idle(sid) and code is not ErrorCode.FRAME_SIZE_ERROR:
            self._conn_error(code, message, events)
        else:
            self._rst_wire(sid, code, events)

    def _stream_error(self, s: Stream, code: ErrorCode, message: str, events: list[Event]) -> None:
        """RST_STREAM ``code`` and ``Error(handle)``: the peer broke this stream (RFC 9113 5.4.2)."""
        if not self._count_reset(events):
            return
        self._out.append(build_rst_stream(s.wire_id, code))
        self._note_reset(s.wire_id)
        events.append(Error(s.handle, Reason.stream(_kind(code), message, code)))
        self._close_stream(s, events)

    def _quiet_reset(self, s: Stream, code: ErrorCode, events: list[Event]) -> None:
        """A frame after the response ended (RFC 9113 5.1 half-closed (remote)): reset, no event."""
        if not self._count_reset(events):
            return
        self._out.append(build_rst_stream(s.wire_id, code))
        self._note_reset(s.wire_id)
        self._close_stream(s, events)

    def _close_stream(self, s: Stream, events: list[Event], *, check_closing: bool = True) -> None:
        """Forget a finished, reset or cancelled stream; let waiting requests start."""
        if self._streams.pop(s.handle, None) is None:
            return
        self._blocked.pop(s.handle, None)
        s.queue.clear()
        s.queued_bytes = 0
        if s.wire_id:
            self._by_wire.pop(s.wire_id, None)
            if s.pushed:
                if s.remote is _IDLE:
                    self._push_reserved -= 1
                else:
                    self._push_open -= 1
            else:
                self._local_open -= 1
        else:
            try:
                self._waiting.remove(s)
            except ValueError:
                pass
        if self._closed:
            return
        self._start_waiting(events)
        if check_closing:
            self._maybe_finish_closing(events)

    def _start_waiting(self, events: list[Event]) -> None:
        """Start queued requests while SETTINGS_MAX_CONCURRENT_STREAMS allows (RFC 9113 5.1.2)."""
        waiting = self._waiting
        while waiting and not self._closing:
            limit = self._peer_max_concurrent
            if limit is not None and self._local_open >= limit:
                return
            if self._next_wire > MAX_STREAM_ID:
                # RFC 9113 5.1.1: stream ids are exhausted; the driver must open a new connection.
                self.close_gracefully()
                return
            self._start(waiting.popleft(), events)

    def _requeue(self, s: Stream, events: list[Event]) -> None:
        """Put a refused request back in the waiting queue, in handle order."""
        self._by_wire.pop(s.wire_id, None)
        self._blocked.pop(s.handle, None)
        self._local_open -= 1
        s.wire_id = 0
        s.local = _IDLE
        s.send_window = 0
        s.retries += 1
        s.recv.available = s.recv.target = self._local_initial_window
        waiting = self._waiting
        index = next((i for i, w in enumerate(waiting) if w.handle > s.handle), len(waiting))
        waiting.insert(index, s)
        self._start_waiting(events)

    def _encode(self, fields: list[tuple[bytes, bytes]]) -> bytes:
        """HPACK-encode a field list (RFC 7541), never indexing credentials (7.1.3)."""
        key = tuple(fields)
        hit = self._encode_cache.get(key)
        if hit is not None and hit[0] == self._encode_gen:
            return hit[1]
        block: bytes = self._encoder.encode([(n, v, True) if n in _SENSITIVE else (n, v) for n, v in fields])
        if _all_indexed(block):
            _remember(self._encode_cache, key, (self._encode_gen, block))
        else:
            self._encode_gen += 1  # the table may have changed: every remembered block is stale
        return block

    def _start(self, s: Stream, events: list[Event]) -> None:
        wire = self._next_wire
        self._next_wire += 2
        s.wire_id = wire
        self._by_wire[wire] = s
        self._local_open += 1
        s.send_window = self._peer_initial_window
        fields = s.pending or []
        block = self._encode(fields)
        fin = s.body_fin and not s.queue
        self._out.extend(build_headers(wire, fin, block, self._peer_max_frame))
        s.local = _FIN if fin else _NOFIN
        if s.queue or (s.body_fin and not fin):
            self._flush_stream(s, events)

    def _flush_stream(self, s: Stream, events: list[Event]) -> None:
        """Send as much queued body data as the windows and SETTINGS_MAX_FRAME_SIZE allow."""
        if s.local is _FIN:
            return
        q = s.queue
        out = self._out
        wire = s.wire_id
        max_frame = self._peer_max_frame
        while q:
            n = min(s.send_window, self._conn_send, max_frame)
            if n <= 0:
                break
            piece = q[0]
            size = len(piece)
            if size <= n:
                q.popleft()
                flags = _END_STREAM if not q and s.body_fin else 0
                out.append(frame_header(size, 0, flags, wire))
                out.append(piece)
            else:
                view = piece if isinstance(piece, memoryview) else memoryview(piece)
                out.append(frame_header(n, 0, 0, wire))
                out.append(view[:n])
                q[0] = view[n:]
                size = n
                flags = 0
            s.send_window -= size
            self._conn_send -= size
            s.queued_bytes -= size
            s.sent += size
            if flags:
                s.local = _FIN
        if q:
            # Blocked: move to the back so the next window goes round the streams.
            self._blocked.pop(s.handle, None)
            self._blocked[s.handle] = s
            return
        self._blocked.pop(s.handle, None)
        if s.body_fin and s.local is _NOFIN:
            out.append(frame_header(0, 0, _END_STREAM, wire))  # RFC 9113 6.9.1: allowed with no window
            s.local = _FIN
        if s.local is _FIN and s.remote is _FIN:
            self._close_stream(s, events)

    def _flush_blocked(self, events: list[Event]) -> None:
        for s in list(self._blocked.values()):
            if self._conn_send <= 0 or self._closed:
                return
            if s.send_window > 0 and s.handle in self._streams:
                self._flush_stream(s, events)

    def _stream_window_update(self, s: Stream) -> None:
        increment = s.recv.take_update()
        if increment:
            self._out.append(build_window_update(s.wire_id, increment))

    def _drop_waiting(self) -> None:
        """Requests that never started will not: they are unprocessed."""
        while self._waiting:
            s = self._waiting.popleft()
            self._streams.pop(s.handle, None)
            self._unprocessed.append(s.handle)

    def _new_ping(self, tag: bytes, table: OrderedDict[bytes, None]) -> bytes:
        self._ping_counter = (self._ping_counter + 1) & 0xFFFFFFFF
        payload = _PING_ID.pack(tag, self._ping_counter)
        table[payload] = None
        if len(table) > MAX_OUTSTANDING_PINGS:
            table.popitem(last=False)
        return payload

    # ------------------------------------------------------------------ ending

    def _goaway_reason(self, suffix: str = "") -> Reason:
        code = self._goaway_code
        name = getattr(code, "name", str(code))
        debug = f", debug data {self._goaway_debug!r}" if self._goaway_debug else ""
        return Reason.connection(
            "goaway",
            f"the server sent GOAWAY {name} with last stream id {self._goaway_last}{debug}{suffix} (RFC 9113 6.8)",
            code,
        )

    def _maybe_finish_closing(self, events: list[Event]) -> None:
        if self._closed or not self._closing or self._streams:
            return
        if self._goaway_last is not None:
            reason = self._goaway_reason()
        else:
            reason = Reason.connection("normal", "graceful shutdown complete: every stream finished (RFC 9113 6.8)")
        if not self._goaway_sent:
            self._goaway_sent = True
            self._out.append(build_goaway(self._last_promised, ErrorCode.NO_ERROR))
        self._finish(reason, events)

    def _conn_error(
        self, code: ErrorCode, message: str, events: list[Event], *, kind: str | None = None, send_debug: bool = True
    ) -> None:
        """RFC 9113 5.4.1: GOAWAY with ``code``, then ``Closed``."""
        if self._closed:
            return
        debug = message.encode("ascii", "replace")[:200] if send_debug else b""
        self._out.append(build_goaway(self._last_promised, code, debug))
        self._goaway_sent = True
        self._finish(Reason.connection(kind or _kind(code), f"{code.name}: {message}", code), events)

    def _finish(self, reason: Reason, events: list[Event]) -> None:
        killed = tuple(sorted(h for h, s in self._streams.items() if s.started))
        self._drop_waiting()
        unprocessed = tuple(self._unprocessed)
        self._closed = True
        self._closing = True
        self._streams.clear()
        self._by_wire.clear()
        self._blocked.clear()
        self._block = None
        events.append(Closed(reason, killed, unprocessed))
