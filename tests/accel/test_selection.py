"""The selection point gun_core.accel: C when built, pure Python when not or when GUN_NO_ACCEL=1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import gun_core.accel as accel
from gun_core.accel import pure

from .conftest import ON_CI, load_c_twin

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {"apply_mask", "build_ws_frame", "parse_ws_headers", "scan_h2_headers", "Utf8Validator"}
NO_ACCEL = os.environ.get("GUN_NO_ACCEL", "").strip().lower() in ("1", "yes", "true")


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "GUN_NO_ACCEL"}
    environ.update(env)
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60, check=False
    )


def test_gun_no_accel_forces_pure_python() -> None:
    """GUN_NO_ACCEL=1 makes gun_core.accel use the pure-Python twins, and ENABLED says so."""
    proc = run_python(
        "import gun_core.accel as a, gun_core.accel.pure as p\n"
        "assert not a.ENABLED\n"
        "assert a.apply_mask is p.apply_mask and a.Utf8Validator is p.Utf8Validator\n"
        "assert a.apply_mask(b'Hello', bytes.fromhex('37fa213d')) == bytes.fromhex('7f9f4d5158')\n"
        "print(a.IMPORT_ERROR)",
        GUN_NO_ACCEL="1",
    )
    assert proc.returncode == 0, proc.stderr
    assert "GUN_NO_ACCEL" in proc.stdout


def test_missing_extension_falls_back_to_pure_python() -> None:
    """When gun_core._accel cannot be imported (not built), gun_core.accel still works, in pure
    Python, and says why."""
    proc = run_python(
        "import sys\n"
        "sys.modules['gun_core._accel'] = None  # what a missing extension looks like to import\n"
        "import gun_core.accel as a, gun_core.accel.pure as p\n"
        "assert not a.ENABLED and 'gun_core._accel' in a.IMPORT_ERROR, a.IMPORT_ERROR\n"
        "assert a.build_ws_frame is p.build_ws_frame\n"
        "v = a.Utf8Validator(); assert v.feed(b'\\xc3', False) and v.feed(b'\\xa9', True)\n"
    )
    assert proc.returncode == 0, proc.stderr


def test_enabled_when_built() -> None:
    """Without GUN_NO_ACCEL the C twins are used whenever the extension is built; under CI=true it
    must be built."""
    c_twin, why = load_c_twin()
    if NO_ACCEL:
        assert not accel.ENABLED
        assert accel.apply_mask is pure.apply_mask
        return
    if c_twin is None:
        if ON_CI:
            pytest.fail(f"CI=true but gun_core._accel is not built: {why}")
        assert not accel.ENABLED
        pytest.skip(f"gun_core._accel is not built: {why}")
    assert accel.ENABLED, accel.IMPORT_ERROR
    assert accel.IMPORT_ERROR is None
    for name in PUBLIC:
        assert getattr(accel, name) is getattr(c_twin, name)


def test_same_names_everywhere() -> None:
    """gun_core.accel, the pure twin and the C twin export the same functions and status codes."""
    assert PUBLIC <= set(accel.__all__)
    assert PUBLIC <= set(pure.__all__)
    assert {"ENABLED", "SCAN_OK", "SCAN_NEED_HEADER", "SCAN_NEED_PAYLOAD", "SCAN_ERROR"} <= set(accel.__all__)
    c_twin, _ = load_c_twin()
    if c_twin is not None:
        assert PUBLIC <= set(c_twin.__all__)
        for name in ("SCAN_OK", "SCAN_NEED_HEADER", "SCAN_NEED_PAYLOAD", "SCAN_ERROR"):
            assert getattr(c_twin, name) == getattr(pure, name) == getattr(accel, name)


def test_no_other_module_imports_the_extension() -> None:
    """Only gun_core/accel/_cffi.py imports gun_core._accel and gun_core._speedups (the single
    selection point)."""
    offenders = []
    for path in list((ROOT / "gun_core").rglob("*.py")) + list((ROOT / "gun_io").rglob("*.py")):
        if path.name == "_cffi.py" and path.parent.name == "accel":
            continue
        text = path.read_text()
        if any(s in text for s in ("_accel import", "import gun_core._accel", "_speedups")):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_c_twin_fills_fresh_bytes_or_bytearrays(c_twin: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """The C twin's results are new bytes objects on both of its paths (bytes filled in place on
    CPython, a bytearray copied elsewhere), and the two paths give the same bytes."""
    key = b"\x01\x02\x03\x04"
    data = bytes(range(200))
    want = (pure.apply_mask(data, key, 3), pure.build_ws_frame(0x82, data, key))
    for flag in (True, False):
        monkeypatch.setattr(c_twin, "FILL_BYTES_IN_PLACE", flag)
        got = (c_twin.apply_mask(data, key, 3), c_twin.build_ws_frame(0x82, data, key))
        assert got == want
        assert all(type(x) is bytes for x in got)
    for variant in (c_twin._apply_mask_fill, c_twin._apply_mask_copy):
        for n in (0, 1, 2, 5, 300):
            for kind in (bytes, bytearray, memoryview):
                src = kind(bytearray(data[:n]))
                assert variant(src, kind(bytearray(key)), 7) == pure.apply_mask(data[:n], key, 7)
