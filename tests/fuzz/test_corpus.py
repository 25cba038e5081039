"""Every committed seed and every saved crash input goes through its fuzz target's checks.

The fuzz targets (``fuzz/targets``) each expose ``check(data)``, which feeds one input to a
fresh protocol core and checks the robustness invariants of ``fuzz/invariants.py``: the core
never raises on peer input (RFC 9112, RFC 9113, RFC 6455 all say to fail the connection
instead), every event is well-typed, every stream ends exactly once, buffers stay bounded,
and the C and pure-Python accelerator twins agree. Plain pytest runs them here, without atheris.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from fuzz.runner import TARGETS

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "fuzz" / "corpus"
INPUTS = Path(__file__).resolve().parent / "inputs"


def _files(base: Path) -> list[Any]:
    out = []
    for target in TARGETS:
        folder = base / target
        if folder.is_dir():
            out += [pytest.param(target, f, id=f"{target}/{f.name}") for f in sorted(folder.iterdir()) if f.is_file()]
    return out


def _check(target: str, path: Path) -> None:
    importlib.import_module(f"fuzz.targets.{target}").check(path.read_bytes())


def test_every_target_has_a_corpus() -> None:
    """Each fuzz target has seeds to start from (spec examples and captured traffic)."""
    for target in TARGETS:
        assert len(list((CORPUS / target).glob("*"))) >= 5, target


@pytest.mark.parametrize(("target", "path"), _files(CORPUS))
def test_corpus_file(target: str, path: Path) -> None:
    """A seed of the committed corpus passes every invariant of its target."""
    _check(target, path)


@pytest.mark.parametrize(("target", "path"), _files(INPUTS))
def test_regression_input(target: str, path: Path) -> None:
    """An input that once broke an invariant (a bug found by fuzzing) passes now."""
    _check(target, path)
