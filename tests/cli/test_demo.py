"""``gun demo``: every step works offline against the embedded loopback server, and says so."""

from __future__ import annotations

import io
import re

from gun_io.demo import STEPS, DemoServer, run_demo, run_step
from tests.cli.helpers import run_gun
from tests.servers import require


def test_gun_demo_runs_every_step_ok() -> None:
    """``gun demo`` prints one line per step with its time, every step ok, and exits 0 within seconds."""
    require("py:hypercorn", "the demo needs hypercorn (the demo or test extra)")
    require("py:trustme", "the demo needs trustme (the demo or test extra)")
    r = run_gun("demo", timeout=60)
    assert r.rc == 0, r.text + r.err
    text = r.text
    for i, (title, _) in enumerate(STEPS, 1):
        assert re.search(rf"✓ {i}\. {re.escape(title)} \(\d+\.\d ms\)", text), text
    assert "6 ok, 0 skipped, 0 failed" in text
    assert "nothing leaves this machine" in text


def test_steps_report_what_they_checked(demo_server: DemoServer) -> None:
    """The details are facts the step verified: ALPN's choice, one connection for 100 requests,
    the pushed paths (RFC 9113 8.4), the upload's SHA-256, the negotiated deflate (RFC 7692 7)."""
    details = {title: run_step(demo_server, title, fn) for title, fn in STEPS}
    for title, result in details.items():
        assert result.status == "ok", (title, result.detail)
    texts = [r.detail for r in details.values()]
    assert "ALPN chose http/1.1" in texts[0]
    assert "ALPN chose h2" in texts[1]
    assert texts[2].startswith("100 responses, each matching its request, all on one connection")
    assert "/style.css" in texts[3] and "/script.js" in texts[3]
    assert "SHA-256 matches" in texts[4]
    assert "permessage-deflate" in texts[5] and "closed with code 1000" in texts[5]


def test_a_step_that_cannot_work_says_skipped_or_failed(demo_server: DemoServer) -> None:
    """A step never pretends: an exception becomes "failed: ..." and a known limit "skipped: ..."."""
    from gun_io import demo

    def broken(server: DemoServer) -> str:
        raise AssertionError("the echo differs")

    def unsupported(server: DemoServer) -> str:
        raise demo._Skip("the server could not push on this connection")

    assert run_step(demo_server, "x", broken).status == "failed"
    r = run_step(demo_server, "y", unsupported)
    assert (r.status, r.detail) == ("skipped", "skipped: the server could not push on this connection")


def test_run_demo_only_filters_steps() -> None:
    """``gun demo --only WORD`` runs the steps whose title holds WORD."""
    require("py:hypercorn", "the demo needs hypercorn (the demo or test extra)")
    out = io.StringIO()
    assert run_demo(out, only=["websocket"]) == 0
    text = out.getvalue()
    assert "websocket echo with compression" in text and "HTTP/1.1" not in text.split("\n", 2)[2]
    assert "1 ok, 0 skipped, 0 failed" in text
