"""Unit tests of gun_core.flow: window arithmetic and the WINDOW_UPDATE policy (RFC 9113 5.2, 6.9)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gun_core.flow import DEFAULT_WINDOW, MAX_WINDOW, RecvWindow, add_window, sendable


def test_add_window_refuses_overflow() -> None:
    """A window may not exceed 2^31-1 (RFC 9113 6.9.1); negative windows may grow back (6.9.2)."""
    assert add_window(DEFAULT_WINDOW, 1) == 65536
    assert add_window(MAX_WINDOW - 5, 5) == MAX_WINDOW
    assert add_window(MAX_WINDOW - 5, 6) is None
    assert add_window(-100, 50) == -50


def test_sendable_is_the_smallest_limit_and_never_negative() -> None:
    """A DATA frame is limited by both windows, the max frame size and what is queued (RFC 9113 6.9.1)."""
    assert sendable(100, 50, 16384, 1000) == 50
    assert sendable(100, 500, 16384, 30) == 30
    assert sendable(100000, 100000, 16384, 100000) == 16384
    assert sendable(-10, 500, 16384, 30) == 0


def test_no_update_until_half_the_window_is_used() -> None:
    """WINDOW_UPDATE is sent only once half the window is consumed, and restores it fully."""
    w = RecvWindow(1000, 1000)
    assert w.consume(400) and w.take_update() == 0
    assert w.consume(100) and w.take_update() == 500
    assert w.available == 1000
    assert w.take_update() == 0


def test_many_small_frames_give_few_updates() -> None:
    """Small DATA frames never cause one WINDOW_UPDATE each."""
    w = RecvWindow(DEFAULT_WINDOW, DEFAULT_WINDOW)
    updates = 0
    for _ in range(1000):
        assert w.consume(100)
        if w.take_update():
            updates += 1
    assert 0 < updates <= 1000 * 100 // (DEFAULT_WINDOW // 2) + 1


def test_consume_reports_overrun() -> None:
    """Receiving more than the window is reported (the caller turns it into FLOW_CONTROL_ERROR)."""
    w = RecvWindow(10, 10)
    assert w.consume(10)
    assert not w.consume(1)


def test_initial_window_above_default_is_announced_at_once() -> None:
    """A connection window target above 65535 yields an immediate update of the difference."""
    w = RecvWindow(DEFAULT_WINDOW, 1_000_000)
    assert w.take_update() == 1_000_000 - DEFAULT_WINDOW


def test_owner_credit_caps_updates() -> None:
    """With an owner credit, the window offered never exceeds the credit left; granting more reopens it."""
    w = RecvWindow(100, 100, credit=30)
    assert w.consume(100)
    w.delivered(100)  # the peer could send a full initial window: credit goes negative
    assert w.credit == -70
    assert w.take_update() == 0
    w.grant(80)
    assert w.limit() == 10
    assert w.take_update() == 10
    assert w.consume(10)
    w.delivered(10)
    assert w.take_update() == 0
    w.grant(1000)
    assert w.take_update() == 100


def test_no_credit_means_unlimited() -> None:
    """Without credit (``flow`` unset) grants change nothing and the target is the limit."""
    w = RecvWindow(100, 100)
    w.grant(5)
    w.delivered(50)
    assert w.credit is None and w.limit() == 100


@given(st.lists(st.integers(min_value=1, max_value=5000), max_size=200), st.integers(min_value=1, max_value=100000))
def test_window_never_exceeds_target_and_never_negative(frames: list[int], target: int) -> None:
    """A peer that respects the window never overruns it, and updates keep it within the target."""
    w = RecvWindow(target, target)
    for size in frames:
        size = min(size, w.available)
        if size == 0:
            assert w.take_update() > 0 or w.available > 0
            continue
        assert w.consume(size)
        w.take_update()
        assert 0 <= w.available <= target
