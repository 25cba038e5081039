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
    from gun_core.events import Ws
    from gun_core.ws import Binary, Text

    mod.ws_event_types(Ws, Text, Binary)  # gun_core.ws set up only the twin in use (GUN_NO_ACCEL)
    return mod


def test_c_twin_uses_speedups_when_built(c_twin: ModuleType, speedups: ModuleType) -> None:
    """With the module built, the C twin's allocating functions are its functions, called directly."""
    assert c_twin.apply_mask is speedups.apply_mask
    assert c_twin.build_ws_frame is speedups.build_ws_frame
    assert c_twin._utf8_step is speedups.utf8_feed
    assert c_twin.WakeupBase is speedups.WakeupBase
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


# -- ws_simple_frames: whole websocket messages built straight into event objects -------------

from gun_core.events import Ws  # noqa: E402
from gun_core.ws import Binary, Text  # noqa: E402

pure.ws_event_types(Ws, Text, Binary)  # gun_core.ws set up only the twin in use; these tests call both


def ws_frame(b0: int, payload: bytes, *, form: int | None = None, mask: bytes | None = None) -> bytes:
    """One frame with the length in the given form (7, 16 or 64 bits; the smallest by default)."""
    n = len(payload)
    form = form or (7 if n < 126 else 16 if n < 65536 else 64)
    b1 = 0x80 if mask is not None else 0
    if form == 7:
        head = bytes([b0, b1 | n])
    elif form == 16:
        head = bytes([b0, b1 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, b1 | 127]) + n.to_bytes(8, "big")
    if mask is not None:
        head += mask
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return head + payload


# Frames the hot path takes, and frames it must leave to the full parser.
FRAMES = st.one_of(
    st.builds(lambda p, f: ws_frame(0x82, p, form=f), st.binary(max_size=300), st.sampled_from([None, 16, 64])),
    st.builds(lambda t, f: ws_frame(0x81, t.encode(), form=f), st.text(max_size=100), st.sampled_from([None, 16, 64])),
    st.builds(lambda p: ws_frame(0x81, p), st.sampled_from([b"\xff", b"ok\xc0\xaf", b"\xed\xa0\x80", b"a\xe2\x82"])),
    st.builds(
        lambda b0, p: ws_frame(b0, p),
        st.sampled_from([0x01, 0x02, 0x00, 0x80, 0x89, 0x8A, 0x88, 0xC1, 0xA2, 0x83]),
        st.binary(max_size=20),
    ),
    st.builds(lambda p: ws_frame(0x82, p, mask=b"abcd"), st.binary(max_size=20)),
    st.just(bytes([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1])),  # 64-bit length with the top bit set
)


@SETTINGS
@given(
    frames=st.lists(FRAMES, max_size=8),
    cut=st.integers(0, 4000),
    pos=st.integers(0, 30),
    limit=st.one_of(st.integers(0, 400), st.just(1 << 70)),
)
def test_ws_simple_frames_is_the_pure_twin(
    speedups: ModuleType, frames: list[bytes], cut: int, pos: int, limit: int
) -> None:
    """The same events (types and values) and the same stopping point for any stream of frames,
    cut anywhere, from any position, with any size limit."""
    buf = b"".join(frames)
    buf = buf[: min(cut, len(buf))]
    pos = min(pos, len(buf))
    got_c: list[Any] = []
    got_py: list[Any] = []
    end_c = speedups.ws_simple_frames(buf, pos, limit, 7, got_c)
    end_py = pure.ws_simple_frames(buf, pos, limit, 7, got_py)
    assert end_c == end_py
    assert got_c == got_py
    assert [type(e.frame) for e in got_c] == [type(e.frame) for e in got_py]
    assert all(type(e) is Ws and e.stream_id == 7 for e in got_c)


def test_ws_simple_frames_takes_only_whole_simple_messages(speedups: ModuleType) -> None:
    """It builds what the constructors build, and stops at the first frame that needs the full
    parser: a fragment, a control frame, RSV bits, a mask, invalid UTF-8, over the limit, cut."""
    whole = ws_frame(0x82, b"abc") + ws_frame(0x81, "h\u00e9".encode()) + ws_frame(0x82, b"x" * 300)
    for impl in (speedups, pure):
        events: list[Any] = []
        assert impl.ws_simple_frames(whole, 0, 1000, 1, events) == len(whole)
        assert events == [Ws(1, Binary(b"abc")), Ws(1, Text("h\u00e9")), Ws(1, Binary(b"x" * 300))]
        for stop in (
            ws_frame(0x02, b"frag"),
            ws_frame(0x89, b"ping"),
            ws_frame(0xC2, b"rsv1"),
            ws_frame(0x82, b"masked", mask=b"abcd"),
            ws_frame(0x81, b"\xff"),
            ws_frame(0x82, b"y" * 1001),
            ws_frame(0x82, b"cut")[:-1],
        ):
            events = []
            assert impl.ws_simple_frames(ws_frame(0x82, b"ok") + stop, 0, 1000, 1, events) == 4
            assert events == [Ws(1, Binary(b"ok"))]


@pytest.mark.parametrize(
    "args",
    [
        (bytearray(b"\x82\x00"), 0, 10, 1, []),  # not bytes
        (b"\x82\x00", 0, 10, 1, ()),  # not a list
        (b"\x82\x00", 3, 10, 1, []),  # pos past the end
        (b"\x82\x00", -1, 10, 1, []),
        (b"\x82\x00", "0", 10, 1, []),
    ],
)
def test_ws_simple_frames_refuses_bad_arguments_alike(speedups: ModuleType, args: tuple[Any, ...]) -> None:
    c = outcome(speedups.ws_simple_frames, *args)
    py = outcome(pure.ws_simple_frames, *args)
    assert isinstance(c, tuple) and isinstance(py, tuple)
    assert c[0] is py[0] and c[0] in (TypeError, ValueError)


def test_ws_event_types_refuses_classes_without_the_slots(speedups: ModuleType) -> None:
    class Plain:
        pass

    for impl in (speedups, pure):
        with pytest.raises(TypeError):
            impl.ws_event_types(Plain, Text, Binary)
    speedups.ws_event_types(Ws, Text, Binary)  # (what gun_core.ws set: unchanged)
    pure.ws_event_types(Ws, Text, Binary)


def test_mask_keys_twins_draw_the_same_keys(
    c_twin: ModuleType, speedups: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given the same os.urandom bytes, both twins hand out the same keys, 4 bytes each, and refill
    the block exactly when it is used up; a bad block size is refused alike."""
    import os

    for twin in (c_twin, pure):
        stream = random.Random(7)
        calls: list[int] = []

        def fake_urandom(n: int, stream: random.Random = stream, calls: list[int] = calls) -> bytes:
            calls.append(n)
            return bytes(stream.randrange(256) for _ in range(n))

        monkeypatch.setattr(os, "urandom", fake_urandom)
        keys = twin.MaskKeys(8)
        got = [keys.next() for _ in range(7)]
        assert calls == [8, 8, 8, 8]
        want_stream = random.Random(7)
        blocks = b"".join(bytes(want_stream.randrange(256) for _ in range(8)) for _ in range(4))
        assert got == [blocks[i * 4 : i * 4 + 4] for i in range(7)]
        assert all(type(k) is bytes for k in got)
    for size in (0, 2, 6, -4):
        assert outcome(c_twin.MaskKeys, size) == outcome(pure.MaskKeys, size)
    assert c_twin.MaskKeys is speedups.MaskKeys
