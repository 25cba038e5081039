"""The ``gun`` command: a curl-like HTTP client, an interactive websocket client, and the demo.

::

    gun [options] URL            one HTTP request (HTTP/1.1 or HTTP/2)
    gun ws [options] URL         websocket: stdin lines become text frames, frames received are printed
    gun demo                     every protocol against an embedded loopback server

Also run as ``python -m gun_io``. The progress bar needs the ``cli`` extra (``rich``);
everything else needs only the library. Exit codes follow curl's where curl has one
(see :data:`EXIT_CODES` and ``docs/reference/cli.md``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, NoReturn, TextIO
from urllib.parse import unquote, urlsplit

import gun_io
from gun_core.errors import (
    BadOption,
    ConnectionDown,
    ConnectionFailure,
    GunException,
    InvalidHeader,
    StreamError,
    Timeout,
    UsageError,
)
from gun_core.headers import normalize_headers

from . import trace

__all__ = ["EXIT_CODES", "CliError", "Tracer", "main"]

#: Exit codes, curl's numbers where curl has the same failure.
EXIT_CODES: dict[str, int] = {
    "ok": 0,
    "error": 1,  # anything else (including a websocket closed by the server with an error code)
    "usage": 2,  # bad option, bad URL, unreadable -d @file
    "resolve": 6,  # could not resolve the host
    "connect": 7,  # connection refused / unreachable
    "weird": 8,  # the server's reply broke the protocol (malformed response, bad frames)
    "http": 22,  # --fail and an HTTP status >= 400; a refused websocket upgrade
    "write": 23,  # could not write the output
    "timeout": 28,  # --connect-timeout or --max-time elapsed
    "tls": 35,  # TLS handshake failed (other than verification), ALPN mismatch
    "empty": 52,  # the server closed the connection without answering
    "recv": 56,  # the connection was lost while receiving
    "tls_verify": 60,  # the server's certificate could not be verified
    "stream": 92,  # the stream was reset or hit a protocol error
    "interrupted": 130,  # Ctrl-C
}

_PROG = "gun"
_log_lock = threading.Lock()


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("gun")
    except Exception:
        return "0.1.0"


class CliError(Exception):
    """A failure to report to the shell user: a message and an exit code."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = EXIT_CODES[kind]
        self.message = message


def _err(text: str) -> None:
    with _log_lock:
        try:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
        except OSError:
            _silence(sys.stderr)


