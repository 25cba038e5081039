"""Websocket masking (RFC 6455 5.3) and frame building (RFC 6455 5.2), on both twins."""

from __future__ import annotations

import itertools
import os
from types import ModuleType

import pytest

# RFC 6455 5.7: a single-frame masked text message "Hello" with key 37 fa 21 3d.
HELLO_KEY = bytes.fromhex("37fa213d")
HELLO_MASKED = bytes.fromhex("7f9f4d5158")


def naive_mask(data: bytes, key: bytes, offset: int = 0) -> bytes:
    return bytes(b ^ key[(offset + i) % 4] for i, b in enumerate(data))


def test_mask_rfc_example(impl: ModuleType) -> None:
    """RFC 6455 5.7: "Hello" masked with 37 fa 21 3d is 7f 9f 4d 51 58; unmasking gives it back."""
    assert impl.apply_mask(b"Hello", HELLO_KEY) == HELLO_MASKED
    assert impl.apply_mask(HELLO_MASKED, HELLO_KEY) == b"Hello"


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 7, 8, 9, 31, 32, 33, 125, 1023, 1024, 1025, 4096, 65537])
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 5, -1])
def test_mask_any_length_and_offset(impl: ModuleType, n: int, offset: int) -> None:
    """RFC 6455 5.3: octet i of the payload is XORed with key octet (i mod 4); a piece that starts
    ``offset`` bytes into the payload starts at key octet (offset mod 4)."""
    data = os.urandom(n)
    key = os.urandom(4)
    out = impl.apply_mask(data, key, offset)
    assert type(out) is bytes
    assert out == naive_mask(data, key, offset)


@pytest.mark.parametrize("n", [5, 127, 3000, 70000])
def test_mask_split_payload(impl: ModuleType, n: int) -> None:
    """A payload that arrives in pieces unmasks piece by piece with the running offset (RFC 6455 5.3)."""
    data = os.urandom(n)
    key = os.urandom(4)
    whole = impl.apply_mask(data, key)
    for cuts in ([1], [n // 3, n // 2], [3, 4, 5, n - 1]):
        bounds = [0, *sorted({c for c in cuts if 0 < c < n}), n]
        pieces = [impl.apply_mask(data[a:b], key, a) for a, b in itertools.pairwise(bounds)]
        assert b"".join(pieces) == whole


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_mask_accepts_buffers(impl: ModuleType, kind: type) -> None:
    """Any bytes-like payload and key give the same bytes, and the input is left untouched."""
    data = os.urandom(300)
    key = os.urandom(4)
    src = kind(bytearray(data))
    assert impl.apply_mask(src, kind(bytearray(key)), 2) == naive_mask(data, key, 2)
    assert bytes(src) == data


@pytest.mark.parametrize("key", [b"", b"abc", b"abcde"])
def test_mask_key_must_be_four_bytes(impl: ModuleType, key: bytes) -> None:
    """RFC 6455 5.3: the masking key is 32 bits; any other length is a caller error."""
    with pytest.raises(ValueError, match="4 bytes"):
        impl.apply_mask(b"payload", key)


def test_mask_results_are_fresh_objects(impl: ModuleType) -> None:
    """Each call returns a new bytes object; earlier results are never changed by later calls."""
    key = b"\x01\x02\x03\x04"
    first = impl.apply_mask(b"\x00" * 64, key)
    snapshot = bytes(bytearray(first))
    second = impl.apply_mask(b"\xff" * 64, key)
    assert first == snapshot
    assert first is not second
    assert hash(first) == hash(snapshot)


# RFC 6455 5.7 examples.
@pytest.mark.parametrize(
    ("b0", "payload", "key", "frame"),
    [
        (0x81, b"Hello", None, bytes.fromhex("810548656c6c6f")),
        (0x81, b"Hello", HELLO_KEY, bytes.fromhex("818537fa213d7f9f4d5158")),
        (0x01, b"Hel", None, bytes.fromhex("010348656c")),
        (0x80, b"lo", None, bytes.fromhex("80026c6f")),
        (0x89, b"Hello", None, bytes.fromhex("890548656c6c6f")),
    ],
)
def test_build_frame_rfc_examples(impl: ModuleType, b0: int, payload: bytes, key: bytes | None, frame: bytes) -> None:
    """RFC 6455 5.7: the example frames come out byte for byte."""
    assert impl.build_ws_frame(b0, payload, key) == frame


@pytest.mark.parametrize(
    ("n", "length_field"),
    [
        (125, bytes([125])),
        (126, bytes([126, 0, 126])),
        (256, bytes.fromhex("7e0100")),  # RFC 6455 5.7: 256 bytes, 16-bit length
        (65535, bytes.fromhex("7effff")),
        (65536, bytes.fromhex("7f0000000000010000")),  # RFC 6455 5.7: 64 KiB, 64-bit length
    ],
)
@pytest.mark.parametrize("masked", [False, True])
def test_build_frame_length_encoding(impl: ModuleType, n: int, length_field: bytes, masked: bool) -> None:
    """RFC 6455 5.2: the payload length uses 7 bits up to 125, then 16 bits up to 65535, then 64 bits,
    always the shortest; with a key the MASK bit is set and the key precedes the masked payload."""
    payload = os.urandom(n)
    key = os.urandom(4) if masked else None
    frame = impl.build_ws_frame(0x82, memoryview(payload), key)
    assert type(frame) is bytes
    field = bytes([length_field[0] | (0x80 if masked else 0)]) + length_field[1:]
    assert frame[:1] == b"\x82"
    assert frame[1 : 1 + len(field)] == field
    rest = frame[1 + len(field) :]
    if key is None:
        assert rest == payload
    else:
        assert rest[:4] == key
        assert rest[4:] == naive_mask(payload, key)


def test_build_frame_rejects_bad_arguments(impl: ModuleType) -> None:
    """The first byte must be a byte and a key must be 4 bytes: anything else is a caller error."""
    with pytest.raises(ValueError):
        impl.build_ws_frame(256, b"x", None)
    with pytest.raises(ValueError):
        impl.build_ws_frame(-1, b"x", None)
    with pytest.raises(ValueError, match="4 bytes"):
        impl.build_ws_frame(0x81, b"x", b"abc")
