"""Fuzz target ``h2_frames``: the HTTP/2 frame codec (gun_core.http2_frames.parse).

The payload is a stream of frames parsed back to back. Checks: ``parse`` never raises and
returns one of its four result kinds; a frame uses exactly ``9 + length`` bytes; every field
agrees with an independent decoding of the header and payload written here from RFC 9113
4.1 and 6; a truncated copy of a frame gives "need more"; bytes, bytearray and memoryview
give the same result; the frames that can be rebuilt re-encode to what was parsed; and the
frame headers agree with ``scan_h2_headers`` of both accelerator twins (C and pure Python).
"""

from __future__ import annotations

import struct
from typing import Any

from fuzz.harness import Input, instrumented_imports, run_fuzzer

with instrumented_imports():
    from gun_core.accel import pure
    from gun_core.http2_frames import (
        ContinuationFrame,
        DataFrame,
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
        SettingsFrame,
        UnknownFrame,
        WindowUpdateFrame,
        build_data,
        build_goaway,
        build_ping,
        build_rst_stream,
        build_settings,
        build_window_update,
        parse,
    )

from fuzz import invariants as inv
from fuzz.twins import C_TWIN

__all__ = ["MAX_FRAME_SIZES", "check"]

MAX_FRAME_SIZES = (16384, 64, 0, 2**24 - 1)
_HDR = struct.Struct(">BHBBL")
_KINDS = (bytes, bytearray, memoryview)
_MAX_FRAMES = 200


def _oracle(buf: bytes, pos: int) -> tuple[int, int, int, int, bytes]:
    """(length, type, flags, stream id, payload) read straight off the wire (RFC 9113 4.1)."""
    hi, lo, ftype, flags, sid = _HDR.unpack_from(buf, pos)
    length = hi << 16 | lo
    return length, ftype, flags, sid & 0x7FFFFFFF, buf[pos + 9 : pos + 9 + length]


def _unpad(flags: int, payload: bytes) -> bytes:
    if flags & 0x8:
        return payload[1 : len(payload) - payload[0]]
    return payload


def _same(a: Any, b: Any) -> bool:
    """Parse results compare equal, memoryviews by content."""
    if type(a) is not type(b):
        return False
    if isinstance(a, FrameOk):
        fa, fb = a.frame, b.frame
        if type(fa) is not type(fb) or a.used != b.used:
            return False
        for name in fa.__slots__:
            va, vb = getattr(fa, name), getattr(fb, name)
            if isinstance(va, memoryview):
                va = bytes(va)
            if isinstance(vb, memoryview):
                vb = bytes(vb)
            if va != vb:
                return False
        return True
    return bool(a == b) if not isinstance(a, NeedMore) else True


def _check_frame(r: FrameOk, buf: bytes, pos: int) -> None:
    length, ftype, flags, sid, payload = _oracle(buf, pos)
    f = r.frame
    inv.ensure(r.used == 9 + length, f"{f!r} used {r.used} bytes, its header says {9 + length}")
    if ftype == 0:
        inv.ensure(type(f) is DataFrame, f"type 0 parsed as {f!r}")
        assert isinstance(f, DataFrame)
        inv.ensure(f.stream_id == sid and f.fin == bool(flags & 1) and f.flow_size == length, f"DATA fields {f!r}")
        inv.ensure(bytes(f.data) == _unpad(flags, payload), f"DATA payload {f!r}")
        rebuilt = parse(build_data(sid, f.fin, bytes(f.data)), 0, 2**24 - 1)
        inv.ensure(isinstance(rebuilt, FrameOk) and bytes(rebuilt.frame.data) == bytes(f.data), "DATA rebuild")  # type: ignore[union-attr]
    elif ftype == 1:
        inv.ensure(type(f) is HeadersFrame, f"type 1 parsed as {f!r}")
        assert isinstance(f, HeadersFrame)
        block = _unpad(flags, payload)
        if flags & 0x20:
            inv.ensure(f.self_dependent == ((struct.unpack_from(">L", block)[0] & 0x7FFFFFFF) == sid), "self dep")
            block = block[5:]
        inv.ensure(f.stream_id == sid and f.fin == bool(flags & 1) and f.end_headers == bool(flags & 4), f"{f!r}")
        inv.ensure(bytes(f.fragment) == block, f"HEADERS fragment {f!r}")
    elif ftype == 2:
        inv.ensure(type(f) is PriorityFrame and length == 5, f"type 2 parsed as {f!r}")
        assert isinstance(f, PriorityFrame)
        dep, weight = struct.unpack(">LB", payload)
        inv.ensure((f.depends_on, f.exclusive, f.weight) == (dep & 0x7FFFFFFF, dep >> 31 == 1, weight + 1), f"{f!r}")
    elif ftype == 3:
        inv.ensure(type(f) is RstStreamFrame and length == 4 and sid != 0, f"type 3 parsed as {f!r}")
        assert isinstance(f, RstStreamFrame)
        inv.ensure(f.error_code == struct.unpack(">L", payload)[0], f"{f!r}")
        inv.ensure(build_rst_stream(sid, f.error_code)[9:] == payload, "RST_STREAM rebuild")
    elif ftype == 4:
        inv.ensure(type(f) is SettingsFrame and sid == 0, f"type 4 parsed as {f!r}")
        assert isinstance(f, SettingsFrame)
        inv.ensure(f.ack == bool(flags & 1), f"{f!r}")
        if not f.ack:
            inv.ensure(f.settings == [tuple(x) for x in struct.iter_unpack(">HL", payload)], f"{f!r}")
            inv.ensure(build_settings(f.settings)[9:] == payload, "SETTINGS rebuild")
    elif ftype == 5:
        inv.ensure(type(f) is PushPromiseFrame and sid != 0, f"type 5 parsed as {f!r}")
        assert isinstance(f, PushPromiseFrame)
        body = _unpad(flags, payload)
        inv.ensure(f.promised_stream_id == struct.unpack_from(">L", body)[0] & 0x7FFFFFFF, f"{f!r}")
        inv.ensure(bytes(f.fragment) == body[4:] and f.end_headers == bool(flags & 4), f"{f!r}")
    elif ftype == 6:
        inv.ensure(type(f) is PingFrame and length == 8 and sid == 0, f"type 6 parsed as {f!r}")
        assert isinstance(f, PingFrame)
        inv.ensure(f.opaque == payload and f.ack == bool(flags & 1), f"{f!r}")
        inv.ensure(build_ping(f.opaque, f.ack)[9:] == payload, "PING rebuild")
    elif ftype == 7:
        inv.ensure(type(f) is GoawayFrame and length >= 8 and sid == 0, f"type 7 parsed as {f!r}")
        assert isinstance(f, GoawayFrame)
        last, code = struct.unpack_from(">LL", payload)
        inv.ensure((f.last_stream_id, f.error_code, f.debug_data) == (last & 0x7FFFFFFF, code, payload[8:]), f"{f!r}")
        inv.ensure(build_goaway(f.last_stream_id, f.error_code, f.debug_data)[17:] == payload[8:], "GOAWAY rebuild")
    elif ftype == 8:
        inv.ensure(type(f) is WindowUpdateFrame and length == 4, f"type 8 parsed as {f!r}")
        assert isinstance(f, WindowUpdateFrame)
        inc = struct.unpack(">L", payload)[0] & 0x7FFFFFFF
        inv.ensure(f.increment == inc != 0 and f.stream_id == sid, f"{f!r}")
        inv.ensure(build_window_update(sid, inc)[9:] == struct.pack(">L", inc), "WINDOW_UPDATE rebuild")
    elif ftype == 9:
        inv.ensure(type(f) is ContinuationFrame and sid != 0, f"type 9 parsed as {f!r}")
        assert isinstance(f, ContinuationFrame)
        inv.ensure(bytes(f.fragment) == payload and f.end_headers == bool(flags & 4), f"{f!r}")
    else:
        inv.ensure(type(f) is UnknownFrame, f"type {ftype} parsed as {f!r}")
        assert isinstance(f, UnknownFrame)
        inv.ensure((f.frame_type, f.flags, f.stream_id, f.length) == (ftype, flags, sid, length), f"{f!r}")


