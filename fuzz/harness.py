"""What every fuzz target shares: instrumented imports, how an input is cut into reads, the atheris entry.

An input is ``[config byte][split byte] payload``. The config byte picks the target's
options (which requests are in flight, which limits, which mode); the split byte picks how
the payload is cut into ``receive_data`` calls. Plain pytest replays the same files through the
same ``check`` functions without atheris (``tests/fuzz``).
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
from collections.abc import Callable, Iterator

__all__ = ["FUZZING", "Input", "instrumented_imports", "run_fuzzer", "seed", "split_reads"]

#: True inside ``fuzz/run`` (set by the script): imports are instrumented for coverage then.
FUZZING = os.environ.get("GUN_FUZZING") == "1"


@contextlib.contextmanager
def instrumented_imports() -> Iterator[None]:
    """Instrument the modules imported in the ``with`` block (gun_core, hpack) when fuzzing."""
    if not FUZZING:
        yield
        return
    import atheris  # type: ignore[import-untyped,unused-ignore]

    with atheris.instrument_imports(include=["gun_core", "hpack", "fuzz"]):
        yield


class Input:
    """A fuzz input split into its config byte, split byte and payload."""

    __slots__ = ("config", "payload", "split")

    def __init__(self, data: bytes) -> None:
        self.config = data[0] if len(data) > 0 else 0
        self.split = data[1] if len(data) > 1 else 0
        self.payload = data[2:]

    def reads(self, payload: bytes | None = None) -> list[bytes]:
        """The payload (or ``payload``) cut into reads the way the split byte says."""
        return split_reads(self.payload if payload is None else payload, self.split)


def split_reads(data: bytes, split: int) -> list[bytes]:
    """Cut ``data`` into non-empty reads.

    ``split & 3``: 0 whole; 1 one byte per read (at most the first 512 bytes, then whole);
    2 fixed pieces of ``1 + (split >> 2)`` bytes; 3 random sizes 1..64 from a PRNG seeded by ``split``.
    """
    if not data:
        return []
    mode = split & 3
    if mode == 0:
        return [data]
    if mode == 1:
        head = [data[i : i + 1] for i in range(min(len(data), 512))]
        return head + ([data[512:]] if len(data) > 512 else [])
    if mode == 2:
        step = 1 + (split >> 2)
        return [data[i : i + step] for i in range(0, len(data), step)]
    rng = random.Random(split)
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        n = rng.randint(1, 64)
        out.append(data[pos : pos + n])
        pos += n
    return out


def seed(config: int, split: int, payload: bytes) -> bytes:
    """A corpus file: the two leading bytes then the payload."""
    return bytes((config & 0xFF, split & 0xFF)) + payload


def run_fuzzer(check: Callable[[bytes], None]) -> None:
    """The atheris entry point: libFuzzer arguments come from ``sys.argv``."""
    import atheris  # type: ignore[import-untyped,unused-ignore]

    def one_input(data: bytes) -> None:
        check(data)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
