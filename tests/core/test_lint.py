"""The tree is ruff-clean (lint and format) and mypy-clean (strict, gun_core and gun_io), as the
developers' standards ask: checked here so that CI fails when it is not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import require

ROOT = Path(__file__).resolve().parents[2]
PYTHON_TREES = ["gun_core", "gun_io", "tests", "bench", "fuzz", "csrc", "setup.py"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_clean(command: list[str]) -> None:
    require("py:ruff", "ruff is not installed (the test extra has it)")
    result = _run("ruff", *command, *[p for p in PYTHON_TREES if (ROOT / p).exists()])
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_clean() -> None:
    require("py:mypy", "mypy is not installed (the test extra has it)")
    result = _run("mypy")  # files and strictness from pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr
