"""Fixtures for driver tests: ``driver`` runs each test with the sync and the asyncio driver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.drivers import AioDriver, SyncDriver


@pytest.fixture(params=["sync", "aio"])
def driver(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The driver under test, behind one blocking interface."""
    drv: Any = SyncDriver() if request.param == "sync" else AioDriver()
    try:
        yield drv
    finally:
        drv.close()
