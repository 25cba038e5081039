"""A throw-away certificate authority and a server certificate for 127.0.0.1, ::1 and localhost."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

#: The names the server certificate is valid for.
IDENTITIES = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class TestCA:
    """PEM files of a fresh CA and of one server certificate it issued.

    - ``cafile``: the CA certificate, to verify the servers with;
    - ``certfile``: the server certificate followed by its chain;
    - ``keyfile``: the server's private key;
    - ``folder``: where the files are.
    """

    __test__ = False  # not a pytest test class

    folder: Path
    cafile: Path
    certfile: Path
    keyfile: Path

    def client_context(self, alpn: list[str] | None = None) -> ssl.SSLContext:
        """A client context that trusts only this CA (hostname checked), with ``alpn`` offered."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.cafile))
        if alpn:
            ctx.set_alpn_protocols(alpn)
        return ctx

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """A client context (ALPN ``h2``, ``http/1.1``) trusting only this CA."""
        return self.client_context(["h2", "http/1.1"])

    def server_context(self, alpn: list[str] | None = None) -> ssl.SSLContext:
        """A server context with the server certificate, for scripted TLS servers."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self.certfile), str(self.keyfile))
        if alpn:
            ctx.set_alpn_protocols(alpn)
        return ctx


def make_test_ca(folder: Path) -> TestCA:
    """Create the CA and the server certificate with ``trustme`` and write them to ``folder``."""
    import trustme

    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    leaf = ca.issue_cert(*IDENTITIES)
    cafile = folder / "ca.pem"
    certfile = folder / "server.pem"
    keyfile = folder / "server.key"
    ca.cert_pem.write_to_path(str(cafile))
    leaf.private_key_pem.write_to_path(str(keyfile))
    certfile.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    keyfile.chmod(0o600)
    return TestCA(folder=folder, cafile=cafile, certfile=certfile, keyfile=keyfile)
