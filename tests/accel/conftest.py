"""Fixtures for the accelerator tests: every test runs on the pure-Python twin and on the C twin.

``impl`` is ``gun_core.accel.pure`` (id ``py``) or ``gun_core.accel._cffi`` (id ``c``), whatever
``GUN_NO_ACCEL`` says: these tests check the twins themselves. When the C extension is not built
the ``c`` cases skip, except under ``CI=true``, where they fail: CI must build and test both.
"""

from __future__ import annotations

import os
from types import ModuleType

import pytest

from gun_core.accel import pure

ON_CI = os.environ.get("CI", "").strip().lower() == "true"


def load_c_twin() -> tuple[ModuleType | None, str]:
    """The C twin module, or None and why it cannot be imported."""
    try:
        from gun_core.accel import _cffi
    except ImportError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return _cffi, ""


def require_c_twin() -> ModuleType:
    """The C twin; skips the test when it is not built, fails it under CI=true."""
    mod, why = load_c_twin()
    if mod is None:
        message = (
            f"the C accelerator gun_core._accel is not built ({why}); "
            "build it with `python setup.py build_ext --inplace`"
        )
        if ON_CI:
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    return mod


@pytest.fixture(params=["py", "c"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """One twin: ``py`` (the specification) or ``c`` (the accelerator)."""
    if request.param == "py":
        return pure
    return require_c_twin()


@pytest.fixture
def c_twin() -> ModuleType:
    """The C twin, for differential tests that compare it with ``pure``."""
    return require_c_twin()
