"""gun_core._speedups, the CPython-API half of the C twin: built and used when the C twin is, its
results identical to the CFFI wrappers it replaces and to the pure twin (errors and their messages
included), and it never keeps a buffer exported.
"""

from __future__ import annotations

import random
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gun_core.accel import pure

from .conftest import ON_CI

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
KINDS = st.sampled_from([bytes, bytearray, memoryview])


def wrap(kind: Any, data: bytes) -> Any:
    return memoryview(bytearray(data)) if kind is memoryview else kind(data)


def outcome(fn: Any, *args: Any) -> Any:
    """The result, or the exception's type and message: both must match."""
    try:
        return fn(*args)
    except Exception as exc:
        return type(exc), str(exc)


@pytest.fixture
def speedups(c_twin: ModuleType) -> ModuleType:
    """gun_core._speedups; skips when it was not built, fails under CI=true."""
    mod = c_twin._speedups
    if mod is None:
        if ON_CI:
            pytest.fail("CI=true: gun_core._speedups is not built")
        pytest.skip("gun_core._speedups is not built")
    assert isinstance(mod, ModuleType)
    return mod


def test_c_twin_uses_speedups_when_built(c_twin: ModuleType, speedups: ModuleType) -> None:
    """With the module built, the C twin's allocating functions are its functions, called directly."""
    assert c_twin.apply_mask is speedups.apply_mask
    assert c_twin.build_ws_frame is speedups.build_ws_frame
    assert c_twin._utf8_step is speedups.utf8_feed
    assert (speedups.UTF8_ACCEPT, speedups.UTF8_REJECT) == (c_twin._UTF8_ACCEPT, c_twin._UTF8_REJECT)


@SETTINGS
@given(
    n=st.one_of(st.integers(0, 300), st.sampled_from([4096, 65535, 65536, 65537])),
    seed=st.integers(0, 2**32),
    key=st.binary(min_size=3, max_size=5),
    offset=st.one_of(st.integers(-9, 9), st.integers(-(2**70), 2**70)),
    kind=KINDS,
)
def test_apply_mask_three_ways(
    c_twin: ModuleType, speedups: ModuleType, n: int, seed: int, key: bytes, offset: int, kind: Any
) -> None:
    """apply_mask: _speedups, the CFFI wrapper and the pure twin agree for any length, key, offset
    (huge and negative ones too) and buffer type, errors included."""
    data = random.Random(seed).randbytes(n)
    want = outcome(pure.apply_mask, data, key, offset)
    assert outcome(speedups.apply_mask, wrap(kind, data), key, offset) == want
    assert outcome(c_twin._apply_mask_fill, wrap(kind, data), key, offset) == want
    if offset == 0:
        assert outcome(speedups.apply_mask, wrap(kind, data), key) == outcome(pure.apply_mask, data, key)


@SETTINGS
@given(
    b0=st.one_of(st.integers(-2, 257), st.sampled_from([2**64, -(2**64)])),
    n=st.one_of(st.integers(0, 300), st.sampled_from([65535, 65536, 70000])),
    seed=st.integers(0, 2**32),
    key=st.one_of(st.none(), st.binary(min_size=3, max_size=5)),
    kind=KINDS,
)
def test_build_ws_frame_three_ways(
    c_twin: ModuleType, speedups: ModuleType, b0: int, n: int, seed: int, key: bytes | None, kind: Any
) -> None:
    """build_ws_frame: the same frame, or the same error and message, from all three."""
    payload = random.Random(seed).randbytes(n)
    want = outcome(pure.build_ws_frame, b0, payload, key)
    assert outcome(speedups.build_ws_frame, b0, wrap(kind, payload), key) == want
    assert outcome(c_twin._build_ws_frame_cffi, b0, wrap(kind, payload), key) == want


@SETTINGS
@given(chunks=st.lists(st.binary(max_size=12), max_size=8), kind=KINDS)
def test_utf8_step_two_ways(c_twin: ModuleType, speedups: ModuleType, chunks: list[bytes], kind: Any) -> None:
    """The UTF-8 DFA step through _speedups and through CFFI reaches the same state after every chunk."""
    a = b = c_twin._UTF8_ACCEPT
    for chunk in chunks:
        a = speedups.utf8_feed(a, wrap(kind, chunk))
        b = c_twin._utf8_step_cffi(b, wrap(kind, chunk))
        assert a == b


