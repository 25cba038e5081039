"""gun_io.aio.Mailbox: receive in a coroutine, put from the loop's thread or any other thread,
per-call timeouts, and no waiter left behind after a timeout or a cancellation."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from gun_io.aio import Mailbox, Timeout


def test_put_from_another_thread_wakes_the_receiver() -> None:
    """A message put from a plain thread reaches a coroutine waiting in receive()."""

    async def main() -> object:
        box = Mailbox()
        threading.Timer(0.05, box.put, args=("hello",)).start()
        return await box.receive(timeout=5)

    assert asyncio.run(main()) == "hello"


def test_put_from_the_loop_thread_wakes_the_receiver() -> None:
    """A message put by a callback of the same loop wakes the waiting coroutine."""

    async def main() -> object:
        box = Mailbox()
        asyncio.get_running_loop().call_later(0.01, box.put, 42)
        return await box.receive(timeout=5)

    assert asyncio.run(main()) == 42


def test_timeout_raises_and_leaves_no_waiter() -> None:
    """receive(timeout) raises Timeout after about that long; the mailbox keeps no stale waiter."""

    async def main() -> tuple[float, int]:
        box = Mailbox()
        start = time.monotonic()
        with pytest.raises(Timeout):
            await box.receive(timeout=0.05)
        return time.monotonic() - start, len(box._waiters)

    elapsed, waiters = asyncio.run(main())
    assert 0.04 <= elapsed < 2.0
    assert waiters == 0


def test_cancelled_receive_leaves_no_waiter_and_keeps_the_message() -> None:
    """Cancelling a receive unregisters it; a later message stays for the next receive."""

    async def main() -> tuple[int, object]:
        box = Mailbox()
        task = asyncio.ensure_future(box.receive(timeout=5))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        left = len(box._waiters)
        box.put("later")
        return left, await box.receive(timeout=1)

    assert asyncio.run(main()) == (0, "later")


def test_match_picks_a_later_message() -> None:
    """receive(match=...) takes the first matching message and leaves the others in order."""

    async def main() -> tuple[object, object]:
        box = Mailbox()
        box.put(1)
        threading.Timer(0.02, box.put, args=(2,)).start()
        got = await box.receive(timeout=5, match=lambda m: m == 2)
        return got, await box.receive(timeout=1)

    assert asyncio.run(main()) == (2, 1)
