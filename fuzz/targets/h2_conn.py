"""Fuzz target ``h2_conn``: the HTTP/2 connection machine (gun_core.http2) with HPACK input.

A fresh client core opens 1 to 4 streams (GET, HEAD, a POST whose body outgrows the send
window, a GET with a small flow credit) and then receives the server's bytes. The config byte
picks: how many streams, push enabled, flow credit, whether a valid server preface (SETTINGS,
SETTINGS ACK) is prepended, raw or structured payload, and how the connection ends.

Structured payloads are records ``[type][flags][stream][length] payload``: each becomes a
well-framed HTTP/2 frame (so the fuzzer spends its time on the machine, not on framing).
Types ``0xF0``/``0xF1`` make HEADERS/PUSH_PROMISE whose field block is HPACK-encoded, with a
server-side encoder whose dynamic table stays in step with the client's decoder, from
header fields picked by the payload bytes out of :data:`VOCABULARY`.
"""

from __future__ import annotations

import struct

from fuzz.harness import Input, instrumented_imports, run_fuzzer

with instrumented_imports():
    from hpack import Encoder

    from gun_core.events import Data, Event
    from gun_core.http2 import Http2Protocol
    from gun_core.options import Http2Opts

from fuzz import invariants as inv

__all__ = ["OPTS", "VOCABULARY", "check", "record", "server_preface"]

OPTS = Http2Opts(
    max_header_list_size=1024,
    max_decode_table_size=256,
    initial_stream_window_size=4096,
    max_concurrent_streams=8,
)
FLOW = 100
_HDR = struct.Struct(">BHBBL")

#: Header fields a structured HEADERS/PUSH_PROMISE record picks from (by payload byte).
VOCABULARY: list[tuple[bytes, bytes]] = [
    (b":status", b"200"),
    (b":status", b"100"),
    (b":status", b"204"),
    (b":status", b"404"),
    (b":status", b"101"),
    (b":status", b"2000"),
    (b"content-length", b"0"),
    (b"content-length", b"5"),
    (b"content-type", b"text/plain"),
    (b"x-trailer", b"1"),
    (b":method", b"GET"),
    (b":method", b"HEAD"),
    (b":path", b"/pushed"),
    (b":scheme", b"https"),
    (b":authority", b"example.com"),
    (b"connection", b"close"),
    (b"Upper", b"x"),
    (b"te", b"trailers"),
    (b"set-cookie", b"a=b"),
    (b"x-long", b"v" * 300),
    (b":protocol", b"websocket"),
    (b"x-empty", b""),
    (b"x-bad", b"a\r\nb"),
]

# Stream ids a structured record may name (by its stream byte): the wire ids of our requests,
# the even ids of pushes, 0, and a few odd ones.
_SIDS = (0, 1, 3, 5, 7, 2, 4, 6, 9, 0x7FFFFFFF)


def frame(ftype: int, flags: int, sid: int, payload: bytes) -> bytes:
    n = len(payload)
    return _HDR.pack(n >> 16, n & 0xFFFF, ftype, flags, sid) + payload


def server_preface() -> bytes:
    """A server preface (SETTINGS) and the ACK of the client's SETTINGS."""
    return frame(4, 0, 0, struct.pack(">HL", 3, 100)) + frame(4, 1, 0, b"")


def record(ftype: int, flags: int, stream: int, payload: bytes) -> bytes:
    """One structured record, as written in corpus files."""
    return bytes((ftype, flags, stream, len(payload))) + payload


def structured(payload: bytes) -> bytes:
    """Turn records into frames (see the module docstring)."""
    encoder = Encoder()
    # The client's SETTINGS_HEADER_TABLE_SIZE (RFC 7541 4.2: a size update opens the first block).
    encoder.header_table_size = OPTS.max_decode_table_size
    out: list[bytes] = []
    pos = 0
    n = len(payload)
    while pos + 4 <= n:
        ftype, flags, stream, length = payload[pos : pos + 4]
        body = payload[pos + 4 : pos + 4 + length]
        pos += 4 + length
        sid = _SIDS[stream] if stream < len(_SIDS) else stream
        if ftype in (0xF0, 0xF1):
            picks = body[1:] if ftype == 0xF1 else body
            fields = [VOCABULARY[b % len(VOCABULARY)] for b in picks]
            block = bytes(encoder.encode(fields))
            if ftype == 0xF1:
                promised = _SIDS[body[0] % len(_SIDS)] if body else 2
                out.append(frame(5, (flags & 0x01) | 0x04, sid, struct.pack(">L", promised) + block))
            else:
                out.append(frame(1, (flags & 0x01) | 0x04, sid, block))
        else:
            out.append(frame(ftype, flags, sid, body))
    return b"".join(out)


def open_streams(core: Http2Protocol, ledger: inv.Ledger, n: int, flow: int | None) -> list[int]:
    """Open ``n`` streams: GET, HEAD, a POST larger than the send window, GET with credit."""
    specs = [
        (b"GET", b"/", None, None),
        (b"HEAD", b"/h", None, None),
        (b"POST", b"/p", b"x" * 70_000, None),
        (b"GET", b"/f", None, FLOW),
    ]
    ids = []
    for method, path, body, credit in specs[:n]:
        sid = core.request(method, path, [(b"te", b"trailers")], body, flow=credit if credit else flow)
        ledger.start(sid, method, uploads=body is not None)
        ids.append(sid)
    return ids


def step(core: Http2Protocol, ledger: inv.Ledger, events: list[Event], flows: bool) -> None:
    """Check a batch of events, then act as the owner: consume the data delivered."""
    ledger.feed(inv.check_events(events))
    inv.check_http2_bounds(core)
    inv.ensure(type(core.data_to_send()) is bytes, "data_to_send returned non-bytes")
    if flows and not ledger.over:
        for ev in list(events):
            if type(ev) is Data and ev.data and ev.stream_id in ledger.open_ids():
                step(core, ledger, inv.call(core.update_flow, ev.stream_id, len(ev.data)), False)


def check(data: bytes) -> None:
    """Feed one fuzz input to a fresh HTTP/2 core and check every invariant."""
    inp = Input(data)
    c = inp.config
    core = Http2Protocol(b"example.com", b"https", OPTS, enable_push=bool(c & 0x04))
    ledger = inv.Ledger()
    flows = bool(c & 0x08)
    ids = open_streams(core, ledger, (c & 3) + 1, FLOW if flows else None)
    core.data_to_send()
    payload = structured(inp.payload) if c & 0x20 else inp.payload
    if c & 0x10:
        payload = server_preface() + payload
    how = c >> 6
    if how == 3:
        step(core, ledger, inv.check_events(core.cancel(ids[0])), False)
        ledger.cancel(ids[0])
    for chunk in inp.reads(payload):
        events = inv.call(core.receive_data, chunk)
        if ledger.over:
            inv.ensure(not events, f"events after the end: {events!r}")
            continue
        step(core, ledger, events, True)
    if not ledger.over and how in (1, 2):
        step(core, ledger, inv.call(core.close_gracefully), False)
        if how == 2 and not ledger.over:
            step(core, ledger, inv.call(core.timeout, "closing"), False)
    if not ledger.over:
        step(core, ledger, inv.call(core.receive_data, b""), False)
    ledger.finish()
    inv.ensure(core.active_streams() == [], f"streams still active after Closed: {core.active_streams()}")
    inv.ensure(core.closing, "closing is false after Closed")


if __name__ == "__main__":
    run_fuzzer(check)