def test_bad_arguments_raise(speedups: ModuleType) -> None:
    """Wrong argument counts and types raise TypeError; a state beyond 32 bits raises ValueError."""
    with pytest.raises(TypeError):
        speedups.apply_mask(b"x")
    with pytest.raises(TypeError):
        speedups.apply_mask("text", b"abcd")
    with pytest.raises(TypeError):
        speedups.apply_mask(b"x", b"abcd", 1.5)
    with pytest.raises(TypeError):
        speedups.build_ws_frame(0x81, b"x")
    with pytest.raises(TypeError):
        speedups.build_ws_frame(0x81, "text", None)
    with pytest.raises(TypeError):
        speedups.utf8_feed(0, "text")
    with pytest.raises(ValueError, match="32 bits"):
        speedups.utf8_feed(2**40, b"")


def test_buffers_are_released_on_every_path(speedups: ModuleType) -> None:
    """After successful and failing calls, no bytearray argument stays exported (it can be resized)."""
    data, key, bad_key = bytearray(b"payload" * 50), bytearray(b"abcd"), bytearray(b"abc")
    calls: list[tuple[Any, tuple[Any, ...]]] = [
        (speedups.apply_mask, (data, key, 3)),
        (speedups.apply_mask, (data, bad_key)),
        (speedups.apply_mask, (data, key, "x")),
        (speedups.build_ws_frame, (0x82, data, key)),
        (speedups.build_ws_frame, (0x82, data, bad_key)),
        (speedups.build_ws_frame, (0x82, "x", key)),
        (speedups.build_ws_frame, (300, data, key)),
        (speedups.utf8_feed, (0, data)),
    ]
    for fn, args in calls:
        try:
            fn(*args)
        except (TypeError, ValueError):
            pass
        for buf in (data, key, bad_key):
            buf.append(0)  # BufferError if an export leaked
            del buf[-1]


def test_results_are_new_bytes(speedups: ModuleType) -> None:
    """Every result is a fresh bytes object, never a cached singleton that was written into."""
    one = speedups.apply_mask(b"\x00", b"\x41\x00\x00\x00")
    assert one == b"A" and b"\x00" == bytes(1)
    frame = speedups.build_ws_frame(0x81, b"", None)
    assert frame == b"\x81\x00" and type(frame) is bytes
    assert speedups.apply_mask(b"", b"abcd") == b""


def _fill_and_take(cls: Any, data: bytes, pieces: list[int]) -> list[Any]:
    """Write ``data`` into a Filler through views in ``pieces``, with every refusal on the way."""
    seen: list[Any] = []
    filler = cls(len(data))
    seen.append(len(filler))
    pos = 0
    for size in pieces:
        view = memoryview(filler)
        seen.append((view.readonly, view.nbytes, view.format))
        chunk = data[pos : pos + size]
        view[pos : pos + len(chunk)] = chunk
        pos += len(chunk)
        seen.append(outcome(filler.take))  # a view is open: refused
        view.release()
    if pos < len(data):
        with memoryview(filler) as view:
            view[pos:] = data[pos:]
    out = filler.take()
    seen.append((type(out), out))
    seen.append(len(filler))
    seen.append(outcome(filler.take))  # taken already
    return seen


@SETTINGS
@given(data=st.binary(min_size=2, max_size=3000), pieces=st.lists(st.integers(1, 700), max_size=6))
def test_filler_matches_the_pure_twin(speedups: ModuleType, data: bytes, pieces: list[int]) -> None:
    """Filled through views, refused while one is open, the same bytes out, empty after."""
    c = _fill_and_take(speedups.Filler, data, pieces)
    py = _fill_and_take(pure.Filler, data, pieces)
    assert c == py
    assert c[-3] == (bytes, data)


@pytest.mark.parametrize("size", [-1, 0, 1])
def test_filler_refuses_tiny_sizes(speedups: ModuleType, size: int) -> None:
    """Bytes of 0 and 1 byte are shared objects in CPython: never written into."""
    assert outcome(speedups.Filler, size) == outcome(pure.Filler, size)
    assert outcome(speedups.Filler, size)[0] is ValueError


def test_filler_bytes_outlive_it_and_a_large_one_is_whole(speedups: ModuleType) -> None:
    """The taken bytes are an ordinary object; a Filler of several huge pages fills end to end."""
    n = (9 << 20) + 12345
    filler = speedups.Filler(n)
    pattern = bytes(range(256)) * (n // 256 + 1)
    with memoryview(filler) as view:
        view[:] = pattern[:n]
    out = filler.take()
    del filler
    assert len(out) == n and out == pattern[:n] and hash(out) == hash(pattern[:n])
