"""The docs: their examples run against loopback servers, every API name has its reference
page, and ``mkdocs build --strict`` passes.

A code block preceded by the line ``<!-- run -->`` is executed. Python blocks of one page run in
order in one namespace that starts with ``PORT``, ``TLS_PORT`` and ``CAFILE`` of the demo server
(what ``gun demo --serve`` prints); ``sh`` blocks run in bash with the same three variables and
``gun`` meaning this checkout's ``python -m gun_io``. Every other ``python`` block must compile;
signatures (``conn.get(path, ...) -> StreamRef``) are fenced as ``py`` and are not compiled.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import gun_io
from gun_core import options
from gun_io import engine
from gun_io.demo import DemoServer
from tests.servers import require

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RUN_MARK = "<!-- run -->"
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)


@dataclasses.dataclass
class Block:
    line: int
    lang: str
    code: str
    run: bool


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a page, with their line and whether they are marked to run."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        before = text[: m.start()].rstrip().splitlines()
        run = bool(before) and before[-1].strip() == RUN_MARK
        out.append(Block(text.count("\n", 0, m.start()) + 2, m.group(1), m.group(2), run))
    return out


PAGES = sorted(DOCS.rglob("*.md"))
RUN_PAGES = [p for p in PAGES if any(b.run for b in blocks(p))]


def _id(p: Path) -> str:
    return str(p.relative_to(DOCS))


def test_there_are_runnable_examples() -> None:
    """The guide is not just prose: most guide pages carry examples that run."""
    guide = {p.name for p in RUN_PAGES if p.parent.name == "guide"}
    assert {"start.md", "connections.md", "http.md", "http2.md", "websocket.md", "asyncio.md"} <= guide
    assert {"sansio.md", "accelerator.md", "migration.md", "cli.md"} <= guide


@pytest.mark.parametrize("page", RUN_PAGES, ids=_id)
def test_examples_run(page: Path, demo_server: DemoServer, tmp_path: Path) -> None:
    """Each page's runnable examples run, in order, against the demo server on 127.0.0.1."""
    namespace: dict[str, Any] = {
        "__name__": "__docs__",
        "PORT": demo_server.plain_port,
        "TLS_PORT": demo_server.tls_port,
        "CAFILE": demo_server.cafile,
    }
    for block in blocks(page):
        if not block.run:
            continue
        where = f"{_id(page)}:{block.line}"
        if block.lang == "sh":
            _run_shell(block.code, where, demo_server, tmp_path)
            continue
        assert block.lang == "python", f"{where}: only python and sh blocks can be run"
        code = compile(block.code, f"{page}:{block.line}", "exec")
        exec(code, namespace)


def _run_shell(code: str, where: str, server: DemoServer, folder: Path) -> None:
    """Run a shell example with ``$PORT``, ``$TLS_PORT``, ``$CAFILE`` set and ``gun`` being this
    checkout's ``python -m gun_io``; every command must succeed (examples of failures end with
    ``|| echo ...``)."""
    env = dict(os.environ)
    env.update(PORT=str(server.plain_port), TLS_PORT=str(server.tls_port), CAFILE=server.cafile)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    py = sys.executable
    script = f'set -eu -o pipefail\ngun() {{ "{py}" -m gun_io "$@"; }}\npython() {{ "{py}" "$@"; }}\n'
    proc = subprocess.run(
        ["bash", "-c", script + code], cwd=folder, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"{where}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_python_blocks_compile(page: Path) -> None:
    """Every Python block of the docs is valid Python, even those not run (they need the network);
    a snippet may use ``await`` at top level, as in an asyncio REPL."""
    for block in blocks(page):
        if block.lang == "python":
            compile(block.code, f"{page}:{block.line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


# --------------------------------------------------------------------------- reference coverage

FUNCTIONS = [
    "open", "open_unix", "aio_open", "get", "head", "options", "delete", "post", "put", "patch", "request",
    "headers", "data", "await_", "await_body", "await_up", "flush", "receive", "update_flow", "cancel", "ping",
    "info", "stream_info", "set_owner", "shutdown", "close", "wait_closed", "ws_upgrade", "ws_send",
]  # fmt: skip
OTHER_PAGES = ["opts", "http_opts", "http2_opts", "ws_opts", "request_opts", "frames", "errors", "mailbox",
               "stream_ref", "core", "accel", "cli", "trace"]  # fmt: skip


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_every_function_and_message_has_a_reference_page() -> None:
    """Like Gun's manual: one page per function, per message, per option group."""
    messages = [_snake(n) for n in gun_io.__all__ if n.startswith("Gun") and n != "GunException"]
    assert len(messages) == 11
    missing = [n for n in FUNCTIONS + messages + OTHER_PAGES if not (DOCS / "reference" / f"{n}.md").is_file()]
    assert not missing, f"no reference page for {missing}"


def test_reference_pages_follow_the_manual_layout() -> None:
    """Each function or message page has a Name line, a Description, and See also links."""
    for name in FUNCTIONS + [_snake(n) for n in gun_io.__all__ if n.startswith("Gun") and n != "GunException"]:
        text = (DOCS / "reference" / f"{name}.md").read_text(encoding="utf-8")
        for section in ("## Name", "## Description", "## See also"):
            assert section in text, f"{name}.md lacks {section}"


def test_option_pages_list_every_option() -> None:
    """Every option the code accepts is documented on its page, so docs and code cannot drift."""
    groups: list[tuple[str, list[str]]] = [
        ("opts", sorted(engine._OPT_KEYS)),
        ("http_opts", [f.name for f in dataclasses.fields(options.Http1Opts)]),
        ("http2_opts", [f.name for f in dataclasses.fields(options.Http2Opts)]),
        ("ws_opts", [f.name for f in dataclasses.fields(options.WsOpts)]),
        ("request_opts", sorted(engine._REQ_OPT_KEYS)),
    ]
    for page, keys in groups:
        text = (DOCS / "reference" / f"{page}.md").read_text(encoding="utf-8")
        missing = [k for k in keys if f"`{k}`" not in text]
        assert not missing, f"{page}.md does not document {missing}"


def test_every_page_is_in_the_nav() -> None:
    """mkdocs.yml lists every page (a page left out would be unreachable)."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    missing = [_id(p) for p in PAGES if _id(p) not in config]
    assert not missing, f"not in mkdocs.yml nav: {missing}"


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    """``mkdocs build --strict``: a broken link, an anchor that does not exist or a page missing
    from the nav fails the build."""
    require("py:mkdocs", "the docs build needs mkdocs (the docs extra)")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "reference" / "gun_response" / "index.html").is_file()
