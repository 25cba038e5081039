"""Workload ``core``: sans-I/O microbenchmarks, no sockets: the same bytes fed to every parser.

- ``h1-*``: one request/response cycle on a client HTTP/1.1 core: the request is built, then
  the response is fed (small: 13 B with nginx's head; chunked: 3.6 KB in 9 chunks; 1 MiB:
  content-length, fed in 64 KiB reads). gun_core.http1 vs h11 (the same cycle) vs httptools
  (parsing only, with header and body callbacks: it builds no request).
- ``h2-frames``: a fresh client connection sends 100 GETs and receives the server's
  SETTINGS, SETTINGS ACK and 100 responses (HEADERS + DATA of 13 B) in one read, then acks
  the data: gun_core.http2 vs h2's H2Connection. Figures are responses per second.
- ``ws-parse``: a read holding 1,000 unmasked binary frames of 16 B fed to a client-side
  websocket core: gun_core.ws vs websockets' sans-I/O Protocol, wsproto, aiohttp's C reader.
- ``mask-*``: XOR with a 4-byte key of 125 B, 4 KiB, 64 KiB, 1 MiB: gun_core.accel.apply_mask
  vs websockets.speedups.apply_mask vs aiohttp's C mask on a fresh copy (it masks in place)
  vs a plain memory copy (``bytearray(data)``); gun's pure-Python twin for reference.
- ``utf8``: validating 1 MiB of mixed text: gun_core.accel.Utf8Validator vs bytes.decode.

Each round times a calibrated number of calls (about 0.2 s, 0.02 s under ``--quick``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from bench.common import HELLO, Bench, Client, Target

KEY = bytes.fromhex("37fa213d")
HOST_B = b"127.0.0.1"
NGINX_HEAD = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Sun, 29 Nov 2026 01:00:00 GMT\r\nContent-Type: text/plain\r\n"


class Rate:
    """Items per second of ``fn`` (which handles ``items`` items a call), number of calls calibrated once."""

    def __init__(self, fn: Callable[[], Any], items: float, budget: float) -> None:
        self.fn = fn
        self.items = items
        self.budget = budget
        self.number = 0

    def __call__(self) -> float:
        fn = self.fn
        if not self.number:
            number = 1
            while True:
                t = time.perf_counter()
                for _ in range(number):
                    fn()
                dt = time.perf_counter() - t
                if dt >= self.budget / 5 or number >= 1 << 22:
                    break
                number *= 2
            self.number = max(1, int(number * self.budget / max(dt, 1e-9)))
        number = self.number
        t = time.perf_counter()
        for _ in range(number):
            fn()
        dt = time.perf_counter() - t
        return self.items * number / dt


# -- HTTP/1.1 -------------------------------------------------------------------------------------


def h1_responses() -> dict[str, tuple[str, list[bytes], int]]:
    """name -> (description, the reads that carry one response, body size)."""
    small = NGINX_HEAD + b"Content-Length: 13\r\nConnection: keep-alive\r\n\r\n" + HELLO
    body = b"".join(b"chunked line %04d\n" % i for i in range(200))
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 400]), body[i : i + 400]) for i in range(0, len(body), 400))
    chunked = NGINX_HEAD + b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n" + chunks + b"0\r\n\r\n"
    big_body = bytes(range(256)) * 4096
    big = NGINX_HEAD + b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n" % len(big_body) + big_body
    return {
        "small": ("a 13 B response (nginx's head), one read", [small], 13),
        "chunked": (f"a chunked response of {len(body):,} B in 9 chunks, one read", [chunked], len(body)),
        "1MiB": ("a 1 MiB content-length response, in 64 KiB reads", split(big, 65536), len(big_body)),
    }


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def gun_h1(reads: list[bytes]) -> Callable[[], int]:
    from gun_core.events import Data, Error
    from gun_core.http1 import Http1Protocol

    core = Http1Protocol(HOST_B)

    def cycle() -> int:
        core.request(b"GET", b"/", [], None)
        core.data_to_send()
        n = 0
        for chunk in reads:
            for ev in core.receive_data(chunk):
                if type(ev) is Data:
                    n += len(ev.data)
                elif type(ev) is Error:
                    raise RuntimeError(ev)
        return n

    return cycle


def h11_h1(reads: list[bytes]) -> Callable[[], int]:
    import h11

    conn = h11.Connection(h11.CLIENT)
    request = h11.Request(method="GET", target="/", headers=[("host", "127.0.0.1")])
    end = h11.EndOfMessage()

    def cycle() -> int:
        conn.send(request)
        conn.send(end)
        n = 0
        for chunk in reads:
            conn.receive_data(chunk)
            while True:
                ev = conn.next_event()
                if ev is h11.NEED_DATA:
                    break
                if type(ev) is h11.Data:
                    n += len(ev.data)
                elif type(ev) is h11.EndOfMessage:
                    conn.start_next_cycle()
                    return n
        raise RuntimeError("h11: the response did not end")

    return cycle


def httptools_h1(reads: list[bytes]) -> Callable[[], int]:
    import httptools

    class Sink:
        def __init__(self) -> None:
            self.headers: list[tuple[bytes, bytes]] = []
            self.n = 0
            self.done = False

        def on_header(self, name: bytes, value: bytes) -> None:
            self.headers.append((name, value))

        def on_body(self, body: bytes) -> None:
            self.n += len(body)

        def on_message_complete(self) -> None:
            self.done = True

    sink = Sink()
    parser = httptools.HttpResponseParser(sink)

    def cycle() -> int:
        sink.headers = []
        sink.n = 0
        sink.done = False
        for chunk in reads:
            parser.feed_data(chunk)
        assert sink.done and parser.get_status_code() == 200
        return sink.n

    return cycle


# -- HTTP/2 ---------------------------------------------------------------------------------------


def h2_server_bytes(streams: int) -> bytes:
    """SETTINGS, SETTINGS ACK, then HEADERS + DATA (13 B, END_STREAM) for streams 1, 3, 5..."""

    def frame(kind: int, flags: int, sid: int, payload: bytes) -> bytes:
        return len(payload).to_bytes(3, "big") + bytes((kind, flags)) + sid.to_bytes(4, "big") + payload

    # HPACK (RFC 7541): :status 200 indexed (static 8); the others literal without indexing,
    # indexed names (static 54 server, 33 date, 31 content-type, 28 content-length).
    def literal(index: int, value: bytes) -> bytes:
        return bytes((0x0F, index - 15, len(value))) + value

    block = (
        b"\x88"
        + literal(54, b"nginx")
        + literal(33, b"Sun, 29 Nov 2026 01:00:00 GMT")
        + literal(31, b"text/plain")
        + literal(28, b"13")
    )
    out = [frame(4, 0, 0, b""), frame(4, 1, 0, b"")]
    for i in range(streams):
        sid = 1 + 2 * i
        out.append(frame(1, 0x4, sid, block))
        out.append(frame(0, 0x1, sid, HELLO))
    return b"".join(out)


def gun_h2(server: bytes, streams: int) -> Callable[[], int]:
    from gun_core.events import Data, Error
    from gun_core.http2 import Http2Protocol

    def cycle() -> int:
        core = Http2Protocol(b"127.0.0.1", b"http")
        core.data_to_send()
        for _ in range(streams):
            core.request(b"GET", b"/", [], None)
        core.data_to_send()
        done = 0
        for ev in core.receive_data(server):
            if type(ev) is Data and ev.fin:
                done += 1
            elif type(ev) is Error:
                raise RuntimeError(ev)
        core.data_to_send()
        return done

    return cycle


def h2_h2(server: bytes, streams: int) -> Callable[[], int]:
    from h2.config import H2Configuration
    from h2.connection import H2Connection
    from h2.events import DataReceived, StreamEnded

    config = H2Configuration(client_side=True, header_encoding=None)
    headers = [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"127.0.0.1"), (b":path", b"/")]

    def cycle() -> int:
        conn = H2Connection(config)
        conn.initiate_connection()
        conn.data_to_send()
        for i in range(streams):
            conn.send_headers(1 + 2 * i, headers, end_stream=True)
        conn.data_to_send()
        done = 0
        for ev in conn.receive_data(server):
            if type(ev) is DataReceived:
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif type(ev) is StreamEnded:
                done += 1
        conn.data_to_send()
        return done

    return cycle


# -- websocket frames -----------------------------------------------------------------------------


def gun_ws(buf: bytes) -> Callable[[], int]:
    from gun_core.options import WsOpts
    from gun_core.ws import Negotiated, WsProtocol

    core = WsProtocol(1, WsOpts(), Negotiated())

    def cycle() -> int:
        return len(core.receive_data(buf))

    return cycle


def websockets_ws(buf: bytes) -> Callable[[], int]:
    from websockets.protocol import Protocol, Side

    proto = Protocol(Side.CLIENT, max_size=None)

    def cycle() -> int:
        proto.receive_data(buf)
        return len(proto.events_received())

    return cycle


def wsproto_ws(buf: bytes) -> Callable[[], int]:
    from wsproto.connection import Connection, ConnectionType

    conn = Connection(ConnectionType.CLIENT)

    def cycle() -> int:
        conn.receive_data(buf)
        return len(list(conn.events()))

    return cycle


def aiohttp_ws(buf: bytes) -> Callable[[], int]:
    """aiohttp's reader (C when built) into its queue, which is emptied after each read."""
    from aiohttp._websocket.reader import WebSocketDataQueue, WebSocketReader

    class Flow:
        def pause_reading(self) -> None:
            pass

        def resume_reading(self) -> None:
            pass

    loop = asyncio.new_event_loop()
    queue = WebSocketDataQueue(Flow(), 1 << 30, loop=loop)  # type: ignore[arg-type]
    reader = WebSocketReader(queue, 1 << 30, compress=False, decode_text=True)
    items = queue._buffer

    def cycle() -> int:
        reader.feed_data(buf)
        n = len(items)
        items.clear()  # its byte count only grows: the 1 GiB limit outlasts any round
        return n

    return cycle


