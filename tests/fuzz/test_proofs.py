"""Proof that the fuzz targets catch what they are meant to catch.

Each test breaks the core on purpose (monkeypatching a bound away, dropping a stream from the
``Closed`` event, making a parser raise, making one accelerator twin lie, emitting a badly
typed event) and shows that the target's ``check`` then raises ``InvariantError`` on a crafted
input, while the same input passes on the unbroken core.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest

from fuzz.harness import seed
from fuzz.invariants import InvariantError
from fuzz.targets import accel, h2_conn, h2_frames, http1, ws
from gun_core import http1_body, http2_frames
from gun_core import ws as ws_module
from gun_core.accel import pure
from gun_core.events import Closed, Data
from gun_core.http1 import Http1Protocol
from gun_core.http2 import Http2Protocol

# A response head that never ends: 1000 bytes, above the target's max_header_block_size (256).
ENDLESS_HEAD = seed(0, 0, b"HTTP/1.1 200 OK\r\nx-filler: " + b"a" * 1000)
CHUNKED = seed(0, 3, b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
# HEADERS (:status 200, no END_STREAM) on stream 1 after a valid server preface; then the peer closes.
H2_OPEN_STREAM = seed(0x10, 0, h2_conn.server_preface() + h2_conn.frame(1, 4, 1, b"\x88"))


def test_bound_http1_header_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bound (RFC 9112 5, max_header_block_size): a core that no longer enforces its limit buffers
    the endless head, and the buffer-bound check catches it."""
    http1.check(ENDLESS_HEAD)  # the real core refuses the head: fine

    class Unbounded(Http1Protocol):
        __slots__ = ()

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._max_head = 10**9

    monkeypatch.setattr(http1, "Http1Protocol", Unbounded)
    with pytest.raises(InvariantError, match="max_header_block_size"):
        http1.check(ENDLESS_HEAD)


def test_bound_http2_field_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bound (RFC 9113 10.5.1, max_header_list_size): a field block assembled from CONTINUATION
    frames past the limit is caught when the core stops checking its size."""
    frames = h2_conn.server_preface() + h2_conn.frame(1, 0, 1, b"\x88")
    frames += b"".join(h2_conn.frame(9, 0, 1, b"\x00" * 1000) for _ in range(2))
    data = seed(0x10, 0, frames)
    h2_conn.check(data)
    monkeypatch.setattr(Http2Protocol, "_header_block_too_large", lambda self, sid, events: None)
    with pytest.raises(InvariantError, match="max_header_list_size"):
        h2_conn.check(data)


def test_exactly_once_stream_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exactly-once (Gun's down event lists killed streams): a Closed event that forgets a
    running stream is caught."""
    h2_conn.check(H2_OPEN_STREAM)
    finish = Http2Protocol._finish

    def forgetful(self: Http2Protocol, reason: Any, events: list[Any]) -> None:
        finish(self, reason, events)
        events[-1] = dataclasses.replace(events[-1], killed=())

    monkeypatch.setattr(Http2Protocol, "_finish", forgetful)
    with pytest.raises(InvariantError, match="never ended"):
        h2_conn.check(H2_OPEN_STREAM)


def test_exactly_once_no_double_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exactly-once: a stream that completed (fin) and is then listed as killed is caught."""
    data = seed(0, 0, b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
    http1.check(data)
    receive = Http1Protocol.receive_data

    def double(self: Http1Protocol, chunk: bytes) -> list[Any]:
        events = receive(self, chunk)
        return [dataclasses.replace(e, killed=(1,)) if type(e) is Closed else e for e in events]

    monkeypatch.setattr(Http1Protocol, "receive_data", double)
    with pytest.raises(InvariantError, match="had completed"):
        http1.check(data)


def test_never_raises_http1(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never raises (RFC 9112 7.1: a bad chunk fails the connection, it does not crash the client):
    a chunked decoder that raises is caught."""
    http1.check(CHUNKED)

    def broken(*args: Any) -> int:
        raise ValueError("boom")

    monkeypatch.setattr(http1_body.ChunkedReader, "read", broken)
    with pytest.raises(InvariantError, match="raised on peer input: ValueError: boom"):
        http1.check(CHUNKED)


