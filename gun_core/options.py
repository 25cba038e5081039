"""Checks and defaults for the protocol option dicts: http_opts, http2_opts, ws_opts.

Each ``check_*`` takes the user's dict (or ``None``) and returns a frozen options
object, raising :class:`~gun_core.errors.BadOption` for an unknown key or a value of
the wrong type or range. Timeouts are in seconds, ``None`` meaning infinity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from .errors import BadOption

__all__ = [
    "Http1Opts",
    "Http2Opts",
    "WsOpts",
    "check_http2_opts",
    "check_http_opts",
    "check_int",
    "check_timeout",
    "check_ws_opts",
]


def check_timeout(name: str, value: Any, *, allow_none: bool = True) -> float | None:
    """A non-negative number of seconds, or ``None`` (infinity) when allowed."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise BadOption(
            f"{name} must be a non-negative number of seconds{' or None' if allow_none else ''}, not {value!r}"
        )
    return float(value)


def check_int(name: str, value: Any, lo: int = 0, hi: int | None = None, *, allow_none: bool = False) -> int | None:
    """An integer within ``[lo, hi]`` (or ``None`` when allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise BadOption(f"{name} must be an integer {rng}{' or None' if allow_none else ''}, not {value!r}")
    return value


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadOption(f"{name} must be True or False, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Http1Opts:
    """HTTP/1.1 options (``http_opts``)."""

    keepalive: float | None = None
    transform_header_name: Callable[[bytes], bytes] | None = None
    version: str = "HTTP/1.1"
    closing_timeout: float | None = 15.0
    flow: int | None = None
    max_header_block_size: int = 65536
    max_trailer_block_size: int = 65536


@dataclass(frozen=True, slots=True)
class Http2Opts:
    """HTTP/2 options (``http2_opts``)."""

    keepalive: float | None = None
    keepalive_tolerance: int | None = None
    initial_connection_window_size: int = 65535
    initial_stream_window_size: int = 65535
    max_concurrent_streams: int | None = None
    max_frame_size_received: int = 16384
    max_decode_table_size: int = 4096
    max_header_list_size: int = 65536
    settings_timeout: float | None = 5.0
    preface_timeout: float | None = 5.0
    closing_timeout: float | None = 15.0
    flow: int | None = None
    enable_connect_protocol: bool = False


@dataclass(frozen=True, slots=True)
class WsOpts:
    """Websocket options (``ws_opts``)."""

    compress: bool = False
    protocols: tuple[str, ...] = field(default=())
    keepalive: float | None = None
    silence_pings: bool = True
    closing_timeout: float | None = 15.0
    max_message_size: int = 64 * 1024 * 1024
    flow: int | None = None


T = TypeVar("T")


def _check(
    cls: type[T], opts: Mapping[str, Any] | None, label: str, checkers: Mapping[str, Callable[[str, Any], Any]]
) -> T:
    if opts is None:
        return cls()
    if isinstance(opts, cls):
        return opts
    if not isinstance(opts, Mapping):
        raise BadOption(f"{label} must be a dict, not {type(opts).__name__}")
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in opts.items():
        if key not in known:
            raise BadOption(f"unknown option {label}.{key!s}; known: {', '.join(sorted(known))}")
        values[key] = checkers[key](f"{label}.{key}", value)
    return cls(**values)


def _version(name: str, value: Any) -> str:
    if value not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadOption(f"{name} must be 'HTTP/1.1' or 'HTTP/1.0', not {value!r}")
    return str(value)


def _callable_or_none(name: str, value: Any) -> Any:
    if value is not None and not callable(value):
        raise BadOption(f"{name} must be a callable or None, not {value!r}")
    return value


def _pos(lo: int, hi: int | None = None, allow_none: bool = False) -> Callable[[str, Any], Any]:
    return lambda n, v: check_int(n, v, lo, hi, allow_none=allow_none)


def _protocols(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise BadOption(f"{name} must be a list of subprotocol names, not {value!r}")
    out = []
    for p in value:
        if isinstance(p, bytes):
            p = p.decode("ascii", "replace")
        if not isinstance(p, str) or not p or any(c in p for c in " ,\r\n\t\0"):
            raise BadOption(f"{name}: invalid subprotocol {p!r}")
        out.append(p)
    return tuple(out)


def check_http_opts(opts: Mapping[str, Any] | None) -> Http1Opts:
    """Validate ``http_opts``."""
    return _check(
        Http1Opts,
        opts,
        "http_opts",
        {
            "keepalive": check_timeout,
            "transform_header_name": _callable_or_none,
            "version": _version,
            "closing_timeout": check_timeout,
            "flow": _pos(0, allow_none=True),
            "max_header_block_size": _pos(1),
            "max_trailer_block_size": _pos(1),
        },
    )


def check_http2_opts(opts: Mapping[str, Any] | None) -> Http2Opts:
    """Validate ``http2_opts``."""
    return _check(
        Http2Opts,
        opts,
        "http2_opts",
        {
            "keepalive": check_timeout,
            "keepalive_tolerance": _pos(1, allow_none=True),
            "initial_connection_window_size": _pos(65535, 2**31 - 1),
            "initial_stream_window_size": _pos(0, 2**31 - 1),
            "max_concurrent_streams": _pos(0, 2**31 - 1, allow_none=True),
            "max_frame_size_received": _pos(16384, 2**24 - 1),
            "max_decode_table_size": _pos(0, 2**31 - 1),
            "max_header_list_size": _pos(1, 2**31 - 1),
            "settings_timeout": check_timeout,
            "preface_timeout": check_timeout,
            "closing_timeout": check_timeout,
            "flow": _pos(0, allow_none=True),
            "enable_connect_protocol": _check_bool,
        },
    )


def check_ws_opts(opts: Mapping[str, Any] | None) -> WsOpts:
    """Validate ``ws_opts``."""
    return _check(
        WsOpts,
        opts,
        "ws_opts",
        {
            "compress": _check_bool,
            "protocols": _protocols,
            "keepalive": check_timeout,
            "silence_pings": _check_bool,
            "closing_timeout": check_timeout,
            "max_message_size": _pos(1),
            "flow": _pos(0, allow_none=True),
        },
    )