# -- masking, UTF-8 -------------------------------------------------------------------------------


def aiohttp_mask_fresh_copy() -> Callable[[bytes], bytearray]:
    from aiohttp._websocket.mask import _websocket_mask_cython as mask  # type: ignore[import-not-found,unused-ignore]

    def run(data: bytes) -> bytearray:
        out = bytearray(data)
        mask(KEY, out)
        return out

    return run


def mixed_text(size: int) -> bytes:
    sample = (
        "Gun for Python: HTTP/1.1, HTTP/2 & Websocket. "
        "Größe, déjà vu, naïve café. Ελληνικά κείμενα. Русский текст. "
        "日本語のテキストと中文文本。 한국어 텍스트. Emoji: 🙂🚀✨. "
    ).encode()
    data = (sample * (size // len(sample) + 1))[:size]
    while True:  # end on a character boundary
        try:
            data.decode()
            return data
        except UnicodeDecodeError:
            data = data[:-1]


def lazy(make: Callable[[], Callable[[], Any]], items: float, budget: float, check: Any = None) -> Callable[[], float]:
    """A round function: build the contender on first use (after the install check), check it once, then time it."""
    box: list[Rate] = []

    def run() -> float:
        if not box:
            fn = make()
            if check is not None:
                got = fn()
                assert got == check, f"unexpected result {got!r}, expected {check!r}"
            box.append(Rate(fn, items, budget))
        return box[0]()

    return run


def run_core(b: Bench) -> None:
    budget = 0.02 if b.quick else 0.2

    for name, (what, reads, size) in h1_responses().items():
        b.table(
            f"h1-{name}",
            f"HTTP/1.1 client core, one request/response cycle: {what}",
            "responses/s",
            [
                Client("gun", lazy(lambda r=reads: gun_h1(r), 1, budget, size)),
                Client("h11", lazy(lambda r=reads: h11_h1(r), 1, budget, size), ("py:h11",)),
                Client(
                    "httptools (parse only)", lazy(lambda r=reads: httptools_h1(r), 1, budget, size), ("py:httptools",)
                ),
            ],
            [Target("5. h1 parse, small responses: gun >= 5x h11", "gun", ("h11",), 5.0)] if name == "small" else [],
        )

    streams = 100
    server = h2_server_bytes(streams)
    b.table(
        "h2-frames",
        f"HTTP/2 client core: a new connection, {streams} GETs, the server's {len(server):,} B of frames in one read",
        "responses/s",
        [
            Client("gun", lazy(lambda: gun_h2(server, streams), streams, budget, streams)),
            Client("h2", lazy(lambda: h2_h2(server, streams), streams, budget, streams), ("py:h2",)),
        ],
    )

    frames = 1000
    buf = b"".join(b"\x82\x10" + os.urandom(16) for _ in range(frames))
    b.table(
        "ws-parse",
        f"websocket client core: one read of {frames:,} unmasked binary frames of 16 B",
        "frames/s",
        [
            Client("gun", lazy(lambda: gun_ws(buf), frames, budget, frames)),
            Client("websockets", lazy(lambda: websockets_ws(buf), frames, budget, frames), ("py:websockets",)),
            Client("wsproto", lazy(lambda: wsproto_ws(buf), frames, budget, frames), ("py:wsproto",)),
            Client("aiohttp (C reader)", lazy(lambda: aiohttp_ws(buf), frames, budget, frames), ("py:aiohttp",)),
        ],
        [Target("5. ws frame parse, 16 B frames: gun >= 2x websockets", "gun", ("websockets",), 2.0)],
    )

    from gun_core.accel import apply_mask, pure

    for size in (125, 4 << 10, 64 << 10, 1 << 20):
        data = os.urandom(size)
        expect = pure.apply_mask(data, KEY)
        human = f"{size} B" if size < 1024 else f"{size >> 10} KiB" if size < 1 << 20 else "1 MiB"
        mb = size / 1e6

        def ws_mask(d: bytes = data) -> Callable[[], bytes]:
            from websockets.speedups import apply_mask as ws_apply_mask

            return lambda: ws_apply_mask(d, KEY)

        def aio_mask(d: bytes = data) -> Callable[[], bytearray]:
            run = aiohttp_mask_fresh_copy()
            return lambda: run(d)

        targets = []
        if size >= 4096:
            targets = [
                Target(
                    f"5. masking {human}: gun >= 1.0x the faster of websockets C / aiohttp",
                    "gun",
                    ("websockets C", "aiohttp C (fresh copy)"),
                    1.0,
                )
            ]
        b.table(
            f"mask-{human.replace(' ', '')}",
            f"masking {human} with a 4-byte key into a new buffer",
            "MB/s",
            [
                Client("gun", lazy(lambda d=data: lambda: apply_mask(d, KEY), mb, budget, expect)),
                Client("websockets C", lazy(ws_mask, mb, budget, expect), ("py:websockets",)),
                Client("aiohttp C (fresh copy)", lazy(aio_mask, mb, budget, bytearray(expect)), ("py:aiohttp",)),
                Client("memory copy", lazy(lambda d=data: lambda: bytearray(d), mb, budget, bytearray(data))),
                Client("gun pure Python", lazy(lambda d=data: lambda: pure.apply_mask(d, KEY), mb, budget, expect)),
            ],
            targets,
        )

    from gun_core.accel import Utf8Validator

    text = mixed_text(1 << 20)
    mb = len(text) / 1e6
    b.table(
        "utf8",
        f"UTF-8 validation of {len(text):,} B of mixed text (Latin, Greek, Cyrillic, CJK, Hangul, emoji)",
        "MB/s",
        [
            Client("gun", lazy(lambda: lambda: Utf8Validator().feed(text, True), mb, budget, True)),
            Client("bytes.decode", lazy(lambda: text.decode, mb, budget, text.decode())),
            Client("gun pure Python", lazy(lambda: lambda: pure.Utf8Validator().feed(text, True), mb, budget, True)),
        ],
        [Target("5. UTF-8, 1 MiB mixed text: gun >= 1.0x bytes.decode", "gun", ("bytes.decode",), 1.0)],
    )