def check(data: bytes) -> None:
    """Parse the payload as back-to-back frames and check every result."""
    inp = Input(data)
    buf = inp.payload
    max_size = MAX_FRAME_SIZES[inp.config & 3]
    kind = _KINDS[inp.split % 3]
    view = kind(buf) if kind is not memoryview else memoryview(buf)
    pos = 0
    consumed: list[tuple[int, int, int, int]] = []
    stop = "end"
    while pos < len(buf) and len(consumed) < _MAX_FRAMES:
        r = inv.call(parse, view, pos, max_size)
        inv.ensure(type(r) in (FrameOk, NeedMore, FrameStreamError, FrameConnectionError), f"parse returned {r!r}")
        avail = len(buf) - pos
        if avail >= 9:
            length, ftype, flags, sid, _ = _oracle(buf, pos)
        if type(r) is NeedMore:
            inv.ensure(avail < 9 or (length <= max_size and avail < 9 + length), f"need more with {avail} bytes")
            stop = "more"
            break
        inv.ensure(avail >= 9, f"{r!r} from {avail} bytes, less than a frame header")
        if type(r) is FrameConnectionError:
            inv.ensure(isinstance(r.message, str) and "RFC" in r.message, f"error without a citation: {r!r}")
            stop = "error"
            break
        inv.ensure(length <= max_size, f"a frame of {length} bytes passed SETTINGS_MAX_FRAME_SIZE {max_size}")
        if type(r) is FrameOk:
            _check_frame(r, buf, pos)
        else:
            assert isinstance(r, FrameStreamError)
            inv.ensure(r.used == 9 + length and r.stream_id == sid != 0, f"stream error {r!r}")
        # The same frame, cut short by one byte, is not complete yet.
        inv.ensure(type(parse(buf[: pos + 8 + length], pos, max_size)) is NeedMore, "a truncated frame parsed")
        # The other buffer types give the same result.
        for other in _KINDS:
            if other is not kind:
                inv.ensure(_same(parse(other(buf), pos, max_size), r), f"parse differs on {other.__name__}")
        consumed.append((length, ftype, flags, sid))
        pos += r.used
    # Both scan_h2_headers twins see the same frame headers as parse did.
    for twin in (pure, C_TWIN):
        if twin is None:
            continue
        _status, next_pos, frames = inv.call(twin.scan_h2_headers, buf, 0, max_size, _MAX_FRAMES)
        inv.ensure(frames[: len(consumed)] == consumed, f"{twin.__name__}.scan_h2_headers disagrees with parse")
        if stop == "more" or (stop == "end" and len(consumed) < _MAX_FRAMES):
            inv.ensure(next_pos == pos and len(frames) >= len(consumed), f"{twin.__name__}: next_pos {next_pos}")


if __name__ == "__main__":
    run_fuzzer(check)
