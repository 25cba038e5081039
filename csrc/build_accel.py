"""CFFI builder for gun_core._accel (out-of-line API mode).

``setup.py`` names this module in ``cffi_modules``; it can also be run by hand
(``python csrc/build_accel.py``) to build the extension next to the sources.

The declarations come from ``csrc/gun_accel.h`` (the part between the CDEF markers)
and the code from ``csrc/gun_accel.c``. ``GUN_BUILD_ACCEL=yes`` makes a failed build
an error; otherwise the extension is optional and a failed build only warns.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cffi import FFI  # type: ignore[import-untyped,unused-ignore]

HERE = Path(__file__).resolve().parent


def _cdef_source() -> str:
    text = (HERE / "gun_accel.h").read_text()
    start = text.index("/* CDEF BEGIN */")
    end = text.index("/* CDEF END */")
    return text[start:end]


def _extra_compile_args() -> list[str]:
    if sys.platform == "win32":
        return ["/O2"]
    return ["-O3", "-std=c99"]


# Prepended to the generated wrappers. CFFI releases the GIL around every call; our
# functions are short, never block and touch no Python object, and dropping and
# re-taking the GIL costs more than most of them run. Holding it also guarantees that
# no other thread resizes a buffer while C reads or writes it.
_PREAMBLE = """
#undef Py_BEGIN_ALLOW_THREADS
#undef Py_END_ALLOW_THREADS
#define Py_BEGIN_ALLOW_THREADS {
#define Py_END_ALLOW_THREADS }
#include "gun_accel.h"
"""

ffibuilder = FFI()
ffibuilder.cdef(_cdef_source())
ffibuilder.set_source(
    "gun_core._accel",
    _PREAMBLE,
    # Paths relative to the project root: setuptools runs setup.py from there.
    sources=["csrc/gun_accel.c"],
    include_dirs=["csrc"],
    depends=["csrc/gun_accel.h", "csrc/gun_utf8_dfa.h"],
    extra_compile_args=_extra_compile_args(),
    # The limited API (abi3) makes every call much slower: build per Python version.
    py_limited_api=False,
    # setuptools Extension(optional=True): a compile failure warns and the pure-Python
    # twins are used; GUN_BUILD_ACCEL=yes (CI) turns that into an error.
    optional=os.environ.get("GUN_BUILD_ACCEL", "").lower() != "yes",
)

if __name__ == "__main__":
    # The usual way is `python setup.py build_ext --inplace`; this builds the same module in place
    # and removes the intermediate files it leaves next to the sources.
    os.chdir(HERE.parent)
    print(ffibuilder.compile(tmpdir=".", verbose=True))
    for leftover in ("gun_core/_accel.c", "gun_core/_accel.o", "csrc/gun_accel.o"):
        Path(leftover).unlink(missing_ok=True)
