"""Many GETs with 100 streams in flight on one HTTP/2 connection: gun against httpx and h2load.

Run: ``python bench/bench_h2.py`` (``--quick`` for a short run, ``-n`` requests per round,
``-m`` streams in flight, ``--profile`` to cProfile one gun sync run). Starts Debian's nginx on
127.0.0.1 (the test fixtures' config) and runs two workloads, h2c (prior knowledge) and TLS
(ALPN h2); in each, the clients run in alternation (A B A B ...) for several rounds and the
script prints the median requests per second, the spread, and gun's ratios to httpx and to
h2load (the C ceiling). Peers that are not installed are reported and skipped.

Clients, all on one connection, fetching ``/`` (13 bytes), ``m`` requests in flight:

- gun (sync) and gun.aio: a sliding window: issue ``m`` GETs, then each time the oldest one
  completes (``await_body``) issue another, until ``n`` have completed;
- httpx ``AsyncClient(http2=True)`` (one connection at most): ``m`` tasks, each fetching in a loop;
- ``h2load -n N -c 1 -m M``: its own "finished in ..., X req/s" line (it includes the connect
  and, on TLS, the handshake; the Python clients are timed after a first warm-up request).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gun_io
from gun_io import aio

HELLO = b"Hello world!\n"


@dataclass(frozen=True)
class Target:
    """Where and how to reach nginx for one workload."""

    tls: bool
    port: int
    cafile: str

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    def gun_opts(self) -> dict[str, Any]:
        if self.tls:
            return {"transport": "tls", "protocols": ["http2"], "tls_opts": {"cafile": self.cafile}}
        return {"protocols": ["http2"]}


def gun_sync(target: Target, n: int, m: int) -> float:
    conn = gun_io.open("127.0.0.1", target.port, target.gun_opts())
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


def gun_aio(target: Target, n: int, m: int) -> float:
    async def run() -> float:
        conn = aio.open("127.0.0.1", target.port, target.gun_opts())
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


def httpx_h2(target: Target, n: int, m: int) -> float:
    import httpx

    async def run() -> float:
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=target.cafile) if target.tls else False
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        # http1=False: h2c by prior knowledge on cleartext (ALPN h2 only on TLS).
        async with httpx.AsyncClient(http1=False, http2=True, verify=verify, limits=limits) as client:
            first = await client.get(target.url)
            assert first.http_version == "HTTP/2", first.http_version
            left = n
            bodies: list[bytes] = []

            async def worker() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    bodies.append((await client.get(target.url)).content)

            t = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(min(m, n))))
            dt = time.perf_counter() - t
        assert len(bodies) == n and bodies[-1] == HELLO
        return n / dt

    return asyncio.run(run())


H2LOAD_LINE = re.compile(r"finished in [^,]+, ([\d.]+) req/s")


def h2load(target: Target, n: int, m: int) -> float:
    binary = shutil.which("h2load") or "h2load"
    out = subprocess.run(
        [binary, "-n", str(n), "-c", "1", "-m", str(m), target.url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = H2LOAD_LINE.search(out.stdout)
    ok = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out.stdout)
    if found is None or ok is None or int(ok.group(2)) != n:
        raise RuntimeError(f"h2load failed (rc {out.returncode}):\n{out.stdout}\n{out.stderr}")
    return float(found.group(1))


def missing(module: str | None, binary: str | None) -> str | None:
    if module is not None:
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[bench]')"
    if binary is not None and shutil.which(binary) is None:
        return f"{binary} is not on PATH (Debian: apt install nghttp2-client)"
    return None


Client = Callable[[Target, int, int], float]
CLIENTS: list[tuple[str, Client, str | None, str | None]] = [
    ("gun", gun_sync, None, None),
    ("gun.aio", gun_aio, None, None),
    ("httpx h2", httpx_h2, "h2", None),
    ("h2load", h2load, None, "h2load"),
]
OURS = ("gun", "gun.aio")
PEERS = ("httpx h2", "h2load")


def start_nginx() -> Any:
    from tests.servers.certs import make_test_ca
    from tests.servers.nginx import NginxServer

    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    folder = Path(tempfile.mkdtemp(prefix="gun-bench-"))
    server = NginxServer(binary, folder / "nginx", make_test_ca(folder / "ca"))
    server.start()
    return server


def profile_gun_sync(target: Target, n: int, m: int, top: int = 25) -> None:
    prof = cProfile.Profile()
    prof.enable()
    rate = gun_sync(target, n, m)
    prof.disable()
    print(f"\ncProfile of one gun sync run ({'TLS' if target.tls else 'h2c'}, {n} requests): {rate:,.0f} r/s")
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (the harness check CI does)")
    parser.add_argument("-n", type=int, default=None, help="requests per round")
    parser.add_argument("-m", type=int, default=100, help="streams in flight")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--only", choices=("h2c", "tls"), default=None, help="run one workload")
    parser.add_argument("--profile", action="store_true", help="also cProfile one gun sync run per workload")
    args = parser.parse_args(argv)
    n: int = args.n or (1000 if args.quick else 5000)
    m: int = args.m
    rounds: int = args.rounds or (2 if args.quick else 5)
    runnable: list[tuple[str, Client]] = []
    for name, fn, module, binary in CLIENTS:
        why = missing(module, binary)
        if why:
            print(f"  ({name} skipped: {why})")
        else:
            runnable.append((name, fn))
    server = start_nginx()
    try:
        cafile = str(server.ca.cafile)
        workloads = [("h2c", Target(False, server.h2c_port, cafile)), ("TLS", Target(True, server.tls_port, cafile))]
        for title, target in workloads:
            if args.only and args.only != title.lower():
                continue
            results: dict[str, list[float]] = {name: [] for name, _ in runnable}
            for _ in range(rounds):
                for name, fn in runnable:
                    results[name].append(fn(target, n, m))
            print(f"\n{title}: {n} GETs, {m} streams in flight, one connection, x {rounds} rounds, nginx on 127.0.0.1")
            print(f"  {'client':<12}{'median r/s':>12}{'spread':>10}")
            medians = {name: statistics.median(v) for name, v in results.items()}
            for name, values in results.items():
                spread = (max(values) - min(values)) / medians[name] * 100
                print(f"  {name:<12}{medians[name]:>12,.0f}{spread:>9.0f}%")
            for ours in OURS:
                for peer in PEERS:
                    if ours in medians and peer in medians:
                        print(f"  ratio {ours} / {peer}: {medians[ours] / medians[peer]:.2f}x")
            if args.profile:
                profile_gun_sync(target, n, m)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
