"""Caller buffers: after any call the caller may resize its bytearray at once (no export is left
behind, the rule for from_buffer in STYLE.md 5), and inputs are never modified."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

FRAMES = bytes.fromhex("818537fa213d7f9f4d5158") + bytes.fromhex("810548656c6c6f")
H2 = bytes.fromhex("000005000100000001") + b"hello"

CALLS: dict[str, Callable[[ModuleType, bytearray], Any]] = {
    "apply_mask": lambda m, b: m.apply_mask(b, b"abcd", 1),
    "apply_mask memoryview": lambda m, b: m.apply_mask(memoryview(b)[1:], bytearray(b"abcd")),
    "build_ws_frame": lambda m, b: m.build_ws_frame(0x82, b, b"abcd"),
    "build_ws_frame unmasked": lambda m, b: m.build_ws_frame(0x82, memoryview(b), None),
    "parse_ws_headers": lambda m, b: m.parse_ws_headers(b, 0, 4),
    "scan_h2_headers": lambda m, b: m.scan_h2_headers(b, 0, 16384, 4),
    "Utf8Validator.feed": lambda m, b: m.Utf8Validator().feed(b, False),
}


@pytest.mark.parametrize("call", list(CALLS), ids=list(CALLS))
@pytest.mark.parametrize("data", [FRAMES, H2, bytes(range(256)) * 20], ids=["ws", "h2", "5k"])
def test_caller_can_resize_right_after(impl: ModuleType, call: str, data: bytes) -> None:
    """A bytearray passed in is unchanged and can be grown and shrunk as soon as the call returns."""
    buf = bytearray(data)
    result = CALLS[call](impl, buf)
    assert buf == data
    buf.extend(b"more")
    del buf[:3]
    assert CALLS[call](impl, bytearray(data)) == result


def test_caller_can_resize_after_an_error(impl: ModuleType) -> None:
    """Even when a call refuses its arguments, the caller's bytearray is left free to resize."""
    buf = bytearray(FRAMES)
    with pytest.raises(ValueError):
        impl.parse_ws_headers(buf, len(buf) + 1)
    with pytest.raises(ValueError):
        impl.scan_h2_headers(buf, 0, -1)
    with pytest.raises(ValueError):
        impl.apply_mask(buf, b"abc")
    with pytest.raises(ValueError):
        impl.build_ws_frame(0x82, buf, b"toolong")
    buf.extend(b"x" * 100)
    del buf[:50]
