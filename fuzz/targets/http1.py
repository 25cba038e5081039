"""Fuzz target ``http1``: the HTTP/1.1 response parser (gun_core.http1, gun_core.http1_body).

The config byte picks the requests in flight before the server's bytes arrive (GET, HEAD,
pipelined requests, a chunked request body, ``te: trailers``, an upgrade, CONNECT), flow
control, HTTP/1.0, a graceful shutdown, a cancel, and how the connection ends. The payload is
the server's response stream, fed in the reads the split byte chooses.
"""

from __future__ import annotations

from fuzz.harness import Input, instrumented_imports, run_fuzzer

with instrumented_imports():
    from gun_core.http1 import Http1Protocol
    from gun_core.options import Http1Opts, WsOpts
    from gun_core.ws_handshake import upgrade_headers

from fuzz import invariants as inv

__all__ = ["OPTS", "check", "open_requests"]

#: Small limits, so that the fuzzer reaches them.
OPTS = Http1Opts(max_header_block_size=256, max_trailer_block_size=128)
OPTS_10 = Http1Opts(max_header_block_size=256, max_trailer_block_size=128, version="HTTP/1.0")
#: RFC 6455 1.3's sample key (its accept value is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=).
WS_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
FLOW = 5

# (method, path, kind) per request; kind: "" plain, "chunked" body via data(), "te" asks for
# trailers, "upgrade" a websocket upgrade.
SCRIPTS: list[list[tuple[bytes, bytes, str]]] = [
    [(b"GET", b"/", "")],
    [(b"HEAD", b"/", "")],
    [(b"GET", b"/a", ""), (b"GET", b"/b", ""), (b"GET", b"/c", "")],
    [(b"GET", b"/a", ""), (b"HEAD", b"/b", ""), (b"GET", b"/c", "")],
    [(b"POST", b"/echo", "chunked"), (b"GET", b"/", "")],
    [(b"GET", b"/trailers", "te")],
    [(b"GET", b"/ws", "upgrade"), (b"GET", b"/after", "")],
    [(b"CONNECT", b"example.com:443", "")],
]


def open_requests(
    core: Http1Protocol, ledger: inv.Ledger, script: list[tuple[bytes, bytes, str]], flow: int | None
) -> list[int]:
    """Issue the script's requests; return their stream ids."""
    ids = []
    v10 = core._v10
    for method, path, kind in script:
        if kind == "upgrade" and not v10:
            headers = upgrade_headers(WS_KEY, WsOpts())
            sid = core.request(method, path, headers, None, flow=flow, upgrade=True)
        elif kind == "chunked":
            headers = [(b"content-length", b"5")] if v10 else []
            sid = core.request(method, path, headers, None, body_follows=True, flow=flow)
            inv.check_events(core.data(sid, False, b"he"))
            inv.check_events(core.data(sid, True, b"llo"))
        elif kind == "te":
            sid = core.request(method, path, [(b"te", b"trailers")], None, flow=flow)
        else:
            sid = core.request(method, path, [], None, flow=flow)
        ledger.start(sid, method)
        ids.append(sid)
    return ids


def unpause(core: Http1Protocol, ledger: inv.Ledger, ids: list[int]) -> None:
    """What a driver does when the core pauses reads: the owner grants more credit."""
    for _ in range(10_000):
        if not core.paused or ledger.over:
            return
        for sid in ids:
            events = inv.check_events(inv.call(core.update_flow, sid, FLOW))
            ledger.feed(events)
            core.data_to_send()
    raise inv.InvariantError("the core stays paused although credit keeps being granted")


def feed(core: Http1Protocol, ledger: inv.Ledger, reads: list[bytes], ids: list[int]) -> None:
    """Feed the reads, checking events and bounds after each."""
    for chunk in reads:
        unpause(core, ledger, ids)
        events = inv.check_events(inv.call(core.receive_data, chunk))
        if ledger.over:
            inv.ensure(not events, f"events after the end: {events!r}")
            continue
        ledger.feed(events)
        inv.check_http1_bounds(core)
        inv.ensure(type(core.data_to_send()) is bytes, "data_to_send returned non-bytes")


def close(core: Http1Protocol, ledger: inv.Ledger, ids: list[int], how: int) -> None:
    """End the connection: the peer closes (or the closing timer fires first)."""
    if not ledger.over:
        unpause(core, ledger, ids)
        if how == 1:
            ledger.feed(inv.check_events(inv.call(core.timeout, "closing")))
        if not ledger.over:
            ledger.feed(inv.check_events(inv.call(core.receive_data, b"")))
    ledger.finish()
    if ledger.closed is not None:
        inv.ensure(core.active_streams() == [], f"streams still active after Closed: {core.active_streams()}")
        inv.ensure(core.closing, "closing is false after Closed")


def check(data: bytes) -> None:
    """Feed one fuzz input to a fresh HTTP/1.1 core and check every invariant."""
    inp = Input(data)
    c = inp.config
    v10 = bool(c & 0x10)
    core = Http1Protocol(b"example.com", OPTS_10 if v10 else OPTS)
    ledger = inv.Ledger(strict_head=True)
    flow = FLOW if c & 0x08 else None
    ids = open_requests(core, ledger, SCRIPTS[c & 7], flow)
    core.data_to_send()
    how = c >> 6
    if how == 3:
        inv.check_events(core.cancel(ids[0]))
        ledger.cancel(ids[0])
    if c & 0x20:
        ledger.feed(inv.check_events(core.close_gracefully()))
    feed(core, ledger, inp.reads(), ids)
    close(core, ledger, ids, how)


if __name__ == "__main__":
    run_fuzzer(check)
