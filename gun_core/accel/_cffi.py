"""The C twins of ``gun_core.accel.pure``, over the CFFI extension ``gun_core._accel``.

Importing this module fails with ``ImportError`` when the extension was not built;
``gun_core.accel`` then falls back to ``pure``. Every function has the signature, results and
errors of its pure twin (read the docstrings there). The C code (``csrc/gun_accel.c``) never
calls the Python API and never allocates: these wrappers pass it caller-owned buffers.

``apply_mask``, ``build_ws_frame`` and the UTF-8 step come from ``gun_core._speedups`` when it
was built: the same C functions behind a small CPython-API module, which allocates the result
uninitialised and fills it in one pass, in a call that costs a fraction of a CFFI crossing
(``csrc/gun_speedups.c`` says why). Without it, the CFFI wrappers below do the same work.
"""

from __future__ import annotations

import importlib
import sys
from itertools import repeat as _repeat
from typing import Any

from gun_core._accel import ffi, lib

from .pure import (
    SCAN_ERROR,
    SCAN_NEED_HEADER,
    SCAN_NEED_PAYLOAD,
    SCAN_OK,
    Buffer,
    H2Header,
    WsHeader,
    _check_scan_args,
)
from .pure import Filler as _PureFiller
from .pure import MaskKeys as _PureMaskKeys
from .pure import WakeupBase as _PureWakeupBase
from .pure import slot_builder as _pure_slot_builder
from .pure import ws_event_types as _pure_ws_event_types
from .pure import ws_simple_frames as _pure_ws_simple_frames

_speedups: Any
try:
    _speedups = importlib.import_module("gun_core._speedups")
except ImportError:  # built without it: the CFFI wrappers below are used
    _speedups = None

__all__ = [
    "SCAN_ERROR",
    "SCAN_NEED_HEADER",
    "SCAN_NEED_PAYLOAD",
    "SCAN_OK",
    "Filler",
    "MaskKeys",
    "Utf8Validator",
    "WakeupBase",
    "apply_mask",
    "build_ws_frame",
    "parse_ws_headers",
    "scan_h2_headers",
    "slot_builder",
]

if (lib.GUN_SCAN_OK, lib.GUN_SCAN_NEED_HEADER, lib.GUN_SCAN_NEED_PAYLOAD, lib.GUN_SCAN_ERROR) != (
    SCAN_OK,
    SCAN_NEED_HEADER,
    SCAN_NEED_PAYLOAD,
    SCAN_ERROR,
):  # pragma: no cover - a stale build
    raise ImportError("gun_core._accel does not match gun_core.accel.pure: rebuild it")

_mask = lib.gun_ws_mask
_build = lib.gun_ws_build_frame
_ws_parse = lib.gun_ws_parse_headers
_h2_scan = lib.gun_h2_scan_headers
_utf8_feed = lib.gun_utf8_feed
_UTF8_ACCEPT: int = lib.GUN_UTF8_ACCEPT
_UTF8_REJECT: int = lib.GUN_UTF8_REJECT
_from_buffer = ffi.from_buffer
_unpack = ffi.unpack
_NULL = ffi.NULL
_new = ffi.new_allocator(should_clear_after_alloc=False)
_buffer = ffi.buffer

# On CPython a ``bytes`` argument reaches C as a pointer to the object's own storage. The
# wrappers create the result as ``bytes(n)`` (n >= 2, so a new object, never a shared
# singleton), let C fill it, then return it: the one write that C extensions make with
# PyBytes_FromStringAndSize(NULL, n), without going through a bytearray and a copy. Nothing
# else has seen the object yet, and its hash is not computed. Elsewhere, fill a bytearray.
FILL_BYTES_IN_PLACE = sys.implementation.name == "cpython"

# Buffers other than bytes reach C through ``with _from_buffer(x) as src``: the export pins
# the buffer (a bytearray cannot be resized meanwhile) and is released on the way out, so the
# caller may resize it right after the call. C is never told to read more than len(src).


