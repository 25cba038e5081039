"""``bench/run --quick`` runs every workload end to end, so the harness of issue #8 never rots.

It reports; it asserts no speed. Under CI (``CI=true``) a missing required tool (nginx,
h2load, wrk) makes ``bench/run`` exit 1, which fails this test; a missing optional peer
library is shown as "not installed" and is fine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.servers import require

ROOT = Path(__file__).resolve().parents[2]

#: The table every workload prints (``### <key>: ...``).
TABLES = {
    "get": ("get-sync", "get-async"),
    "download": ("download",),
    "h2": ("h2c", "h2-tls"),
    "ws": ("ws-16B", "ws-64KiB"),
    "core": (
        "h1-small",
        "h1-chunked",
        "h1-1MiB",
        "h2-frames",
        "ws-parse",
        "mask-125B",
        "mask-4KiB",
        "mask-64KiB",
        "mask-1MiB",
        "utf8",
    ),
    "memory": ("idle-conns", "flow-1GiB"),
}


def test_bench_run_quick_prints_every_table() -> None:
    """Every workload of bench/run runs against its own loopback servers and prints its table with a gun row."""
    require("nginx", "nginx is not installed (apt install nginx)")
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    print(out.stdout)  # the report, visible with pytest -s
    tail = f"\n--- stdout (tail) ---\n{out.stdout[-4000:]}\n--- stderr (tail) ---\n{out.stderr[-4000:]}"
    assert out.returncode == 0, f"bench/run --quick exited {out.returncode}{tail}"
    for workload, keys in TABLES.items():
        for key in keys:
            head = f"\n### {key}: "
            assert head in out.stdout, f"workload {workload}: table {key} not printed{tail}"
            table = out.stdout.split(head, 1)[1].split("\n### ", 1)[0]
            assert "\n| gun |" in table or "\n| gun.aio |" in table, f"table {key} has no gun row{tail}"
    assert "## Targets (issue #8)" in out.stdout, tail
