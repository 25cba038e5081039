"""The ``gun_io.trace`` logger: one line per frame, event or message when ``trace`` is on."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["logger", "trace_bytes", "trace_event"]

logger = logging.getLogger("gun_io.trace")


def _short(data: bytes, limit: int = 64) -> str:
    if len(data) <= limit:
        return repr(data)
    return f"{data[:limit]!r}...({len(data)} bytes)"


def trace_bytes(conn_id: int, direction: str, data: bytes) -> None:
    """Log bytes read (``"<<"``) or written (``">>"``) on a connection."""
    logger.debug("conn#%d %s %d bytes %s", conn_id, direction, len(data), _short(data))


def trace_event(conn_id: int, what: str, item: Any) -> None:
    """Log one core event or delivered message."""
    logger.debug("conn#%d %s %r", conn_id, what, item)
