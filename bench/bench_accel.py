"""Side-by-side benchmark of gun's C accelerator against its pure-Python twins and the peers.

Run: ``python bench/bench_accel.py`` (``--quick`` for a short run). Needs the ``bench`` extra
(websockets, aiohttp); a missing peer is reported and skipped. Prints, for each case, the time per
call, the throughput, and the throughput ratio of gun's C twin against each other contender (>1:
gun's C twin is faster).

Cases:
- masking 125 B, 4 KiB, 64 KiB, 1 MiB: ``gun_core.accel`` ``apply_mask`` (C and pure) against
  ``websockets.speedups.apply_mask`` and aiohttp's C mask applied to a fresh copy (it masks in place);
- one masked client frame of 125 B, 4 KiB, 64 KiB, 1 MiB, header and payload: ``build_ws_frame``
  (one C call) against websockets' ``Frame.serialize(mask=True)``;
- UTF-8 validation of 1 MiB of mixed text, of 1 MiB of ASCII and of a 20 B message:
  ``Utf8Validator.feed`` (C and pure) against ``bytes.decode`` (which also builds the str);
- frame-header parsing of a buffer holding 64 small websocket frames / HTTP/2 frames.

Timings are the best of several interleaved rounds (the least disturbed by other work on the machine).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import timeit
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.workload_core import mixed_text
from gun_core.accel import pure

c_twin: Any
try:
    from gun_core.accel import _cffi as c_twin
except ImportError as exc:  # pragma: no cover - reported below
    c_twin = None
    C_MISSING = str(exc)
else:
    C_MISSING = ""

ws_apply_mask: Any
Frame: Any
Opcode: Any
try:
    from websockets.frames import Frame, Opcode
    from websockets.speedups import apply_mask as ws_apply_mask
except ImportError:  # pragma: no cover
    ws_apply_mask = None

aiohttp_mask: Any
try:
    from aiohttp._websocket.mask import (  # type: ignore[import-not-found,no-redef,unused-ignore]
        _websocket_mask_cython as aiohttp_mask,
    )
except ImportError:  # pragma: no cover
    aiohttp_mask = None

KEY = bytes.fromhex("37fa213d")


def best_time(fn: Callable[[], Any], budget: float) -> float:
    """Seconds per call: calibrate a batch of about budget/10 s, then keep the best of the rounds."""
    number = 1
    while True:
        t = timeit.timeit(fn, number=number)
        if t >= budget / 10 or number >= 1 << 22:
            break
        number *= 4
    return min(timeit.repeat(fn, number=number, repeat=7)) / number


def measure(cases: dict[str, Callable[[], Any]], budget: float, rounds: int = 3) -> dict[str, float]:
    best = {name: float("inf") for name in cases}
    for _ in range(rounds):  # interleave, so a burst of outside load hits every contender alike
        for name, fn in cases.items():
            best[name] = min(best[name], best_time(fn, budget))
    return best


def report(title: str, nbytes: int, times: dict[str, float], ours: str) -> None:
    print(f"\n{title}")
    for name, t in times.items():
        gbps = nbytes / t / 1e9
        ratio = "" if name == ours else f"   gun C is {times[name] / times[ours]:5.2f}x the speed of this"
        print(f"  {name:<34} {t * 1e9:12.0f} ns  {gbps:7.2f} GB/s{ratio}")


def human(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB" if n >= 1 << 10 else f"{n} B"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter run, noisier numbers")
    args = parser.parse_args()
    budget = 0.05 if args.quick else 0.2

    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    if c_twin is None:
        print(f"gun C accelerator NOT BUILT ({C_MISSING}): build it with `python setup.py build_ext --inplace`")
        return
    if ws_apply_mask is None:
        print("websockets not installed: its columns are skipped")
    if aiohttp_mask is None:
        print("aiohttp not installed: its columns are skipped")

    for n in (125, 4 << 10, 64 << 10, 1 << 20):
        data = os.urandom(n)
        cases: dict[str, Callable[[], Any]] = {
            "gun apply_mask (C)": partial(c_twin.apply_mask, data, KEY),
            "gun apply_mask (pure Python)": partial(pure.apply_mask, data, KEY),
        }
        if ws_apply_mask is not None:
            cases["websockets.speedups.apply_mask"] = partial(ws_apply_mask, data, KEY)
        if aiohttp_mask is not None:
            cases["aiohttp mask (on a fresh copy)"] = partial(aiohttp_fresh_copy, data)
        report(f"masking {human(n)}", n, measure(cases, budget), "gun apply_mask (C)")

    for n in (125, 4 << 10, 64 << 10, 1 << 20):
        payload = os.urandom(n)
        cases = {
            "gun build_ws_frame (C)": partial(c_twin.build_ws_frame, 0x82, payload, KEY),
            "gun build_ws_frame (pure Python)": partial(pure.build_ws_frame, 0x82, payload, KEY),
        }
        if ws_apply_mask is not None:
            cases["websockets Frame.serialize(mask=True)"] = partial(Frame(Opcode.BINARY, payload).serialize, mask=True)
        title = f"one masked {human(n)} client frame (header + masked payload)"
        report(title, n, measure(cases, budget), "gun build_ws_frame (C)")

    texts = {
        "1 MiB of mixed text": mixed_text(1 << 20),
        "1 MiB of ASCII": b"a" * (1 << 20),
        "20 B": b"hello, websocket :-)",
    }
    for label, text in texts.items():
        cases = {
            "gun Utf8Validator (C)": partial(validate, c_twin.Utf8Validator, text),
            "gun Utf8Validator (pure Python)": partial(validate, pure.Utf8Validator, text),
            "bytes.decode": text.decode,
        }
        report(f"UTF-8 validation, {label}", len(text), measure(cases, budget), "gun Utf8Validator (C)")

    ws_buf = b"".join(pure.build_ws_frame(0x81, b"x" * (i % 40), None) for i in range(64))
    cases = {
        "gun parse_ws_headers (C)": partial(c_twin.parse_ws_headers, ws_buf),
        "gun parse_ws_headers (pure Python)": partial(pure.parse_ws_headers, ws_buf),
    }
    report(
        "websocket headers, 64 frames in one buffer", len(ws_buf), measure(cases, budget), "gun parse_ws_headers (C)"
    )
    h2_buf = b"".join(bytes((0, 0, i % 40, 0, 0, 0, 0, 0, 1)) + b"x" * (i % 40) for i in range(64))
    cases = {
        "gun scan_h2_headers (C)": partial(c_twin.scan_h2_headers, h2_buf),
        "gun scan_h2_headers (pure Python)": partial(pure.scan_h2_headers, h2_buf),
    }
    report(
        "HTTP/2 frame headers, 64 frames in one buffer", len(h2_buf), measure(cases, budget), "gun scan_h2_headers (C)"
    )


def aiohttp_fresh_copy(data: bytes) -> bytearray:
    """aiohttp masks in place: give it a fresh copy, as a caller keeping its input must."""
    out = bytearray(data)
    aiohttp_mask(KEY, out)
    return out


def validate(cls: Callable[[], Any], text: bytes) -> bool:
    return bool(cls().feed(text, True))


if __name__ == "__main__":
    main()
