"""Pure-Python reference versions of the accelerated functions (the spec for the C twins)."""

from __future__ import annotations

import codecs

__all__ = ["apply_mask", "Utf8Validator"]

_SMALL = 1024


def apply_mask(data: bytes | bytearray | memoryview, key: bytes, offset: int = 0) -> bytes:
    """XOR ``data`` with the 4-byte ``key``, starting at ``key[offset % 4]``."""
    if len(key) != 4:
        raise ValueError("a websocket mask key is 4 bytes")
    n = len(data)
    if n == 0:
        return b""
    r = offset % 4
    k = key[r:] + key[:r]
    if n <= _SMALL:
        reps = (n + 3) // 4
        m = int.from_bytes(k * reps, "big") >> (8 * (reps * 4 - n))
        return (int.from_bytes(data, "big") ^ m).to_bytes(n, "big")
    tables = [bytes(i ^ kb for i in range(256)) for kb in k]
    out = bytearray(n)
    for i in range(4):
        out[i::4] = bytes(data[i::4]).translate(tables[i])
    return bytes(out)


class Utf8Validator:
    """Incremental UTF-8 validation whose state carries across ``feed`` calls."""

    __slots__ = ("_dec", "_ok")

    def __init__(self) -> None:
        self._dec = codecs.getincrementaldecoder("utf-8")("strict")
        self._ok = True

    def feed(self, data: bytes | bytearray | memoryview, final: bool) -> bool:
        """Return False as soon as the bytes so far cannot be the start of valid UTF-8."""
        if not self._ok:
            return False
        try:
            self._dec.decode(data, final)
        except UnicodeDecodeError:
            self._ok = False
        return self._ok

    def reset(self) -> None:
        """Start a new message."""
        self._dec.reset()
        self._ok = True
