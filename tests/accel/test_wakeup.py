"""``WakeupBase``, the awaitable one-shot completion under gun_io.aio's mailbox wake-up: both twins
behave alike when an asyncio Task waits on them, completes them, cancels them or misuses them.

Each twin is tested through the subclass gun_io.aio builds on it (its rare paths come from
``gun_io.aio._WakeupRare``), inside a real event loop and real Tasks.
"""

from __future__ import annotations

import asyncio
import gc
from types import ModuleType
from typing import Any

import pytest

from gun_io.aio import _WakeupRare


@pytest.fixture
def wakeup(impl: ModuleType) -> type:
    """The aio wake-up class built on one twin's WakeupBase."""

    class Wakeup(_WakeupRare, impl.WakeupBase):  # type: ignore[misc,name-defined]
        __slots__ = ()

    return Wakeup


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _await(w: Any) -> Any:
    return await w


def test_fresh_state(wakeup: type) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        w = wakeup(loop)
        assert w.get_loop() is loop
        assert (w._state, w._result, w._callbacks, w._cancel_message) == (0, None, None, None)
        assert w._asyncio_future_blocking is False
        assert not w.done() and not w.cancelled()
        assert asyncio.isfuture(w)
        with pytest.raises(asyncio.InvalidStateError, match="has not happened yet"):
            w.result()
        with pytest.raises(asyncio.InvalidStateError):
            w.exception()

    run(main())


@pytest.mark.parametrize("value", [(1,), ((2, 3),), (None,), None])
def test_task_waits_and_gets_the_result(wakeup: type, value: Any) -> None:
    """A Task suspends on it, adds exactly one callback (with its context), and gets the value
    back unchanged when it completes, tuples included."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        w = wakeup(loop)
        task = loop.create_task(_await(w))
        await asyncio.sleep(0)
        assert not task.done()
        assert w._asyncio_future_blocking is False  # the Task set it back after seeing it True
        assert w._callbacks is not None and len(w._callbacks) == 1
        fn, context = w._callbacks[0]
        assert callable(fn) and context is not None
        w.set_result(value)
        assert w.done() and w.result() == value and w.exception() is None
        assert await task == value

    run(main())


def test_already_complete_does_not_suspend(wakeup: type) -> None:
    async def main() -> None:
        w = wakeup(asyncio.get_running_loop())
        w._state = 1
        w._result = ("x",)
        assert await w == ("x",)
        assert w._asyncio_future_blocking is False  # it never yielded

    run(main())


def test_iteration_protocol(wakeup: type) -> None:
    """``__await__``'s iterator yields the object once, then stops with the result as the value."""
    w = wakeup(None)
    it = w.__await__()
    assert next(it) is w
    assert w._asyncio_future_blocking is True
    w._state = 1
    w._result = (7, 8)
    with pytest.raises(StopIteration) as stop:
        next(it)
    assert stop.value.value == (7, 8)
    # `yield from` takes it too
    w2 = wakeup(None)
    it2 = iter(w2)
    assert next(it2) is w2


def test_resumed_before_completion_is_an_error(wakeup: type) -> None:
    w = wakeup(None)
    it = w.__await__()
    assert next(it) is w
    with pytest.raises(RuntimeError, match="await wasn't used with future"):
        next(it)


@pytest.mark.parametrize("message", [None, "stop"])
def test_cancel_while_waited(wakeup: type, message: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        w = wakeup(loop)
        task = loop.create_task(_await(w))
        await asyncio.sleep(0)
        assert w.cancel(message) is True
        assert w.cancel() is False
        assert w.cancelled() and w.done()
        with pytest.raises(asyncio.CancelledError):
            await task  # (whether the task's error carries the message depends on the Python)
        with pytest.raises(asyncio.CancelledError) as caught:
            w.result()
        assert caught.value.args == (() if message is None else (message,))

    run(main())


def test_task_cancel_reaches_the_waiter(wakeup: type) -> None:
    """Task.cancel() cancels the wake-up it waits on, and the task ends cancelled."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        w = wakeup(loop)
        task = loop.create_task(_await(w))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert w.cancelled()

    run(main())


def test_late_callback_and_removal(wakeup: type) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        seen: list[Any] = []
        w = wakeup(loop)
        w.add_done_callback(seen.append)
        w.add_done_callback(seen.append)
        assert w.remove_done_callback(seen.append) == 2
        w.add_done_callback(seen.append)
        w.set_result((1,))
        with pytest.raises(asyncio.InvalidStateError):
            w.set_result((2,))
        assert seen == []  # through call_soon, as a Future's
        await asyncio.sleep(0)
        assert seen == [w]
        w.add_done_callback(seen.append)  # after completion: scheduled at once
        await asyncio.sleep(0)
        assert seen == [w, w]

    run(main())


def test_bad_arguments(wakeup: type) -> None:
    w = wakeup(None)
    with pytest.raises(TypeError):
        w.add_done_callback(print, other=1)
    with pytest.raises(TypeError):
        w.add_done_callback()
    with pytest.raises(TypeError):
        w.add_done_callback(print, None)
    with pytest.raises(TypeError):
        wakeup()


def test_cycles_are_collected(wakeup: type) -> None:
    """A wake-up whose result refers back to it is freed by the cycle collector."""
    import weakref

    class Probe:
        pass

    probe = Probe()
    ref = weakref.ref(probe)
    w = wakeup(None)
    w._result = (w, probe)
    w._callbacks = [(w, probe)]
    del w, probe
    gc.collect()
    assert ref() is None


def test_fire_runs_the_callbacks_now(wakeup: type) -> None:
    """``_fire`` takes the callbacks and calls each at once, in its context when it has one; an
    exception stops it and reaches the caller."""
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="outside")
    ctx = contextvars.copy_context()
    ctx.run(var.set, "inside")
    seen: list[tuple[str, Any]] = []
    w = wakeup(None)
    w._fire()  # nothing to call
    w.add_done_callback(lambda f: seen.append(("plain", var.get())))
    w.add_done_callback(lambda f: seen.append(("ctx", var.get())), context=ctx)
    w._fire()
    assert seen == [("plain", "outside"), ("ctx", "inside")]
    assert w._callbacks is None
    w._fire()
    assert len(seen) == 2

    def boom(f: Any) -> None:
        raise KeyboardInterrupt

    w.add_done_callback(boom)
    w.add_done_callback(seen.append)
    with pytest.raises(KeyboardInterrupt):
        w._fire()
    assert w._callbacks is None and len(seen) == 2
