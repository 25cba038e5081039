"""Helpers for HTTP/1.1 core tests: response builders, feeding, event coalescing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gun_core.events import Data, Event
from gun_core.http1 import Http1Protocol
from gun_core.options import Http1Opts

HOST = b"example.com"


def proto(n: int = 0, *, host: bytes = HOST, method: bytes = b"GET", **opts: Any) -> Http1Protocol:
    """A core with ``n`` GET requests already sent (their bytes drained)."""
    p = Http1Protocol(host, Http1Opts(**opts) if opts else None)
    for i in range(n):
        p.request(method, b"/%d" % (i + 1), [], None)
    p.data_to_send()
    return p


def response(
    status: int = 200,
    body: bytes = b"",
    headers: Sequence[tuple[bytes, bytes]] = (),
    *,
    reason: bytes = b"OK",
    version: bytes = b"HTTP/1.1",
    length: bool = True,
) -> bytes:
    """A response head (and body): ``content-length`` added unless ``length`` is false."""
    lines = [version + b" %d " % status + reason]
    lines += [n + b": " + v for n, v in headers]
    if length:
        lines.append(b"content-length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunked(
    status: int = 200,
    chunks: Iterable[bytes] = (),
    headers: Sequence[tuple[bytes, bytes]] = (),
    trailers: Sequence[tuple[bytes, bytes]] = (),
    *,
    ext: bytes = b"",
) -> bytes:
    """A chunked response; ``ext`` is appended to every chunk-size (an extension)."""
    head = response(status, b"", [*headers, (b"transfer-encoding", b"chunked")], length=False)
    body = b"".join(b"%x%s\r\n%s\r\n" % (len(c), ext, c) for c in chunks if c)
    tail = b"0" + ext + b"\r\n" + b"".join(n + b": " + v + b"\r\n" for n, v in trailers) + b"\r\n"
    return head + body + tail


def coalesce(events: Iterable[Event]) -> list[Event]:
    """Merge adjacent ``Data`` events of one stream (the last fin wins); drop empty nofin ones."""
    out: list[Event] = []
    for e in events:
        if type(e) is Data:
            prev = out[-1] if out else None
            if type(prev) is Data and prev.stream_id == e.stream_id and not prev.fin:
                out[-1] = Data(e.stream_id, e.fin, prev.data + e.data)
                continue
        out.append(e)
    return [e for e in out if not (type(e) is Data and not e.fin and not e.data)]


def feed(p: Http1Protocol, data: bytes, sizes: Iterable[int] | None = None, *, eof: bool = False) -> list[Event]:
    """Feed ``data`` in pieces of the given sizes (whole when ``None``); ``eof``: then b""."""
    events: list[Event] = []
    if sizes is None:
        events += p.receive_data(data)
    else:
        pos = 0
        for size in sizes:
            if pos >= len(data):
                break
            events += p.receive_data(data[pos : pos + size])
            pos += size
        if pos < len(data):
            events += p.receive_data(data[pos:])
    if eof:
        events += p.receive_data(b"")
    return events


def dripfeed(p: Http1Protocol, data: bytes, *, eof: bool = False) -> list[Event]:
    """Feed ``data`` one byte at a time."""
    return feed(p, data, [1] * len(data), eof=eof)


def parse_request(raw: bytes) -> tuple[bytes, list[tuple[bytes, bytes]], bytes]:
    """Split one serialized request into (request line, header fields, rest)."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    line, *fields = head.split(b"\r\n")
    return line, [(n, v.strip()) for n, _, v in (f.partition(b":") for f in fields)], rest
