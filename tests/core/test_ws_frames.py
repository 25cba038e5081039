"""Unit tests of gun_core.ws_frames: the pure websocket frame codec (RFC 6455 5)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gun_core.accel import apply_mask
from gun_core.ws_frames import (
    MAX_PAYLOAD_LENGTH,
    CloseCode,
    FrameError,
    MaskKeys,
    Opcode,
    build_frame,
    decode_close,
    encode_close,
    is_allowed_close_code,
    parse_header,
)
from tests.helpers.ws import frame


def test_opcode_and_close_code_values() -> None:
    """The wire values are those of RFC 6455 5.2 and 7.4.1."""
    assert [int(o) for o in Opcode] == [0, 1, 2, 8, 9, 10]
    assert CloseCode.NORMAL_CLOSURE == 1000
    assert CloseCode.PROTOCOL_ERROR == 1002
    assert CloseCode.INVALID_FRAME_PAYLOAD_DATA == 1007
    assert CloseCode.MESSAGE_TOO_BIG == 1009
    assert CloseCode.INTERNAL_ERROR == 1011


@pytest.mark.parametrize(
    ("n", "form", "header_len"),
    [(0, 7, 2), (125, 7, 2), (126, 16, 4), (65535, 16, 4), (65536, 64, 10), (5, 16, 4), (5, 64, 10)],
)
def test_parse_header_length_forms(n: int, form: int, header_len: int) -> None:
    """7, 16 and 64-bit lengths decode (RFC 6455 5.2); non-minimal forms are accepted too."""
    data = frame(2, b"x" * n, form=form)
    assert parse_header(data, 0) == (0x82, data[1], n, header_len)


def test_parse_header_at_offset_and_masked() -> None:
    """The header can start anywhere in the buffer; a mask key is counted in the header."""
    data = b"junk" + frame(1, b"hello", mask=b"abcd", fin=False)
    b0, b1, n, start = parse_header(data, 4)  # type: ignore[misc]
    assert (b0, b1 & 0x80, n, start) == (0x01, 0x80, 5, 4 + 2 + 4)
    assert data[start - 4 : start] == b"abcd"
    assert apply_mask(data[start : start + n], b"abcd") == b"hello"


@pytest.mark.parametrize(
    "data", [frame(2, b"x"), frame(2, b"x" * 300), frame(2, b"x" * 70000), frame(1, b"", mask=b"1234")]
)
def test_parse_header_incomplete(data: bytes) -> None:
    """Every strict prefix of a header is 'need more bytes', never an error."""
    full = parse_header(data, 0)
    assert full is not None
    for i in range(full[3]):
        assert parse_header(data[:i], 0) is None
    assert parse_header(bytearray(data[: full[3]]), 0) == full


def test_parse_header_msb_length_is_returned_unchecked() -> None:
    """The codec returns a 64-bit length with the MSB set; the machine rejects it."""
    data = bytes([0x82, 127]) + struct.pack("!Q", 2**63)
    h = parse_header(data, 0)
    assert h is not None and h[2] == 2**63 > MAX_PAYLOAD_LENGTH


@given(st.binary(max_size=70000), st.booleans(), st.booleans(), st.sampled_from([0, 1, 2, 8, 9, 10]))
def test_build_then_parse_round_trip(payload: bytes, fin: bool, masked: bool, opcode: int) -> None:
    """build_frame writes what parse_header reads, with the minimal length encoding."""
    key = b"\x01\x02\x03\x04" if masked else None
    data = build_frame(opcode, payload, fin=fin, mask_key=key)
    b0, b1, n, start = parse_header(data, 0)  # type: ignore[misc]
    assert b0 == opcode | (0x80 if fin else 0)
    assert n == len(payload) and start + n == len(data)
    assert bool(b1 & 0x80) == masked
    assert start == 2 + (0 if n < 126 else 2 if n < 65536 else 8) + (4 if masked else 0)
    body = data[start:]
    assert (apply_mask(body, key) if key else body) == payload


def test_build_frame_rsv1() -> None:
    """RSV1 is bit 0x40 of the first byte (RFC 6455 5.2, RFC 7692 6)."""
    assert build_frame(1, b"", rsv1=True)[0] == 0xC1


def test_mask_keys_are_fresh() -> None:
    """Every key handed out is 4 new bytes; the block refills when used up (RFC 6455 5.3)."""
    keys = MaskKeys(8)
    got = [keys.next() for _ in range(6)]
    assert all(len(k) == 4 for k in got)
    assert len(set(got)) == 6  # 48 random bits each: a collision would be a bug
    with pytest.raises(ValueError):
        MaskKeys(6)


def test_close_payload_round_trip() -> None:
    """A Close body is a 2-byte big-endian code and a UTF-8 reason (RFC 6455 5.5.1)."""
    assert encode_close(None) == b""
    assert encode_close(1000) == b"\x03\xe8"
    assert encode_close(4000, "é") == b"\x0f\xa0\xc3\xa9"
    assert decode_close(b"") == (None, "")
    assert decode_close(b"\x03\xe8") == (1000, "")
    assert decode_close(b"\x0f\xa0\xc3\xa9") == (4000, "é")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"\x03", 1002),
        (struct.pack("!H", 999), 1002),
        (struct.pack("!H", 1005), 1002),
        (struct.pack("!H", 5000), 1002),
        (b"\x03\xe8\xff", 1007),
    ],
)
def test_decode_close_errors(payload: bytes, code: int) -> None:
    """Bad Close bodies give the code to fail with: 1002 for the code, 1007 for the reason."""
    err = decode_close(payload)
    assert isinstance(err, FrameError) and err.code == code and "RFC 6455" in err.message


def test_allowed_close_codes() -> None:
    """Codes that may go on the wire (RFC 6455 7.4.1-7.4.2, IANA registry 11.7)."""
    allowed = [c for c in range(0, 6000) if is_allowed_close_code(c)]
    expected = [*range(1000, 1004), *range(1007, 1015), *range(3000, 5000)]
    assert allowed == expected
