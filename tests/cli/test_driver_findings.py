"""Findings about the drivers (gun_io/engine.py, connection.py) made while writing the CLI, demo and docs.

Each test is the smallest reproduction of one finding; both findings are fixed, and the tests
stay as regression tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gun_io
from gun_io.demo import DemoServer
from tests.servers import require

ROOT = Path(__file__).resolve().parents[2]


def test_http2_shutdown_lets_a_stream_in_progress_finish(demo_server: DemoServer) -> None:
    """API.md: ``shutdown()`` is graceful: it finishes the streams in progress, then closes.

    On HTTP/2 the engine sends GOAWAY(last_stream=0) right away (before the server's SETTINGS
    even arrived) and then our SETTINGS ACK. RFC 9113 6.8 allows frames after a GOAWAY, but
    python-h2, under hypercorn, moves to CLOSED on receiving GOAWAY and treats the ACK as a
    PROTOCOL_ERROR: the request in progress dies with ``ConnectionDown``. Over HTTP/1.1 the same
    code completes the request. A client has no pushed streams to refuse here, so delaying the
    GOAWAY until the active streams are done (or sending none when push is unused) would keep
    ``shutdown()`` graceful with this server.
    """
    conn = gun_io.open("127.0.0.1", demo_server.plain_port, {"protocols": ["http2"], "retry": 0})
    try:
        ref = conn.get("/delay?s=0.3")
        conn.await_up()
        conn.shutdown()
        assert conn.await_body(ref) == b"Hello from the gun demo server!\n"
    finally:
        conn.close()


def test_dict_headers_type_check(tmp_path: Path) -> None:
    """API.md: headers are "a list of (name, value) pairs or a dict; names and values str or bytes".

    Under ``mypy --strict``, ``conn.get("/", {"accept": "text/html"})`` (the README's own example)
    is an error, because ``dict[str, str]`` is not a ``Mapping[str | bytes | bytearray | int, ...]``
    (the key type of Mapping is invariant). Lists of tuples pass (Iterable is covariant). A fix is
    a union of Mappings, ``Mapping[str, HeaderPart] | Mapping[bytes, HeaderPart]``, or
    ``Mapping[Any, HeaderPart]``, in ``gun_core.headers.HeadersIn``.
    """
    require("py:mypy", "mypy is not installed (the test extra has it)")
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        'import gun_io\n\nconn = gun_io.open("127.0.0.1", 8080)\nconn.get("/", {"accept": "text/html"})\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(snippet)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout
