"""CI smoke run of every fuzz target (``fuzz/run TARGET SECONDS``), so that the harness never rots.

Each target runs under atheris for a short while (``GUN_FUZZ_SMOKE_SECONDS``, default 20) from its
committed corpus and must end without a crash: the robustness invariants (never raise on peer
input, well-typed events, every stream ends exactly once, bounded buffers, C and pure twins
agree) hold on everything the fuzzer tries. Without atheris the test is skipped locally and
fails under CI, like the tests that need a real server.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz.runner import TARGETS
from tests.servers import unavailable

ROOT = Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("GUN_FUZZ_SMOKE_SECONDS", "20"))


@pytest.mark.timeout(SECONDS + 100)
@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_smoke(target: str, tmp_path: Path) -> None:
    """The fuzz target runs for a short while and finds no invariant violation."""
    if importlib.util.find_spec("atheris") is None:
        unavailable("atheris is not installed (pip install -e '.[test]')")
    env = dict(os.environ, PYTHON=sys.executable, GUN_FUZZ_WORKDIR=str(tmp_path))
    env.pop("GUN_FUZZ_KNOWN", None)
    proc = subprocess.run(
        [str(ROOT / "fuzz" / "run"), target, str(SECONDS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SECONDS + 90,
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr[-6000:]}"
    assert "execs=" in proc.stdout and " OK " in proc.stdout, proc.stdout
