"""gun_io.aio.Mailbox: receive in a coroutine, put from the loop's thread or any other thread,
per-call timeouts, and no waiter left behind after a timeout or a cancellation."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path

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


def test_message_handed_to_a_cancelled_receiver_stays_in_the_mailbox() -> None:
    """A put hands the message to the one waiting receive; if that task is cancelled before it
    runs, the message goes back in front of the mailbox instead of being lost."""

    async def main() -> tuple[object, object, int]:
        box = Mailbox()
        task = asyncio.ensure_future(box.receive(timeout=5))
        await asyncio.sleep(0)  # the receive is waiting now
        box.put("first")  # handed to the waiting receive...
        box.put("second")
        task.cancel()  # ...which is cancelled before it resumes
        with pytest.raises(asyncio.CancelledError):
            await task
        return await box.receive(timeout=1), await box.receive(timeout=1), len(box._waiters)

    assert asyncio.run(main()) == ("first", "second", 0)


def test_a_shorter_deadline_fires_while_a_longer_wait_goes_on() -> None:
    """Waits share one deadline timer per mailbox: a later wait with a shorter timeout still
    times out on time, and the longer wait keeps waiting and gets its message."""

    async def main() -> tuple[float, object]:
        box = Mailbox()
        long_wait = asyncio.ensure_future(box.receive(timeout=10, match=lambda m: m == "long"))
        await asyncio.sleep(0)
        start = time.monotonic()
        with pytest.raises(Timeout):
            await box.receive(timeout=0.05, match=lambda m: m == "short")
        elapsed = time.monotonic() - start
        asyncio.get_running_loop().call_later(0.02, box.put, "long")
        return elapsed, await long_wait

    elapsed, got = asyncio.run(main())
    assert 0.04 <= elapsed < 2.0
    assert got == "long"


def test_back_to_back_waits_time_out_on_time() -> None:
    """Many waits that each get a message, then one that gets none: it still times out."""

    async def main() -> float:
        box = Mailbox()
        loop = asyncio.get_running_loop()
        for i in range(50):
            loop.call_soon(box.put, i)
            assert await box.receive(timeout=0.2) == i
        start = time.monotonic()
        with pytest.raises(Timeout):
            await box.receive(timeout=0.1)
        return time.monotonic() - start

    assert 0.09 <= asyncio.run(main()) < 2.0


def test_a_waiting_task_resumes_inside_the_data_callback() -> None:
    """When a read completes the message a task awaits, the task has it by the time the
    protocol's data callback returns (no extra pass of the event loop)."""
    from gun_io import aio
    from tests.helpers.fake_origin import FakeOrigin, read_request

    def script(sock: object, index: int) -> None:
        import socket as _socket

        assert isinstance(sock, _socket.socket)
        read_request(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        sock.recv(1)

    class Spy(asyncio.BufferedProtocol):
        def __init__(self, inner: asyncio.BufferedProtocol, got: list[object]) -> None:
            self.inner, self.got = inner, got
            self.after: list[int] = []  # len(got) after each data callback

        def get_buffer(self, sizehint: int) -> memoryview:
            return memoryview(self.inner.get_buffer(sizehint))

        def buffer_updated(self, nbytes: int) -> None:
            self.inner.buffer_updated(nbytes)
            self.after.append(len(self.got))

        def eof_received(self) -> bool | None:
            return self.inner.eof_received()

        def connection_lost(self, exc: Exception | None) -> None:
            self.inner.connection_lost(exc)

    async def main() -> tuple[list[int], list[object]]:
        with FakeOrigin(script) as origin:
            conn = aio.open("127.0.0.1", origin.port, {"retry": 0})
            await conn.await_up()
            proto = conn._proto
            assert proto is not None and proto.transport is not None
            got: list[object] = []
            spy = Spy(proto, got)
            proto.transport.set_protocol(spy)
            ref = conn.get("/")

            async def waiter() -> None:
                got.append(await conn.await_(ref))

            task = asyncio.ensure_future(waiter())
            await asyncio.wait_for(task, 5)
            conn.close()
            return spy.after, got

    after, got = asyncio.run(main())
    assert len(got) == 1 and getattr(got[0], "status", None) == 200
    # Resumed within the data callback that completed its message (the last one: the server then
    # waits); through the loop it would have resumed only after that callback returned.
    assert after and after[-1] == 1


def test_a_message_wakes_only_the_waiter_that_wants_it() -> None:
    """With many receives waiting (one per stream, as under asyncio.gather), a message goes to
    the first one whose match takes it; the others stay asleep and registered."""

    async def main() -> tuple[list[object], int, list[bool], list[object]]:
        box = Mailbox()
        tasks = [asyncio.ensure_future(box.receive(timeout=5, match=lambda m, i=i: m == i)) for i in range(5)]
        await asyncio.sleep(0)
        futures = [w[1] for w in box._waiters]
        box.put(3)
        box.put("nobody")  # no waiter wants it: queued, nobody woken
        await asyncio.sleep(0)
        done = [t.result() for t in tasks if t.done()]
        woken = [f.done() for f in futures]
        for i in (0, 1, 2, 4):
            box.put(i)
        rest = await asyncio.gather(*(t for t in tasks if not t.done()))
        return done, len(box._waiters), woken, rest

    done, left, woken, rest = asyncio.run(main())
    assert done == [3]
    assert woken == [False, False, False, True, False]
    assert rest == [0, 1, 2, 4]
    assert left == 0


def test_other_tasks_still_wake_when_one_raises_systemexit() -> None:
    """Two tasks get their messages from one read; the first raises SystemExit as it resumes
    (it leaves the event loop); the second still gets its message when the loop runs again.

    In a child interpreter: a SystemExit out of the event loop upsets CPython 3.11's recursion
    bookkeeping for later compiles (pytest's assertion rewriting) in the same process."""
    result = subprocess.run(
        [sys.executable, "-c", _SYSTEMEXIT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == ["left", "leaver-done", "200"]


_SYSTEMEXIT_SCRIPT = """
import asyncio, socket, threading
from gun_io import aio
from tests.helpers.fake_origin import FakeOrigin, read_request

go = threading.Event()  # set once both tasks wait: the answers must not come while start() runs

def script(sock, index):
    buf = bytearray()
    read_request(sock, buf)
    read_request(sock, buf)
    go.wait(10)
    sock.sendall(b"HTTP/1.1 200 OK\\r\\ncontent-length: 1\\r\\n\\r\\na"
                 b"HTTP/1.1 200 OK\\r\\ncontent-length: 1\\r\\n\\r\\nb")
    sock.recv(1)

loop = asyncio.new_event_loop()
with FakeOrigin(script) as origin:
    async def start():
        conn = aio.open("127.0.0.1", origin.port, {"retry": 0})
        await conn.await_up()
        # One mailbox each: a lone waiter gets its message handed over, both from the same read.
        first = conn.get("/1", opts={"reply_to": aio.Mailbox()})
        second = conn.get("/2", opts={"reply_to": aio.Mailbox()})
        async def leaver():
            await conn.await_(first)
            raise SystemExit("leaving")
        async def stayer():
            return await conn.await_(second)
        return conn, asyncio.ensure_future(leaver()), asyncio.ensure_future(stayer())
    conn, leaver, stayer = loop.run_until_complete(start())
    go.set()
    try:
        loop.run_until_complete(asyncio.wait_for(stayer, 5))
    except SystemExit:
        print("left")
    print("leaver-done" if leaver.done() else "leaver-pending")
    print(loop.run_until_complete(asyncio.wait_for(stayer, 5)).status)
    conn.close()
loop.close()
"""
