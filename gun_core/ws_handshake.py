"""The websocket opening handshake, client side: pure functions (RFC 6455 4.1, RFC 8441 4-5).

HTTP/1.1: the driver sends a GET with :func:`upgrade_headers` (a fresh :func:`new_key`),
and when the server answers 101 it calls :func:`check_response` with the same key.

HTTP/2 (RFC 8441): the driver sends an extended CONNECT (``:protocol: websocket``, added
by the HTTP/2 core) with ``upgrade_headers(b"", opts, http2=True)``; on a 2xx answer it
calls ``check_response(None, status, headers, opts)``.

Either way a :class:`Negotiated` result is what :class:`gun_core.ws.WsProtocol` needs.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import Reason
from .options import WsOpts
from .ws_deflate import EXTENSION, OFFER, DeflateParams, accept_response, parse_extensions

__all__ = ["GUID", "Negotiated", "accept_key", "check_response", "new_key", "upgrade_headers"]

#: RFC 6455 1.3: the GUID concatenated to the key to compute the accept value.
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What the handshake agreed: the subprotocol and the permessage-deflate parameters."""

    protocol: str | None = None
    deflate: DeflateParams | None = None


def new_key() -> bytes:
    """A fresh ``sec-websocket-key``: base64 of 16 random bytes (RFC 6455 4.1)."""
    return base64.b64encode(os.urandom(16))


def accept_key(key: bytes) -> bytes:
    """The ``sec-websocket-accept`` value a server must answer ``key`` with (RFC 6455 4.2.2)."""
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def upgrade_headers(key: bytes | None, opts: WsOpts, *, http2: bool = False) -> list[tuple[bytes, bytes]]:
    """The request headers that ask for a websocket (RFC 6455 4.1; RFC 8441 4 with ``http2``).

    With ``http2`` there is no ``connection``, ``upgrade`` or ``sec-websocket-key``
    (RFC 8441 5: they have no meaning in HTTP/2); ``key`` is ignored then.
    """
    if http2:
        headers = [(b"sec-websocket-version", b"13")]
    else:
        if not key:
            raise ValueError("an HTTP/1.1 websocket upgrade needs a key (new_key())")
        headers = [
            (b"connection", b"upgrade"),
            (b"upgrade", b"websocket"),
            (b"sec-websocket-version", b"13"),
            (b"sec-websocket-key", key),
        ]
    if opts.protocols:
        headers.append((b"sec-websocket-protocol", ", ".join(opts.protocols).encode("ascii")))
    if opts.compress:
        headers.append((b"sec-websocket-extensions", OFFER))
    return headers


def _values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [v for n, v in headers if n.lower() == name]


def _tokens(values: list[bytes]) -> list[bytes]:
    return [t.strip().lower() for v in values for t in v.split(b",") if t.strip()]


def check_response(
    key: bytes | None, status: int, headers: Iterable[tuple[bytes, bytes]], opts: WsOpts
) -> Negotiated | Reason:
    """Check the server's answer to our upgrade request; return what was agreed or why not.

    ``key`` is the ``sec-websocket-key`` we sent, or ``None`` for HTTP/2 (RFC 8441). A
    failure is a connection-scoped :class:`Reason` for HTTP/1.1 (the connection cannot
    be used any more) and a stream-scoped one for HTTP/2; its kind is ``"ws_upgrade"``.
    """
    headers = list(headers)
    fail = Reason.connection if key is not None else Reason.stream
    if key is not None:
        # RFC 6455 4.1, the client's checks of the server's handshake, in order.
        if status != 101:
            return fail("ws_upgrade", f"expected status 101 to a websocket upgrade, got {status} (RFC 6455 4.1)")
        upgrade = _values(headers, b"upgrade")
        if len(upgrade) != 1 or upgrade[0].strip().lower() != b"websocket":
            return fail("ws_upgrade", f"the upgrade header must be 'websocket', got {upgrade!r} (RFC 6455 4.1)")
        if b"upgrade" not in _tokens(_values(headers, b"connection")):
            return fail("ws_upgrade", "the connection header must contain 'upgrade' (RFC 6455 4.1)")
        accept = _values(headers, b"sec-websocket-accept")
        expected = accept_key(key)
        if len(accept) != 1 or accept[0].strip() != expected:
            return fail(
                "ws_upgrade",
                f"sec-websocket-accept is {accept!r}, expected {expected!r} (RFC 6455 4.1)",
            )
    elif not 200 <= status <= 299:
        return fail("ws_upgrade", f"expected a 2xx status to an extended CONNECT, got {status} (RFC 8441 5)")

    protocol: str | None = None
    sub = _tokens(_values(headers, b"sec-websocket-protocol"))
    if sub:
        if len(sub) != 1:
            return fail("ws_upgrade", f"the server selected several subprotocols {sub!r} (RFC 6455 4.1)")
        chosen = _values(headers, b"sec-websocket-protocol")[0].strip().decode("latin-1")
        if chosen not in opts.protocols:
            return fail(
                "ws_upgrade", f"the server selected subprotocol {chosen!r} that we did not offer (RFC 6455 4.1)"
            )
        protocol = chosen

    deflate: DeflateParams | None = None
    ext_values = _values(headers, b"sec-websocket-extensions")
    if ext_values:
        parsed = parse_extensions(b", ".join(ext_values))
        if isinstance(parsed, str):
            return fail("ws_upgrade", parsed)
        for name, params in parsed:
            if name != EXTENSION or not opts.compress:
                return fail(
                    "ws_upgrade", f"the server accepted extension {name!r} that we did not offer (RFC 6455 4.1)"
                )
            if deflate is not None:
                return fail("ws_upgrade", "the server accepted permessage-deflate twice (RFC 6455 9.1, RFC 7692 7)")
            result = accept_response(params)
            if isinstance(result, str):
                return fail("ws_upgrade", result)
            deflate = result
    return Negotiated(protocol, deflate)
