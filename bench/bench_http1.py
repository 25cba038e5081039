"""Sequential GETs on one keep-alive connection: gun against the peers, side by side.

Run: ``python bench/bench_http1.py`` (``--quick`` for a short run, ``-n`` requests per
round). Starts Debian's nginx on 127.0.0.1 (the test fixtures' config), then runs each
client in alternation (A B A B ...) for several rounds and prints the median requests
per second, the spread, and gun's ratio to each peer. Peers that are not installed are
reported and skipped. Workloads: sync (gun, http.client, urllib3) and asyncio (gun.aio,
aiohttp, httpx async); each fetches ``/`` (13 bytes) ``n`` times on one connection.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gun_io
from gun_io import aio


def gun_sync(port: int, n: int) -> float:
    conn = gun_io.open("127.0.0.1", port)
    conn.await_up()
    conn.await_body(conn.get("/"))
    t = time.perf_counter()
    for _ in range(n):
        body = conn.await_body(conn.get("/"))
    dt = time.perf_counter() - t
    assert body == b"Hello world!\n"
    conn.close()
    return n / dt


def stdlib_http_client(port: int, n: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/")
    conn.getresponse().read()
    t = time.perf_counter()
    for _ in range(n):
        conn.request("GET", "/")
        body = conn.getresponse().read()
    dt = time.perf_counter() - t
    assert body == b"Hello world!\n"
    conn.close()
    return n / dt


def urllib3_pool(port: int, n: int) -> float:
    import urllib3

    pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1)
    pool.request("GET", "/")
    t = time.perf_counter()
    for _ in range(n):
        body = pool.request("GET", "/").data
    dt = time.perf_counter() - t
    assert body == b"Hello world!\n"
    pool.close()
    return n / dt


def gun_aio(port: int, n: int) -> float:
    async def run() -> float:
        conn = aio.open("127.0.0.1", port)
        await conn.await_up()
        await conn.await_body(conn.get("/"))
        t = time.perf_counter()
        for _ in range(n):
            body = await conn.await_body(conn.get("/"))
        dt = time.perf_counter() - t
        assert body == b"Hello world!\n"
        conn.close()
        return n / dt

    return asyncio.run(run())


def aiohttp_client(port: int, n: int) -> float:
    import aiohttp

    async def run() -> float:
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector) as session:
            url = f"http://127.0.0.1:{port}/"
            async with session.get(url) as r:
                await r.read()
            t = time.perf_counter()
            for _ in range(n):
                async with session.get(url) as r:
                    body = await r.read()
            dt = time.perf_counter() - t
        assert body == b"Hello world!\n"
        return n / dt

    return asyncio.run(run())


def httpx_async(port: int, n: int) -> float:
    import httpx

    async def run() -> float:
        async with httpx.AsyncClient() as client:
            url = f"http://127.0.0.1:{port}/"
            await client.get(url)
            t = time.perf_counter()
            for _ in range(n):
                body = (await client.get(url)).content
            dt = time.perf_counter() - t
        assert body == b"Hello world!\n"
        return n / dt

    return asyncio.run(run())


def available(fn: Callable[[int, int], float], module: str | None) -> str | None:
    if module is None:
        return None
    try:
        __import__(module)
    except ImportError:
        return f"{module} is not installed (pip install -e '.[bench]')"
    return None


WORKLOADS: dict[str, list[tuple[str, Callable[[int, int], float], str | None]]] = {
    "sequential GETs, sync": [
        ("gun", gun_sync, None),
        ("http.client", stdlib_http_client, None),
        ("urllib3", urllib3_pool, "urllib3"),
    ],
    "sequential GETs, asyncio": [
        ("gun.aio", gun_aio, None),
        ("aiohttp", aiohttp_client, "aiohttp"),
        ("httpx async", httpx_async, "httpx"),
    ],
}


def start_nginx() -> Any:
    from tests.servers.certs import make_test_ca
    from tests.servers.nginx import NginxServer

    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    folder = Path(tempfile.mkdtemp(prefix="gun-bench-"))
    server = NginxServer(binary, folder / "nginx", make_test_ca(folder / "ca"))
    server.start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (the harness check CI does)")
    parser.add_argument("-n", type=int, default=None, help="requests per round")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.n or (300 if args.quick else 5000)
    rounds = args.rounds or (2 if args.quick else 5)
    server = start_nginx()
    try:
        for title, clients in WORKLOADS.items():
            runnable = []
            for name, fn, module in clients:
                why = available(fn, module)
                if why:
                    print(f"  ({name} skipped: {why})")
                else:
                    runnable.append((name, fn))
            results: dict[str, list[float]] = {name: [] for name, _ in runnable}
            for _ in range(rounds):
                for name, fn in runnable:
                    results[name].append(fn(server.http_port, n))
            print(f"\n{title}: {n} requests x {rounds} rounds, nginx on 127.0.0.1")
            print(f"  {'client':<14}{'median r/s':>12}{'spread':>10}")
            medians = {name: statistics.median(v) for name, v in results.items()}
            for name, values in results.items():
                spread = (max(values) - min(values)) / medians[name] * 100
                print(f"  {name:<14}{medians[name]:>12,.0f}{spread:>9.0f}%")
            ours = runnable[0][0]
            for name in medians:
                if name != ours:
                    print(f"  ratio {ours} / {name}: {medians[ours] / medians[name]:.2f}x")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
