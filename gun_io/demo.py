"""``gun demo``: every protocol against an embedded loopback server, offline, in seconds.

:class:`DemoServer` serves :mod:`gun_io.demo_app` with hypercorn in a background thread
on 127.0.0.1, with a throw-away certificate authority made by ``trustme``: one TLS port
(ALPN ``h2`` and ``http/1.1``) and one cleartext port (HTTP/1.1, h2c by prior knowledge,
websocket). :func:`run_demo` runs the steps against it and prints what happened.

Both need the ``demo`` extra: ``pip install 'gun[demo]'`` (hypercorn and trustme).
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import gun_io
from gun_core.errors import GunException

__all__ = ["DemoServer", "MissingExtra", "StepResult", "run_demo", "serve_forever"]

HOST = "127.0.0.1"


class MissingExtra(RuntimeError):
    """A package of the ``demo`` extra is not installed."""


def _import_or_explain(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError as exc:
        raise MissingExtra(
            f"the demo needs the '{name}' package: pip install 'gun[demo]' (or pip install -e '.[cli,demo]')"
        ) from exc


def _listening_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(128)
    return sock


class DemoServer:
    """hypercorn serving the demo app on 127.0.0.1 in a daemon thread.

    ``tls_port`` speaks TLS (ALPN ``h2``, ``http/1.1``) with a certificate for
    ``127.0.0.1`` and ``localhost`` issued by a fresh CA whose PEM file is ``cafile``;
    ``plain_port`` speaks HTTP/1.1, HTTP/2 by prior knowledge and websocket. Use it as
    a context manager, or call :meth:`start` and :meth:`stop`. Ports are chosen free
    unless given.
    """

    host = HOST

    def __init__(self, *, plain_port: int = 0, tls_port: int = 0) -> None:
        self.tls_port = tls_port
        self.plain_port = plain_port
        self._folder: str | None = None
        self.cafile = ""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def url(self, path: str = "/", *, tls: bool = True) -> str:
        """``https://127.0.0.1:TLS_PORT/path`` or ``http://127.0.0.1:PLAIN_PORT/path``."""
        return f"https://{HOST}:{self.tls_port}{path}" if tls else f"http://{HOST}:{self.plain_port}{path}"

    def ws_url(self, path: str = "/ws", *, tls: bool = False) -> str:
        """``ws://`` (or ``wss://``) URL of a path of the server."""
        return f"wss://{HOST}:{self.tls_port}{path}" if tls else f"ws://{HOST}:{self.plain_port}{path}"

    def start(self, timeout: float = 10.0) -> None:
        """Make the certificate, bind the two ports, and serve until :meth:`stop`."""
        trustme = _import_or_explain("trustme")
        _import_or_explain("hypercorn")
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        self._folder = tempfile.mkdtemp(prefix="gun-demo-")
        atexit.register(shutil.rmtree, self._folder, True)  # also when stop() is never called
        ca = trustme.CA()
        leaf = ca.issue_cert(HOST, "localhost")
        self.cafile = os.path.join(self._folder, "ca.pem")
        certfile = os.path.join(self._folder, "server.pem")
        keyfile = os.path.join(self._folder, "server.key")
        ca.cert_pem.write_to_path(self.cafile)
        leaf.private_key_pem.write_to_path(keyfile)
        with open(certfile, "wb") as f:
            for blob in leaf.cert_chain_pems:
                f.write(blob.bytes())

        tls_sock, plain_sock = _listening_socket(self.tls_port), _listening_socket(self.plain_port)
        self.tls_port = tls_sock.getsockname()[1]
        self.plain_port = plain_sock.getsockname()[1]
        config = Config()
        config.accesslog = None
        config.errorlog = None
        config.certfile = certfile
        config.keyfile = keyfile
        config.alpn_protocols = ["h2", "http/1.1"]
        config.bind = [f"fd://{tls_sock.detach()}"]
        config.insecure_bind = [f"fd://{plain_sock.detach()}"]
        config.graceful_timeout = 0.5
        config.keep_alive_timeout = 30
        config.websocket_max_message_size = 64 * 1024 * 1024
        from .demo_app import app

        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            def quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
                # Clients that go away and the cancellations of a shutdown are routine here.
                exc = context.get("exception")
                if isinstance(exc, (asyncio.CancelledError, ConnectionError, ssl.SSLError, TimeoutError)):
                    return
                loop.default_exception_handler(context)

            loop.set_exception_handler(quiet)
            stop = asyncio.Event()
            self._stop = stop

            async def main() -> None:
                ready.set()
                await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

            try:
                loop.run_until_complete(main())
            except BaseException as exc:  # reported by start()/stop()
                self._error = exc
                ready.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="gun-demo-server", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("the demo server did not start in time")
        # The listening sockets exist already: wait until hypercorn accepts on them.
        deadline = time.monotonic() + timeout
        for port in (self.tls_port, self.plain_port):
            while True:
                if self._error is not None:
                    raise RuntimeError(f"the demo server failed: {self._error!r}")
                try:
                    socket.create_connection((HOST, port), timeout=1.0).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the demo server does not accept on port {port}") from None
                    time.sleep(0.02)

    def stop(self) -> None:
        """Stop serving and remove the certificate files."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:
                pass
        if thread is not None:
            thread.join(5.0)
        self._thread = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- the steps


@dataclass
class StepResult:
    """What one demo step did: ``status`` is ``"ok"``, ``"skipped"`` or ``"failed"``."""

    title: str
    status: str
    detail: str
    seconds: float


class _Skip(Exception):
    """The step cannot run here; the message says why."""


def _tls(server: DemoServer, protocols: list[str], **extra: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "transport": "tls",
        "protocols": protocols,
        "tls_opts": {"cafile": server.cafile},
        "retry": 0,
        "connect_timeout": 5.0,
    }
    opts.update(extra)
    return opts


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for n, v in headers:
        if n == name:
            return v
    return None


def _get_over(server: DemoServer, protocols: list[str]) -> str:
    conn = gun_io.open(HOST, server.tls_port, _tls(server, protocols))
    try:
        protocol = conn.await_up(5.0)
        ref = conn.get("/", [("accept", "text/plain")])
        response = conn.await_(ref, 5.0)
        body = b"" if response.fin else conn.await_body(ref, 5.0)
        if response.status != 200 or body != _demo_app().HELLO:
            raise AssertionError(f"unexpected answer {response.status} {body!r}")
        alpn = {"http": "http/1.1", "http2": "h2"}.get(protocol, protocol)
        return f"{response.status}, {len(body)} bytes {body.decode().strip()!r}; TLS verified, ALPN chose {alpn}"
    finally:
        conn.close()


def _demo_app() -> Any:
    from . import demo_app

    return demo_app


def step_http1(server: DemoServer) -> str:
    """GET / over HTTP/1.1 on TLS."""
    return _get_over(server, ["http"])


def step_http2(server: DemoServer) -> str:
    """The same GET over HTTP/2, chosen by ALPN."""
    return _get_over(server, ["http2", "http"])


def step_concurrent(server: DemoServer, count: int = 100) -> str:
    """``count`` requests at once on one HTTP/2 connection."""
    conn = gun_io.open(HOST, server.tls_port, _tls(server, ["http2"]))
    try:
        if conn.await_up(5.0) != "http2":
            raise AssertionError("the connection is not HTTP/2")
        refs = [conn.get(f"/n/{i}") for i in range(count)]
        bodies: dict[int, bytes] = {}
        for i, ref in enumerate(refs):
            response = conn.await_(ref, 10.0)
            bodies[i] = b"" if response.fin else conn.await_body(ref, 10.0)
        wrong = [i for i, body in bodies.items() if body != f"response {i}\n".encode()]
        if wrong:
            raise AssertionError(f"{len(wrong)} responses do not match their request, e.g. #{wrong[0]}")
        port = conn.info()["sockname"][1]
        return f"{count} responses, each matching its request, all on one connection (local port {port})"
    finally:
        conn.close()


def step_push(server: DemoServer) -> str:
    """GET /push over HTTP/2: the server pushes two resources before the page."""
    conn = gun_io.open(HOST, server.tls_port, _tls(server, ["http2"]))
    try:
        conn.await_up(5.0)
        ref = conn.get("/push")
        pushes: list[Any] = []
        response: Any = None
        parts: list[bytes] = []
        done = False
        while not done:  # PUSH_PROMISE frames may come before or after the response headers
            msg = conn.await_(ref, 5.0)
            if isinstance(msg, gun_io.GunPush):
                pushes.append(msg)
            elif isinstance(msg, gun_io.GunResponse):
                response, done = msg, msg.fin
            elif isinstance(msg, gun_io.GunData):
                parts.append(msg.data)
                done = msg.fin
            elif isinstance(msg, gun_io.GunTrailers):
                done = True
        page = b"".join(parts)
        if _header(response.headers, b"x-push") == b"unsupported":
            raise _Skip("the server could not push on this connection")
        if not pushes:
            raise _Skip("no PUSH_PROMISE arrived (the server did not push)")
        app = _demo_app()
        expected = {b"/style.css": app.STYLE_CSS, b"/script.js": app.SCRIPT_JS}
        got = []
        for push in pushes:
            pushed = conn.await_(push.new_stream_ref, 5.0)
            body = b"" if pushed.fin else conn.await_body(push.new_stream_ref, 5.0)
            path = push.uri.split(b"://", 1)[-1]
            path = path[path.find(b"/") :] if b"/" in path else path
            if expected.get(path) != body:
                raise AssertionError(f"pushed {push.uri!r} has an unexpected body {body!r}")
            got.append(f"{path.decode()} ({len(body)} B)")
        return f"page {response.status} ({len(page)} B) with {len(pushes)} pushed: " + ", ".join(got)
    finally:
        conn.close()


def step_upload(server: DemoServer, size: int = 8 << 20, chunk: int = 64 << 10) -> str:
    """POST ``size`` bytes to /upload in ``chunk``-sized ``data()`` calls; check size and SHA-256."""
    conn = gun_io.open(HOST, server.tls_port, _tls(server, ["http2", "http"]))
    try:
        protocol = conn.await_up(5.0)
        headers = [("content-type", "application/octet-stream"), ("content-length", str(size))]
        ref = conn.post("/upload", headers)
        digest = hashlib.sha256()
        block = os.urandom(chunk)
        sent = 0
        while sent < size:
            piece = block[: min(chunk, size - sent)]
            sent += len(piece)
            digest.update(piece)
            conn.data(ref, sent >= size, piece)
        response = conn.await_(ref, 30.0)
        body = b"" if response.fin else conn.await_body(ref, 30.0)
        answer = json.loads(body)
        if answer != {"size": size, "sha256": digest.hexdigest()}:
            raise AssertionError(f"the server saw {answer}, not {size} bytes with our SHA-256")
        return f"{size // (1 << 20)} MiB in {size // chunk} data() calls over {protocol}; server's SHA-256 matches"
    finally:
        conn.close()


def step_websocket(server: DemoServer) -> str:
    """Websocket echo with permessage-deflate on the cleartext port."""
    conn = gun_io.open(HOST, server.plain_port, {"protocols": ["http"], "retry": 0, "connect_timeout": 5.0})
    try:
        conn.await_up(5.0)
        ref = conn.ws_upgrade("/ws", (), {"compress": True, "protocols": ["demo.echo"]})
        msg = conn.await_(ref, 5.0)
        if not isinstance(msg, gun_io.GunUpgrade):
            raise AssertionError(f"the upgrade was refused: {msg!r}")
        extensions = (_header(msg.headers, b"sec-websocket-extensions") or b"").decode()
        text = "hello over a compressed websocket " * 20
        binary = bytes(range(256)) * 16
        conn.ws_send(ref, [gun_io.Text(text), gun_io.Binary(binary)])
        frames = [conn.await_(ref, 5.0).frame for _ in range(2)]
        if frames != [gun_io.Text(text), gun_io.Binary(binary)]:
            raise AssertionError(f"the echo differs: {frames!r}")
        conn.ws_send(ref, gun_io.Close(1000, "bye"))
        closing = conn.await_(ref, 5.0)
        code = getattr(getattr(closing, "frame", None), "code", None)
        if "permessage-deflate" not in extensions:
            raise _Skip(f"echo worked, but the server did not accept compression ({extensions or 'no extension'})")
        return (
            f"upgraded with {extensions}; {len(text)}-char text and {len(binary)}-byte binary echoed; "
            f"closed with code {code}"
        )
    finally:
        conn.close()


STEPS: list[tuple[str, Callable[[DemoServer], str]]] = [
    ("GET over HTTP/1.1 (TLS)", step_http1),
    ("the same GET over HTTP/2 (ALPN)", step_http2),
    ("100 concurrent requests on one HTTP/2 connection", step_concurrent),
    ("HTTP/2 server push", step_push),
    ("streamed upload (8 MiB)", step_upload),
    ("websocket echo with compression", step_websocket),
]


def run_step(server: DemoServer, title: str, fn: Callable[[DemoServer], str]) -> StepResult:
    """Run one step and say what happened; never raises for a failed step."""
    start = time.perf_counter()
    try:
        detail = fn(server)
        status = "ok"
    except _Skip as exc:
        detail, status = f"skipped: {exc}", "skipped"
    except (GunException, AssertionError, OSError, ValueError) as exc:
        detail, status = f"{type(exc).__name__}: {exc}", "failed"
    return StepResult(title, status, detail, time.perf_counter() - start)


def _marks(out: TextIO) -> dict[str, str]:
    encoding = getattr(out, "encoding", None) or "ascii"
    try:
        "\u2713\u2717\u2013".encode(encoding)
        return {"ok": "\u2713", "failed": "\u2717", "skipped": "\u2013"}
    except (UnicodeEncodeError, LookupError):
        return {"ok": "ok", "failed": "FAIL", "skipped": "skip"}


def run_demo(out: TextIO | None = None, *, only: list[str] | None = None) -> int:
    """Start the server, run every step, print a line per step; return 0 if none failed."""
    out = out if out is not None else sys.stdout
    marks = _marks(out)
    total = time.perf_counter()
    try:
        server = DemoServer()
        server.start()
    except MissingExtra as exc:
        print(f"gun demo: {exc}", file=sys.stderr)
        return 2
    print(
        f"gun demo: a server on {HOST} (TLS port {server.tls_port} with a throw-away CA, "
        f"cleartext port {server.plain_port}); nothing leaves this machine.\n",
        file=out,
    )
    results: list[StepResult] = []
    try:
        for i, (title, fn) in enumerate(STEPS, 1):
            if only and not any(word.lower() in title.lower() for word in only):
                continue
            r = run_step(server, title, fn)
            results.append(r)
            print(f" {marks[r.status]} {i}. {title} ({r.seconds * 1000:.1f} ms)", file=out)
            print(f"      {r.detail}", file=out, flush=True)
    finally:
        server.stop()
    counts = {s: sum(1 for r in results if r.status == s) for s in ("ok", "skipped", "failed")}
    print(
        f"\n{counts['ok']} ok, {counts['skipped']} skipped, {counts['failed']} failed "
        f"in {time.perf_counter() - total:.2f} s",
        file=out,
    )
    return 1 if counts["failed"] else 0


def serve_forever(plain_port: int = 0, tls_port: int = 0, out: TextIO | None = None) -> int:
    """``gun demo --serve``: run the demo server until Ctrl-C; print its ports and CA file
    as Python assignments (the names the guide's examples use)."""
    out = out if out is not None else sys.stdout
    try:
        server = DemoServer(plain_port=plain_port, tls_port=tls_port)
        server.start()
    except MissingExtra as exc:
        print(f"gun demo: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"gun demo: cannot listen: {exc}", file=sys.stderr)
        return 7
    print(f"PORT = {server.plain_port}", file=out)
    print(f"TLS_PORT = {server.tls_port}", file=out)
    print(f"CAFILE = {server.cafile!r}", file=out)
    print(
        f"# in a shell: export PORT={server.plain_port} TLS_PORT={server.tls_port} CAFILE={server.cafile}",
        file=out,
        flush=True,
    )
    print("# serving on 127.0.0.1; Ctrl-C stops", file=sys.stderr, flush=True)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_term)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
