"""Differential tests: Hypothesis feeds the pure-Python twin (the specification) and the C twin the
same inputs, and they must give identical results, errors included.

Inputs cover random lengths, key offsets, buffer types, splits at arbitrary points, frame streams
cut anywhere, and UTF-8 with overlongs, surrogates, out-of-range code points and stray bytes.
"""

from __future__ import annotations

import itertools
import random
import struct
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gun_core.accel import pure

from .utf8_ref import expected_feeds

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Lengths that hit the 8- and 32-byte blocks, the pure version's small/large switch and the
# websocket length encodings, plus anything else.
LENGTHS = st.one_of(
    st.integers(0, 300),
    st.sampled_from([1023, 1024, 1025, 4096, 65535, 65536, 65537]),
    st.integers(0, 200_000),
)


def random_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def as_kind(data: bytes, kind: str) -> Any:
    if kind == "bytearray":
        return bytearray(data)
    if kind == "memoryview":
        return memoryview(bytearray(data))
    return data


def outcome(fn: Any, *args: Any) -> Any:
    """The result, or the exception type: errors must match too."""
    try:
        return fn(*args)
    except Exception as exc:
        return type(exc)


KINDS = st.sampled_from(["bytes", "bytearray", "memoryview"])


@SETTINGS
@given(
    n=LENGTHS,
    seed=st.integers(0, 2**32),
    key=st.binary(min_size=3, max_size=5),
    offset=st.integers(-9, 10**9),
    kind=KINDS,
)
def test_apply_mask(c_twin: ModuleType, n: int, seed: int, key: bytes, offset: int, kind: str) -> None:
    """apply_mask: same bytes (or same error) for any length, key, offset and buffer type."""
    data = random_bytes(n, seed)
    expected = outcome(pure.apply_mask, data, key, offset)
    assert outcome(c_twin.apply_mask, as_kind(data, kind), key, offset) == expected


@SETTINGS
@given(
    n=LENGTHS,
    seed=st.integers(0, 2**32),
    cuts=st.lists(st.floats(0, 1), max_size=4),
    key=st.binary(min_size=4, max_size=4),
)
def test_apply_mask_split(c_twin: ModuleType, n: int, seed: int, cuts: list[float], key: bytes) -> None:
    """A payload masked in pieces with running offsets equals the payload masked whole, on both twins."""
    data = random_bytes(n, seed)
    bounds = [0, *sorted({int(c * n) for c in cuts}), n]
    whole = pure.apply_mask(data, key)
    for twin in (pure, c_twin):
        pieces = [twin.apply_mask(memoryview(data)[a:b], key, a) for a, b in itertools.pairwise(bounds)]
        assert b"".join(pieces) == whole


@SETTINGS
@given(
    b0=st.integers(-1, 256),
    n=LENGTHS,
    seed=st.integers(0, 2**32),
    key=st.one_of(st.none(), st.binary(min_size=3, max_size=5)),
    kind=KINDS,
)
def test_build_ws_frame(c_twin: ModuleType, b0: int, n: int, seed: int, key: bytes | None, kind: str) -> None:
    """build_ws_frame: same frame (or same error) for any first byte, payload and key."""
    payload = random_bytes(n, seed)
    expected = outcome(pure.build_ws_frame, b0, payload, key)
    assert outcome(c_twin.build_ws_frame, b0, as_kind(payload, kind), key) == expected


