"""Building and installing: the C extension is optional, GUN_BUILD_ACCEL picks what a failure means.

These run setup.py (and pip) on a copy of the project in a temporary folder, with CC pointing to a
"compiler" that always fails, as on a machine without a C compiler.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ON_CI

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _needs_setuptools() -> None:
    """Building needs setuptools in this interpreter (CI installs it)."""
    if importlib.util.find_spec("setuptools") is None:
        if ON_CI:
            pytest.fail("CI=true: setuptools is not installed")
        pytest.skip("setuptools is not installed in this interpreter")


def project_copy(tmp_path: Path) -> Path:
    """The files a build needs, without build products or caches."""
    dest = tmp_path / "src"
    dest.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, dest / name)
    if not (dest / "README.md").exists():
        (dest / "README.md").write_text("gun\n")
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", "_accel.c", "*.egg-info")
    for name in ("csrc", "gun_core", "gun_io"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, dest / name, ignore=ignore)
        else:
            (dest / name).mkdir()
            (dest / name / "__init__.py").write_text("")
    return dest


def no_compiler_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GUN_BUILD_ACCEL", "GUN_NO_ACCEL", "PYTHONPATH")}
    env["CC"] = "false"  # every compile fails, as with no compiler at all
    env["LDSHARED"] = "false"
    env.update(extra)
    return env


def build_ext(src: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def built_extensions(src: Path) -> list[Path]:
    return [
        p
        for name in ("_accel", "_speedups")
        for p in (src / "gun_core").glob(f"{name}*")
        if p.suffix in (".so", ".pyd")
    ]


def test_failed_build_only_warns_by_default(tmp_path: Path) -> None:
    """Without a working C compiler the build still succeeds, warns, and leaves no extension behind."""
    src = project_copy(tmp_path)
    proc = build_ext(src, no_compiler_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "gun_core._accel" in proc.stdout + proc.stderr
    assert "gun_core._speedups" in proc.stdout + proc.stderr
    assert "failed" in (proc.stdout + proc.stderr).lower()
    assert built_extensions(src) == []


def test_failed_build_is_an_error_with_gun_build_accel_yes(tmp_path: Path) -> None:
    """GUN_BUILD_ACCEL=yes (as on CI) makes a failed C build fail the whole build."""
    src = project_copy(tmp_path)
    proc = build_ext(src, no_compiler_env(tmp_path, GUN_BUILD_ACCEL="yes"))
    assert proc.returncode != 0
    assert built_extensions(src) == []


def test_gun_build_accel_no_skips_the_extension(tmp_path: Path) -> None:
    """GUN_BUILD_ACCEL=no does not even try to build the extension."""
    src = project_copy(tmp_path)
    proc = build_ext(src, no_compiler_env(tmp_path, GUN_BUILD_ACCEL="no"))
    assert proc.returncode == 0, proc.stderr
    assert "_accel" not in proc.stdout + proc.stderr
    assert "_speedups" not in proc.stdout + proc.stderr
    assert built_extensions(src) == []


def test_gun_build_accel_rejects_other_values(tmp_path: Path) -> None:
    """GUN_BUILD_ACCEL is yes, no, or unset; anything else stops the build with a clear message."""
    src = project_copy(tmp_path)
    proc = build_ext(src, no_compiler_env(tmp_path, GUN_BUILD_ACCEL="maybe"))
    assert proc.returncode != 0
    assert "GUN_BUILD_ACCEL" in proc.stderr


def test_pip_install_without_compiler_works_in_pure_python(tmp_path: Path) -> None:
    """`pip install .` on a machine without a C compiler installs a working gun_core that runs on the
    pure-Python twins (gun_core.accel.ENABLED is False)."""
    src = project_copy(tmp_path)
    target = tmp_path / "site"
    env = no_compiler_env(tmp_path)
    # An ordinary, isolated build: pip fetches the [build-system] requirements itself.
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(src)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0 and not ON_CI and "satisfies the requirement" in proc.stderr:
        pytest.skip(f"the build requirements cannot be fetched here: {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not list((target / "gun_core").glob("_accel*"))
    assert not list((target / "gun_core").glob("_speedups*"))
    # -S: no site-packages, so nothing installed elsewhere (an editable install, say) can lend
    # gun_core a compiled extension; only the install in `target` is seen.
    check = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            "import gun_core, gun_core.accel as a\n"
            f"assert gun_core.__file__.startswith({str(target)!r}), gun_core.__file__\n"
            "assert not a.ENABLED\n"
            "assert 'gun_core._accel' in a.IMPORT_ERROR, a.IMPORT_ERROR\n"
            "assert a.apply_mask(b'Hello', bytes.fromhex('37fa213d')) == bytes.fromhex('7f9f4d5158')\n"
            "assert a.Utf8Validator().feed('caf\\u00e9'.encode(), True)\n",
        ],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stderr
