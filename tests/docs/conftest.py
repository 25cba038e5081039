"""The docs tests use the CLI tests' demo server (hypercorn serving ``gun_io.demo_app`` on 127.0.0.1)."""

from __future__ import annotations

from tests.cli.conftest import demo_server

__all__ = ["demo_server"]
