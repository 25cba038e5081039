"""nginx for the benchmarks: the test fixture's server with a benchmark-minded configuration.

Differences from ``tests/servers/nginx.py``'s (whose locations it keeps: ``/`` is 13 bytes,
``/big`` 16 MiB): no access log (nginx would write a line per request), 4,096 worker
connections and ``worker_rlimit_nofile 10000`` (the memory workload holds 1,000+ connections
open), and ``/gig``: a 1 GiB sparse file (the flow-controlled download).
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.common import GIG_SIZE
from tests.servers.certs import TestCA
from tests.servers.nginx import NginxServer


class BenchNginx(NginxServer):
    """:class:`NginxServer` with the changes above."""

    def __init__(self, binary: str, folder: Path, ca: TestCA) -> None:
        super().__init__(binary, folder, ca)
        gig = self.docroot / "gig.bin"
        if not gig.exists() or gig.stat().st_size != GIG_SIZE:
            with open(gig, "wb") as f:
                f.truncate(GIG_SIZE)  # sparse: no disk used, reads are zeros

    def config_text(self) -> str:
        text = super().config_text()
        text = text.replace(
            "events { worker_connections 1024; }",
            "worker_rlimit_nofile 10000;\nevents { worker_connections 4096; }",
        )
        text = re.sub(r"access_log [^;]+;", "access_log off;", text)
        gig = f"        location = /gig {{ default_type application/octet-stream; alias {self.docroot}/gig.bin; }}\n"
        text = text.replace("        location = /redirect", gig + "        location = /redirect")
        assert "worker_connections 4096" in text and "/gig" in text, "tests/servers/nginx.py changed its config"
        return text
