"""Fuzz target ``ws_handshake``: the websocket upgrade response (HTTP/1.1 101 path, RFC 6455 4.1).

An HTTP/1.1 core sends a websocket upgrade (with RFC 6455 1.3's sample key; permessage-deflate
and subprotocols offered or not, a request pipelined behind it or not) and receives the
payload. On ``SwitchProtocol`` the response is judged by ``ws_handshake.check_response``, as
the driver does; when accepted, a websocket core takes the bytes after the 101 (and the
following reads) with all the websocket checks of the ``ws`` target. Checks on the verdict:
an accepted handshake really has status 101, ``upgrade: websocket``, ``connection: upgrade``,
the right ``sec-websocket-accept``, a subprotocol and extension we offered; a refusal is a
``ws_upgrade`` reason citing the RFC.

Config bit 3 instead fuzzes the ``sec-websocket-extensions`` parser and the permessage-deflate
response checks (``parse_extensions``, ``accept_response``) with the payload as the field value.
"""

from __future__ import annotations

from fuzz.harness import Input, instrumented_imports, run_fuzzer

with instrumented_imports():
    from gun_core.errors import Reason
    from gun_core.events import SwitchProtocol
    from gun_core.http1 import Http1Protocol
    from gun_core.options import WsOpts
    from gun_core.ws import WsProtocol
    from gun_core.ws_deflate import DeflateParams, accept_response, parse_extensions
    from gun_core.ws_handshake import Negotiated, accept_key, check_response, upgrade_headers

from fuzz import invariants as inv
from fuzz.targets import http1, ws

__all__ = ["KEY", "check"]

KEY = http1.WS_KEY


def _values(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [v for n, v in headers if n == name]


def _check_extensions(value: bytes) -> None:
    parsed = inv.call(parse_extensions, value)
    if isinstance(parsed, str):
        inv.ensure("RFC" in parsed, f"an error without a citation: {parsed!r}")
        return
    inv.ensure(isinstance(parsed, list), f"parse_extensions returned {parsed!r}")
    for name, params in parsed:
        inv.ensure(type(name) is str and name and name == name.lower(), f"extension name {name!r}")
        for pname, pvalue in params:
            inv.ensure(type(pname) is str and pname, f"parameter {pname!r}")
            inv.ensure(pvalue is None or type(pvalue) is str, f"parameter value {pvalue!r}")
        # What was parsed, written back in canonical form, parses to the same.
        text = name + "".join(f"; {p}" if v is None else f"; {p}={v}" for p, v in params)
        again = parse_extensions(text)
        inv.ensure(again == [(name, params)], f"{text!r} reparses as {again!r}")
        result = inv.call(accept_response, params)
        if isinstance(result, str):
            inv.ensure("RFC" in result, f"an error without a citation: {result!r}")
        else:
            inv.ensure(type(result) is DeflateParams, f"accept_response returned {result!r}")
            inv.ensure(8 <= result.server_max_window_bits <= 15 and 8 <= result.client_max_window_bits <= 15, "bits")


def _judge(e: SwitchProtocol, opts: WsOpts) -> Negotiated | None:
    result = inv.call(check_response, KEY, e.status, e.headers, opts)
    if isinstance(result, Reason):
        inv.check_reason(result, "connection")
        inv.ensure(result.kind == "ws_upgrade" and "RFC" in result.message, f"refusal {result!r}")
        return None
    inv.ensure(type(result) is Negotiated, f"check_response returned {result!r}")
    h = e.headers
    upgrade = _values(h, b"upgrade")
    inv.ensure(e.status == 101, f"accepted a {e.status}")
    inv.ensure(len(upgrade) == 1 and upgrade[0].strip().lower() == b"websocket", f"accepted upgrade {upgrade!r}")
    tokens = [t.strip().lower() for v in _values(h, b"connection") for t in v.split(b",")]
    inv.ensure(b"upgrade" in tokens, "accepted without connection: upgrade")
    inv.ensure([v.strip() for v in _values(h, b"sec-websocket-accept")] == [accept_key(KEY)], "accepted a bad accept")
    inv.ensure(result.protocol is None or result.protocol in opts.protocols, f"accepted {result.protocol!r}")
    inv.ensure(result.deflate is None or opts.compress, "accepted permessage-deflate we did not offer")
    return result


def check(data: bytes) -> None:
    """Check one fuzz input (see the module docstring)."""
    inp = Input(data)
    c = inp.config
    if c & 0x08:
        _check_extensions(inp.payload)
        return
    opts = WsOpts(
        compress=bool(c & 1),
        protocols=("chat", "superchat") if c & 2 else (),
        max_message_size=ws.MAX_MESSAGE,
        silence_pings=not c & 0x10,
    )
    core = Http1Protocol(b"example.com", http1.OPTS)
    ledger = inv.Ledger(strict_head=True)
    sid = core.request(b"GET", b"/chat", upgrade_headers(KEY, opts), None, upgrade=True)
    ledger.start(sid)
    ids = [sid]
    if c & 4:
        later = core.request(b"GET", b"/later", [], None)
        ledger.start(later)
        ids.append(later)
    core.data_to_send()
    reads = inp.reads()
    for i, chunk in enumerate(reads):
        events = inv.check_events(inv.call(core.receive_data, chunk))
        ledger.feed(events)
        inv.check_http1_bounds(core)
        core.data_to_send()
        if ledger.switched is not None:
            inv.ensure(not core.receive_data(b"more"), "the HTTP/1.1 core is not inert after the switch")
            negotiated = _judge(ledger.switched, opts)
            if negotiated is not None:
                wsc = WsProtocol(sid, opts, negotiated)
                wsl = inv.Ledger()
                wsl.start(sid, ws=True)
                rest = [ledger.switched.trailing] if ledger.switched.trailing else []
                ws.drive(wsc, wsl, rest + reads[i + 1 :])
            return
        if ledger.over:
            break
    http1.close(core, ledger, ids, 0)


if __name__ == "__main__":
    run_fuzzer(check)
