"""HTTP/2 frame-header scanning over a buffer (RFC 9113 4.1, 4.2), on both twins."""

from __future__ import annotations

import struct
from types import ModuleType

import pytest

from gun_core.accel.pure import SCAN_ERROR, SCAN_NEED_HEADER, SCAN_NEED_PAYLOAD, SCAN_OK


def frame(ftype: int, flags: int, stream_id: int, payload: bytes = b"", reserved: bool = False) -> bytes:
    """RFC 9113 4.1: 24-bit length, 8-bit type, 8-bit flags, R bit + 31-bit stream id, payload."""
    n = len(payload)
    return struct.pack("!BHBBI", n >> 16, n & 0xFFFF, ftype, flags, stream_id | (reserved << 31)) + payload


SETTINGS_ACK = frame(0x4, 0x1, 0)
DATA = frame(0x0, 0x1, 1, b"hello")
HEADERS = frame(0x1, 0x4, 3, b"\x82\x86")


def test_frames_in_one_call(impl: ModuleType) -> None:
    """Every complete frame in the buffer comes back as (length, type, flags, stream id), in order."""
    buf = SETTINGS_ACK + HEADERS + DATA
    assert impl.scan_h2_headers(buf) == (SCAN_OK, len(buf), [(0, 4, 1, 0), (2, 1, 4, 3), (5, 0, 1, 1)])


def test_reserved_bit_is_ignored(impl: ModuleType) -> None:
    """RFC 9113 4.1: the reserved bit of the stream identifier MUST be ignored when receiving."""
    assert impl.scan_h2_headers(frame(0x0, 0, 5, b"x", reserved=True)) == (SCAN_OK, 10, [(1, 0, 0, 5)])
    assert impl.scan_h2_headers(frame(0x0, 0, 0x7FFFFFFF)) == (SCAN_OK, 9, [(0, 0, 0, 0x7FFFFFFF)])


def test_frame_larger_than_max_frame_size(impl: ModuleType) -> None:
    """RFC 9113 4.2: a frame longer than the SETTINGS_MAX_FRAME_SIZE we advertised is a
    FRAME_SIZE_ERROR, known from its header alone; the frames before it still come back."""
    big = frame(0x0, 0, 1, bytes(16385))
    assert impl.scan_h2_headers(DATA + big) == (SCAN_ERROR, len(DATA), [(5, 0, 1, 1)])
    assert impl.scan_h2_headers(big[:9]) == (SCAN_ERROR, 0, [])
    assert impl.scan_h2_headers(big, 0, 16385) == (SCAN_OK, len(big), [(16385, 0, 0, 1)])
    biggest = b"\xff\xff\xff" + b"\x00" * 6
    assert impl.scan_h2_headers(biggest, 0, (1 << 24) - 1) == (SCAN_NEED_PAYLOAD, 0, [((1 << 24) - 1, 0, 0, 0)])


def test_dripfeed(impl: ModuleType) -> None:
    """Fed one byte more at a time: incomplete header up to 9 bytes, then the header with an
    incomplete payload, then the frame."""
    for cut in range(len(DATA) + 1):
        result = impl.scan_h2_headers(DATA[:cut])
        if cut == 0:
            assert result == (SCAN_OK, 0, [])
        elif cut < 9:
            assert result == (SCAN_NEED_HEADER, 0, [])
        elif cut < len(DATA):
            assert result == (SCAN_NEED_PAYLOAD, 0, [(5, 0, 1, 1)])
        else:
            assert result == (SCAN_OK, len(DATA), [(5, 0, 1, 1)])


def test_pos_and_max_frames(impl: ModuleType) -> None:
    """Scanning starts at ``pos`` and returns at most ``max_frames`` frames."""
    buf = b"PRI" + SETTINGS_ACK * 4
    assert impl.scan_h2_headers(buf, 3, 16384, 3) == (SCAN_OK, 30, [(0, 4, 1, 0)] * 3)
    assert impl.scan_h2_headers(buf, 30, 16384, 3) == (SCAN_OK, 39, [(0, 4, 1, 0)])


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_buffer_types(impl: ModuleType, kind: type) -> None:
    """bytes, bytearray and memoryview buffers give the same results."""
    buf = HEADERS + DATA[:12]
    assert impl.scan_h2_headers(kind(bytearray(buf))) == impl.scan_h2_headers(buf)


def test_bad_arguments(impl: ModuleType) -> None:
    """A position outside the buffer, no frame to return or a max_frame_size past 32 bits is a
    caller error."""
    with pytest.raises(ValueError):
        impl.scan_h2_headers(DATA, len(DATA) + 1)
    with pytest.raises(ValueError):
        impl.scan_h2_headers(DATA, 0, 16384, 0)
    with pytest.raises(ValueError):
        impl.scan_h2_headers(DATA, 0, -1)
    with pytest.raises(ValueError):
        impl.scan_h2_headers(DATA, 0, 1 << 32)
