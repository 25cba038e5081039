"""Debian's nginx with a generated configuration: HTTP/1.1, h2c prior knowledge, TLS+ALPN, Unix socket.

Locations (the same on every listener):

- ``/``               ``Hello world!\\n`` (13 bytes, content-length)
- ``/big``            a 16 MiB file of ``bytes(range(256))`` repeated (sendfile)
- ``/chunked``        ``CHUNKED_BODY`` with ``transfer-encoding: chunked`` on HTTP/1.1 (the file goes
                      through the SSI filter, which drops the length, so nginx chunks it)
- ``/trailers``       the same chunked body followed by the trailer ``x-trailer-one: 1`` (``add_trailer``;
                      nginx sends trailers on chunked HTTP/1.1 and on HTTP/2)
- ``/echo``           the request body sent back with a content-length once it is complete: nginx
                      reads the whole body, then hands it to the hypercorn app's ``/echo-buffered``
                      on its Unix socket (502 when no upstream was given)
- ``/up/...``         any route of the hypercorn app, responses unbuffered (e.g. ``/up/slow``), websocket
                      upgrades included (``/up/ws``, HTTP/1.1 listeners only); request bodies are read
                      whole first (nginx stalls when a big body streams both ways at once)
- ``/status/{200,204,304,400,404,500,503}``   that status, via ``return``
- ``/redirect``       302 to ``/``
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.servers import HOST, ServerProcess, free_port
from tests.servers.certs import TestCA

HELLO = b"Hello world!\n"
BIG_SIZE = 16 * 1024 * 1024
CHUNKED_BODY = b"".join(b"chunked line %04d\n" % i for i in range(200))
STATUSES = (200, 204, 304, 400, 404, 500, 503)


def nginx_version(binary: str) -> tuple[int, ...]:
    """``(1, 22, 1)`` from ``nginx -v``; ``(0,)`` if it cannot be read."""
    try:
        out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return (0,)
    found = re.search(r"nginx/(\d+(?:\.\d+)*)", out.stdout + out.stderr)
    return tuple(int(x) for x in found.group(1).split(".")) if found else (0,)


def write_pattern(path: Path, size: int) -> None:
    """Write ``size`` bytes of ``bytes(range(256))`` repeated to ``path``."""
    block = bytes(range(256)) * 4096  # 1 MiB
    with open(path, "wb") as out:
        left = size
        while left > 0:
            n = min(left, len(block))
            out.write(block[:n])
            left -= n


class NginxServer:
    """One nginx master (one worker) on four listeners, all with the same locations.

    - ``http_port``: HTTP/1.1 (keep-alive, ``keepalive_requests 100000``);
    - ``h2c_port``: HTTP/2 over cleartext by prior knowledge only;
    - ``tls_port``: TLS with ALPN ``h2`` and ``http/1.1`` (certificate from ``ca``);
    - ``unix_path``: HTTP/1.1 on a Unix socket.

    ``stop()``/``start()``/``restart()`` reuse the same ports and files.
    """

    host = HOST
    hello = HELLO
    big_path = "/big"
    big_size = BIG_SIZE
    chunked_path = "/chunked"
    chunked_body = CHUNKED_BODY

    def __init__(self, binary: str, folder: Path, ca: TestCA, upstream_unix: str | None = None) -> None:
        self.binary = binary
        self.folder = folder
        self.ca = ca
        self.upstream_unix = upstream_unix
        self.version = nginx_version(binary)
        self.http_port = free_port()
        self.h2c_port = free_port()
        self.tls_port = free_port()
        self.unix_path = str(folder / "nginx.sock")
        self.conf = folder / "nginx.conf"
        self.error_log = folder / "error.log"
        self.access_log = folder / "access.log"
        self.out_log = folder / "nginx.out"
        self.docroot = folder / "html"
        self.big_file = self.docroot / "big.bin"
        self._prepare()
        argv = [binary, "-p", f"{folder}/", "-c", str(self.conf), "-g", "daemon off; master_process on;"]
        if self.version >= (1, 19, 5):
            argv[1:1] = ["-e", str(self.error_log)]
        self.process = ServerProcess("nginx", argv, log=self.out_log, cwd=folder)

    # -- files ------------------------------------------------------------------------------------

    def _prepare(self) -> None:
        self.docroot.mkdir(parents=True, exist_ok=True)
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.folder / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        if not self.big_file.exists() or self.big_file.stat().st_size != BIG_SIZE:
            write_pattern(self.big_file, BIG_SIZE)
        (self.docroot / "chunked.txt").write_bytes(CHUNKED_BODY)
        self.conf.write_text(self.config_text())

    def config_text(self) -> str:
        new_http2 = self.version >= (1, 25, 1)
        f = self.folder
        h2 = "" if new_http2 else " http2"
        h2_on = "        http2 on;\n" if new_http2 else ""
        if self.upstream_unix:
            upstream = f"http://unix:{self.upstream_unix}:"
            echo = (
                f"            proxy_pass {upstream}/echo-buffered;\n"
                "            proxy_http_version 1.1;\n"
                '            proxy_set_header Connection "";\n'
                "            proxy_request_buffering on;\n"
                "            proxy_buffering off;\n"
            )
            up = (
                f"            proxy_pass {upstream}/;\n"
                "            proxy_http_version 1.1;\n"
                "            proxy_set_header Upgrade $http_upgrade;\n"
                "            proxy_set_header Connection $connection_upgrade;\n"
                "            proxy_read_timeout 300s;\n"
                "            proxy_request_buffering on;\n"
                "            proxy_buffering off;\n"
            )
        else:
            echo = up = "            return 502;\n"
        statuses = "".join(f"        location = /status/{code} {{ return {code}; }}\n" for code in STATUSES)
        locations = (
            f"        root {self.docroot};\n"
            '        location = / { default_type text/plain; return 200 "Hello world!\\n"; }\n'
            f"        location = /big {{ default_type application/octet-stream; alias {self.big_file}; }}\n"
            "        location = /chunked {\n"
            f"            default_type text/plain; ssi on; ssi_types text/plain; alias {self.docroot}/chunked.txt;\n"
            "        }\n"
            "        location = /trailers {\n"
            f"            default_type text/plain; ssi on; ssi_types text/plain; alias {self.docroot}/chunked.txt;\n"
            "            add_trailer x-trailer-one 1;\n"
            "        }\n"
            f"        location = /echo {{\n{echo}        }}\n"
            f"        location /up/ {{\n{up}        }}\n"
            f"{statuses}"
            "        location = /redirect { return 302 /; }\n"
        )
        user = "user root;\n" if os.geteuid() == 0 else ""
        ssl = (
            f"        ssl_certificate {self.ca.certfile};\n"
            f"        ssl_certificate_key {self.ca.keyfile};\n"
            "        ssl_protocols TLSv1.2 TLSv1.3;\n"
        )
        return (
            "# generated by tests/servers/nginx.py\n"
            f"{user}"
            "worker_processes 1;\n"
            f"pid {f}/nginx.pid;\n"
            f"error_log {self.error_log} info;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"    access_log {self.access_log};\n"
            f"    client_body_temp_path {f}/tmp/body;\n"
            f"    proxy_temp_path {f}/tmp/proxy;\n"
            f"    fastcgi_temp_path {f}/tmp/fastcgi;\n"
            f"    uwsgi_temp_path {f}/tmp/uwsgi;\n"
            f"    scgi_temp_path {f}/tmp/scgi;\n"
            "    types { text/plain txt; text/html html; application/octet-stream bin; }\n"
            "    default_type application/octet-stream;\n"
            "    sendfile on;\n"
            "    keepalive_timeout 75s;\n"
            "    keepalive_requests 100000;\n"
            "    client_max_body_size 0;\n"
            "    server_tokens off;\n"
            "    map $http_upgrade $connection_upgrade { default upgrade; '' ''; }\n"
            f"    server {{\n        listen {HOST}:{self.http_port};\n{locations}    }}\n"
            f"    server {{\n        listen {HOST}:{self.h2c_port}{h2};\n{h2_on}{locations}    }}\n"
            f"    server {{\n        listen {HOST}:{self.tls_port} ssl{h2};\n{h2_on}{ssl}{locations}    }}\n"
            f"    server {{\n        listen unix:{self.unix_path};\n{locations}    }}\n"
            "}\n"
        )

    # -- process ----------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def url(self, path: str = "/", *, tls: bool = False) -> str:
        if tls:
            return f"https://{HOST}:{self.tls_port}{path}"
        return f"http://{HOST}:{self.http_port}{path}"

    def start(self) -> None:
        try:
            os.unlink(self.unix_path)
        except FileNotFoundError:
            pass
        self.process.start()
        self.process.wait_ready([self.http_port, self.h2c_port, self.tls_port], [self.unix_path])

    def stop(self) -> None:
        self.process.stop()

    def restart(self) -> None:
        """Stop nginx (every connection is closed) and start it again on the same ports."""
        self.stop()
        self.start()

    def log_files(self) -> list[Path]:
        return [self.out_log, self.error_log]