def _apply_mask_fill(data: Buffer, key: Buffer, offset: int = 0) -> bytes:
    """XOR ``data`` with the 4-byte websocket masking ``key``, starting at ``key[offset % 4]``."""
    if len(key) != 4:
        raise ValueError("a websocket masking key is 4 bytes (RFC 6455 5.3)")
    n = len(data)
    if n < 2:
        return bytes([data[0] ^ key[offset % 4]]) if n else b""
    out = bytes(n)
    try:
        _mask(data, n, key, offset & 3, out)
    except TypeError:  # a bytearray or memoryview: CFFI takes bytes directly, others by from_buffer
        with _from_buffer(data) as src:
            _mask(src, min(n, len(src)), bytes(key), offset & 3, out)
    return out


def _apply_mask_copy(data: Buffer, key: Buffer, offset: int = 0) -> bytes:
    """Like ``_apply_mask_fill``, through a bytearray and a copy (for Pythons other than CPython)."""
    if len(key) != 4:
        raise ValueError("a websocket masking key is 4 bytes (RFC 6455 5.3)")
    n = len(data)
    if n < 2:
        return bytes([data[0] ^ key[offset % 4]]) if n else b""
    buf = bytearray(n)
    with _from_buffer(data) as src, _from_buffer(buf) as dst:
        _mask(src, min(n, len(src)), bytes(key), offset & 3, dst)
    return bytes(buf)


apply_mask = _apply_mask_fill if FILL_BYTES_IN_PLACE else _apply_mask_copy
if _speedups is not None:
    apply_mask = _speedups.apply_mask


def _build_ws_frame_cffi(opcode_byte: int, payload: Buffer, key: Buffer | None) -> bytes:
    """Return one whole websocket frame: header, then the payload, masked with ``key`` (or not, for None)."""
    if not 0 <= opcode_byte <= 0xFF:
        raise ValueError(f"the first byte of a websocket frame is 0..255, not {opcode_byte}")
    c_key: Any = _NULL
    if key is not None:
        if len(key) != 4:
            raise ValueError("a websocket masking key is 4 bytes (RFC 6455 5.3)")
        c_key = key if type(key) is bytes else bytes(key)
    if type(payload) is bytes:
        return _build_frame(opcode_byte, payload, len(payload), c_key)
    with _from_buffer(payload) as src:
        return _build_frame(opcode_byte, src, len(src), c_key)


def _build_frame(opcode_byte: int, payload: Any, n: int, c_key: Any) -> bytes:
    size = n + (2 if n <= 125 else 4 if n <= 0xFFFF else 10) + (0 if c_key is _NULL else 4)
    if FILL_BYTES_IN_PLACE:
        out = bytes(size)  # size >= 2
        _build(opcode_byte, payload, n, c_key, out, size)
        return out
    buf = bytearray(size)
    with _from_buffer(buf) as dst:
        _build(opcode_byte, payload, n, c_key, dst, size)
    return bytes(buf)


build_ws_frame = _build_ws_frame_cffi if _speedups is None else _speedups.build_ws_frame
Filler = _PureFiller if _speedups is None else _speedups.Filler
# Building Python objects needs the CPython API: without _speedups, the pure twins.
ws_event_types = _pure_ws_event_types if _speedups is None else _speedups.ws_event_types
ws_simple_frames = _pure_ws_simple_frames if _speedups is None else _speedups.ws_simple_frames
WakeupBase = _PureWakeupBase if _speedups is None else _speedups.WakeupBase
slot_builder = _pure_slot_builder if _speedups is None else _speedups.slot_builder
MaskKeys = _PureMaskKeys if _speedups is None else _speedups.MaskKeys


