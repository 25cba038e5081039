"""Fuzz target ``accel``: the C accelerator's entry points against their pure-Python twins.

Every entry point of ``gun_core.accel`` (``apply_mask``, ``build_ws_frame``,
``parse_ws_headers``, ``scan_h2_headers``, ``Utf8Validator``) is called through the C twin
(``gun_core.accel._cffi``) and the pure twin (``gun_core.accel.pure``) with the same arguments,
on bytes, bytearray and memoryview: results, and exceptions, must be identical. Own properties
are checked too: masking is an involution and can be done in pieces; a built frame parses back
to its own header; UTF-8 validation agrees with Python's decoder and fails fast for good.

The config byte picks the entry point (``& 7``; 5-7: all of them) and argument details. The C
code itself is not coverage-instrumented (that needs clang's ``-fsanitize=fuzzer-no-link``);
the Python wrappers are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fuzz.harness import Input, instrumented_imports, run_fuzzer, split_reads

with instrumented_imports():
    from gun_core.accel import pure

from fuzz import invariants as inv
from fuzz.twins import C_TWIN

__all__ = ["check", "twins"]

_KINDS: tuple[Callable[[bytes], Any], ...] = (bytes, bytearray, lambda b: memoryview(bytearray(b)))


def twins() -> tuple[Any, Any]:
    """(pure, C); the pure module twice when the extension is not built."""
    return pure, C_TWIN if C_TWIN is not None else pure


def _outcome(fn: Callable[..., Any], *args: Any) -> Any:
    """The result, or the exception's type and message: errors must match too."""
    try:
        return ("ok", fn(*args))
    except (ValueError, TypeError, OverflowError) as exc:
        return ("raise", type(exc).__name__)


def _same(name: str, *args: Any) -> Any:
    p, c = twins()
    expected = _outcome(getattr(p, name), *args)
    for kind in _KINDS:
        conv = [kind(a) if isinstance(a, bytes) and i == 0 else a for i, a in enumerate(args)]
        got = _outcome(getattr(c, name), *conv)
        inv.ensure(got == expected, f"{name}{tuple(args)!r} on {kind}: C gives {got!r}, pure {expected!r}")
    return expected


def _mask(inp: Input) -> None:
    p = inp.payload
    key, data = p[:4], p[4:]
    offset = inp.split * 7 - 3 if inp.config & 0x80 else inp.split
    r = _same("apply_mask", data, key, offset)
    if r[0] == "ok":
        masked = r[1]
        inv.ensure(len(masked) == len(data), "masking changed the length")
        inv.ensure(pure.apply_mask(masked, key, offset) == data, "masking twice is not the identity")
        cut = inp.split % (len(data) + 1)
        _, c = twins()
        pieces = c.apply_mask(data[:cut], key, offset) + c.apply_mask(data[cut:], key, offset + cut)
        inv.ensure(pieces == masked, f"masking in two pieces at {cut} differs")


def _build(inp: Input) -> None:
    p = inp.payload
    b0 = inp.split
    key = p[:4] if inp.config & 0x40 else None
    payload = p[4:] if key is not None else p
    if inp.config & 0x80:
        payload = payload * 600  # reach the 16- and 64-bit length forms
    r = _same("build_ws_frame", b0, payload, key)
    if r[0] == "ok":
        frame = r[1]
        _, c = twins()
        status, nxt, frames = c.parse_ws_headers(frame, 0, 4)
        inv.ensure(status == pure.SCAN_OK and nxt == len(frame) and len(frames) == 1, f"rebuilt frame {frames!r}")
        fb0, masked, length, mkey, hlen = frames[0]
        inv.ensure((fb0, masked, length, mkey) == (b0, key is not None, len(payload), key), f"header {frames[0]!r}")
        body = frame[hlen:]
        inv.ensure((pure.apply_mask(body, key) if key else body) == payload, "the payload does not come back")


def _ws_headers(inp: Input) -> None:
    buf = inp.payload
    pos = inp.split % (len(buf) + 2)  # one past the end: a ValueError on both sides
    max_frames = 1 + (inp.config >> 4)
    r = _same("parse_ws_headers", buf, pos, max_frames)
    if r[0] == "ok":
        _status, nxt, frames = r[1]
        inv.ensure(pos <= nxt <= len(buf) and len(frames) <= max_frames, f"parse_ws_headers gave {r[1]!r}")


def _h2_headers(inp: Input) -> None:
    buf = inp.payload
    pos = inp.split % (len(buf) + 2)
    sizes = (16384, 0, 100, 2**24 - 1, 2**32 - 1, 2**32, -1, 9)
    max_frame_size = sizes[(inp.config >> 3) & 7]
    max_frames = 1 + (inp.config >> 6) * 7
    _same("scan_h2_headers", buf, pos, max_frame_size, max_frames)


def _utf8(inp: Input) -> None:
    p, c = twins()
    pieces = split_reads(inp.payload, inp.split)
    kinds = _KINDS
    a, b = p.Utf8Validator(), c.Utf8Validator()
    last = True
    for i, piece in enumerate(pieces):
        final = i == len(pieces) - 1
        ra = inv.call(a.feed, piece, final)
        rb = inv.call(b.feed, kinds[i % 3](piece), final)
        inv.ensure(ra == rb, f"Utf8Validator: pure {ra}, C {rb} after piece {i} of {pieces!r}")
        inv.ensure(last or not ra, "Utf8Validator accepted after it had refused")
        last = ra
    if pieces:
        try:
            inp.payload.decode("utf-8")
            valid = True
        except UnicodeDecodeError:
            valid = False
        inv.ensure(last == valid, f"Utf8Validator says {last}, the decoder {valid} for {inp.payload!r}")
        a.reset()
        b.reset()
        inv.ensure(a.feed(b"ok", True) and b.feed(b"ok", True), "reset does not start afresh")


_OPS = (_mask, _build, _ws_headers, _h2_headers, _utf8)


def check(data: bytes) -> None:
    """Run the entry point(s) the config byte picks on both twins and compare."""
    inp = Input(data)
    op = inp.config & 7
    if op < len(_OPS):
        _OPS[op](inp)
    else:
        for fn in _OPS:
            fn(inp)


if __name__ == "__main__":
    run_fuzzer(check)
