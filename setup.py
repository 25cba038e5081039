"""Build script for the optional C accelerator; all static metadata is in pyproject.toml.

Two extensions make up the accelerator, both compiled from csrc/gun_accel.c: the CFFI module
gun_core._accel, and gun_core._speedups, a small CPython-API module for the functions whose
result is new bytes (CFFI cannot return a Python object made in C; see csrc/gun_speedups.c).

GUN_BUILD_ACCEL selects what happens to them:
  yes  build it, and fail the install when it cannot be built (CI sets this);
  no   do not build it: gun_core runs on its pure-Python twins;
  (unset) try to build it; when that fails (no C compiler, no Python headers),
       warn and install the pure-Python package anyway.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup  # type: ignore[import-untyped,unused-ignore]

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
    kwargs["ext_modules"] = [
        Extension(
            "gun_core._speedups",
            sources=["csrc/gun_speedups.c", "csrc/gun_accel.c"],
            include_dirs=["csrc"],
            depends=["csrc/gun_accel.h", "csrc/gun_utf8_dfa.h"],
            extra_compile_args=[] if sys.platform == "win32" else ["-O3"],
            # A failed compile warns and the CFFI wrappers (or the pure twins) are used;
            # GUN_BUILD_ACCEL=yes (CI) turns that into an error.
            optional=mode != "yes",
        )
    ]

setup(**kwargs)
