"""The C sources on their own: a sanitizer build of csrc/tests/test_accel.c, and a strict-warnings build.

The harness checks every C function against slow references written from the RFCs, over
exhaustive small inputs and seeded random ones, with AddressSanitizer and UndefinedBehaviorSanitizer
watching every read and write. Without gcc these tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from .conftest import ON_CI

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "csrc"
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror"]


def gcc() -> str:
    path = shutil.which("gcc")
    if path is None:
        reason = "gcc is not installed: the C harness cannot be built"
        if ON_CI:
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)
    return path


def test_harness_under_address_and_undefined_sanitizers(tmp_path: Path) -> None:
    """csrc/tests/test_accel.c, built with -fsanitize=address,undefined and -Wall -Wextra -Werror,
    runs clean: every check passes and no sanitizer reports anything."""
    exe = tmp_path / "test_accel"
    build = subprocess.run(
        [
            gcc(),
            *STRICT,
            "-O1",
            "-g",
            "-fno-omit-frame-pointer",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            f"-I{CSRC}",
            str(CSRC / "tests" / "test_accel.c"),
            str(CSRC / "gun_accel.c"),
            "-o",
            str(exe),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    run = subprocess.run(
        [str(exe)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "runtime error" not in run.stderr
    assert "AddressSanitizer" not in run.stderr
    assert run.stdout.strip().endswith(" passed, 0 failed"), run.stdout


def compile_quietly(tmp_path: Path, source: str, flags: list[str]) -> None:
    """Compile csrc/``source`` to an object file with ``flags``: no error and not one warning."""
    build = subprocess.run(
        [gcc(), *flags, f"-I{CSRC}", "-c", str(CSRC / source), "-o", str(tmp_path / "out.o")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    assert build.stderr == ""


@pytest.mark.parametrize("opt", ["-O0", "-O3"])
def test_strict_warnings_build(tmp_path: Path, opt: str) -> None:
    """csrc/gun_accel.c compiles without a single warning under -Wall -Wextra -Werror (and
    -pedantic, -Wconversion, -Wshadow), unoptimised and optimised."""
    compile_quietly(tmp_path, "gun_accel.c", [*STRICT, "-pedantic", "-Wconversion", "-Wshadow", opt])


def test_generated_utf8_table_is_current() -> None:
    """csrc/gun_utf8_dfa.h is exactly what csrc/gen_utf8_dfa.py generates from the RFC 3629 ABNF."""
    proc = subprocess.run(
        [sys.executable, str(CSRC / "gen_utf8_dfa.py"), "--check"], capture_output=True, timeout=60, check=False
    )
    assert proc.returncode == 0, "csrc/gun_utf8_dfa.h is stale: run python csrc/gen_utf8_dfa.py"


@pytest.mark.parametrize("opt", ["-O0", "-O3"])
def test_speedups_strict_warnings_build(tmp_path: Path, opt: str) -> None:
    """csrc/gun_speedups.c (the CPython-API module) compiles without a warning under -Wall -Wextra
    -Werror against this Python's headers, unoptimised and optimised."""
    include = sysconfig.get_paths()["include"]
    if not (Path(include) / "Python.h").exists():
        reason = f"the Python headers are not installed ({include})"
        if ON_CI:
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)
    compile_quietly(tmp_path, "gun_speedups.c", ["-Wall", "-Wextra", "-Werror", "-Wshadow", opt, f"-I{include}"])
