"""Both drivers over TLS: verification against a test CA, hostname checks, ALPN."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import pytest
import trustme

from gun_core.errors import ConnectionDown
from tests.helpers.fake_origin import FakeOrigin, read_request, response


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA, alpn: list[str] | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def serve(sock: socket.socket, index: int) -> None:
    buf = bytearray()
    while True:
        read_request(sock, buf)
        sock.sendall(response(200, b"secure"))


def test_tls_verified_against_test_ca(driver: Any, ca: trustme.CA, tmp_path: Any) -> None:
    """With the test CA as cafile the handshake verifies and HTTP/1.1 runs over TLS."""
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    with FakeOrigin(serve, ssl_context=server_context(ca, ["http/1.1"])) as origin:
        conn = driver.open("localhost", origin.port, {"transport": "tls", "tls_opts": {"cafile": str(cafile)}})
        assert conn.await_up() == "http"
        assert conn.await_body(conn.get("/")) == b"secure"
        assert conn.info()["transport"] == "tls"
        conn.close()


def test_tls_context_object(driver: Any, ca: trustme.CA) -> None:
    """tls_opts may be an ssl.SSLContext."""
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    with FakeOrigin(serve, ssl_context=server_context(ca)) as origin:
        conn = driver.open("localhost", origin.port, {"transport": "tls", "tls_opts": ctx, "protocols": ["http"]})
        assert conn.await_up() == "http"  # no ALPN answer: HTTP/1.1
        assert conn.await_body(conn.get("/")) == b"secure"
        conn.close()


def test_tls_untrusted_certificate_fails(driver: Any, ca: trustme.CA) -> None:
    """By default the certificate is checked against certifi: a test CA is not trusted."""
    with FakeOrigin(serve, ssl_context=server_context(ca)) as origin:
        conn = driver.open("localhost", origin.port, {"transport": "tls", "retry": 0})
        with pytest.raises(ConnectionDown) as info:
            conn.await_up(5)
        assert info.value.reason.kind == "tls"
        assert "certificate verify failed" in str(info.value.reason) or "verification" in str(info.value.reason)


def test_tls_hostname_mismatch_fails(driver: Any, ca: trustme.CA, tmp_path: Any) -> None:
    """The hostname is checked: a certificate for another name is refused."""
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("other.example").configure_cert(ctx)
    with FakeOrigin(serve, ssl_context=ctx) as origin:
        conn = driver.open(
            "127.0.0.1", origin.port, {"transport": "tls", "retry": 0, "tls_opts": {"cafile": str(cafile)}}
        )
        with pytest.raises(ConnectionDown) as info:
            conn.await_up(5)
        assert info.value.reason.kind == "tls"


def test_tls_verify_false_connects(driver: Any, ca: trustme.CA) -> None:
    """verify=False turns checks off (explicitly)."""
    with FakeOrigin(serve, ssl_context=server_context(ca)) as origin:
        conn = driver.open(
            "localhost", origin.port, {"transport": "tls", "tls_opts": {"verify": False}, "protocols": ["http"]}
        )
        assert conn.await_body(conn.get("/")) == b"secure"
        conn.close()
