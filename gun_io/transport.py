"""Transport settings: TCP options, TLS contexts (certifi + hostname check), ALPN names."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from typing import Any

import certifi

from gun_core.errors import BadOption

__all__ = ["ALPN", "apply_tcp_opts", "check_tcp_opts", "check_tls_opts", "make_ssl_context"]

#: ALPN protocol ids for our protocol names (RFC 7301, RFC 9113 3.2).
ALPN = {"http2": "h2", "http": "http/1.1"}
ALPN_REVERSE = {v: k for k, v in ALPN.items()}

_TLS_KEYS = {
    "verify",
    "cafile",
    "capath",
    "cadata",
    "certfile",
    "keyfile",
    "password",
    "server_hostname",
    "ciphers",
    "minimum_version",
    "keylog_filename",
}
_TCP_KEYS = {"nodelay", "keepalive", "rcvbuf", "sndbuf"}


def check_tls_opts(value: Any) -> ssl.SSLContext | dict[str, Any]:
    """Validate ``tls_opts``: an ``ssl.SSLContext`` or a dict of known keys."""
    if value is None:
        return {}
    if isinstance(value, ssl.SSLContext):
        return value
    if not isinstance(value, Mapping):
        raise BadOption(f"tls_opts must be an ssl.SSLContext or a dict, not {type(value).__name__}")
    for key in value:
        if key not in _TLS_KEYS:
            raise BadOption(f"unknown option tls_opts.{key}; known: {', '.join(sorted(_TLS_KEYS))}")
    if "verify" in value and not isinstance(value["verify"], bool):
        raise BadOption(f"tls_opts.verify must be True or False, not {value['verify']!r}")
    return dict(value)


def check_tcp_opts(value: Any) -> dict[str, Any]:
    """Validate ``tcp_opts``."""
    if value is None:
        return {"nodelay": True}
    if not isinstance(value, Mapping):
        raise BadOption(f"tcp_opts must be a dict, not {type(value).__name__}")
    for key in value:
        if key not in _TCP_KEYS:
            raise BadOption(f"unknown option tcp_opts.{key}; known: {', '.join(sorted(_TCP_KEYS))}")
    out = {"nodelay": True}
    out.update(value)
    return out


def make_ssl_context(tls_opts: ssl.SSLContext | Mapping[str, Any], protocols: list[str]) -> ssl.SSLContext:
    """Return the client context: verified against certifi by default, ALPN set from ``protocols``."""
    if isinstance(tls_opts, ssl.SSLContext):
        ctx = tls_opts
    else:
        verify = tls_opts.get("verify", True)
        if tls_opts.get("cafile") or tls_opts.get("capath") or tls_opts.get("cadata"):
            ctx = ssl.create_default_context(
                cafile=tls_opts.get("cafile"), capath=tls_opts.get("capath"), cadata=tls_opts.get("cadata")
            )
        else:
            ctx = ssl.create_default_context(cafile=certifi.where())
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if tls_opts.get("certfile"):
            ctx.load_cert_chain(tls_opts["certfile"], tls_opts.get("keyfile"), tls_opts.get("password"))
        if tls_opts.get("ciphers"):
            ctx.set_ciphers(tls_opts["ciphers"])
        if tls_opts.get("minimum_version") is not None:
            ctx.minimum_version = tls_opts["minimum_version"]
        if tls_opts.get("keylog_filename"):
            ctx.keylog_filename = tls_opts["keylog_filename"]
    ctx.set_alpn_protocols([ALPN[p] for p in protocols])
    return ctx


def apply_tcp_opts(sock: socket.socket, tcp_opts: Mapping[str, Any]) -> None:
    """Set the socket options named in ``tcp_opts`` (TCP sockets only)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    if tcp_opts.get("nodelay", True):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tcp_opts.get("keepalive"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if tcp_opts.get("rcvbuf"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(tcp_opts["rcvbuf"]))
    if tcp_opts.get("sndbuf"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(tcp_opts["sndbuf"]))
