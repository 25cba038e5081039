"""Build script for the optional C accelerator; all static metadata is in pyproject.toml.

GUN_BUILD_ACCEL selects what happens to the CFFI extension gun_core._accel:
  yes  build it, and fail the install when it cannot be built (CI sets this);
  no   do not build it: gun_core runs on its pure-Python twins;
  (unset) try to build it; when that fails (no C compiler, no Python headers),
       warn and install the pure-Python package anyway.
"""

from __future__ import annotations

import os
import sys

from setuptools import setup  # type: ignore[import-untyped,unused-ignore]

mode = os.environ.get("GUN_BUILD_ACCEL", "").strip().lower()
if mode not in ("", "yes", "no"):
    sys.exit(f"GUN_BUILD_ACCEL must be 'yes' or 'no', not {mode!r}")

kwargs: dict[str, object] = {}
if mode != "no":
    try:
        import cffi  # type: ignore[import-untyped,unused-ignore]  # noqa: F401  (provides cffi_modules)
    except ImportError:
        if mode == "yes":
            raise
        print("warning: cffi is not installed; gun_core._accel is not built (pure Python)", file=sys.stderr)
    else:
        kwargs["cffi_modules"] = ["csrc/build_accel.py:ffibuilder"]

setup(**kwargs)
