"""Workload ``memory``: RSS per idle connection, and peak RSS over a flow-controlled 1 GiB download.

Each measurement runs in a fresh child process (``python -m bench.workload_memory ...``), so
one client's allocations do not hide another's; figures come from ``/proc/self/status``.

- ``idle-conns``: the child imports its client, opens one warm-up connection, notes VmRSS,
  then opens 1,000 connections to nginx, makes one GET on each (so every buffer a real
  connection keeps exists), and notes VmRSS again: the figure is the growth per connection.
  Clients: gun (sync), gun.aio, http.client, aiohttp (one session, ``limit=0``).
- ``flow-1GiB``: after a warm-up GET, the peak RSS (VmHWM, reset through
  ``/proc/self/clear_refs``) is noted while downloading ``/gig`` (a 1 GiB sparse file) in
  pieces: gun and gun.aio with the request option ``flow`` (1 MiB of credit, granted back
  with ``update_flow`` as each ``GunData`` is consumed), gun without ``flow`` for contrast,
  http.client and aiohttp reading 1 MiB at a time. The figure is the peak growth; it should
  stay flat (a few MiB, not a fraction of the download). Reported, not asserted.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time
from typing import Any

from bench.common import GIG_SIZE, HELLO, HOST, ROOT, Bench, Client, Servers, raise_nofile

FLOW = 1 << 20


def status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


# -- children -------------------------------------------------------------------------------------


def idle_gun(port: int, n: int) -> list[Any]:
    import gun_io

    conns = [gun_io.open(HOST, port) for _ in range(n)]
    for c in conns:
        c.await_up()
    refs = [c.get("/") for c in conns]
    for c, r in zip(conns, refs, strict=True):
        assert c.await_body(r) == HELLO
    return conns


def idle_http_client(port: int, n: int) -> list[Any]:
    import http.client

    conns = []
    for _ in range(n):
        c = http.client.HTTPConnection(HOST, port)
        c.request("GET", "/")
        assert c.getresponse().read() == HELLO
        conns.append(c)
    return conns


def idle_child(client: str, port: int, n: int) -> dict[str, float]:
    raise_nofile(2 * n + 200)
    if client == "gun":
        idle_gun(port, 1)
        gc.collect()
        base = status_kib("VmRSS")
        keep = idle_gun(port, n)
        gc.collect()
        after = status_kib("VmRSS")
    elif client == "http.client":
        idle_http_client(port, 1)
        gc.collect()
        base = status_kib("VmRSS")
        keep = idle_http_client(port, n)
        gc.collect()
        after = status_kib("VmRSS")
    elif client == "gun.aio":
        from gun_io import aio

        async def gun_aio(count: int) -> list[Any]:
            conns = [aio.open(HOST, port) for _ in range(count)]
            await asyncio.gather(*(c.await_up() for c in conns))
            bodies = await asyncio.gather(*(c.await_body(c.get("/")) for c in conns))
            assert all(b == HELLO for b in bodies)
            return conns

        async def run_aio() -> tuple[int, int]:
            await gun_aio(1)
            gc.collect()
            base = status_kib("VmRSS")
            conns = await gun_aio(n)
            gc.collect()
            after = status_kib("VmRSS")
            for c in conns:
                c.close()
            return base, after

        base, after = asyncio.run(run_aio())
        keep = []
    elif client == "aiohttp":
        import aiohttp

        async def run_aiohttp() -> tuple[int, int]:
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:

                async def one() -> bytes:
                    async with session.get(f"http://{HOST}:{port}/") as r:
                        return await r.read()

                await one()
                gc.collect()
                base = status_kib("VmRSS")
                bodies = await asyncio.gather(*(one() for _ in range(n)))
                assert all(b == HELLO for b in bodies)
                gc.collect()
                after = status_kib("VmRSS")
            return base, after

        base, after = asyncio.run(run_aiohttp())
        keep = []
    else:
        raise ValueError(client)
    del keep
    return {"per_conn_kib": (after - base) / n}


def gig_child(client: str, port: int, size: int) -> dict[str, float]:
    headers = [] if size == GIG_SIZE else [("range", f"bytes=0-{size - 1}")]
    expect_status = 200 if size == GIG_SIZE else 206
    got = 0
    if client in ("gun", "gun, no flow"):
        import gun_io
        from gun_io import GunData, GunResponse

        conn = gun_io.open(HOST, port)
        conn.await_up()
        conn.await_body(conn.get("/"))
        flow = client == "gun"
        gc.collect()
        base = status_kib("VmRSS")
        reset_peak()
        t = time.perf_counter()
        ref = conn.get("/gig", headers, {"flow": FLOW} if flow else None)
        while True:
            msg = conn.await_(ref)
            if isinstance(msg, GunResponse):
                assert msg.status == expect_status, msg.status
                if msg.fin:
                    break
            elif isinstance(msg, GunData):
                got += len(msg.data)
                if flow and msg.data:
                    conn.update_flow(ref, len(msg.data))
                if msg.fin:
                    break
        dt = time.perf_counter() - t
        conn.close()
    elif client == "gun.aio":
        from gun_io import GunData, GunResponse, aio

        async def run() -> tuple[int, int, float]:
            conn = aio.open(HOST, port)
            await conn.await_up()
            await conn.await_body(conn.get("/"))
            gc.collect()
            base = status_kib("VmRSS")
            reset_peak()
            total = 0
            t = time.perf_counter()
            ref = conn.get("/gig", headers, {"flow": FLOW})
            while True:
                msg = await conn.await_(ref)
                if isinstance(msg, GunResponse):
                    assert msg.status == expect_status, msg.status
                    if msg.fin:
                        break
                elif isinstance(msg, GunData):
                    total += len(msg.data)
                    if msg.data:
                        conn.update_flow(ref, len(msg.data))
                    if msg.fin:
                        break
            dt = time.perf_counter() - t
            conn.close()
            return base, total, dt

        base, got, dt = asyncio.run(run())
    elif client == "http.client":
        import http.client

        c = http.client.HTTPConnection(HOST, port)
        c.request("GET", "/")
        c.getresponse().read()
        buf = bytearray(FLOW)
        gc.collect()
        base = status_kib("VmRSS")
        reset_peak()
        t = time.perf_counter()
        c.request("GET", "/gig", headers=dict(headers))
        r = c.getresponse()
        assert r.status == expect_status, r.status
        while True:
            k = r.readinto(buf)
            if not k:
                break
            got += k
        dt = time.perf_counter() - t
        c.close()
    elif client == "aiohttp":
        import aiohttp

        async def run_aiohttp() -> tuple[int, int, float]:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://{HOST}:{port}/") as r:
                    await r.read()
                gc.collect()
                base = status_kib("VmRSS")
                reset_peak()
                total = 0
                t = time.perf_counter()
                async with session.get(f"http://{HOST}:{port}/gig", headers=dict(headers)) as r:
                    assert r.status == expect_status, r.status
                    async for chunk in r.content.iter_chunked(FLOW):
                        total += len(chunk)
                dt = time.perf_counter() - t
            return base, total, dt

        base, got, dt = asyncio.run(run_aiohttp())
    else:
        raise ValueError(client)
    assert got == size, (got, size)
    peak = status_kib("VmHWM")
    return {"peak_growth_mib": max(peak - base, 0) / 1024, "mb_s": size / dt / 1e6}


def spawn(kind: str, client: str, port: int, n: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.workload_memory", kind, client, str(port), str(n)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"child exited {out.returncode}: {out.stderr.strip().splitlines()[-1:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run_memory(b: Bench, servers: Servers) -> None:
    port = servers.nginx().http_port
    n = b.n(1000, 100)
    rounds = 1 if b.quick else 2
    b.table(
        "idle-conns",
        f"RSS growth per idle HTTP/1.1 connection, {n:,} open to nginx (one GET each), fresh child process",
        "KiB per connection",
        [
            Client("gun", lambda: spawn("idle", "gun", port, n)["per_conn_kib"]),
            Client("gun.aio", lambda: spawn("idle", "gun.aio", port, n)["per_conn_kib"]),
            Client("http.client", lambda: spawn("idle", "http.client", port, n)["per_conn_kib"]),
            Client("aiohttp", lambda: spawn("idle", "aiohttp", port, n)["per_conn_kib"], ("py:aiohttp",)),
        ],
        lower_is_better=True,
        rounds=rounds,
    )
    size = GIG_SIZE if not b.quick else 64 << 20
    human = "1 GiB" if size == GIG_SIZE else f"{size >> 20} MiB"

    def gig(client: str) -> tuple[float, str]:
        r = spawn("gig", client, port, size)
        return r["peak_growth_mib"], f"{r['mb_s']:,.0f} MB/s"

    medians = b.table(
        "flow-1GiB",
        f"peak RSS growth while downloading {human} in pieces (gun: request option flow 1 MiB, update_flow per piece)",
        "MiB",
        [
            Client("gun", lambda: gig("gun")),
            Client("gun.aio", lambda: gig("gun.aio")),
            Client("gun, no flow", lambda: gig("gun, no flow")),
            Client("http.client", lambda: gig("http.client")),
            Client("aiohttp", lambda: gig("aiohttp"), ("py:aiohttp",)),
        ],
        lower_is_better=True,
        rounds=rounds,
    )
    for name in ("gun", "gun.aio"):
        if name in medians:
            flat = medians[name] < 32
            b.outcomes.append(
                (
                    f"6. peak RSS over a {human} download with flow, {name}: flat",
                    f"{'flat' if flat else 'NOT flat'} (peak growth {medians[name]:.1f} MiB; reported, not asserted)",
                )
            )


def main(argv: list[str]) -> None:
    kind, client, port, n = argv[0], argv[1], int(argv[2]), int(argv[3])
    result = idle_child(client, port, n) if kind == "idle" else gig_child(client, port, n)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
