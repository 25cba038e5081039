"""gun_core.buffer.ReceiveBuffer: offsets, lazy compaction, resumable bounded scanning."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from gun_core.buffer import COMPACT_THRESHOLD, NOT_FOUND, TOO_LARGE, ReceiveBuffer


def test_append_consume_and_len() -> None:
    """Bytes come out in the order they went in; len counts unread bytes only."""
    b = ReceiveBuffer()
    assert not b and len(b) == 0
    b.append(b"hello ")
    b.append(bytearray(b"world"))
    b.append(memoryview(b"!"))
    assert len(b) == 12 and b
    assert b.consume(6) == b"hello "
    assert len(b) == 6
    assert b.consume(100) == b"world!"
    assert not b
    assert repr(b).startswith("<ReceiveBuffer unread=0")


def test_consumed_prefix_is_dropped_lazily() -> None:
    """Consuming only moves the read offset until the consumed prefix is large and more than half."""
    b = ReceiveBuffer(b"x" * 100)
    b.advance(10)
    assert b.pos == 10 and len(b.buf) == 100
    big = ReceiveBuffer(b"y" * (COMPACT_THRESHOLD * 3))
    big.advance(COMPACT_THRESHOLD * 2 + 1)
    assert big.pos == 0 and len(big) == COMPACT_THRESHOLD - 1
    big.advance(len(big.buf))
    assert big.pos == 0 and len(big.buf) == 0


def test_append_after_everything_was_read_starts_afresh() -> None:
    """Appending to a fully read buffer reuses it from offset 0."""
    b = ReceiveBuffer(b"abc")
    b.pos = 3
    b.append(b"de")
    assert b.pos == 0 and bytes(b.buf) == b"de"


def test_load_and_take_all() -> None:
    """load keeps the tail of a read; take_all empties the buffer."""
    b = ReceiveBuffer(b"old")
    b.load(b"0123456789", 7, scanned=2)
    assert bytes(b.buf) == b"789" and b.scanned == 2
    assert b.take_all() == b"789"
    assert not b and b.scanned == 0


def test_scan_finds_terminator_and_reports_unit_length() -> None:
    """scan returns the unit length including the terminator."""
    b = ReceiveBuffer(b"abc\r\n\r\nrest")
    n = b.scan(b"\r\n\r\n", 100)
    assert n == 7
    assert b.consume(n) == b"abc\r\n\r\n"
    assert b.consume(10) == b"rest"


def test_scan_resumes_where_it_stopped() -> None:
    """A terminator split across appends is found; scanning never restarts from the beginning."""
    b = ReceiveBuffer()
    for piece in (b"abc\r", b"\n\r", b"\n"):
        before = b.scanned
        b.append(piece)
        n = b.scan(b"\r\n\r\n", 100)
        assert b.scanned >= before
    assert n == 7


def test_scan_limit() -> None:
    """A unit longer than the limit is TOO_LARGE, with or without its terminator."""
    b = ReceiveBuffer(b"a" * 10)
    assert b.scan(b"\r\n", 10) == NOT_FOUND
    b.append(b"a")
    assert b.scan(b"\r\n", 10) == NOT_FOUND  # the terminator may still start right here
    b.append(b"a")
    assert b.scan(b"\r\n", 10) == TOO_LARGE
    c = ReceiveBuffer(b"a" * 11 + b"\r\n")
    assert c.scan(b"\r\n", 10) == TOO_LARGE
    d = ReceiveBuffer(b"a" * 10 + b"\r\n")
    assert d.scan(b"\r\n", 10) == 12


def test_trickled_scan_is_linear() -> None:
    """Scanning a 200 kB block fed one byte at a time stays linear (well under a second)."""
    b = ReceiveBuffer()
    data = b"x" * 200_000
    t = time.perf_counter()
    for i in range(len(data)):
        b.append(data[i : i + 1])
        assert b.scan(b"\r\n\r\n", 1_000_000) == NOT_FOUND
    b.append(b"\r\n\r\n")
    assert b.scan(b"\r\n\r\n", 1_000_000) == 200_004
    assert time.perf_counter() - t < 2.0


@given(st.binary(max_size=300), st.lists(st.integers(1, 40), max_size=30))
def test_scan_agrees_with_find(data: bytes, sizes: list[int]) -> None:
    """However the bytes arrive, scan finds the first terminator exactly where bytes.find does."""
    b = ReceiveBuffer()
    pos = 0
    result = NOT_FOUND
    for size in [*sizes, len(data)]:
        b.append(data[pos : pos + size])
        pos += size
        result = b.scan(b"\r\n", 10_000)
        if result != NOT_FOUND:
            break
    i = data.find(b"\r\n")
    if i >= 0 and pos >= i + 2:
        assert result == i + 2
    else:
        assert result == NOT_FOUND
