"""Pieces of the CLI tested in process: URL and header parsing, error explanations, the tracer."""

from __future__ import annotations

import argparse
import io

import pytest

from gun_core.errors import ConnectionDown, Reason, StreamError
from gun_io.cli import CliError, Tracer, _explain, parse_header, parse_url


def test_parse_url() -> None:
    """A URL without a scheme is http (curl's rule); default ports are 80/443 (RFC 9110 4.2);
    IPv6 literals keep their brackets in the address shown; the query stays in the target."""
    t = parse_url("127.0.0.1:8080/a?b=1", ["http", "https"])
    assert (t.scheme, t.host, t.port, t.path, t.tls) == ("http", "127.0.0.1", 8080, "/a?b=1", False)
    t = parse_url("https://[::1]/", ["http", "https"])
    assert (t.host, t.port, t.tls, t.where) == ("::1", 443, True, "[::1]:443")
    t = parse_url("wss://localhost/ws", ["ws", "wss"])
    assert (t.port, t.tls) == (443, True)
    assert parse_url("http://u%40x:p@h/", ["http"]).userinfo == "u@x:p"
    with pytest.raises(CliError) as e:
        parse_url("http://h:99999/", ["http"])
    assert e.value.code == 2


def test_parse_header() -> None:
    """curl's header conventions: ``name: value``, ``name:`` removes, ``name;`` sends empty."""
    assert parse_header("X-A:  b c ") == ("X-A", "b c")
    assert parse_header("accept:") == ("accept", None)
    assert parse_header("x-empty;") == ("x-empty", "")
    with pytest.raises(CliError):
        parse_header(": v")


def _args(**kw: object) -> argparse.Namespace:
    ns = argparse.Namespace(connect_timeout=None)
    ns.__dict__.update(kw)
    return ns


def test_explain_maps_reasons_to_exit_codes() -> None:
    """Every connection failure kind maps to its exit code and names the address."""
    t = parse_url("https://127.0.0.1:8443/", ["https"])
    cases = [
        (Reason.connection("connect", "connection refused ([Errno 111])"), 7, "connection refused by 127.0.0.1:8443"),
        (Reason.connection("tls", "certificate verification failed: Hostname mismatch"), 60, "Hostname mismatch"),
        (Reason.connection("tls", "TLS error: wrong version number"), 35, "TLS handshake with 127.0.0.1:8443"),
        (Reason.connection("timeout", "timed out"), 28, "timed out connecting"),
        (Reason.connection("domain_lookup", "Name or service not known"), 6, "could not resolve host"),
        (Reason.connection("connect", "the server selected 'x' by ALPN, which we did not offer"), 35, "ALPN"),
        (Reason.connection("closed", "the server closed the connection"), 52, "without answering"),
    ]
    for reason, code, text in cases:
        err = _explain(ConnectionDown(reason), t, _args())
        assert err.code == code and text in err.message, (reason, err.code, err.message)
    err = _explain(ConnectionDown(Reason.connection("closed", "x")), t, _args(), got_response=True)
    assert err.code == 56
    err = _explain(StreamError(Reason.stream("stream_reset", "RST_STREAM CANCEL")), t, _args())
    assert err.code == 92
    err = _explain(StreamError(Reason.stream("protocol_error", "bad status line")), t, _args())
    assert err.code == 8


def test_tracer_decodes_http2_frames_split_across_chunks() -> None:
    """The trace reassembles HTTP/2 frames cut across reads (RFC 9113 4.1) and names each one."""
    from gun_core import http2_frames as f

    out = io.StringIO()
    tracer = Tracer(out)
    tracer.on_bytes(1, ">>", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + f.build_settings([(4, 1 << 20)]))
    wire = f.build_window_update(0, 1000) + f.build_data(3, True, b"x" * 10) + f.build_goaway(3, 0)
    tracer.on_bytes(1, "<<", wire[:5])
    tracer.on_bytes(1, "<<", wire[5:20])
    tracer.on_bytes(1, "<<", wire[20:])
    lines = out.getvalue().splitlines()
    assert lines == [
        "> PRI * HTTP/2.0 (connection preface)",
        "> SETTINGS INITIAL_WINDOW_SIZE=1048576",
        "< WINDOW_UPDATE stream=0 +1000",
        "< DATA stream=3 10 bytes END_STREAM",
        "< GOAWAY last_stream=3 NO_ERROR",
    ]


def test_tracer_websocket_frames() -> None:
    """Websocket frames are traced with opcode, length, flags, and a Close's code (RFC 6455 5.2, 5.5.1)."""
    from gun_core import ws_frames as w

    out = io.StringIO()
    tracer = Tracer(out)
    tracer._mode[1] = "ws"
    tracer.on_bytes(1, "<<", w.build_frame(w.Opcode.TEXT, b"hi") + w.build_frame(w.Opcode.CLOSE, b"\x03\xe8bye"))
    assert out.getvalue().splitlines() == ["< ws TEXT 2 bytes", "< ws CLOSE 5 bytes code=1000 'bye'"]


def test_tracer_unmasks_a_client_close() -> None:
    """A Close we send is masked (RFC 6455 5.3); the trace unmasks it to show the code and reason."""
    from gun_core import ws_frames as w

    out = io.StringIO()
    tracer = Tracer(out)
    tracer._mode[1] = "ws"
    tracer.on_bytes(1, ">>", w.build_frame(w.Opcode.CLOSE, b"\x03\xe9away", mask_key=b"\x01\x02\x03\x04"))
    assert out.getvalue().splitlines() == ["> ws CLOSE 6 bytes masked code=1001 'away'"]
