"""Fuzz target ``ws``: the websocket frame reader (gun_core.ws) after a completed handshake.

The config byte picks: permessage-deflate on or off (and its context-takeover parameters),
a flow credit, ``silence_pings``, raw or structured payload, whether we send our Close first,
and whether the run is repeated with the pure-Python accelerator twins patched into
``gun_core.ws`` (``apply_mask``, ``Utf8Validator``): both runs must give the same events.

Structured payloads are records ``[b0][how][length] payload``: ``b0`` is the frame's first
byte as sent (FIN, RSV1-3, opcode); ``how`` bit 0 masks the frame (servers must not),
bit 1 deflates the payload (RFC 7692 7.2.1), bit 2/3 force the 16/64-bit length form.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from fuzz.harness import Input, instrumented_imports, run_fuzzer

with instrumented_imports():
    import gun_core.ws as ws_module
    from gun_core.accel import pure
    from gun_core.events import Event
    from gun_core.options import WsOpts
    from gun_core.ws import Close, WsProtocol
    from gun_core.ws_deflate import DeflateParams
    from gun_core.ws_handshake import Negotiated

from fuzz import invariants as inv

__all__ = ["SID", "check", "drive", "pure_twins", "record", "structured"]

SID = 1
MAX_MESSAGE = 256
FLOW = 50
_DEFLATE = (
    DeflateParams(),
    DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True),
    DeflateParams(server_max_window_bits=9, client_max_window_bits=9),
    DeflateParams(server_no_context_takeover=True, server_max_window_bits=8),
)


def record(b0: int, how: int, payload: bytes) -> bytes:
    """One structured record, as written in corpus files."""
    return bytes((b0, how, len(payload) & 0xFF)) + payload


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4] if out.endswith(b"\x00\x00\xff\xff") else out


def structured(payload: bytes) -> bytes:
    """Turn records into frames (see the module docstring)."""
    out: list[bytes] = []
    pos = 0
    while pos + 3 <= len(payload):
        b0, how, length = payload[pos : pos + 3]
        body = payload[pos + 3 : pos + 3 + length]
        pos += 3 + length
        if how & 2:
            body = _deflate(body)
        n = len(body)
        mask = 0x80 if how & 1 else 0
        if how & 8:
            head = struct.pack(">BBQ", b0, mask | 127, n)
        elif how & 4 or n > 125:
            head = struct.pack(">BBH", b0, mask | 126, n)
        else:
            head = bytes((b0, mask | n))
        if mask:
            key = b"\x01\x02\x03\x04"
            head += key
            body = pure.apply_mask(body, key)
        out.append(head + body)
    return b"".join(out)


@contextmanager
def pure_twins() -> Iterator[None]:
    """Run gun_core.ws on the pure-Python accelerator twins for the duration."""
    names = ("apply_mask", "Utf8Validator")
    saved = [getattr(ws_module, name) for name in names]
    for name in names:
        setattr(ws_module, name, getattr(pure, name))
    try:
        yield
    finally:
        for name, value in zip(names, saved, strict=True):
            setattr(ws_module, name, value)


def drive(core: WsProtocol, ledger: inv.Ledger, reads: list[bytes], *, close_first: bool = False) -> list[Event]:
    """Feed ``reads`` to a websocket core with every check; end with the peer closing."""
    limit = core.opts.max_message_size
    sid = core.stream_id
    log: list[Event] = []

    def step(events: list[Event]) -> None:
        inv.check_events(events)
        log.extend(events)
        ledger.feed(events)
        inv.check_ws_bounds(core)
        inv.check_message_sizes(events, limit)
        inv.ensure(type(core.data_to_send()) is bytes, "data_to_send returned non-bytes")

    def unpause() -> None:
        for _ in range(100_000):
            if not core.paused or ledger.over:
                return
            step(inv.call(core.update_flow, sid, FLOW))
        raise inv.InvariantError("the websocket core stays paused although credit keeps being granted")

    if close_first:
        step(core.send(Close(1000, "bye")))
    for chunk in reads:
        unpause()
        got = inv.call(core.receive_data, chunk)
        if ledger.over:
            inv.ensure(not got, f"events after the end: {got!r}")
            continue
        step(got)
    if not ledger.over:
        unpause()
        if close_first:
            step(inv.call(core.timeout, "closing"))
        if not ledger.over:
            step(inv.call(core.receive_data, b""))
    ledger.finish()
    inv.ensure(core.active_streams() == [], f"streams still active after Closed: {core.active_streams()}")
    return log


def _run(inp: Input, payload: bytes) -> list[Event]:
    c = inp.config
    opts = WsOpts(
        max_message_size=MAX_MESSAGE,
        flow=FLOW if c & 0x08 else None,
        silence_pings=not c & 0x10,
        compress=bool(c & 1),
    )
    negotiated = Negotiated(None, _DEFLATE[(c >> 1) & 3] if c & 1 else None)
    core = WsProtocol(SID, opts, negotiated)
    ledger = inv.Ledger()
    ledger.start(SID, ws=True)
    return drive(core, ledger, inp.reads(payload), close_first=bool(c & 0x40))


def check(data: bytes) -> None:
    """Feed one fuzz input to a fresh websocket core and check every invariant."""
    inp = Input(data)
    payload = structured(inp.payload) if inp.config & 0x20 else inp.payload
    events = _run(inp, payload)
    if inp.config & 0x80:
        with pure_twins():
            twin_events = _run(inp, payload)
        inv.ensure(events == twin_events, f"C and pure twins disagree:\n{events!r}\n{twin_events!r}")


if __name__ == "__main__":
    run_fuzzer(check)
