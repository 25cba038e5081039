"""The one place that picks the C accelerator or its pure-Python twin.

``ENABLED`` is true when the compiled ``gun_core._accel`` extension is in use (through
``gun_core.accel._cffi``); otherwise the pure-Python twins of ``gun_core.accel.pure`` are.
``GUN_NO_ACCEL=1`` (or ``yes``/``true``) forces the pure-Python path. Both give identical
results. ``IMPORT_ERROR`` says why the extension is not in use, when it is not.

No other module imports ``gun_core._accel``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from . import pure
from .pure import SCAN_ERROR, SCAN_NEED_HEADER, SCAN_NEED_PAYLOAD, SCAN_OK, H2Header, WsHeader

__all__ = [
    "ENABLED",
    "IMPORT_ERROR",
    "SCAN_ERROR",
    "SCAN_NEED_HEADER",
    "SCAN_NEED_PAYLOAD",
    "SCAN_OK",
    "Filler",
    "H2Header",
    "MaskKeys",
    "Utf8Validator",
    "WakeupBase",
    "WsHeader",
    "apply_mask",
    "build_ws_frame",
    "parse_ws_headers",
    "scan_h2_headers",
    "slot_builder",
    "ws_event_types",
    "ws_simple_frames",
]

ENABLED = False
IMPORT_ERROR: str | None = None

if TYPE_CHECKING:
    from .pure import (
        Filler,
        MaskKeys,
        Utf8Validator,
        WakeupBase,
        apply_mask,
        build_ws_frame,
        parse_ws_headers,
        scan_h2_headers,
        slot_builder,
        ws_event_types,
        ws_simple_frames,
    )
else:
    _impl = pure
    if os.environ.get("GUN_NO_ACCEL", "").strip().lower() in ("1", "yes", "true"):
        IMPORT_ERROR = "disabled by GUN_NO_ACCEL"
    else:
        try:
            from . import _cffi as _impl
        except (ImportError, AttributeError) as exc:  # not built, or built from other sources
            IMPORT_ERROR = f"{type(exc).__name__}: {exc}"
            _impl = pure
        else:
            ENABLED = True
    apply_mask = _impl.apply_mask
    build_ws_frame = _impl.build_ws_frame
    parse_ws_headers = _impl.parse_ws_headers
    scan_h2_headers = _impl.scan_h2_headers
    Utf8Validator = _impl.Utf8Validator
    Filler = _impl.Filler
    ws_event_types = _impl.ws_event_types
    ws_simple_frames = _impl.ws_simple_frames
    WakeupBase = _impl.WakeupBase
    slot_builder = _impl.slot_builder
    MaskKeys = _impl.MaskKeys
