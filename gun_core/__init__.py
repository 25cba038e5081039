"""gun_core: the sans-IO protocol core of gun (HTTP/1.1, HTTP/2, Websocket)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
