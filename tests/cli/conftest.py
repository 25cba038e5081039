"""Fixtures of the CLI tests: the demo server (hypercorn serving ``gun_io.demo_app``) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gun_io.demo import DemoServer
from tests.servers import require


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    """hypercorn on 127.0.0.1: ``tls_port`` (ALPN h2, http/1.1; CA in ``cafile``) and ``plain_port``."""
    require("py:hypercorn", "the demo server needs hypercorn (the demo or test extra)")
    require("py:trustme", "the demo server needs trustme (the demo or test extra)")
    server = DemoServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
