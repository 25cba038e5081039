"""Websocket echo round trips: gun against the peers, side by side, on one local server.

Run: ``python bench/bench_ws.py`` (``--quick`` for a short run; ``--small``/``--big`` set the
message counts, ``--rounds`` the rounds). Starts one echo server from the ``websockets``
package in a subprocess on 127.0.0.1 (no compression), then runs each client in alternation
(A B A B ...) for several rounds and prints, per workload, the median messages per second,
the spread, and gun's ratios to each peer. Peers that are not installed are reported and
skipped. Workloads: (a) ``--small`` 16-byte binary messages, (b) ``--big`` 64 KiB binary
messages; each sent one at a time, waiting for its echo before sending the next. Clients:
gun (sync driver), gun.aio, the ``websockets`` asyncio client, aiohttp's ``ws_connect``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gun_io
from gun_io import Binary, Close, GunUpgrade, aio

SERVER = """
import asyncio, sys
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass

async def main():
    async with serve(echo, "127.0.0.1", 0, compression=None, max_size=None, ping_interval=None) as server:
        print(next(iter(server.sockets)).getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""

Client = Callable[[int, bytes, int], float]


def gun_sync(port: int, payload: bytes, n: int) -> float:
    conn = gun_io.open("127.0.0.1", port, {"retry": 0})
    conn.await_up()
    ref = conn.ws_upgrade("/")
    assert isinstance(conn.await_(ref), GunUpgrade)
    frame = Binary(payload)
    conn.ws_send(ref, frame)
    conn.await_(ref)
    t = time.perf_counter()
    for _ in range(n):
        conn.ws_send(ref, frame)
        got = conn.await_(ref).frame
    dt = time.perf_counter() - t
    assert got == frame
    conn.ws_send(ref, Close(1000))
    conn.await_(ref)
    conn.close()
    return n / dt


def gun_aio(port: int, payload: bytes, n: int) -> float:
    async def run() -> float:
        conn = aio.open("127.0.0.1", port, {"retry": 0})
        await conn.await_up()
        ref = conn.ws_upgrade("/")
        assert isinstance(await conn.await_(ref), GunUpgrade)
        frame = Binary(payload)
        conn.ws_send(ref, frame)
        await conn.await_(ref)
        t = time.perf_counter()
        for _ in range(n):
            conn.ws_send(ref, frame)
            got = (await conn.await_(ref)).frame
        dt = time.perf_counter() - t
        assert got == frame
        conn.ws_send(ref, Close(1000))
        await conn.await_(ref)
        conn.close()
        return n / dt

    return asyncio.run(run())


def websockets_client(port: int, payload: bytes, n: int) -> float:
    from websockets.asyncio.client import connect

    async def run() -> float:
        async with connect(f"ws://127.0.0.1:{port}/", compression=None, max_size=None, ping_interval=None) as ws:
            await ws.send(payload)
            await ws.recv()
            t = time.perf_counter()
            for _ in range(n):
                await ws.send(payload)
                got = await ws.recv()
            dt = time.perf_counter() - t
        assert got == payload
        return n / dt

    return asyncio.run(run())


def aiohttp_client(port: int, payload: bytes, n: int) -> float:
    import aiohttp

    async def run() -> float:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"http://127.0.0.1:{port}/", max_msg_size=0, autoping=True) as ws,
        ):
            await ws.send_bytes(payload)
            await ws.receive_bytes()
            t = time.perf_counter()
            for _ in range(n):
                await ws.send_bytes(payload)
                got = await ws.receive_bytes()
            dt = time.perf_counter() - t
        assert got == payload
        return n / dt

    return asyncio.run(run())


CLIENTS: list[tuple[str, Client, str | None]] = [
    ("gun", gun_sync, None),
    ("gun.aio", gun_aio, None),
    ("websockets", websockets_client, "websockets.asyncio.client"),
    ("aiohttp", aiohttp_client, "aiohttp"),
]


def available(module: str | None) -> str | None:
    if module is None:
        return None
    try:
        __import__(module)
    except ImportError:
        return f"{module} is not installed (pip install -e '.[bench]')"
    return None


def start_server() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(5)
        raise SystemExit("the websockets echo server did not start (is websockets >= 13 installed?)")
    return proc, int(line)


def stop_server(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (the harness check CI does)")
    parser.add_argument("--small", type=int, default=None, help="16-byte messages per round")
    parser.add_argument("--big", type=int, default=None, help="64 KiB messages per round")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    workloads = [
        ("16-byte binary echo", os.urandom(16), args.small or (1000 if args.quick else 20_000)),
        ("64 KiB binary echo", os.urandom(64 << 10), args.big or (100 if args.quick else 1000)),
    ]
    rounds = args.rounds or (2 if args.quick else 5)
    runnable: list[tuple[str, Client]] = []
    for name, fn, module in CLIENTS:
        why = available(module)
        if why:
            print(f"  ({name} skipped: {why})")
        else:
            runnable.append((name, fn))
    proc, port = start_server()
    try:
        for title, payload, n in workloads:
            results: dict[str, list[float]] = {name: [] for name, _ in runnable}
            for _ in range(rounds):
                for name, fn in runnable:
                    results[name].append(fn(port, payload, n))
            print(f"\n{title}: {n} messages x {rounds} rounds, one at a time, websockets server on 127.0.0.1")
            print(f"  {'client':<14}{'median msg/s':>14}{'spread':>10}")
            medians = {name: statistics.median(v) for name, v in results.items()}
            for name, values in results.items():
                spread = (max(values) - min(values)) / medians[name] * 100
                print(f"  {name:<14}{medians[name]:>14,.0f}{spread:>9.0f}%")
            for ours in ("gun", "gun.aio"):
                if ours not in medians:
                    continue
                for name in medians:
                    if not name.startswith("gun"):
                        print(f"  ratio {ours} / {name}: {medians[ours] / medians[name]:.2f}x")
    finally:
        stop_server(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
