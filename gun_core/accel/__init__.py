"""The one place that picks the C accelerator or its pure-Python twin.

``ENABLED`` is true when the compiled ``gun_core._accel`` module is in use.
``GUN_NO_ACCEL=1`` forces the pure-Python path.
"""

from __future__ import annotations

import os

from .pure import Utf8Validator, apply_mask

__all__ = ["ENABLED", "Utf8Validator", "apply_mask"]

ENABLED = False

if os.environ.get("GUN_NO_ACCEL", "") not in ("1", "yes", "true"):
    pass  # the C module is wired in by the accelerator work (csrc/)
