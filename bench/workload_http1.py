"""Workloads ``get`` (sequential GETs on one keep-alive connection) and ``download`` (16 MiB).

``get``: ``n`` GETs of ``/`` (13 bytes) one after the other on one connection to nginx, timed
after a first warm-up request. Sync: gun, http.client, urllib3, httpx, pycurl and ``wrk -t1
-c1`` (the C ceiling; wrk runs for a duration and reports its own rate). Asyncio: gun.aio,
aiohttp, httpx async.

``download``: ``/big`` (16 MiB, sendfile) read whole into memory, ``k`` times per round on one
connection: gun, gun.aio, http.client, aiohttp, and the ceiling: a raw socket that sends
the request and ``recv_into``s a preallocated buffer.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import re
import socket
import subprocess
import time

import gun_io
from bench.common import BIG_SIZE, HELLO, HOST, Bench, Client, Servers, Target, which
from gun_io import aio

# -- sequential GETs, sync ------------------------------------------------------------------------


def gun_sync(port: int, n: int) -> float:
    conn = gun_io.open(HOST, port)
    conn.await_up()
    conn.await_body(conn.get("/"))
    t = time.perf_counter()
    for _ in range(n):
        body = conn.await_body(conn.get("/"))
    dt = time.perf_counter() - t
    assert body == HELLO
    conn.close()
    return n / dt


def stdlib_http_client(port: int, n: int) -> float:
    conn = http.client.HTTPConnection(HOST, port)
    conn.request("GET", "/")
    conn.getresponse().read()
    t = time.perf_counter()
    for _ in range(n):
        conn.request("GET", "/")
        body = conn.getresponse().read()
    dt = time.perf_counter() - t
    assert body == HELLO
    conn.close()
    return n / dt


def urllib3_pool(port: int, n: int) -> float:
    import urllib3

    pool = urllib3.HTTPConnectionPool(HOST, port, maxsize=1)
    pool.request("GET", "/")
    t = time.perf_counter()
    for _ in range(n):
        body = pool.request("GET", "/").data
    dt = time.perf_counter() - t
    assert body == HELLO
    pool.close()
    return n / dt


def httpx_sync(port: int, n: int) -> float:
    import httpx

    url = f"http://{HOST}:{port}/"
    with httpx.Client() as client:
        client.get(url)
        t = time.perf_counter()
        for _ in range(n):
            body = client.get(url).content
        dt = time.perf_counter() - t
    assert body == HELLO
    return n / dt


def pycurl_easy(port: int, n: int) -> float:
    import pycurl

    c = pycurl.Curl()
    c.setopt(pycurl.URL, f"http://{HOST}:{port}/")
    buf = io.BytesIO()
    c.setopt(pycurl.WRITEDATA, buf)
    c.perform()
    t = time.perf_counter()
    for _ in range(n):
        buf.seek(0)
        buf.truncate()
        c.perform()
    dt = time.perf_counter() - t
    assert buf.getvalue() == HELLO and c.getinfo(pycurl.NUM_CONNECTS) == 0  # reused
    c.close()
    return n / dt


WRK_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")


def wrk(port: int, seconds: int) -> float:
    binary = which("wrk") or "wrk"
    out = subprocess.run(
        [binary, "-t1", "-c1", f"-d{seconds}s", f"http://{HOST}:{port}/"],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=False,
    )
    found = WRK_RATE.search(out.stdout)
    if found is None or "Non-2xx" in out.stdout or "Socket errors" in out.stdout:
        raise RuntimeError(f"wrk failed (rc {out.returncode}): {out.stdout} {out.stderr}")
    return float(found.group(1))


# -- sequential GETs, asyncio ---------------------------------------------------------------------


def gun_aio(port: int, n: int) -> float:
    async def run() -> float:
        conn = aio.open(HOST, port)
        await conn.await_up()
        await conn.await_body(conn.get("/"))
        t = time.perf_counter()
        for _ in range(n):
            body = await conn.await_body(conn.get("/"))
        dt = time.perf_counter() - t
        assert body == HELLO
        conn.close()
        return n / dt

    return asyncio.run(run())


def aiohttp_client(port: int, n: int) -> float:
    import aiohttp

    async def run() -> float:
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector) as session:
            url = f"http://{HOST}:{port}/"
            async with session.get(url) as r:
                await r.read()
            t = time.perf_counter()
            for _ in range(n):
                async with session.get(url) as r:
                    body = await r.read()
            dt = time.perf_counter() - t
        assert body == HELLO
        return n / dt

    return asyncio.run(run())


def httpx_async(port: int, n: int) -> float:
    import httpx

    async def run() -> float:
        async with httpx.AsyncClient() as client:
            url = f"http://{HOST}:{port}/"
            await client.get(url)
            t = time.perf_counter()
            for _ in range(n):
                body = (await client.get(url)).content
            dt = time.perf_counter() - t
        assert body == HELLO
        return n / dt

    return asyncio.run(run())


def run_get(b: Bench, servers: Servers) -> None:
    port = servers.nginx().http_port
    n = b.n(5000, 300)
    seconds = 1 if b.quick else 3
    b.table(
        "get-sync",
        f"{n:,} sequential GETs of 13 B on one keep-alive connection, sync (nginx on {HOST}; wrk runs {seconds} s)",
        "requests/s",
        [
            Client("gun", lambda: gun_sync(port, n)),
            Client("http.client", lambda: stdlib_http_client(port, n)),
            Client("urllib3", lambda: urllib3_pool(port, n), ("py:urllib3",)),
            Client("httpx", lambda: httpx_sync(port, n), ("py:httpx",)),
            Client("pycurl", lambda: pycurl_easy(port, n), ("py:pycurl",)),
            Client("wrk -t1 -c1", lambda: wrk(port, seconds), ("bin:wrk",), required=True),
        ],
        [Target("1. sequential GETs, sync: gun >= 1.2x http.client", "gun", ("http.client",), 1.2)],
        warmup=True,
    )
    b.table(
        "get-async",
        f"{n:,} sequential GETs of 13 B on one keep-alive connection, asyncio (nginx on {HOST})",
        "requests/s",
        [
            Client("gun.aio", lambda: gun_aio(port, n)),
            Client("aiohttp", lambda: aiohttp_client(port, n), ("py:aiohttp",)),
            Client("httpx async", lambda: httpx_async(port, n), ("py:httpx",)),
        ],
        [Target("1. sequential GETs, asyncio: gun.aio >= 1.5x aiohttp", "gun.aio", ("aiohttp",), 1.5)],
        warmup=True,
    )


# -- download -------------------------------------------------------------------------------------


def gun_download(port: int, k: int) -> float:
    conn = gun_io.open(HOST, port)
    conn.await_up()
    conn.await_body(conn.get("/"))
    t = time.perf_counter()
    for _ in range(k):
        body = conn.await_body(conn.get("/big"))
        assert len(body) == BIG_SIZE
    dt = time.perf_counter() - t
    conn.close()
    return k * BIG_SIZE / dt / 1e6


def gun_aio_download(port: int, k: int) -> float:
    async def run() -> float:
        conn = aio.open(HOST, port)
        await conn.await_up()
        await conn.await_body(conn.get("/"))
        t = time.perf_counter()
        for _ in range(k):
            body = await conn.await_body(conn.get("/big"))
            assert len(body) == BIG_SIZE
        dt = time.perf_counter() - t
        conn.close()
        return k * BIG_SIZE / dt / 1e6

    return asyncio.run(run())


def http_client_download(port: int, k: int) -> float:
    conn = http.client.HTTPConnection(HOST, port)
    conn.request("GET", "/")
    conn.getresponse().read()
    t = time.perf_counter()
    for _ in range(k):
        conn.request("GET", "/big")
        body = conn.getresponse().read()
        assert len(body) == BIG_SIZE
    dt = time.perf_counter() - t
    conn.close()
    return k * BIG_SIZE / dt / 1e6


def aiohttp_download(port: int, k: int) -> float:
    import aiohttp

    async def run() -> float:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
            async with session.get(f"http://{HOST}:{port}/") as r:
                await r.read()
            t = time.perf_counter()
            for _ in range(k):
                async with session.get(f"http://{HOST}:{port}/big") as r:
                    body = await r.read()
                assert len(body) == BIG_SIZE
            dt = time.perf_counter() - t
        return k * BIG_SIZE / dt / 1e6

    return asyncio.run(run())


def recv_into_download(port: int, k: int, fresh: bool = False) -> float:
    """The ceiling: one raw socket, the request written once, the body recv_into'd a preallocated buffer.

    With ``fresh``, a new buffer per download instead of one warm buffer: what any client that
    returns a new object per body pays at least (fresh pages from the kernel, zeroed)."""
    sock = socket.create_connection((HOST, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = f"GET /big HTTP/1.1\r\nhost: {HOST}:{port}\r\n\r\n".encode()
    body = bytearray(BIG_SIZE)
    view = memoryview(body)
    head = bytearray(65536)
    t = time.perf_counter()
    for _ in range(k):
        if fresh:
            body = bytearray(BIG_SIZE)
            view = memoryview(body)
        sock.sendall(request)
        got = 0
        while True:  # the head, and whatever part of the body came with it
            got += sock.recv_into(memoryview(head)[got:])
            end = head.find(b"\r\n\r\n", 0, got)
            if end >= 0:
                break
        start = end + 4
        found = re.search(rb"(?i)content-length: *(\d+)", head[:end])
        assert found is not None and int(found.group(1)) == BIG_SIZE
        have = got - start
        view[:have] = head[start:got]
        while have < BIG_SIZE:
            n = sock.recv_into(view[have:])
            if not n:
                raise ConnectionError("nginx closed the connection")
            have += n
    dt = time.perf_counter() - t
    sock.close()
    assert body[:4] == b"\x00\x01\x02\x03"
    return k * BIG_SIZE / dt / 1e6


def run_download(b: Bench, servers: Servers) -> None:
    port = servers.nginx().http_port
    k = b.n(8, 2)
    b.table(
        "download",
        f"16 MiB downloaded into memory, {k} times per round on one keep-alive connection (nginx sendfile)",
        "MB/s",
        [
            Client("gun", lambda: gun_download(port, k)),
            Client("gun.aio", lambda: gun_aio_download(port, k)),
            Client("http.client", lambda: http_client_download(port, k)),
            Client("aiohttp", lambda: aiohttp_download(port, k), ("py:aiohttp",)),
            Client("socket.recv_into", lambda: recv_into_download(port, k)),
            Client("recv_into, fresh buffer", lambda: recv_into_download(port, k, fresh=True)),
        ],
        [Target("2. 16 MiB download: gun >= 0.9x recv_into", "gun", ("socket.recv_into",), 0.9)],
        warmup=True,
    )