def parse_ws_headers(buf: Buffer, pos: int = 0, max_frames: int = 64) -> tuple[int, int, list[WsHeader]]:
    """Parse the websocket frame headers of consecutive frames in ``buf[pos:]`` (see the pure twin)."""
    n = len(buf)
    _check_scan_args(n, pos, max_frames)
    words = _new("uint64_t[]", 2 + max_frames)
    fields = _new("uint8_t[]", 3 * max_frames)
    if type(buf) is bytes:
        status = _ws_parse(buf, n, pos, max_frames, words, fields)
    else:
        with _from_buffer(buf) as src:
            status = _ws_parse(src, min(n, len(src)), pos, max_frames, words, fields)
    count: int = words[1]
    if not count:
        return status, words[0], []
    # Column by column (see gun_accel.h): lengths, then first bytes, MASK bits, header lengths.
    lengths: list[int] = _unpack(words + 2, count)
    raw = _buffer(fields)
    b0s: bytes = raw[:count]
    masks: bytes = raw[max_frames : max_frames + count]
    hlens: bytes = raw[2 * max_frames : 2 * max_frames + count]
    if not any(masks):  # no MASK bit: what a client receives from a server
        return status, words[0], list(zip(b0s, _repeat(False), lengths, _repeat(None), hlens))
    frames: list[WsHeader] = []
    start = pos
    for b0, masked, length, hlen in zip(b0s, masks, lengths, hlens, strict=True):
        key = bytes(buf[start + hlen - 4 : start + hlen]) if masked else None
        frames.append((b0, bool(masked), length, key, hlen))
        start += hlen + length
    return status, words[0], frames


def scan_h2_headers(
    buf: Buffer, pos: int = 0, max_frame_size: int = 16384, max_frames: int = 64
) -> tuple[int, int, list[H2Header]]:
    """Scan the HTTP/2 frame headers of consecutive frames in ``buf[pos:]`` (see the pure twin)."""
    n = len(buf)
    _check_scan_args(n, pos, max_frames)
    if not 0 <= max_frame_size <= 0xFFFFFFFF:
        raise ValueError(f"max_frame_size must fit in 32 bits, not {max_frame_size}")
    words = _new("uint64_t[]", 2 + 2 * max_frames)
    fields = _new("uint8_t[]", 2 * max_frames)
    if type(buf) is bytes:
        status = _h2_scan(buf, n, pos, max_frame_size, max_frames, words, fields)
    else:
        with _from_buffer(buf) as src:
            status = _h2_scan(src, min(n, len(src)), pos, max_frame_size, max_frames, words, fields)
    count: int = words[1]
    if not count:
        return status, words[0], []
    # Column by column (see gun_accel.h): lengths, stream ids; types, flags.
    raw = _buffer(fields)
    return (
        status,
        words[0],
        list(
            zip(
                _unpack(words + 2, count),
                raw[:count],
                raw[max_frames : max_frames + count],
                _unpack(words + 2 + max_frames, count),
                strict=True,
            )
        ),
    )


def _utf8_step_cffi(state: int, data: Buffer) -> int:
    """The UTF-8 DFA over ``data`` from ``state`` (``gun_utf8_feed``), through CFFI."""
    if type(data) is bytes:
        return _utf8_feed(state, data, len(data)) if data else state
    with _from_buffer(data) as src:
        return _utf8_feed(state, src, len(src)) if len(src) else state


_utf8_step = _utf8_step_cffi if _speedups is None else _speedups.utf8_feed


class Utf8Validator:
    """Incremental UTF-8 validation (RFC 3629 4) whose state carries across ``feed`` calls."""

    __slots__ = ("_state",)

    def __init__(self) -> None:
        self._state: int = _UTF8_ACCEPT

    def feed(self, data: Buffer, final: bool) -> bool:
        """Return False as soon as the bytes so far cannot be the start of valid UTF-8."""
        state = self._state
        if state == _UTF8_REJECT:
            return False
        state = _utf8_step(state, data)
        if final and state != _UTF8_ACCEPT:
            state = _UTF8_REJECT  # RFC 3629 4: a message cannot end inside a character
        self._state = state
        return state != _UTF8_REJECT

    def reset(self) -> None:
        """Forget everything: start a new message."""
        self._state = _UTF8_ACCEPT