def test_never_raises_ws_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never raises: the websocket core catches its own exceptions and fails with 1011; the target
    treats that internal error as a crash too."""
    data = seed(0, 0, b"\x88\x02\x03\xe8")
    ws.check(data)

    def broken(payload: bytes) -> Any:
        raise KeyError("boom")

    monkeypatch.setattr(ws_module, "decode_close", broken)
    with pytest.raises(InvariantError, match="caught an exception of its own"):
        ws.check(data)


def test_twins_agree_accel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twins agree (RFC 6455 5.3 masking): a C twin whose apply_mask is off by one bit is caught."""
    data = seed(0, 3, b"\x37\xfa\x21\x3dHello, world")
    accel.check(data)
    _, c_twin = accel.twins()

    def off(data: Any, key: Any, offset: int = 0) -> bytes:
        out = bytearray(c_twin.apply_mask(data, key, offset))
        if out:
            out[-1] ^= 1
        return bytes(out)

    fake = SimpleNamespace(**{name: getattr(c_twin, name) for name in dir(c_twin) if not name.startswith("__")})
    fake.apply_mask = off
    monkeypatch.setattr(accel, "C_TWIN", fake)
    with pytest.raises(InvariantError, match="C gives"):
        accel.check(data)


def test_twins_agree_ws_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twins agree (RFC 6455 8.1 UTF-8): with a pure Utf8Validator that accepts anything, the websocket
    core's events differ between the two twins, and the target says so."""
    data = seed(0x80, 0, b"\x01\x02\xed\xa0\x80\x01\x80\x01a")  # a fragmented text with a surrogate
    ws.check(data)

    class Lenient:
        def feed(self, data: Any, final: bool) -> bool:
            return True

        def reset(self) -> None:
            pass

    monkeypatch.setattr(ws, "pure", SimpleNamespace(apply_mask=pure.apply_mask, Utf8Validator=Lenient))
    with pytest.raises(InvariantError, match="twins disagree"):
        ws.check(data)


def test_frame_oracle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTTP/2 codec is checked against an independent decoding (RFC 9113 6.1 padding): a codec
    that leaves the padding in DATA payloads is caught."""
    data = seed(0, 0, h2_conn.frame(0, 0x9, 1, b"\x03hello\0\0\0"))
    h2_frames.check(data)
    monkeypatch.setattr(http2_frames, "_strip_padding", lambda view, start, end, *a: (start, end))
    with pytest.raises(InvariantError, match="DATA payload"):
        h2_frames.check(data)


def test_event_typing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Well-typed events: a Data event carrying a str instead of bytes is caught."""
    data = seed(0, 0, b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
    receive = Http1Protocol.receive_data

    def mistyped(self: Http1Protocol, chunk: bytes) -> list[Any]:
        events = receive(self, chunk)
        return [Data(e.stream_id, e.fin, e.data.decode()) if type(e) is Data else e for e in events]  # type: ignore[arg-type]

    monkeypatch.setattr(Http1Protocol, "receive_data", mistyped)
    with pytest.raises(InvariantError, match="Data fields"):
        http1.check(data)


def test_split_independence_deflate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inflater's output must not depend on how the payload was cut (RFC 7692 7.2.2): an inflater
    that drops the second piece of a message is caught."""
    from fuzz.targets import ws_deflate
    from gun_core.ws_deflate import Inflater

    data = seed(0, 1, b"\xf2\x48\xcd\xc9\xc9\x07\x00")  # "Hello", fed byte by byte in the cut run
    ws_deflate.check(data)
    feed = Inflater.feed

    def lossy(self: Inflater, piece: bytes, limit: int) -> Any:
        out = feed(self, piece, limit)
        return out[:-1] if isinstance(out, bytes) and len(piece) == 1 else out

    monkeypatch.setattr(Inflater, "feed", lossy)
    with pytest.raises(InvariantError):
        ws_deflate.check(data)
