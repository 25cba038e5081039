"""``gun`` on a terminal: the progress bar (rich) for long transfers, and the interactive websocket."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from gun_io.demo import DemoServer
from gun_io.demo_app import pattern
from tests.cli.helpers import PtyRun, run_gun
from tests.servers import require

_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def _screen(raw: bytes) -> str:
    return _ANSI.sub(b"", raw).decode("utf-8", "replace")


@pytest.fixture
def needs_rich() -> None:
    require("py:rich", "the progress bar needs rich (the cli extra)")


@pytest.mark.usefixtures("needs_rich")
def test_download_progress_bar_on_a_terminal(demo_server: DemoServer, tmp_path: Path) -> None:
    """A download of about 2 s shows a bar on stderr with the size, the rate and the time left."""
    target = tmp_path / "slow.bin"
    run = PtyRun("-o", str(target), demo_server.url("/bytes?size=3000000&rate=1500000", tls=False))
    try:
        rc = run.wait(30)
    finally:
        run.close()
    assert rc == 0
    screen = _screen(run.output)
    assert "↓ slow.bin" in screen
    assert re.search(r"\d\.\d/3\.0 MB", screen), screen[-500:]  # size: done / total
    assert re.search(r"\d+(\.\d+)? [kM]B/s", screen)  # rate
    assert "eta" in screen and re.search(r"\d:\d\d:\d\d", screen)  # time left
    assert "3.0/3.0 MB" in screen
    assert target.read_bytes() == pattern(3000000)


@pytest.mark.usefixtures("needs_rich")
def test_upload_progress_bar_on_a_terminal(demo_server: DemoServer, tmp_path: Path) -> None:
    """An upload slower than a second shows an upload bar that reaches the file size."""
    src = tmp_path / "up.bin"
    src.write_bytes(os.urandom(16_000_000))
    run = PtyRun("-d", f"@{src}", demo_server.url("/upload?rate=5000000", tls=False))
    try:
        rc = run.wait(40)
    finally:
        run.close()
    assert rc == 0
    screen = _screen(run.output)
    assert "↑ up.bin" in screen
    assert "16.0/16.0 MB" in screen
    assert '"size": 16000000' in screen


def test_no_progress_bar_for_a_fast_transfer_or_in_a_pipe(demo_server: DemoServer, tmp_path: Path) -> None:
    """A transfer under a second shows no bar even on a terminal; in a pipe stderr stays empty."""
    target = tmp_path / "fast.bin"
    run = PtyRun("-o", str(target), demo_server.url("/bytes?size=100000", tls=False))
    try:
        assert run.wait(20) == 0
    finally:
        run.close()
    assert _screen(run.output).strip() == ""
    r = run_gun("-o", str(target), demo_server.url("/bytes?size=3000000&rate=2000000", tls=False))
    assert (r.rc, r.err) == (0, "")


def test_interactive_websocket(demo_server: DemoServer) -> None:
    """Typed lines become text frames and the echo is printed; Ctrl-D closes cleanly (1000) with exit 0."""
    run = PtyRun("ws", "--close-delay", "0.1", demo_server.ws_url("/ws"))
    try:
        run.read_until(b"Ctrl-D to close")
        run.write(b"first line\n")
        run.read_until(b"first line")
        run.write(b"second\n")
        run.read_until(b"second")
        run.write(b"\x04")
        rc = run.wait(20)
    finally:
        run.close()
    assert rc == 0
    screen = _screen(run.output)
    assert "* closed (code 1000)" in screen
