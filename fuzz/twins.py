"""The C twin of ``gun_core.accel.pure`` when the extension is built, else ``None``."""

from __future__ import annotations

from types import ModuleType

from fuzz.harness import instrumented_imports

__all__ = ["C_TWIN", "C_TWIN_ERROR"]

C_TWIN: ModuleType | None
C_TWIN_ERROR: str | None = None

with instrumented_imports():
    try:
        from gun_core.accel import _cffi as C_TWIN
    except ImportError as exc:  # not built: the differential checks compare pure with pure
        C_TWIN = None
        C_TWIN_ERROR = str(exc)
