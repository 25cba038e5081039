"""Fuzz target ``ws_deflate``: permessage-deflate input (gun_core.ws_deflate.Inflater, RFC 7692 7.2.2).

Config bit 0 picks the mode:

* raw: the payload is compressed message data from the peer, fed in the reads the split byte
  picks, then ``finish``; twice (a second message, to use the carried-over window). Checks:
  never raises; the result is bytes within the limit, or a ``FrameError`` 1007/1009; the output
  (or error) does not depend on how the input was cut; within the limit it equals what
  zlib's own raw inflate gives for a single-stream message.
* round trip: the payload is plain messages (separated by ``0xFF``) that our Deflater compresses
  (window bits and context takeover from the config byte); the Inflater must give them back,
  or a 1009 error when one is over the limit.
"""

from __future__ import annotations

import zlib

from fuzz.harness import Input, instrumented_imports, run_fuzzer, split_reads

with instrumented_imports():
    from gun_core.ws_deflate import TAIL, Deflater, Inflater
    from gun_core.ws_frames import CloseCode, FrameError

from fuzz import invariants as inv

__all__ = ["LIMIT", "check"]

LIMIT = 512
_ERRORS = (CloseCode.INVALID_FRAME_PAYLOAD_DATA, CloseCode.MESSAGE_TOO_BIG)


def _message(inflater: Inflater, pieces: list[bytes], limit: int) -> bytes | int:
    """Inflate one message fed in ``pieces``: its bytes, or the close code of its error."""
    out: list[bytes] = []
    size = 0
    for piece in [*pieces, None]:  # None: the end of the message
        if piece is None:
            r = inv.call(inflater.finish, limit - size)
        else:
            r = inv.call(inflater.feed, piece, limit - size)
        if isinstance(r, FrameError):
            inv.ensure(r.code in _ERRORS and r.message, f"unexpected error {r!r}")
            return int(r.code)
        inv.ensure(type(r) is bytes, f"{'finish' if piece is None else 'feed'} returned {r!r}")
        size += len(r)
        inv.ensure(size <= limit, f"inflated {size} bytes, over the limit {limit}")
        out.append(r)
    return b"".join(out)


def _oracle(data: bytes) -> bytes | None:
    """zlib's raw inflate of one message, when it is a single, unfinished DEFLATE stream."""
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(data + TAIL, LIMIT + 1)
    except zlib.error:
        return None
    if d.eof or d.unconsumed_tail or len(out) > LIMIT:
        return None
    return out


def check(data: bytes) -> None:
    """Check one fuzz input (see the module docstring)."""
    inp = Input(data)
    c = inp.config
    nct = bool(c & 2)
    if not c & 1:
        whole = Inflater(nct)
        cut = Inflater(nct)
        for _ in range(2):
            a = _message(whole, [inp.payload] if inp.payload else [], LIMIT)
            b = _message(cut, inp.reads(), LIMIT)
            if a != b:
                # Say whether the same computation on fresh inflaters gives the same verdict again.
                again = (_message(Inflater(nct), [inp.payload], LIMIT), _message(Inflater(nct), inp.reads(), LIMIT))
                raise inv.InvariantError(
                    f"the result depends on how the input was cut: {a!r} != {b!r} (fresh inflaters: {again!r})"
                )
            if isinstance(a, int):
                break
        first = _message(Inflater(nct), [inp.payload] if inp.payload else [], LIMIT)
        expected = _oracle(inp.payload)
        if expected is not None:
            inv.ensure(first == expected, f"inflate gives {first!r}, zlib gives {expected!r}")
        return
    bits = 9 + ((c >> 2) & 7) % 7  # 9..15: zlib cannot deflate with a 256-byte window
    deflater = Deflater(bits, nct)
    inflater = Inflater(nct)
    for message in inp.payload.split(b"\xff")[:20]:
        compressed = deflater.compress(message)
        inv.ensure(compressed is not None, f"no compression with {bits} window bits")
        assert compressed is not None
        got = _message(inflater, split_reads(compressed, inp.split), LIMIT)
        if len(message) > LIMIT:
            inv.ensure(got == CloseCode.MESSAGE_TOO_BIG, f"a {len(message)}-byte message gave {got!r}")
            return
        inv.ensure(got == message, f"round trip gave {got!r} for {message!r}")


if __name__ == "__main__":
    run_fuzzer(check)
