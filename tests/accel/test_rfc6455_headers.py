"""Websocket frame-header parsing over a buffer (RFC 6455 5.2), on both twins."""

from __future__ import annotations

import struct
from types import ModuleType

import pytest

from gun_core.accel.pure import SCAN_ERROR, SCAN_NEED_HEADER, SCAN_NEED_PAYLOAD, SCAN_OK

HELLO = bytes.fromhex("810548656c6c6f")  # RFC 6455 5.7: unmasked text "Hello"
HELLO_MASKED = bytes.fromhex("818537fa213d7f9f4d5158")  # RFC 6455 5.7: masked text "Hello"
PING = bytes.fromhex("890548656c6c6f")  # RFC 6455 5.7: unmasked Ping "Hello"
FRAGMENTS = bytes.fromhex("010348656c") + bytes.fromhex("80026c6f")  # RFC 6455 5.7: "Hel" + "lo"


def test_single_frames_rfc_examples(impl: ModuleType) -> None:
    """RFC 6455 5.7: the fields of the example frames: FIN/RSV/opcode byte, MASK bit, length, key,
    header length."""
    assert impl.parse_ws_headers(HELLO) == (SCAN_OK, 7, [(0x81, False, 5, None, 2)])
    assert impl.parse_ws_headers(HELLO_MASKED) == (SCAN_OK, 11, [(0x81, True, 5, bytes.fromhex("37fa213d"), 6)])
    assert impl.parse_ws_headers(PING) == (SCAN_OK, 7, [(0x89, False, 5, None, 2)])


def test_many_frames_in_one_call(impl: ModuleType) -> None:
    """Every complete frame in the buffer comes back from one call, in order."""
    buf = HELLO + FRAGMENTS + HELLO_MASKED + PING
    status, next_pos, frames = impl.parse_ws_headers(buf)
    assert status == SCAN_OK
    assert next_pos == len(buf)
    assert [f[0] for f in frames] == [0x81, 0x01, 0x80, 0x81, 0x89]
    assert [f[2] for f in frames] == [5, 3, 2, 5, 5]


@pytest.mark.parametrize(
    ("head", "length", "hlen"),
    [
        (b"\x82\x7e\x01\x00", 256, 4),  # RFC 6455 5.7: 256 bytes, 16-bit length
        (b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 65536, 10),  # RFC 6455 5.7: 64 KiB
        (b"\x82\x7e\x00\x05", 5, 4),  # a non-minimal encoding is reported as is; judging it is the caller's
    ],
)
def test_extended_lengths(impl: ModuleType, head: bytes, length: int, hlen: int) -> None:
    """RFC 6455 5.2: length 126 is followed by a 16-bit length, 127 by a 64-bit length."""
    buf = head + bytes(length)
    assert impl.parse_ws_headers(buf) == (SCAN_OK, len(buf), [(0x82, False, length, None, hlen)])


def test_64bit_length_with_msb_set_is_an_error(impl: ModuleType) -> None:
    """RFC 6455 5.2: the most significant bit of a 64-bit payload length MUST be 0; such a frame is
    an error at its start, and the frames before it still come back."""
    bad = b"\x82\xff" + struct.pack("!Q", 1 << 63) + b"abcd"
    assert impl.parse_ws_headers(HELLO + bad) == (SCAN_ERROR, 7, [(0x81, False, 5, None, 2)])
    # Known to be bad before the mask key arrives.
    assert impl.parse_ws_headers(bad[:10]) == (SCAN_ERROR, 0, [])
    biggest = b"\x82\x7f" + struct.pack("!Q", (1 << 63) - 1)
    assert impl.parse_ws_headers(biggest) == (SCAN_NEED_PAYLOAD, 0, [(0x82, False, (1 << 63) - 1, None, 10)])


def test_dripfeed(impl: ModuleType) -> None:
    """Fed one byte more at a time, the parser reports an incomplete header, then an incomplete
    payload (with the header), then the frame, and never anything else."""
    frame = b"\x82\xfe\x00\x80" + b"KEY!" + bytes(128)
    for cut in range(len(frame) + 1):
        status, next_pos, frames = impl.parse_ws_headers(frame[:cut])
        if cut == 0:
            assert (status, next_pos, frames) == (SCAN_OK, 0, [])
        elif cut < 8:
            assert (status, next_pos, frames) == (SCAN_NEED_HEADER, 0, [])
        elif cut < len(frame):
            assert (status, next_pos, frames) == (SCAN_NEED_PAYLOAD, 0, [(0x82, True, 128, b"KEY!", 8)])
        else:
            assert (status, next_pos, frames) == (SCAN_OK, len(frame), [(0x82, True, 128, b"KEY!", 8)])


def test_trailing_partial_frame(impl: ModuleType) -> None:
    """After complete frames, a partial one stops the scan; next_pos is where it starts."""
    buf = HELLO + PING[:3]
    assert impl.parse_ws_headers(buf) == (SCAN_NEED_PAYLOAD, 7, [(0x81, False, 5, None, 2), (0x89, False, 5, None, 2)])
    assert impl.parse_ws_headers(HELLO + PING[:1]) == (SCAN_NEED_HEADER, 7, [(0x81, False, 5, None, 2)])


def test_pos_and_max_frames(impl: ModuleType) -> None:
    """Scanning starts at ``pos`` and returns at most ``max_frames`` frames; the caller resumes at
    next_pos."""
    buf = b"junk" + HELLO * 5
    status, next_pos, frames = impl.parse_ws_headers(buf, 4, 2)
    assert (status, next_pos, len(frames)) == (SCAN_OK, 4 + 14, 2)
    status, next_pos, frames = impl.parse_ws_headers(buf, next_pos, 64)
    assert (status, next_pos, len(frames)) == (SCAN_OK, len(buf), 3)
    assert impl.parse_ws_headers(buf, len(buf)) == (SCAN_OK, len(buf), [])


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_buffer_types(impl: ModuleType, kind: type) -> None:
    """bytes, bytearray and memoryview buffers give the same results."""
    buf = HELLO_MASKED + FRAGMENTS
    assert impl.parse_ws_headers(kind(bytearray(buf))) == impl.parse_ws_headers(buf)


def test_bad_arguments(impl: ModuleType) -> None:
    """A position outside the buffer, or fewer than one frame to return, is a caller error."""
    with pytest.raises(ValueError):
        impl.parse_ws_headers(HELLO, 8)
    with pytest.raises(ValueError):
        impl.parse_ws_headers(HELLO, -1)
    with pytest.raises(ValueError):
        impl.parse_ws_headers(HELLO, 0, 0)
