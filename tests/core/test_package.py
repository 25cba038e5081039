"""Package-level contracts: exports, imports of the sans-IO core, typing markers."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import pathlib

import gun_core
import gun_io
from gun_io import aio

ROOT = pathlib.Path(__file__).resolve().parents[2]
FORBIDDEN = {"socket", "ssl", "selectors", "asyncio", "threading", "time"}

MESSAGES = [
    "GunUp",
    "GunDown",
    "GunNotify",
    "GunInform",
    "GunResponse",
    "GunData",
    "GunTrailers",
    "GunPush",
    "GunUpgrade",
    "GunWs",
    "GunError",
]
FRAMES = ["Text", "Binary", "Ping", "Pong", "Close"]
ERRORS = ["GunException", "Timeout", "ConnectionDown", "StreamError", "ConnectionFailure", "BadOption", "InvalidHeader"]
API_NAMES = {"open", "open_unix", "Connection", "Mailbox", "StreamRef", *MESSAGES, *FRAMES, *ERRORS}


def test_gun_io_exports_exactly_the_api() -> None:
    """gun_io and gun_io.aio export the names of API.md, no more, no less."""
    assert set(gun_io.__all__) == API_NAMES
    assert set(aio.__all__) == API_NAMES
    for name in API_NAMES:
        assert hasattr(gun_io, name) and hasattr(aio, name)


def test_messages_are_frozen_slotted_dataclasses_with_api_fields() -> None:
    """Messages are frozen dataclasses with slots and the fields of API.md, in order."""
    expected = {
        "GunUp": ["conn", "protocol"],
        "GunDown": ["conn", "protocol", "reason", "killed_streams", "unprocessed_streams"],
        "GunNotify": ["conn", "event", "value"],
        "GunInform": ["conn", "stream_ref", "status", "headers"],
        "GunResponse": ["conn", "stream_ref", "fin", "status", "headers"],
        "GunData": ["conn", "stream_ref", "fin", "data"],
        "GunTrailers": ["conn", "stream_ref", "headers"],
        "GunPush": ["conn", "stream_ref", "new_stream_ref", "method", "uri", "headers"],
        "GunUpgrade": ["conn", "stream_ref", "protocols", "headers"],
        "GunWs": ["conn", "stream_ref", "frame"],
        "GunError": ["conn", "stream_ref", "reason"],
    }
    for name, fields in expected.items():
        cls = getattr(gun_io, name)
        assert dataclasses.is_dataclass(cls)
        assert [f.name for f in dataclasses.fields(cls)] == fields
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
        assert hasattr(cls, "__slots__")


def test_errors_hierarchy() -> None:
    """Every error derives from GunException; Timeout is a TimeoutError; BadOption a ValueError."""
    for name in ERRORS:
        assert issubclass(getattr(gun_io, name), gun_io.GunException)
    assert issubclass(gun_io.Timeout, TimeoutError)
    assert issubclass(gun_io.BadOption, ValueError)
    assert issubclass(gun_io.InvalidHeader, ValueError)


def test_core_imports_no_io() -> None:
    """gun_core imports nothing from socket, ssl, selectors, asyncio, threading or time."""
    for path in (ROOT / "gun_core").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module.split(".")[0]]
            bad = FORBIDDEN.intersection(names)
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_every_core_module_has_all_and_a_test_module() -> None:
    """Every public gun_core module has __all__ and its own test module."""
    tests = {p.stem for p in (ROOT / "tests").rglob("test_*.py")}
    for path in sorted((ROOT / "gun_core").glob("*.py")):
        if path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"gun_core.{path.stem}")
        assert hasattr(module, "__all__"), f"gun_core.{path.stem} has no __all__"
        assert any(t.startswith(f"test_{path.stem}") for t in tests), f"no test module for gun_core.{path.stem}"


def test_typed_markers() -> None:
    """Both packages ship py.typed."""
    assert (ROOT / "gun_core" / "py.typed").exists()
    assert (ROOT / "gun_io" / "py.typed").exists()
    assert gun_core.__version__
