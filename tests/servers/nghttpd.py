"""nghttpd (Debian ``nghttp2-server``), the HTTP/2 reference server: one TLS and one h2c instance.

Both serve the same docroot and push ``/style.css`` and ``/script.js`` with ``/`` and
``/index.html`` (``-p``). ``--echo-upload`` makes POST and PUT answer with the request body.
"""

from __future__ import annotations

from pathlib import Path

from tests.servers import HOST, ServerProcess, free_port
from tests.servers.certs import TestCA
from tests.servers.nginx import write_pattern

INDEX_HTML = b'<html><head><link rel="stylesheet" href="/style.css"><script src="/script.js"></script></head></html>\n'
FILES: dict[str, bytes] = {
    "/index.html": INDEX_HTML,
    "/style.css": b"body { color: #333; }\n",
    "/script.js": b"console.log('pushed');\n",
    "/hello.txt": b"Hello world!\n",
}
PUSH: dict[str, list[str]] = {"/": ["/style.css", "/script.js"], "/index.html": ["/style.css", "/script.js"]}
BIG_SIZE = 4 * 1024 * 1024
MIME_TYPES = "text/html html\ntext/css css\napplication/javascript js\ntext/plain txt\napplication/octet-stream bin\n"


class NghttpdServer:
    """Two nghttpd processes on one docroot.

    - ``tls_port``: HTTP/2 over TLS (ALPN ``h2``; certificate from ``ca``);
    - ``h2c_port``: HTTP/2 over cleartext, prior knowledge (``--no-tls``);
    - ``docroot``: the folder served; ``files``: URL path -> exact content of the small files;
    - ``big_path``/``big_size``: a 4 MiB file of ``bytes(range(256))`` repeated (flow control);
    - ``push``: URL path -> the paths nghttpd pushes with it.
    """

    host = HOST
    files = FILES
    push = PUSH
    big_path = "/big.bin"
    big_size = BIG_SIZE

    def __init__(self, binary: str, folder: Path, ca: TestCA) -> None:
        self.binary = binary
        self.folder = folder
        self.ca = ca
        self.docroot = folder / "htdocs"
        self.tls_port = free_port()
        self.h2c_port = free_port()
        self._prepare()
        common = [
            binary,
            f"--address={HOST}",
            f"--htdocs={self.docroot}",
            f"--mime-types-file={folder / 'mime.types'}",
            "--echo-upload",
        ]
        for path, pushed in PUSH.items():
            common.append(f"--push={path}={','.join(pushed)}")
        self.tls_process = ServerProcess(
            "nghttpd-tls",
            [*common, str(self.tls_port), str(ca.keyfile), str(ca.certfile)],
            log=folder / "nghttpd-tls.log",
            cwd=folder,
        )
        self.h2c_process = ServerProcess(
            "nghttpd-h2c", [*common, "--no-tls", str(self.h2c_port)], log=folder / "nghttpd-h2c.log", cwd=folder
        )

    def _prepare(self) -> None:
        self.docroot.mkdir(parents=True, exist_ok=True)
        for path, content in FILES.items():
            (self.docroot / path.lstrip("/")).write_bytes(content)
        big = self.docroot / self.big_path.lstrip("/")
        if not big.exists() or big.stat().st_size != BIG_SIZE:
            write_pattern(big, BIG_SIZE)
        (self.folder / "mime.types").write_text(MIME_TYPES)

    def url(self, path: str = "/", *, tls: bool = True) -> str:
        if tls:
            return f"https://{HOST}:{self.tls_port}{path}"
        return f"http://{HOST}:{self.h2c_port}{path}"

    def start(self) -> None:
        self.tls_process.start()
        self.h2c_process.start()
        self.tls_process.wait_ready([self.tls_port])
        self.h2c_process.wait_ready([self.h2c_port])

    def stop(self) -> None:
        self.tls_process.stop()
        self.h2c_process.stop()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_files(self) -> list[Path]:
        return [self.tls_process.log, self.h2c_process.log]
