"""The asyncio driver reads into one buffer per event loop and copies each read out of it: the
connections of a loop share that buffer, so a read must never see or keep another's bytes."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time

from gun_io import aio
from tests.helpers.fake_origin import FakeOrigin, read_request

BIG = 300 * 1024  # more than one read's worth of the shared buffer (256 KiB)


def test_connections_of_one_loop_share_the_buffer_and_get_their_own_bytes() -> None:
    # Two connections on one loop, each answered with its own random body, in pieces that
    # alternate between them (a barrier per piece): every read of one lands in the buffer the
    # other's read has just used. A third response is larger than the buffer.
    bodies = [os.urandom(BIG), os.urandom(BIG)]
    turn = threading.Barrier(2, timeout=10)

    def script(sock: socket.socket, index: int) -> None:
        read_request(sock)
        body = bodies[index % 2]
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body))
        for start in range(0, len(body), 4096 if index < 2 else len(body)):
            if index < 2:
                turn.wait()
                time.sleep(0.001)  # (lets the client read this piece on its own)
            sock.sendall(body[start : start + 4096 if index < 2 else len(body)])
        sock.recv(1)

    async def main() -> tuple[list[bytes], bool, bytes]:
        with FakeOrigin(script) as origin:
            a = aio.open("127.0.0.1", origin.port, {"retry": 0})
            await a.await_up()
            b = aio.open("127.0.0.1", origin.port, {"retry": 0})
            await b.await_up()
            assert a._proto is not None and b._proto is not None
            shared = a._proto.buf is b._proto.buf
            got = await asyncio.gather(a.await_body(a.get("/")), b.await_body(b.get("/")))
            c = aio.open("127.0.0.1", origin.port, {"retry": 0})
            await c.await_up()
            big = await c.await_body(c.get("/"))
            for conn in (a, b, c):
                conn.close()
            return list(got), shared, big

    got, shared, big = asyncio.run(main())
    assert shared
    assert got == bodies
    assert big == bodies[0]


def test_each_loop_has_its_own_buffer() -> None:
    from gun_io.aio import _read_buffer

    one, two = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        assert _read_buffer(one) is _read_buffer(one)
        assert _read_buffer(one) is not _read_buffer(two)
        assert len(_read_buffer(one)) == 256 * 1024
    finally:
        one.close()
        two.close()
