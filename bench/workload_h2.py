"""Workload ``h2``: 5,000 GETs with 100 streams in flight on one HTTP/2 connection, h2c and TLS.

Every client fetches ``/`` (13 bytes) from nginx on one connection with ``m`` requests in
flight, timed after a warm-up request (h2load's figure includes its connect and handshake):

- gun (sync) and gun.aio: a sliding window: issue ``m`` GETs, then one more each time the
  oldest completes (``await_body``), until ``n`` have completed;
- httpx ``AsyncClient(http2=True)`` limited to one connection: ``m`` tasks fetching in a loop;
- h2 + a minimal asyncio loop (``bench/h2minimal.py``): the same window in a bare Protocol;
- pycurl: a ``CurlMulti`` with multiplexing, one connection, ``m`` easy handles re-added as
  each completes;
- ``h2load -n N -c 1 -m M`` (nghttp2-client): the C ceiling.
"""

from __future__ import annotations

import asyncio
import io
import re
import ssl
import subprocess
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import gun_io
from bench.common import HELLO, HOST, Bench, Client, Servers, Target, which
from gun_io import aio


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach nginx for one table."""

    tls: bool
    port: int
    cafile: str

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}/"

    def gun_opts(self) -> dict[str, Any]:
        if self.tls:
            return {"transport": "tls", "protocols": ["http2"], "tls_opts": {"cafile": self.cafile}}
        return {"protocols": ["http2"]}


def gun_sync(e: Endpoint, n: int, m: int) -> float:
    conn = gun_io.open(HOST, e.port, e.gun_opts())
    assert conn.await_up() == "http2"
    conn.await_body(conn.get("/"))
    t = time.perf_counter()
    window: deque[gun_io.StreamRef] = deque(conn.get("/") for _ in range(min(m, n)))
    issued = len(window)
    done = 0
    while window:
        body = conn.await_body(window.popleft())
        done += 1
        if issued < n:
            window.append(conn.get("/"))
            issued += 1
    dt = time.perf_counter() - t
    assert body == HELLO and done == n
    conn.close()
    return n / dt


def gun_aio(e: Endpoint, n: int, m: int) -> float:
    async def run() -> float:
        conn = aio.open(HOST, e.port, e.gun_opts())
        assert await conn.await_up() == "http2"
        await conn.await_body(conn.get("/"))
        t = time.perf_counter()
        window: deque[gun_io.StreamRef] = deque(conn.get("/") for _ in range(min(m, n)))
        issued = len(window)
        done = 0
        while window:
            body = await conn.await_body(window.popleft())
            done += 1
            if issued < n:
                window.append(conn.get("/"))
                issued += 1
        dt = time.perf_counter() - t
        assert body == HELLO and done == n
        conn.close()
        return n / dt

    return asyncio.run(run())


def httpx_h2(e: Endpoint, n: int, m: int) -> float:
    import httpx

    async def run() -> float:
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=e.cafile) if e.tls else False
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        # http1=False: h2c by prior knowledge on cleartext (ALPN h2 only on TLS).
        async with httpx.AsyncClient(http1=False, http2=True, verify=verify, limits=limits) as client:
            first = await client.get(e.url)
            assert first.http_version == "HTTP/2", first.http_version
            left = n
            bodies: list[bytes] = []

            async def worker() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    bodies.append((await client.get(e.url)).content)

            t = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(min(m, n))))
            dt = time.perf_counter() - t
        assert len(bodies) == n and bodies[-1] == HELLO
        return n / dt

    return asyncio.run(run())


def h2_minimal(e: Endpoint, n: int, m: int) -> float:
    from bench import h2minimal

    return h2minimal.run(HOST, e.port, e.cafile if e.tls else None, n, m, len(HELLO))


def pycurl_multi(e: Endpoint, n: int, m: int) -> float:
    import pycurl

    multi = pycurl.CurlMulti()
    multi.setopt(pycurl.M_PIPELINING, pycurl.PIPE_MULTIPLEX)
    multi.setopt(pycurl.M_MAX_HOST_CONNECTIONS, 1)
    sink = io.BytesIO()  # every handle writes here: only the total size is checked

    def handle() -> Any:
        c = pycurl.Curl()
        c.setopt(pycurl.URL, e.url)
        c.setopt(pycurl.WRITEDATA, sink)
        c.setopt(pycurl.PIPEWAIT, 1)
        if e.tls:
            c.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS)
            c.setopt(pycurl.CAINFO, e.cafile)
        else:
            c.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)
        return c

    handles = [handle() for _ in range(min(m, n))]

    def batch(count: int) -> None:
        issued = done = 0
        for c in handles[:count]:
            multi.add_handle(c)
            issued += 1
        while done < count:
            while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                pass
            while True:
                queued, ok, failed = multi.info_read()
                for c in ok:
                    multi.remove_handle(c)
                    done += 1
                    if issued < count:
                        multi.add_handle(c)
                        issued += 1
                if failed:
                    raise RuntimeError(f"pycurl: {failed[0][2]}")
                if not queued:
                    break
            if done < count:
                wait = multi.timeout()  # ms; libcurl's own timers (e.g. PIPEWAIT) need waking too
                multi.select(1.0 if wait < 0 else min(wait, 1000) / 1000)

    batch(1)  # warm-up: the connection is up
    sink.seek(0)
    sink.truncate()
    t = time.perf_counter()
    batch(n)
    dt = time.perf_counter() - t
    assert len(sink.getvalue()) == n * len(HELLO)
    versions = {c.getinfo(pycurl.INFO_HTTP_VERSION) for c in handles}
    assert versions == {pycurl.CURL_HTTP_VERSION_2_0}, versions
    for c in handles:
        c.close()
    multi.close()
    return n / dt


H2LOAD_LINE = re.compile(r"finished in [^,]+, ([\d.]+) req/s")


def h2load(e: Endpoint, n: int, m: int) -> float:
    binary = which("h2load") or "h2load"
    out = subprocess.run(
        [binary, "-n", str(n), "-c", "1", "-m", str(m), e.url], capture_output=True, text=True, timeout=120, check=False
    )
    found = H2LOAD_LINE.search(out.stdout)
    ok = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out.stdout)
    if found is None or ok is None or int(ok.group(2)) != n:
        raise RuntimeError(f"h2load failed (rc {out.returncode}): {out.stdout} {out.stderr}")
    return float(found.group(1))


def run_h2(b: Bench, servers: Servers) -> None:
    nginx = servers.nginx()
    n = b.n(5000, 500)
    m = 100
    cafile = str(nginx.ca.cafile)
    for key, e in (
        ("h2c", Endpoint(False, nginx.h2c_port, cafile)),
        ("h2-tls", Endpoint(True, nginx.tls_port, cafile)),
    ):
        row = "3. HTTP/2, 100 in flight" + (" (TLS)" if e.tls else " (h2c)")
        b.table(
            key,
            f"{n:,} GETs of 13 B, {m} streams in flight on one HTTP/2 connection, {'TLS, ALPN h2' if e.tls else 'h2c'}",
            "requests/s",
            [
                Client("gun", lambda e=e: gun_sync(e, n, m)),
                Client("gun.aio", lambda e=e: gun_aio(e, n, m)),
                Client("httpx h2", lambda e=e: httpx_h2(e, n, m), ("py:httpx", "py:h2")),
                Client("h2 + asyncio", lambda e=e: h2_minimal(e, n, m), ("py:h2",)),
                Client("pycurl", lambda e=e: pycurl_multi(e, n, m), ("py:pycurl",)),
                Client("h2load", lambda e=e: h2load(e, n, m), ("bin:h2load",), required=True),
            ],
            [
                Target(f"{row}: gun >= 5x httpx", "gun", ("httpx h2",), 5.0),
                Target(f"{row}: gun >= 1.5x h2 + asyncio", "gun", ("h2 + asyncio",), 1.5),
                Target(f"{row}: gun.aio >= 5x httpx", "gun.aio", ("httpx h2",), 5.0),
                Target(f"{row}: gun.aio >= 1.5x h2 + asyncio", "gun.aio", ("h2 + asyncio",), 1.5),
            ],
            warmup=True,
        )
