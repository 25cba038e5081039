"""``gun URL``: HTTP requests driven as a subprocess against the demo server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from gun_io.demo import DemoServer
from gun_io.demo_app import HELLO, pattern
from tests.cli.helpers import run_gun


def test_download_with_output_file(demo_server: DemoServer, tmp_path: Path) -> None:
    """``-o FILE`` writes the exact body to FILE; stdout stays empty, and in a pipe stderr too
    (no progress bar when stderr is not a terminal)."""
    target = tmp_path / "big.bin"
    r = run_gun("-o", str(target), demo_server.url("/bytes?size=3000000", tls=False))
    assert r.rc == 0, r.err
    assert r.out == b""
    assert r.err == ""
    assert target.read_bytes() == pattern(3000000)


def test_get_to_stdout_over_verified_tls(demo_server: DemoServer) -> None:
    """An https URL is verified against ``--cacert``; the body goes to stdout unchanged."""
    r = run_gun("--cacert", demo_server.cafile, demo_server.url("/"))
    assert (r.rc, r.out, r.err) == (0, HELLO, "")


def test_include_writes_the_response_head(demo_server: DemoServer) -> None:
    """``-i`` writes the status line and the headers, a blank line, then the body (RFC 9112 4)."""
    r = run_gun("-i", demo_server.url("/", tls=False))
    assert r.rc == 0, r.err
    head, _, body = r.out.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert b"content-length: 32" in lines
    assert body == HELLO


def test_head_request(demo_server: DemoServer) -> None:
    """``-I`` sends HEAD and shows the headers only: a HEAD response has no body (RFC 9110 9.3.2)."""
    r = run_gun("-I", demo_server.url("/", tls=False))
    assert r.rc == 0, r.err
    assert r.out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert r.out.endswith(b"\r\n\r\n")


def test_http2_by_alpn_and_http1_forced(demo_server: DemoServer) -> None:
    """Over TLS, ``--http2`` gets HTTP/2 and ``--http1.1`` HTTP/1.1, both chosen by ALPN (RFC 7301 3)."""
    for flag, expected in (("--http2", "http2"), ("--http1.1", "http")):
        r = run_gun(flag, "--json", "--cacert", demo_server.cafile, demo_server.url("/"))
        assert r.rc == 0, r.err
        doc = json.loads(r.out)
        assert doc["protocol"] == expected
        assert doc["status"] == 200
        assert doc["body"] == HELLO.decode()


def test_http2_prior_knowledge_over_cleartext(demo_server: DemoServer) -> None:
    """``--http2-prior-knowledge`` speaks HTTP/2 at once on a cleartext port (RFC 9113 3.3)."""
    r = run_gun("--http2-prior-knowledge", "--json", demo_server.url("/n/7", tls=False))
    assert r.rc == 0, r.err
    doc = json.loads(r.out)
    assert (doc["protocol"], doc["http_version"], doc["body"]) == ("http2", "HTTP/2", "response 7\n")


def test_json_output(demo_server: DemoServer) -> None:
    """``--json`` prints status, headers, timings and the body as one JSON document."""
    r = run_gun("--json", demo_server.url("/", tls=False))
    assert r.rc == 0, r.err
    doc = json.loads(r.out)
    assert doc["status"] == 200
    assert ["content-length", "32"] in doc["headers"]
    assert set(doc["timings"]) == {"connect", "first_byte", "total"}
    assert 0 <= doc["timings"]["connect"] <= doc["timings"]["first_byte"] <= doc["timings"]["total"]
    assert doc["body_size"] == 32


def test_json_with_binary_body_and_output_file(demo_server: DemoServer, tmp_path: Path) -> None:
    """With ``--json`` a binary body is given in base64; with ``-o`` it goes to the file instead."""
    r = run_gun("--json", demo_server.url("/bytes?size=300", tls=False))
    doc = json.loads(r.out)
    import base64

    assert base64.b64decode(doc["body_base64"]) == pattern(300)
    out = tmp_path / "x.bin"
    r = run_gun("--json", "-o", str(out), demo_server.url("/bytes?size=300", tls=False))
    doc = json.loads(r.out)
    assert doc["output"] == str(out) and "body" not in doc and out.read_bytes() == pattern(300)


def _upload_answer(r_out: bytes) -> dict[str, object]:
    answer: dict[str, object] = json.loads(r_out)
    return answer


def test_streamed_upload_from_file_http1_and_http2(demo_server: DemoServer, tmp_path: Path) -> None:
    """``-d @FILE`` streams the file as the request body with its content-length (RFC 9110 8.6),
    over HTTP/1.1 and HTTP/2; the server sees every byte."""
    data = os.urandom(2_500_000)
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    expected = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    for flags in (["--http1.1"], ["--http2"]):
        r = run_gun(*flags, "--cacert", demo_server.cafile, "-d", f"@{src}", demo_server.url("/upload"))
        assert r.rc == 0, r.err
        assert _upload_answer(r.out) == expected


def test_streamed_upload_from_stdin_is_chunked(demo_server: DemoServer) -> None:
    """``-d @-`` streams stdin; with no length known, HTTP/1.1 sends it chunked (RFC 9112 7.1)."""
    data = os.urandom(700_000)
    r = run_gun("-d", "@-", demo_server.url("/upload", tls=False), stdin=data)
    assert r.rc == 0, r.err
    assert _upload_answer(r.out) == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_upload_file_is_a_put(demo_server: DemoServer, tmp_path: Path) -> None:
    """``-T FILE`` PUTs the file; ``-H`` adds headers; the server sees both."""
    src = tmp_path / "small.txt"
    src.write_bytes(b"abc")
    r = run_gun("-T", str(src), "-H", "x-demo: yes", demo_server.url("/headers", tls=False))
    assert r.rc == 0, r.err
    info = json.loads(r.out)
    assert info["method"] == "PUT"
    assert ["x-demo", "yes"] in info["headers"]
    assert ["content-length", "3"] in info["headers"]


def test_data_pieces_are_joined_and_method_overridable(demo_server: DemoServer) -> None:
    """Several ``-d`` are joined with ``&`` (form encoding); ``-X`` picks the method."""
    r = run_gun("-X", "PATCH", "-d", "a=1", "-d", "b=2", demo_server.url("/echo", tls=False))
    assert (r.rc, r.out) == (0, b"a=1&b=2")
    r = run_gun("-d", "a=1", demo_server.url("/headers", tls=False))
    info = json.loads(r.out)
    assert info["method"] == "POST"
    assert ["content-type", "application/x-www-form-urlencoded"] in info["headers"]


def test_default_header_removed_or_replaced(demo_server: DemoServer) -> None:
    """``-H 'name:'`` removes a default header; ``-H 'name: value'`` replaces it."""
    r = run_gun("-H", "user-agent:", "-H", "accept: text/plain", demo_server.url("/headers", tls=False))
    headers = dict(json.loads(r.out)["headers"])
    assert "user-agent" not in headers
    assert headers["accept"] == "text/plain"


def test_verbose_trace_http1(demo_server: DemoServer) -> None:
    """``-v`` traces on stderr: the request head line by line, the response head, the core events."""
    r = run_gun("-v", demo_server.url("/", tls=False))
    assert r.rc == 0 and r.out == HELLO
    assert "> GET / HTTP/1.1" in r.err
    assert "< HTTP/1.1 200" in r.err
    assert "* Response stream_id=1 fin=False status=200" in r.err
    assert "* Data stream_id=1 fin=True 32 bytes" in r.err


def test_verbose_trace_http2_frames(demo_server: DemoServer) -> None:
    """``-v`` on HTTP/2 names each frame: the preface, SETTINGS both ways, HEADERS and DATA
    with their stream and flags (RFC 9113 3.4, 6)."""
    r = run_gun("-v", "--cacert", demo_server.cafile, demo_server.url("/"))
    assert r.rc == 0, r.err
    err = r.err
    assert "> PRI * HTTP/2.0 (connection preface)" in err
    assert "> SETTINGS" in err and "< SETTINGS" in err and "SETTINGS ACK" in err
    assert "> HEADERS stream=1 END_STREAM END_HEADERS" in err
    assert "< HEADERS stream=1 END_HEADERS" in err
    assert "< DATA stream=1" in err
    assert "    content-length: 32" in err  # decoded response headers


def test_console_script_and_module_agree() -> None:
    """``python -m gun_io --version`` names the package version; ``--help`` lists the exit codes."""
    r = run_gun("--version")
    assert r.rc == 0 and r.out.startswith(b"gun ")
    r = run_gun("--help")
    assert r.rc == 0 and b"Exit codes" in r.out and b"--http2-prior-knowledge" in r.out
