"""Record what real servers send to the client and write it as seeds (``fuzz/corpus/<target>/cap-*``).

Starts the test servers of ``tests/servers`` on 127.0.0.1 (nginx, nghttpd, hypercorn, the
Autobahn fuzzing server; whichever are installed), drives our own cores over a plain socket
(the requests are made by the same functions the fuzz targets use, so the recorded bytes fit
the target's config byte), and records every byte the client receives. Each recording is cut
to ``MAX_BYTES`` to keep the corpus small.

    python -m fuzz.capture_corpus          # rewrites the cap-* files
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fuzz import invariants as inv
from fuzz.harness import seed
from fuzz.targets import h2_conn, http1
from gun_core.events import Closed, Event, SwitchProtocol, Ws
from gun_core.http1 import Http1Protocol
from gun_core.http2 import Http2Protocol
from gun_core.options import WsOpts
from gun_core.ws import Binary, Text, WsProtocol
from gun_core.ws_handshake import check_response, upgrade_headers

__all__ = ["main"]

CORPUS = Path(__file__).resolve().parent / "corpus"
HOST = "127.0.0.1"
MAX_BYTES = 4096
TIMEOUT = 5.0


class Link:
    """A socket to a server that records every byte received."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
        self.received = bytearray()
        self.eof = False

    def send(self, data: bytes) -> None:
        if data:
            self.sock.sendall(data)

    def recv(self) -> bytes:
        try:
            data = self.sock.recv(65536)
        except (TimeoutError, OSError):
            data = b""
        if not data:
            self.eof = True
        self.received += data
        return data

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def pump(link: Link, core: Any, done: Callable[[list[Event]], bool], deadline: float) -> list[Event]:
    """Exchange bytes until ``done(events)``, the peer closes, or the deadline."""
    events: list[Event] = []
    link.send(core.data_to_send())
    while not done(events) and not link.eof and time.monotonic() < deadline:
        data = link.recv()
        events += core.receive_data(data)
        link.send(core.data_to_send())
    return events


def _closed(events: list[Event]) -> bool:
    return any(type(e) in (Closed, SwitchProtocol) for e in events)


def capture_http1(port: int, label: str, out: dict[str, dict[str, bytes]]) -> None:
    """One connection per request script of the http1 target."""
    for index, script in enumerate(http1.SCRIPTS):
        link = Link(port)
        try:
            core = Http1Protocol(f"{HOST}:{port}".encode(), http1.OPTS)
            ledger = inv.Ledger()
            http1.open_requests(core, ledger, script, None)
            converse(link, core, ledger)
        finally:
            link.close()
        if link.received:
            out["http1"][f"cap-{label}-script{index}"] = seed(index, 3, bytes(link.received[:MAX_BYTES]))


def converse(link: Link, core: Any, ledger: inv.Ledger) -> None:
    """Send what the core wrote and feed it what the server answers, until its streams are done,
    the server closes, or TIMEOUT passes."""
    fed = 0

    def done(events: list[Event]) -> bool:
        nonlocal fed
        ledger.feed(events[fed:])
        fed = len(events)
        return ledger.over or not ledger.open_ids()

    pump(link, core, done, time.monotonic() + TIMEOUT)


def capture_h2(port: int, label: str, out: dict[str, dict[str, bytes]]) -> None:
    """h2c by prior knowledge: the h2_conn target's streams, raw mode, no automatic preface."""
    for n in (1, 2, 4):
        for push in (0, 4):
            link = Link(port)
            try:
                core = Http2Protocol(f"{HOST}:{port}".encode(), b"http", h2_conn.OPTS, enable_push=bool(push))
                ledger = inv.Ledger()
                h2_conn.open_streams(core, ledger, n, None)
                converse(link, core, ledger)
            finally:
                link.close()
            if link.received:
                data = bytes(link.received[:MAX_BYTES])
                out["h2_conn"][f"cap-{label}-{n}streams-push{push}"] = seed((n - 1) | push, 3, data)
                out["h2_frames"][f"cap-{label}-{n}streams-push{push}"] = seed(0, 0, data)