def _silence(stream: TextIO) -> None:
    """Point a stream whose reader went away at /dev/null, so that nothing fails at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


# --------------------------------------------------------------------------- URLs and options


@dataclass
class Target:
    """What a URL names: where to connect and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    tls: bool
    userinfo: str | None = None

    @property
    def where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def parse_url(url: str, schemes: Sequence[str]) -> Target:
    """Split ``url``; a URL without a scheme gets the first of ``schemes``."""
    if "://" not in url:
        url = f"{schemes[0]}://{url}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CliError("usage", f"malformed URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        raise CliError("usage", f"unsupported scheme {scheme!r} in {url!r}; use {' or '.join(schemes)}")
    host = parts.hostname
    if not host:
        raise CliError("usage", f"no host in URL {url!r}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    userinfo = None
    if parts.username is not None:
        userinfo = unquote(parts.username) + ":" + unquote(parts.password or "")
    return Target(scheme, host, port or _DEFAULT_PORTS[scheme], path, scheme in ("https", "wss"), userinfo)


def parse_header(text: str) -> tuple[str, str | None]:
    """``'name: value'`` -> (name, value); ``'name:'`` -> (name, None) removes a default header;
    ``'name;'`` -> (name, '') sends it empty (curl's conventions)."""
    if ":" in text:
        name, _, value = text.partition(":")
        value = value.strip()
        if not name.strip():
            raise CliError("usage", f"header {text!r} has no name")
        return name.strip(), (value if value else None)
    if text.endswith(";") and text[:-1].strip():
        return text[:-1].strip(), ""
    raise CliError("usage", f"header {text!r} is not 'name: value'")


def _connect_opts(target: Target, args: argparse.Namespace, protocols: list[str]) -> dict[str, Any]:
    opts: dict[str, Any] = {"transport": "tls" if target.tls else "tcp", "protocols": protocols, "retry": 0}
    if args.connect_timeout is not None:
        opts["connect_timeout"] = args.connect_timeout
        opts["domain_lookup_timeout"] = args.connect_timeout
        opts["tls_handshake_timeout"] = args.connect_timeout
    if target.tls:
        tls: dict[str, Any] = {}
        if args.cacert:
            if not os.path.isfile(args.cacert):
                raise CliError("usage", f"--cacert {args.cacert}: no such file")
            tls["cafile"] = args.cacert
        if args.insecure:
            tls["verify"] = False
        opts["tls_opts"] = tls
    if args.verbose:
        opts["trace"] = True
    return opts


def _warn_insecure(args: argparse.Namespace, target: Target) -> None:
    if args.insecure and target.tls:
        _err(
            f"{_PROG}: WARNING: --insecure: the certificate of {target.where} is NOT verified; anyone on the path "
            "can read and change this traffic. Use --cacert FILE to trust a private CA instead."
        )


def _explain(exc: BaseException, target: Target, args: argparse.Namespace, *, got_response: bool = False) -> CliError:
    """Turn a library exception into a message a shell user can act on."""
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return CliError("interrupted", "interrupted")
    if isinstance(exc, (BadOption, InvalidHeader, UsageError)):
        return CliError("usage", str(exc))
    reason = getattr(exc, "reason", None)
    kind = getattr(reason, "kind", "")
    message = getattr(reason, "message", str(reason) if reason is not None else str(exc))
    where = target.where
    if kind == "domain_lookup":
        return CliError("resolve", f"could not resolve host {target.host!r}: {message}")
    if kind == "connect":
        if "ALPN" in message:
            return CliError("tls", f"protocol negotiation with {where} failed: {message}")
        if "refused" in message.lower():
            return CliError("connect", f"connection refused by {where}: is a server listening on that port?")
        return CliError("connect", f"could not connect to {where}: {message}")
    if kind == "tls":
        if "verification failed" in message:
            return CliError(
                "tls_verify",
                f"TLS certificate verification failed for {where}: {message.split(': ', 1)[-1]}. "
                "Use --cacert FILE to trust the CA that issued it, or --insecure to skip the check (unsafe).",
            )
        return CliError("tls", f"TLS handshake with {where} failed: {message}")
    if kind == "timeout":
        limit = f" (--connect-timeout {args.connect_timeout:g} s)" if args.connect_timeout is not None else ""
        return CliError("timeout", f"timed out connecting to {where}{limit}: {message}")
    if kind == "protocol_error":
        return CliError("weird", f"the reply of {where} broke the protocol: {message}")
    if isinstance(exc, StreamError):
        return CliError("stream", f"the stream failed: {reason}")
    if isinstance(exc, (ConnectionDown, ConnectionFailure)):
        if not got_response and kind == "closed":
            return CliError("empty", f"{where} closed the connection without answering ({message})")
        return CliError("recv", f"the connection to {where} was lost: {reason}")
    if isinstance(exc, Timeout):
        return CliError("timeout", f"timed out waiting for {where}: {exc}")
    if isinstance(exc, OSError):
        return CliError("error", f"{exc}")
    return CliError("error", f"{type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- the -v trace


class Tracer:
    """Prints the trace of a connection to a text stream, one readable line per frame or event.

    ``gun_io``'s ``trace`` option makes the driver log every chunk of bytes and every
    core event (``gun_io.trace``). The tracer decodes the chunks: HTTP/1.1 heads line by
    line, HTTP/2 frames (type, stream, flags, sizes) and websocket frame headers; it
    prints events with their fields. ``>`` is what we sent, ``<`` what we received,
    ``*`` an event or a note.
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._mode: dict[int, str] = {}  # conn id -> "http" | "http2" | "ws"
        self._buf: dict[tuple[int, str], bytearray] = {}
        self._h1_head: dict[tuple[int, str], bool] = {}
        self._broken = False

    # -- installation

    def install(self) -> Callable[[], None]:
        """Route the ``gun_io.trace`` output of this process here; return an undo function."""
        original = trace.trace_bytes
        # The logger line for bytes holds a shortened repr; the whole chunk is needed to
        # decode frames, so the CLI takes the chunks themselves.
        setattr(trace, "trace_bytes", self.on_bytes)  # noqa: B010
        handler = _TraceHandler(self)
        trace.logger.addHandler(handler)
        old_level, old_propagate = trace.logger.level, trace.logger.propagate
        trace.logger.setLevel(logging.DEBUG)
        trace.logger.propagate = False

        def undo() -> None:
            setattr(trace, "trace_bytes", original)  # noqa: B010
            trace.logger.removeHandler(handler)
            trace.logger.setLevel(old_level)
            trace.logger.propagate = old_propagate

        return undo

    def line(self, text: str) -> None:
        with _log_lock:
            if self._broken:
                return
            try:
                self.out.write(text + "\n")
                self.out.flush()
            except OSError:  # e.g. `gun -v URL 2>&1 | head`: stop tracing, not the transfer
                self._broken = True
                _silence(self.out)

    def note(self, text: str) -> None:
        self.line(f"* {text}")

    # -- bytes

    def on_bytes(self, conn_id: int, direction: str, data: bytes) -> None:
        arrow = ">" if direction == ">>" else "<"
        if not data:
            self.line(f"{arrow} (connection closed by the peer)" if arrow == "<" else f"{arrow} (nothing)")
            return
        key = (conn_id, arrow)
        mode = self._mode.get(conn_id)
        if mode is None and arrow == ">" and data.startswith(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"):
            mode = self._mode[conn_id] = "http2"
            self.line("> PRI * HTTP/2.0 (connection preface)")
            data = data[24:]
            if not data:
                return
        if mode == "http2":
            self._h2(key, arrow, data)
        elif mode == "ws":
            self._ws(key, arrow, data)
        else:
            self._h1(key, arrow, data)

    def _h1(self, key: tuple[int, str], arrow: str, data: bytes) -> None:
        if not self._h1_head.get(key, True):
            self.line(f"{arrow} [{len(data)} bytes of body]")
            return
        buf = self._buf.setdefault(key, bytearray())
        buf += data
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > 65536:
                self.line(f"{arrow} [{len(buf)} bytes without the end of a head]")
                buf.clear()
            return
        for raw in bytes(buf[:end]).split(b"\r\n"):
            self.line(f"{arrow} {raw.decode('latin-1')}")
        self.line(arrow)
        rest = len(buf) - end - 4
        buf.clear()
        head = bytes(data[: max(0, len(data) - rest)])
        self._h1_head[key] = head.startswith(b"HTTP/1.1 1") and not head.startswith(b"HTTP/1.1 101")
        if rest:
            self.line(f"{arrow} [{rest} bytes of body]")

    def _h2(self, key: tuple[int, str], arrow: str, data: bytes) -> None:
        from gun_core import http2_frames as f

        buf = self._buf.setdefault(key, bytearray())
        buf += data
        pos = 0
        while True:
            r = f.parse(buf, pos, 1 << 24)
            if isinstance(r, f.FrameOk):
                self.line(f"{arrow} {self._h2_frame(r.frame)}")
                pos += r.used
            elif isinstance(r, f.FrameStreamError):
                self.line(f"{arrow} (malformed frame on stream {r.stream_id}: {r.message})")
                pos += r.used
            elif isinstance(r, f.FrameConnectionError):
                self.line(f"{arrow} (malformed bytes: {r.message})")
                pos = len(buf)
                break
            else:
                break
        del buf[:pos]

    @staticmethod
    def _h2_frame(frame: Any) -> str:
        from gun_core import http2_frames as f

        t = type(frame)
        if t is f.DataFrame:
            return f"DATA stream={frame.stream_id} {len(frame.data)} bytes{' END_STREAM' if frame.fin else ''}"
        if t is f.HeadersFrame:
            flags = (" END_STREAM" if frame.fin else "") + (" END_HEADERS" if frame.end_headers else "")
            return f"HEADERS stream={frame.stream_id}{flags} ({len(frame.fragment)}-byte field block)"
        if t is f.SettingsFrame:
            if frame.ack:
                return "SETTINGS ACK"
            names = []
            for ident, value in frame.settings:
                try:
                    name = f.SettingCode(ident).name
                except ValueError:
                    name = f"0x{ident:x}"
                names.append(f"{name}={value}")
            return "SETTINGS " + (" ".join(names) if names else "(defaults)")
        if t is f.WindowUpdateFrame:
            return f"WINDOW_UPDATE stream={frame.stream_id} +{frame.increment}"
        if t is f.PingFrame:
            return f"PING{' ACK' if frame.ack else ''} {frame.opaque.hex()}"
        if t is f.GoawayFrame:
            debug = f" {frame.debug_data[:60]!r}" if frame.debug_data else ""
            return f"GOAWAY last_stream={frame.last_stream_id} {_code_name(frame.error_code)}{debug}"
        if t is f.RstStreamFrame:
            return f"RST_STREAM stream={frame.stream_id} {_code_name(frame.error_code)}"
        if t is f.PushPromiseFrame:
            return (
                f"PUSH_PROMISE stream={frame.stream_id} promised={frame.promised_stream_id}"
                f"{' END_HEADERS' if frame.end_headers else ''} ({len(frame.fragment)}-byte field block)"
            )
        if t is f.ContinuationFrame:
            end = " END_HEADERS" if frame.end_headers else ""
            return f"CONTINUATION stream={frame.stream_id}{end} ({len(frame.fragment)} bytes)"
        if t is f.PriorityFrame:
            return f"PRIORITY stream={frame.stream_id} depends_on={frame.depends_on} weight={frame.weight}"
        return f"UNKNOWN type=0x{frame.frame_type:x} stream={frame.stream_id} {frame.length} bytes"

    def _ws(self, key: tuple[int, str], arrow: str, data: bytes) -> None:
        from gun_core import ws_frames as w

        buf = self._buf.setdefault(key, bytearray())
        buf += data
        pos = 0
        while True:
            h = w.parse_header(buf, pos)
            if h is None:
                break
            b0, b1, length, start = h
            if len(buf) < start + length:
                break
            try:
                name = w.Opcode(b0 & 0x0F).name
            except ValueError:
                name = f"opcode 0x{b0 & 0x0F:x}"
            flags = ("" if b0 & 0x80 else " (not FIN)") + (" compressed" if b0 & 0x40 else "")
            flags += " masked" if b1 & 0x80 else ""
            detail = ""
            if b0 & 0x0F == w.Opcode.CLOSE and length >= 2:
                payload = bytes(buf[start : start + length])
                if b1 & 0x80:
                    payload = bytes(c ^ buf[start - 4 + i % 4] for i, c in enumerate(payload))
                detail = f" code={int.from_bytes(payload[:2], 'big')} {payload[2:].decode('utf-8', 'replace')!r}"
            self.line(f"{arrow} ws {name} {length} bytes{flags}{detail}")
            pos = start + length
        del buf[:pos]

    # -- events

    def on_record(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) == 3 and isinstance(args[1], str):
            conn_id: Any = args[0]
            what: str = args[1]
            item: Any = args[2]
            if what == "message":
                name = type(item).__name__
                if name == "GunUp":
                    self._mode[conn_id] = "http2" if item.protocol == "http2" else self._mode.get(conn_id, "http")
                if name in ("GunUp", "GunDown"):
                    self.note(_describe(item))
                return
            if what == "event":
                name = type(item).__name__
                if name == "SwitchProtocol":
                    self._mode[conn_id] = "ws"
                self.note(_describe(item, headers=self._mode.get(conn_id) == "http2"))
                return
            self.note(f"{what}: {item}")
            return
        self.note(record.getMessage())


class _TraceHandler(logging.Handler):
    def __init__(self, tracer: Tracer) -> None:
        super().__init__(logging.DEBUG)
        self.tracer = tracer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.tracer.on_record(record)
        except Exception:  # a trace must never break the transfer
            self.handleError(record)


def _code_name(code: int) -> str:
    return getattr(code, "name", str(code))


def _describe(item: Any, *, headers: bool = True) -> str:
    """One readable line (plus header lines) for a core event or a message."""
    name = type(item).__name__
    parts: list[str] = []
    lines: list[str] = []
    for fname in getattr(item, "__dataclass_fields__", {}):
        if fname == "conn":
            continue
        value = getattr(item, fname)
        if fname == "headers" and isinstance(value, list):
            parts.append(f"{len(value)} headers")
            if headers:
                lines += [f"    {n.decode('latin-1')}: {v.decode('latin-1')}" for n, v in value]
        elif fname == "data" and isinstance(value, (bytes, bytearray, memoryview)):
            parts.append(f"{len(value)} bytes")
        elif fname == "trailing" and isinstance(value, (bytes, bytearray)):
            parts.append(f"trailing={len(value)} bytes")
        elif fname == "reason":
            parts.append(f"reason={value}")
        elif fname in ("killed", "unprocessed", "killed_streams", "unprocessed_streams"):
            if value:
                parts.append(f"{fname}={len(value)}")
        else:
            parts.append(f"{fname}={value!r}" if isinstance(value, (bytes, str)) else f"{fname}={value}")
    return "\n".join([f"{name} " + " ".join(parts), *lines])


# --------------------------------------------------------------------------- progress


class Progress:
    """A transfer progress bar on stderr (``rich``), shown only on a terminal, only after ~1 s.

    Without ``rich`` (the ``cli`` extra) or when ``enabled`` is false it does nothing.
    """

    DELAY = 1.0

    def __init__(self, enabled: bool) -> None:
        self._rich: Any = None
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._pending: dict[str, list[Any]] = {}  # name -> [label, total, completed, started]
        self._started_at = time.monotonic()
        self._lock = threading.Lock()
        self._live = False
        if enabled:
            try:  # imported by name: the cli extra is optional, for type checkers too
                self._rich = importlib.import_module("rich.progress")
            except ImportError:
                self._rich = None

    @property
    def enabled(self) -> bool:
        return self._rich is not None

    def add(self, name: str, label: str, total: int | None) -> None:
        if self._rich is None:
            return
        with self._lock:
            self._pending[name] = [label, total, 0, time.monotonic()]

    def set_total(self, name: str, total: int | None) -> None:
        with self._lock:
            if name in self._pending:
                self._pending[name][1] = total
            if name in self._tasks and self._progress is not None:
                self._progress.update(self._tasks[name], total=total)

    def update(self, name: str, completed: int, *, done: bool = False) -> None:
        if self._rich is None:
            return
        with self._lock:
            entry = self._pending.get(name)
            if entry is None:
                return
            entry[2] = completed
            if name not in self._tasks:
                if done or time.monotonic() - entry[3] < self.DELAY:
                    return
                self._start_task(name, entry)
            self._progress.update(self._tasks[name], completed=completed)
            if done:
                total = entry[1]
                if total is None:
                    self._progress.update(self._tasks[name], total=completed)

    def _start_task(self, name: str, entry: list[Any]) -> None:
        rp = self._rich
        if self._progress is None:
            console = importlib.import_module("rich.console").Console(file=sys.stderr)
            self._progress = rp.Progress(
                rp.TextColumn("{task.description}"),
                rp.BarColumn(),
                rp.DownloadColumn(),
                rp.TransferSpeedColumn(),
                rp.TextColumn("eta"),
                rp.TimeRemainingColumn(),
                console=console,
                redirect_stdout=False,
                redirect_stderr=False,
                transient=False,
            )
            self._progress.start()
            self._live = True
        self._tasks[name] = self._progress.add_task(entry[0], total=entry[1], completed=entry[2])

    def stop(self) -> None:
        with self._lock:
            if self._progress is not None and self._live:
                self._progress.stop()
                self._live = False


# --------------------------------------------------------------------------- HTTP


@dataclass
class _Body:
    """A request body: bytes in memory, or a file streamed in chunks."""

    data: bytes | None = None
    stream: BinaryIO | None = None
    size: int | None = None
    name: str = ""


def _read_body(args: argparse.Namespace) -> _Body | None:
    if args.upload_file is not None:
        return _open_body_file(args.upload_file)
    if not args.data:
        return None
    if len(args.data) == 1 and args.data[0].startswith("@"):
        return _open_body_file(args.data[0][1:])
    pieces: list[bytes] = []
    for d in args.data:
        if d.startswith("@"):
            body = _open_body_file(d[1:])
            assert body.stream is not None
            with body.stream:
                pieces.append(body.stream.read())
        else:
            pieces.append(d.encode("utf-8"))
    data = b"&".join(pieces)
    return _Body(data=data, size=len(data))


def _open_body_file(name: str) -> _Body:
    if name == "-":
        return _Body(stream=sys.stdin.buffer, size=None, name="stdin")
    try:
        stream = open(name, "rb")  # closed by the sender
        size = os.fstat(stream.fileno()).st_size
    except OSError as exc:
        raise CliError("usage", f"cannot read {name}: {exc.strerror or exc}") from None
    return _Body(stream=stream, size=size, name=name)


def _protocols(args: argparse.Namespace, target: Target) -> list[str]:
    if args.http1_1:
        return ["http"]
    if args.http2 or args.http2_prior_knowledge:
        return ["http2"]
    return ["http2", "http"] if target.tls else ["http"]


def _request_headers(args: argparse.Namespace, target: Target, body: _Body | None) -> list[tuple[str, str]]:
    headers: dict[str, tuple[str, str] | None] = {
        "user-agent": ("user-agent", f"gun/{_version()}"),
        "accept": ("accept", "*/*"),
    }
    if target.userinfo is not None:
        token = base64.b64encode(target.userinfo.encode("utf-8")).decode("ascii")
        headers["authorization"] = ("authorization", f"Basic {token}")
    if body is not None:
        if body.size is not None:
            headers["content-length"] = ("content-length", str(body.size))
        ctype = "application/octet-stream" if args.upload_file is not None else "application/x-www-form-urlencoded"
        headers["content-type"] = ("content-type", ctype)
    extra: list[tuple[str, str]] = []
    for h in args.header:
        name, value = parse_header(h)
        key = name.lower()
        if value is None:
            headers[key] = None
        elif key in headers:
            headers[key] = (name, value)
        else:
            extra.append((name, value))
    out = [v for v in headers.values() if v is not None] + extra
    try:
        normalize_headers(out)  # refuse CR, LF, NUL before connecting
    except InvalidHeader as exc:
        raise CliError("usage", f"bad header: {exc}") from None
    return out


class _Output:
    """Where the response goes: stdout or a file (opened at the first write)."""

    def __init__(self, path: str | None, *, collect: bool = False) -> None:
        self.path = path if path not in (None, "-") else None
        self._file: BinaryIO | None = None
        self.size = 0
        #: with ``collect`` the body is kept in ``chunks`` (for ``--json``) instead of written
        self.collect = collect and self.path is None
        self.chunks: list[bytes] = []

    @property
    def is_tty(self) -> bool:
        return self.path is None and sys.stdout.isatty()

    def _open(self) -> BinaryIO:
        if self._file is None:
            if self.path is None:
                self._file = sys.stdout.buffer
            else:
                try:
                    self._file = open(self.path, "wb")  # closed in close()
                except OSError as exc:
                    raise CliError("write", f"cannot write to {self.path}: {exc.strerror or exc}") from None
        return self._file

    def write(self, data: bytes, *, body: bool = True) -> None:
        if self.collect:
            self.chunks.append(data)
            self.size += len(data)
            return
        out = self._open()
        try:
            out.write(data)
            if self.path is None:
                out.flush()
        except BrokenPipeError:
            raise CliError("write", "the output pipe was closed") from None
        except OSError as exc:
            raise CliError("write", f"cannot write to {self.path or 'stdout'}: {exc.strerror or exc}") from None
        if body:
            self.size += len(data)

    def touch(self) -> None:
        if not self.collect:
            self._open()

    def close(self) -> None:
        if self._file is not None and self.path is not None:
            self._file.close()


def _status_line(status: int) -> str:
    from http import HTTPStatus

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _head_bytes(version: str, status: int, headers: list[tuple[bytes, bytes]]) -> bytes:
    lines = [f"{version} {_status_line(status)}".encode()]
    lines += [n + b": " + v for n, v in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for n, v in headers:
        if n == name:
            return v
    return None


class _Sender(threading.Thread):
    """Streams a file body with ``data()``, keeping at most ``window`` bytes buffered."""

    def __init__(self, conn: gun_io.Connection, ref: gun_io.StreamRef, body: _Body, chunk: int = 65536) -> None:
        super().__init__(name="gun-cli-upload", daemon=True)
        self.conn, self.ref, self.body, self.chunk = conn, ref, body, chunk
        self.handed = 0
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self.stop = threading.Event()
        self.window = 1 << 20

    def buffered(self) -> int:
        """Bytes handed to ``data()`` that are not yet on the socket (as far as we can see)."""
        info = self.conn.stream_info(self.ref)
        queued = int(info.get("queued_bytes") or 0) if info else 0
        # The sync driver keeps what the socket did not take yet in a write buffer;
        # no public call exposes it (reported to the lead), so read it defensively.
        wbuf = getattr(self.conn, "_wbuf", b"")
        return queued + (len(wbuf) if isinstance(wbuf, (bytes, bytearray)) else 0)

    @property
    def sent(self) -> int:
        return max(0, self.handed - self.buffered())

    def run(self) -> None:
        stream = self.body.stream
        assert stream is not None
        try:
            while not self.stop.is_set():
                while self.buffered() > self.window and not self.stop.is_set():
                    if self.conn.stream_info(self.ref) is None:
                        return  # the stream ended (the server answered early)
                    time.sleep(0.005)
                piece = stream.read1(self.chunk) if hasattr(stream, "read1") else stream.read(self.chunk)
                if not piece:
                    self.conn.data(self.ref, True, b"")
                    return
                self.handed += len(piece)
                fin = self.body.size is not None and self.handed >= self.body.size
                self.conn.data(self.ref, fin, piece)
                if fin:
                    return
        except BaseException as exc:
            self.error = exc
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
            self.finished.set()


def run_http(args: argparse.Namespace) -> int:
    """``gun URL``: one request; the body to stdout or ``-o``."""
    target = parse_url(args.url, ["http", "https"])
    if args.http2 and not target.tls and not args.http2_prior_knowledge:
        args.http2_prior_knowledge = True  # no h2c Upgrade here: cleartext HTTP/2 is by prior knowledge
    body = _read_body(args)
    method = (args.request or ("HEAD" if args.head else ("PUT" if args.upload_file else None))) or (
        "POST" if body is not None else "GET"
    )
    include = args.include or args.head
    protocols = _protocols(args, target)
    opts = _connect_opts(target, args, protocols)
    headers = _request_headers(args, target, body)
    _warn_insecure(args, target)
    tracer: Tracer | None = None
    undo: Callable[[], None] | None = None
    if args.verbose:
        tracer = Tracer(sys.stderr)
        undo = tracer.install()
        offer = ", ".join({"http": "http/1.1", "http2": "h2"}[p] for p in protocols)
        how = f"TLS, ALPN offers {offer}" if target.tls else ("h2c prior knowledge" if "http2" in protocols else "TCP")
        tracer.note(f"connecting to {target.where} ({how})")
    output = _Output(args.output, collect=args.json)
    interactive = sys.stderr.isatty() and not args.silent and not args.verbose
    progress = Progress(interactive)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    deadline = None if args.max_time is None else time.monotonic() + args.max_time
    conn: gun_io.Connection | None = None
    got_response = False
    response: Any = None
    trailers: list[tuple[bytes, bytes]] = []
    sender: _Sender | None = None
    try:
        try:
            conn = gun_io.open(target.host, target.port, opts)
            up_timeout = args.connect_timeout + 1.0 if args.connect_timeout is not None else None
            if deadline is not None:
                up_timeout = max(0.0, min(up_timeout or args.max_time, deadline - time.monotonic()))
            protocol = conn.await_up(up_timeout)
        except Timeout:
            raise CliError(
                "timeout",
                f"timed out connecting to {target.where}"
                + (f" (--connect-timeout {args.connect_timeout:g} s)" if args.connect_timeout is not None else ""),
            ) from None
        timings["connect"] = time.perf_counter() - t0
        if tracer is not None:
            info = conn.info()
            tracer.note(f"connected in {timings['connect'] * 1000:.1f} ms: {protocol}, local {info['sockname']}")
            if protocol == "http2":
                tracer.line(f"> {method} {target.path} (HTTP/2 request headers, before HPACK:)")
                for n, v in headers:
                    tracer.line(f">     {n.lower()}: {v}")
        if body is not None and body.data is not None:
            ref = conn.request(method, target.path, headers, body.data)
            progress.add("up", "↑ upload", len(body.data))
        elif body is not None:
            ref = conn.request(method, target.path, headers, None)
            sender = _Sender(conn, ref, body)
            progress.add("up", f"↑ {os.path.basename(body.name) or 'upload'}", body.size)
            sender.start()
        else:
            ref = conn.request(method, target.path, headers)
        version = "HTTP/2" if protocol == "http2" else "HTTP/1.1"
        done = False
        while not done:
            if sender is not None:
                if sender.error is not None:
                    raise CliError("usage", f"cannot read {body.name if body else 'the body'}: {sender.error}")
                progress.update("up", sender.sent, done=sender.finished.is_set() and sender.buffered() == 0)
            if deadline is not None and time.monotonic() > deadline:
                raise CliError(
                    "timeout",
                    f"operation timed out after {args.max_time:g} s (--max-time) with {output.size} bytes received",
                )
            try:
                msg = conn.await_(ref, 0.1)
            except Timeout:
                continue
            if isinstance(msg, gun_io.GunInform):
                if include and not args.json:
                    output.write(_head_bytes(version, msg.status, msg.headers), body=False)
            elif isinstance(msg, gun_io.GunResponse):
                got_response = True
                response = msg
                timings["first_byte"] = time.perf_counter() - t0
                if sender is None and body is not None and body.data is not None:
                    progress.update("up", len(body.data), done=True)
                elif sender is not None:  # the bar's last state before it may stop
                    progress.update("up", sender.sent, done=sender.finished.is_set())
                if args.fail and msg.status >= 400:
                    conn.cancel(ref)
                    raise CliError(
                        "http", f"the server answered {_status_line(msg.status)} to {method} {args.url} (--fail)"
                    )
                if output.is_tty:
                    progress.stop()
                if include and not args.json:
                    output.write(_head_bytes(version, msg.status, msg.headers), body=False)
                clen = _header(msg.headers, b"content-length")
                total = int(clen) if clen is not None and clen.isdigit() and method != "HEAD" else None
                if not output.is_tty:
                    progress.add("down", "↓ " + (os.path.basename(output.path) if output.path else "download"), total)
                done = msg.fin
                if done:
                    output.touch()
            elif isinstance(msg, gun_io.GunData):
                output.write(msg.data)
                progress.update("down", output.size, done=msg.fin)
                done = msg.fin
            elif isinstance(msg, gun_io.GunTrailers):
                trailers = msg.headers
                if tracer is not None:
                    for tn, tv in msg.headers:
                        tracer.line(f"< trailer {tn.decode('latin-1')}: {tv.decode('latin-1')}")
                done = True
            # GunPush and anything else on our ref: nothing to do
        timings["total"] = time.perf_counter() - t0
        progress.stop()
        if args.json:
            _print_json(args, target, method, protocol, response, trailers, timings, output)
        return 0
    except BaseException as exc:
        progress.stop()
        if isinstance(exc, CliError) and exc.kind == "interrupted":
            raise
        if isinstance(exc, KeyboardInterrupt):
            raise CliError("interrupted", "interrupted") from None
        raise _explain(exc, target, args, got_response=got_response) from None
    finally:
        if sender is not None:
            sender.stop.set()
        output.close()
        if conn is not None:
            conn.close()
        if undo is not None:
            undo()


def _print_json(
    args: argparse.Namespace,
    target: Target,
    method: str,
    protocol: str,
    response: Any,
    trailers: list[tuple[bytes, bytes]],
    timings: dict[str, float],
    output: _Output,
) -> None:
    doc: dict[str, Any] = {
        "url": args.url,
        "method": method,
        "protocol": protocol,
        "http_version": "HTTP/2" if protocol == "http2" else "HTTP/1.1",
        "status": response.status if response is not None else None,
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in (response.headers if response else [])],
        "trailers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in trailers],
        "timings": {k: round(v, 6) for k, v in timings.items()},
        "body_size": output.size,
    }
    if output.path is not None:
        doc["output"] = output.path
    else:
        raw = b"".join(output.chunks)
        try:
            doc["body"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            doc["body_base64"] = base64.b64encode(raw).decode("ascii")
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------- websocket


def _print_frame(frame: Any, out: TextIO) -> None:
    if isinstance(frame, gun_io.Text):
        text = frame.data
        line = text if text.endswith("\n") else text + "\n"
    elif isinstance(frame, gun_io.Binary):
        line = f"[binary {len(frame.data)} bytes] {frame.data[:64].hex()}{'...' if len(frame.data) > 64 else ''}\n"
    elif isinstance(frame, gun_io.Ping):
        line = f"[ping {frame.data!r}]\n"
    elif isinstance(frame, gun_io.Pong):
        line = f"[pong {frame.data!r}]\n"
    else:
        return
    with _log_lock:
        out.write(line)
        out.flush()


def run_ws(args: argparse.Namespace) -> int:
    """``gun ws URL``: stdin lines become text frames; frames received go to stdout."""
    target = parse_url(args.url, ["ws", "wss", "http", "https"])
    target.tls = target.scheme in ("wss", "https")
    protocols = ["http2"] if args.http2 else ["http"]
    opts = _connect_opts(target, args, protocols)
    if args.http2:
        opts["http2_opts"] = {"enable_connect_protocol": True}
    headers: list[tuple[str, str]] = []
    for h in args.header:
        name, value = parse_header(h)
        if value is not None:
            headers.append((name, value))
    try:
        normalize_headers(headers)
    except InvalidHeader as exc:
        raise CliError("usage", f"bad header: {exc}") from None
    _warn_insecure(args, target)
    undo: Callable[[], None] | None = None
    tracer: Tracer | None = None
    if args.verbose:
        tracer = Tracer(sys.stderr)
        undo = tracer.install()
        tracer.note(f"connecting to {target.where}")
    chatty = args.verbose or sys.stdin.isatty()
    conn: gun_io.Connection | None = None
    closing = threading.Event()
    stdin_done = threading.Event()
    upgraded = False
    try:
        try:
            conn = gun_io.open(target.host, target.port, opts)
            conn.await_up(args.connect_timeout + 1.0 if args.connect_timeout is not None else None)
        except Timeout:
            raise CliError("timeout", f"timed out connecting to {target.where}") from None
        ws_opts: dict[str, Any] = {"compress": bool(args.compress)}
        if args.subprotocol:
            ws_opts["protocols"] = list(args.subprotocol)
        ref = conn.ws_upgrade(target.path, headers, ws_opts)
        msg = conn.await_(ref, args.connect_timeout or 10.0)
        if isinstance(msg, gun_io.GunResponse):
            body = b"" if msg.fin else _quiet_body(conn, ref)
            more = f": {body[:200].decode('utf-8', 'replace').strip()}" if body.strip() else ""
            raise CliError("http", f"the server refused the websocket upgrade with {_status_line(msg.status)}{more}")
        if not isinstance(msg, gun_io.GunUpgrade):
            raise CliError("error", f"unexpected answer to the websocket upgrade: {msg!r}")
        upgraded = True
        if chatty:
            sub = _header(msg.headers, b"sec-websocket-protocol")
            ext = _header(msg.headers, b"sec-websocket-extensions")
            bits = [f"subprotocol {sub.decode()}" if sub else "", f"extensions: {ext.decode()}" if ext else ""]
            extra = "; ".join(b for b in bits if b)
            _err(f"* connected to {args.url}{' (' + extra + ')' if extra else ''}; type lines, Ctrl-D to close")
        conn_ref = (conn, ref)

        def read_stdin() -> None:
            c, r = conn_ref
            # os.read on the descriptor, not sys.stdin.buffer: a daemon thread blocked inside a
            # buffered reader aborts the interpreter at exit (Python 3.10).
            fd = sys.stdin.fileno()
            pending = b""
            try:
                while not closing.is_set():
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        if pending:
                            c.ws_send(r, gun_io.Text(pending.decode("utf-8", "replace").rstrip("\r")))
                        return
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for raw in lines:
                        if closing.is_set():
                            return
                        c.ws_send(r, gun_io.Text(raw.decode("utf-8", "replace").rstrip("\r")))
            except (GunException, OSError, ValueError):
                pass
            finally:
                stdin_done.set()

        reader = threading.Thread(target=read_stdin, name="gun-cli-stdin", daemon=True)
        reader.start()
        # After the end of input, wait until the server has been quiet for --close-delay
        # seconds: a server answers a Close at once and drops the replies still to come.
        last_frame = time.monotonic()
        while True:
            if stdin_done.is_set() and not closing.is_set():
                if time.monotonic() - last_frame >= args.close_delay:
                    closing.set()
                    conn.ws_send(ref, gun_io.Close(1000))
            try:
                msg = conn.await_(ref, 0.05)
            except Timeout:
                continue
            except ConnectionDown as exc:
                if closing.is_set():
                    return 0
                raise _explain(exc, target, args, got_response=True) from None
            if isinstance(msg, gun_io.GunWs):
                frame = msg.frame
                last_frame = time.monotonic()
                if isinstance(frame, gun_io.Close):
                    if closing.is_set():
                        if chatty:
                            _err(f"* closed (code {frame.code})")
                        return 0
                    closing.set()
                    what = f"code {frame.code}" + (f" {frame.reason!r}" if frame.reason else "")
                    if frame.code in (None, 1000, 1001):
                        if chatty:
                            _err(f"* the server closed the websocket ({what})")
                        return 0
                    raise CliError("error", f"the server closed the websocket with {what}")
                _print_frame(frame, sys.stdout)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            if conn is not None and upgraded and not closing.is_set():
                closing.set()
                with contextlib.suppress(GunException):
                    conn.ws_send(ref, gun_io.Close(1001, "interrupted"))
                    time.sleep(0.05)
            raise CliError("interrupted", "interrupted") from None
        raise _explain(exc, target, args, got_response=upgraded) from None
    finally:
        if conn is not None:
            conn.close()
        if undo is not None:
            undo()


def _quiet_body(conn: gun_io.Connection, ref: gun_io.StreamRef) -> bytes:
    try:
        return conn.await_body(ref, 2.0)
    except GunException:
        return b""


# --------------------------------------------------------------------------- argument parsing


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise CliError("usage", f"{message} (see {self.prog} --help)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'", help="add a header")
    p.add_argument("--cacert", metavar="FILE", help="trust the CA certificates in FILE (PEM) instead of certifi's")
    p.add_argument(
        "-k", "--insecure", action="store_true", help="do not verify the server's certificate (unsafe; warns)"
    )
    p.add_argument(
        "--connect-timeout", type=_seconds, metavar="SECONDS", help="give up connecting (DNS, TCP, TLS) after SECONDS"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="trace every frame and event on stderr")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a timeout cannot be negative: {text!r}")
    return value


def http_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=_PROG,
        description="An HTTP/1.1 and HTTP/2 client (gun for Python). "
        "Also: 'gun ws URL' (websocket) and 'gun demo' (everything against a loopback server).",
        epilog="Exit codes: 0 ok, 2 usage, 6 unknown host, 7 connection refused, 8 malformed reply, "
        "22 HTTP error with --fail, "
        "23 write error, 28 timeout, 35 TLS error, 52 empty reply, 56 connection lost, 60 certificate not "
        "verified, 92 stream reset, 130 interrupted.",
    )
    p.add_argument("url", metavar="URL", help="http:// or https:// URL (no scheme: http)")
    p.add_argument("-X", "--request", metavar="METHOD", help="request method (default GET, or POST with -d)")
    p.add_argument(
        "-d",
        "--data",
        "--data-binary",
        action="append",
        default=[],
        metavar="DATA",
        help="send DATA as the body (POST); @FILE streams a file, @- stdin; several -d are joined with &",
    )
    p.add_argument("-T", "--upload-file", metavar="FILE", help="PUT the contents of FILE, streamed (- for stdin)")
    p.add_argument("-i", "--include", action="store_true", help="write the response headers before the body")
    p.add_argument("-I", "--head", action="store_true", help="send a HEAD request and show the headers")
    p.add_argument("-o", "--output", metavar="FILE", help="write the body to FILE instead of stdout")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--http1.1", dest="http1_1", action="store_true", help="use HTTP/1.1 only")
    group.add_argument(
        "--http2", action="store_true", help="require HTTP/2 (https: offered alone by ALPN; http: prior knowledge)"
    )
    group.add_argument(
        "--http2-prior-knowledge", action="store_true", help="speak HTTP/2 at once, without ALPN or upgrade"
    )
    _common(p)
    p.add_argument(
        "-m", "--max-time", type=_seconds, metavar="SECONDS", help="give up when the whole transfer takes longer"
    )
    p.add_argument("-f", "--fail", action="store_true", help="exit with 22 and no output on an HTTP status >= 400")
    p.add_argument(
        "-s",
        "--silent",
        action="store_true",
        help="no progress bar (errors and the --insecure warning are still shown)",
    )
    p.add_argument("--json", action="store_true", help="print status, headers, timings (and body) as JSON")
    p.add_argument("-V", "--version", action="version", version=f"gun {_version()}")
    return p


def ws_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=f"{_PROG} ws",
        description="An interactive websocket client: each line of stdin is sent as a text frame, each frame "
        "received is printed on stdout; end of input (Ctrl-D) closes the websocket cleanly.",
    )
    p.add_argument("url", metavar="URL", help="ws:// or wss:// URL")
    p.add_argument("--compress", action="store_true", help="offer permessage-deflate (RFC 7692)")
    p.add_argument(
        "--subprotocol", action="append", default=[], metavar="NAME", help="offer a subprotocol (repeatable)"
    )
    p.add_argument("--http2", action="store_true", help="websocket over HTTP/2 (RFC 8441 extended CONNECT)")
    p.add_argument(
        "--close-delay",
        type=_seconds,
        default=0.5,
        metavar="SECONDS",
        help="after the end of input, close once the server has been quiet this long (default 0.5)",
    )
    _common(p)
    return p


def demo_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=f"{_PROG} demo",
        description="Start a server on 127.0.0.1 (hypercorn, with a throw-away TLS certificate) and show, against "
        "it, every protocol at work. Needs the 'demo' extra: pip install 'gun[demo]'.",
    )
    p.add_argument(
        "--only", action="append", default=[], metavar="WORD", help="run only the steps whose title has WORD"
    )
    p.add_argument(
        "--serve", action="store_true", help="only run the server (until Ctrl-C) and print PORT, TLS_PORT, CAFILE"
    )
    p.add_argument("--port", type=int, default=0, help="with --serve: the cleartext port (default: a free one)")
    p.add_argument("--tls-port", type=int, default=0, help="with --serve: the TLS port (default: a free one)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``gun`` command; return its exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list[:1] == ["ws"]:
            return run_ws(ws_parser().parse_args(args_list[1:]))
        if args_list[:1] == ["demo"]:
            from .demo import run_demo, serve_forever

            dargs = demo_parser().parse_args(args_list[1:])
            if dargs.serve:
                return serve_forever(dargs.port, dargs.tls_port)
            return run_demo(only=dargs.only or None)
        return run_http(http_parser().parse_args(args_list))
    except CliError as exc:
        if exc.kind != "interrupted":
            _err(f"{_PROG}: {exc.message}")
        return exc.code
    except KeyboardInterrupt:
        return EXIT_CODES["interrupted"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