@st.composite
def ws_streams(draw: st.DrawFn) -> bytes:
    """Consecutive websocket frames, any length encoding (even non-minimal or MSB-set), cut anywhere,
    or plain noise."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=80))
    out = b""
    for _ in range(draw(st.integers(0, 6))):
        b0 = draw(st.integers(0, 255))
        masked = draw(st.booleans())
        n = draw(st.sampled_from([0, 1, 5, 125, 126, 127, 300]))
        form = draw(st.sampled_from(["short", "16", "64", "msb"]))
        m = 0x80 if masked else 0
        if form == "short" and n <= 125:
            head = bytes((b0, m | n))
        elif form in ("short", "16"):
            head = struct.pack("!BBH", b0, m | 126, n)
        elif form == "64":
            head = struct.pack("!BBQ", b0, m | 127, n)
        else:
            head = struct.pack("!BBQ", b0, m | 127, n | 1 << 63)
        out += head + (draw(st.binary(min_size=4, max_size=4)) if masked else b"") + bytes(n)
    return out[: draw(st.integers(0, len(out)))]


@SETTINGS
@given(buf=ws_streams(), pos=st.integers(-1, 2000), max_frames=st.integers(0, 8), kind=KINDS)
def test_parse_ws_headers(c_twin: ModuleType, buf: bytes, pos: int, max_frames: int, kind: str) -> None:
    """parse_ws_headers: same status, next position and frames (or same error) on any buffer."""
    pos = min(pos, len(buf) + 1)
    expected = outcome(pure.parse_ws_headers, buf, pos, max_frames)
    assert outcome(c_twin.parse_ws_headers, as_kind(buf, kind), pos, max_frames) == expected


@SETTINGS
@given(payloads=st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=300), st.booleans()), max_size=5))
def test_parse_what_build_made(c_twin: ModuleType, payloads: list[tuple[int, bytes, bool]]) -> None:
    """Frames made by build_ws_frame parse back to their own first byte, MASK bit, length and key."""
    key = b"\x11\x22\x33\x44"
    buf = b"".join(c_twin.build_ws_frame(b0, p, key if m else None) for b0, p, m in payloads)
    want = [(b0, m, len(p), key if m else None) for b0, p, m in payloads]
    for twin in (pure, c_twin):
        status, next_pos, frames = twin.parse_ws_headers(buf)
        assert (status, next_pos) == (pure.SCAN_OK, len(buf))
        assert [f[:4] for f in frames] == want


@st.composite
def h2_streams(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=80))
    out = b""
    for _ in range(draw(st.integers(0, 6))):
        n = draw(st.sampled_from([0, 1, 8, 100, 16384, 16385]))
        head = struct.pack(
            "!BHBBI",
            n >> 16,
            n & 0xFFFF,
            draw(st.integers(0, 255)),
            draw(st.integers(0, 255)),
            draw(st.integers(0, 2**32 - 1)),
        )
        out += head + bytes(n)
    return out[: draw(st.integers(0, len(out)))]


@SETTINGS
@given(
    buf=h2_streams(),
    pos=st.integers(-1, 2000),
    max_frame_size=st.one_of(st.sampled_from([16384, 16385, 2**24 - 1]), st.integers(-1, 2**32)),
    max_frames=st.integers(0, 8),
    kind=KINDS,
)
def test_scan_h2_headers(
    c_twin: ModuleType, buf: bytes, pos: int, max_frame_size: int, max_frames: int, kind: str
) -> None:
    """scan_h2_headers: same status, next position and frames (or same error) on any buffer."""
    pos = min(pos, len(buf) + 1)
    expected = outcome(pure.scan_h2_headers, buf, pos, max_frame_size, max_frames)
    assert outcome(c_twin.scan_h2_headers, as_kind(buf, kind), pos, max_frame_size, max_frames) == expected


# Pieces of UTF-8 text, good and bad, glued in any order.
UTF8_PIECES = st.one_of(
    st.text(max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass")),  # may hold encoded surrogates
    st.sampled_from(
        [
            b"\xc0\x80",
            b"\xc1\xbf",
            b"\xe0\x80\x80",
            b"\xe0\x9f\xbf",
            b"\xed\xa0\x80",
            b"\xed\xbf\xbf",
            b"\xf0\x8f\xbf\xbf",
            b"\xf4\x90\x80\x80",
            b"\xf5\x80",
            b"\xff",
            b"\x80",
            b"\xbf",
            b"\xed\x9f\xbf",
            b"\xee\x80\x80",
            b"\xf4\x8f\xbf\xbf",
            b"\xf0\x90\x80\x80",
            b"\xe2\x82",
        ]
    ),
    st.binary(max_size=6),
    st.integers(0, 80).map(lambda n: b"x" * n),
)


@SETTINGS
@given(pieces=st.lists(UTF8_PIECES, max_size=12), cuts=st.lists(st.floats(0, 1), max_size=5), kind=KINDS)
def test_utf8_validator(c_twin: ModuleType, pieces: list[bytes], cuts: list[float], kind: str) -> None:
    """Utf8Validator: for any bytes split anywhere, both twins give the reference's answer after
    every chunk, final on the last one."""
    data = b"".join(pieces)
    bounds = [0, *sorted({int(c * len(data)) for c in cuts}), len(data)]
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    want = expected_feeds(chunks)
    for twin in (pure, c_twin):
        v = twin.Utf8Validator()
        got = [v.feed(as_kind(chunk, kind), i == len(chunks) - 1) for i, chunk in enumerate(chunks)]
        assert got == want, twin.__name__