def capture_ws(port: int, path: str, label: str, out: dict[str, dict[str, bytes]], *, compress: bool = False) -> None:
    """An upgrade with the ws_handshake target's key, then an echo client until the server closes."""
    opts = WsOpts(compress=compress, max_message_size=1 << 24)
    link = Link(port)
    try:
        core: Any = Http1Protocol(f"{HOST}:{port}".encode())
        core.request(b"GET", path.encode(), upgrade_headers(http1.WS_KEY, opts), None, upgrade=True)
        events = pump(link, core, _closed, time.monotonic() + TIMEOUT)
        switch = next((e for e in events if type(e) is SwitchProtocol), None)
        if switch is None:
            return
        head_len = len(link.received) - len(switch.trailing)
        negotiated = check_response(http1.WS_KEY, switch.status, switch.headers, opts)
        if not hasattr(negotiated, "deflate"):
            return
        ws = WsProtocol(1, opts, negotiated)  # type: ignore[arg-type]
        pending = ws.receive_data(switch.trailing) if switch.trailing else []
        if path.endswith("/ws"):  # our echo server: say something first
            pending += ws.send([Text("hello"), Binary(b"\x00\x01\x02")])
        deadline = time.monotonic() + TIMEOUT
        while True:
            for e in pending:
                if type(e) is Ws and type(e.frame) in (Text, Binary) and not ws.closing:
                    ws.send(e.frame)
            link.send(ws.data_to_send())
            if _closed(pending) or link.eof or time.monotonic() > deadline or len(link.received) > MAX_BYTES * 4:
                break
            pending = ws.receive_data(link.recv())
    finally:
        link.close()
    frames = bytes(link.received[head_len : head_len + MAX_BYTES])
    whole = bytes(link.received[:MAX_BYTES])
    config = 1 if compress else 0
    out["ws_handshake"][f"cap-{label}"] = seed(config, 3, whole)
    if frames:
        out["ws"][f"cap-{label}"] = seed(config, 3, frames)


@contextlib.contextmanager
def servers(folder: Path) -> Iterator[dict[str, Any]]:
    """Start what is installed; yield them by name; stop them all at the end."""
    from tests.servers.certs import make_test_ca

    started: dict[str, Any] = {}
    ca = make_test_ca(folder / "ca")

    def start(name: str, make: Callable[[], Any]) -> None:
        try:
            server = make()
            server.start()
        except Exception as exc:  # a server that cannot start is skipped, with a word
            print(f"{name}: not started ({exc})")
            return
        started[name] = server

    try:
        if importlib.util.find_spec("hypercorn") is not None:
            from tests.servers.hypercorn_server import HypercornServer

            start("hypercorn", lambda: HypercornServer(folder / "hypercorn", ca))
        if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():
            from tests.servers.nginx import NginxServer

            binary = shutil.which("nginx") or "/usr/sbin/nginx"
            upstream = started["hypercorn"].unix_path if "hypercorn" in started else None
            start("nginx", lambda: NginxServer(binary, folder / "nginx", ca, upstream_unix=upstream))
        if shutil.which("nghttpd"):
            from tests.servers.nghttpd import NghttpdServer

            start("nghttpd", lambda: NghttpdServer(str(shutil.which("nghttpd")), folder / "nghttpd", ca))
        from tests.servers.autobahn_server import AutobahnServer, venv_python

        if venv_python().exists():
            cases = ["1.1.1", "1.1.6", "1.2.1", "1.2.6", "2.*", "3.*", "4.1.1", "4.2.1", "5.1", "5.2", "5.3", "5.6"]
            cases += ["5.9", "5.15", "5.19", "6.2.*", "6.4.*", "7.1.*", "7.5.1", "12.1.1", "12.1.3", "12.1.5"]
            start("autobahn", lambda: AutobahnServer(str(venv_python()), folder / "autobahn", cases=cases))
        yield started
    finally:
        for server in started.values():
            with contextlib.suppress(Exception):
                server.stop()


def main() -> None:
    out: dict[str, dict[str, bytes]] = {t: {} for t in ("http1", "h2_conn", "h2_frames", "ws", "ws_handshake")}
    with tempfile.TemporaryDirectory(prefix="gun-capture-") as tmp, servers(Path(tmp)) as running:
        if "nginx" in running:
            capture_http1(running["nginx"].http_port, "nginx", out)
            capture_h2(running["nginx"].h2c_port, "nginx", out)
            capture_ws(running["nginx"].http_port, "/up/ws", "nginx-ws", out)
        if "hypercorn" in running:
            capture_http1(running["hypercorn"].plain_port, "hypercorn", out)
            capture_h2(running["hypercorn"].plain_port, "hypercorn", out)
            capture_ws(running["hypercorn"].plain_port, "/ws", "hypercorn-ws", out)
            capture_ws(running["hypercorn"].plain_port, "/ws", "hypercorn-ws-deflate", out, compress=True)
            capture_ws(running["hypercorn"].plain_port, "/ws-reject", "hypercorn-ws-reject", out)
        if "nghttpd" in running:
            capture_h2(running["nghttpd"].h2c_port, "nghttpd", out)
        if "autobahn" in running:
            ab = running["autobahn"]
            for number, case_id in enumerate(ab.case_ids, 1):
                path = ab.case_url(number, "gun-fuzz-capture").split(str(ab.port), 1)[1]
                label = "autobahn-" + case_id.replace(".", "_")
                capture_ws(ab.port, path, label, out, compress=case_id.startswith("12."))
    for target, files in out.items():
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("cap-*"):
            old.unlink()
        for name, data in files.items():
            (folder / name).write_bytes(data)
        print(f"{target}: {len(files)} captured")


if __name__ == "__main__":
    main()
