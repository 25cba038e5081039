"""The ASGI app the integration tests talk to through hypercorn, and its launcher.

Run as a script (the ``hypercorn_server`` fixture does this in a subprocess)::

    python tests/servers/hypercorn_app.py --tls 127.0.0.1:8443 --plain 127.0.0.1:8080 \
        --unix /tmp/h.sock --certfile server.pem --keyfile server.key

``--tls`` sockets speak TLS with ALPN ``h2``/``http/1.1``; ``--plain`` and ``--unix``
sockets speak HTTP/1.1, h2c by prior knowledge and h2c by ``Upgrade``.

Routes (HTTP):

- ``/``                 200 ``Hello world!\\n``
- ``/echo``             streams every request body chunk back as it arrives (POST/PUT/...)
- ``/echo-buffered``    reads the whole request body, then sends it back with a content-length
- ``/headers``          JSON: method, path, query, http_version, scheme, headers, body_size
- ``/status/{code}``    that status (code 200..599), body ``status {code}\\n`` where allowed
- ``/big?size=N``       N bytes (default 1 MiB) of ``bytes(range(256))`` repeated, with content-length
- ``/slow?chunks=N&interval=S``  N chunks ``chunk {i}\\n``, one every S seconds (default 5, 0.1)
- ``/delay?s=S``        waits S seconds, then ``Hello world!\\n``
- ``/trailers``         body then trailers ``x-trailer-one: 1`` and ``x-checksum: <sha256 of body>``;
                        HTTP/2 only and only if the request carried ``te: trailers`` (hypercorn's rule);
                        elsewhere the plain body with ``x-trailers: unsupported``
- ``/push``             HTTP/2: pushes ``/style.css`` and ``/script.js`` then answers an HTML page;
                        ``x-push: unsupported`` where hypercorn cannot push (HTTP/1.1)
- ``/style.css``, ``/script.js``  the pushed resources (also fetchable directly)
- ``/inform``           HTTP/2: a 103 Early Hints (link to /style.css) before the 200
- ``/redirect``         302 to ``/``
- ``/set-cookie?a=1&b=2``  one ``set-cookie`` per query pair
- anything else         404

Websocket (HTTP/1.1 Upgrade, and HTTP/2 extended CONNECT, RFC 8441):

- ``/ws``               echo of text and binary messages; the first offered subprotocol is
                        selected; ``?close=CODE`` closes with CODE right after the handshake
- ``/ws-reject``        refuses the handshake (hypercorn answers 403)

Standard library and hypercorn only: this file must run without the project installed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import signal
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HELLO = b"Hello world!\n"
PATTERN = bytes(range(256)) * 256  # 64 KiB
STYLE_CSS = b"body { color: #333; }\n"
SCRIPT_JS = b"console.log('pushed');\n"
PUSH_PAGE = b'<html><head><link rel="stylesheet" href="/style.css"><script src="/script.js"></script></head></html>\n'
NO_BODY_STATUSES = {204, 304}


def pattern_bytes(size: int) -> bytes:
    """The first ``size`` bytes of ``bytes(range(256))`` repeated (what ``/big`` sends)."""
    reps, rest = divmod(size, len(PATTERN))
    return PATTERN * reps + PATTERN[:rest]


def _query(scope: Scope) -> dict[str, str]:
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))


def _number(value: str | None, default: float, low: float, high: float) -> float:
    try:
        number = float(value) if value is not None else default
    except ValueError:
        number = default
    return min(max(number, low), high)


async def _respond(
    send: Send,
    status: int,
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    content_type: bytes = b"text/plain",
) -> None:
    hdrs = [(b"content-type", content_type)]
    if status not in NO_BODY_STATUSES:
        hdrs.append((b"content-length", str(len(body)).encode()))
    hdrs.extend(headers or [])
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _content_type(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value)
    return b"application/octet-stream"


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    content_type = _content_type(scope)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]})
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if body or not more:
            await send({"type": "http.response.body", "body": body, "more_body": more})
        if not more:
            return


async def _headers(scope: Scope, receive: Receive, send: Send) -> None:
    body = await _read_body(receive)
    info = {
        "method": scope["method"],
        "path": scope["path"],
        "raw_path": scope.get("raw_path", b"").decode("latin-1"),
        "query_string": scope.get("query_string", b"").decode("latin-1"),
        "http_version": scope["http_version"],
        "scheme": scope["scheme"],
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]],
        "body_size": len(body),
    }
    await _respond(send, 200, json.dumps(info).encode(), content_type=b"application/json")


async def _big(scope: Scope, send: Send) -> None:
    size = int(_number(_query(scope).get("size"), 1 << 20, 0, 1 << 30))
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/octet-stream"), (b"content-length", str(size).encode())],
        }
    )
    sent = 0
    while sent < size:
        n = min(len(PATTERN), size - sent)
        sent += n
        await send({"type": "http.response.body", "body": PATTERN[:n], "more_body": sent < size})
    if size == 0:
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _slow(scope: Scope, send: Send) -> None:
    query = _query(scope)
    chunks = int(_number(query.get("chunks"), 5, 0, 10000))
    interval = _number(query.get("interval"), 0.1, 0.0, 60.0)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    for i in range(chunks):
        await asyncio.sleep(interval)
        await send({"type": "http.response.body", "body": f"chunk {i}\n".encode(), "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _trailers(scope: Scope, send: Send) -> None:
    body = b"a body followed by trailers\n"
    if "http.response.trailers" not in scope.get("extensions", {}):
        await _respond(send, 200, body, [(b"x-trailers", b"unsupported")])
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"trailer", b"x-trailer-one, x-checksum")],
            "trailers": True,
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
    checksum = hashlib.sha256(body).hexdigest().encode()
    await send(
        {
            "type": "http.response.trailers",
            "headers": [(b"x-trailer-one", b"1"), (b"x-checksum", checksum)],
            "more_trailers": False,
        }
    )


async def _push(scope: Scope, send: Send) -> None:
    if "http.response.push" not in scope.get("extensions", {}):
        await _respond(send, 200, PUSH_PAGE, [(b"x-push", b"unsupported")], content_type=b"text/html")
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/html"), (b"content-length", str(len(PUSH_PAGE)).encode())],
        }
    )
    for path in ("/style.css", "/script.js"):
        await send({"type": "http.response.push", "path": path, "headers": [(b"accept", b"*/*")]})
    await send({"type": "http.response.body", "body": PUSH_PAGE, "more_body": False})


async def _inform(scope: Scope, send: Send) -> None:
    if "http.response.early_hint" in scope.get("extensions", {}):
        await send({"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload; as=style"]})
    await _respond(send, 200, HELLO)


async def http_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The HTTP routes listed in the module docstring."""
    path: str = scope["path"]
    if path == "/":
        await _respond(send, 200, HELLO)
    elif path == "/echo":
        await _echo(scope, receive, send)
    elif path == "/echo-buffered":
        body = await _read_body(receive)
        await _respond(send, 200, body, content_type=_content_type(scope))
    elif path == "/headers":
        await _headers(scope, receive, send)
    elif path.startswith("/status/"):
        try:
            code = int(path[len("/status/") :])
        except ValueError:
            code = 400
        if not 200 <= code <= 599:
            code = 400
        await _respond(send, code, b"" if code in NO_BODY_STATUSES else f"status {code}\n".encode())
    elif path == "/big":
        await _big(scope, send)
    elif path == "/slow":
        await _slow(scope, send)
    elif path == "/delay":
        await asyncio.sleep(_number(_query(scope).get("s"), 1.0, 0.0, 60.0))
        await _respond(send, 200, HELLO)
    elif path == "/trailers":
        await _trailers(scope, send)
    elif path == "/push":
        await _push(scope, send)
    elif path == "/style.css":
        await _respond(send, 200, STYLE_CSS, content_type=b"text/css")
    elif path == "/script.js":
        await _respond(send, 200, SCRIPT_JS, content_type=b"application/javascript")
    elif path == "/inform":
        await _inform(scope, send)
    elif path == "/redirect":
        await _respond(send, 302, b"see /\n", [(b"location", b"/")])
    elif path == "/set-cookie":
        cookies = [(b"set-cookie", f"{k}={v}; Path=/".encode()) for k, v in _query(scope).items()]
        await _respond(send, 200, b"ok\n", cookies)
    else:
        await _respond(send, 404, b"not found\n")


async def ws_app(scope: Scope, receive: Receive, send: Send) -> None:
    """``/ws``: echo; anything else: refused."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if scope["path"] != "/ws":
        await send({"type": "websocket.close", "code": 1008})
        return
    accept: Message = {"type": "websocket.accept"}
    offered = scope.get("subprotocols") or []
    if offered:
        accept["subprotocol"] = offered[0]
    await send(accept)
    close = _query(scope).get("close")
    if close is not None:
        await send({"type": "websocket.close", "code": int(_number(close, 1000, 1000, 4999))})
        return
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message["type"] == "websocket.receive":
            if message.get("bytes") is not None:
                await send({"type": "websocket.send", "bytes": message["bytes"]})
            else:
                await send({"type": "websocket.send", "text": message.get("text") or ""})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI entry point."""
    if scope["type"] == "http":
        await http_app(scope, receive, send)
    elif scope["type"] == "websocket":
        await ws_app(scope, receive, send)
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def main(argv: list[str] | None = None) -> None:
    """Serve :func:`app` with hypercorn until SIGTERM/SIGINT."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tls", action="append", default=[], help="HOST:PORT for TLS (ALPN h2, http/1.1)")
    parser.add_argument("--plain", action="append", default=[], help="HOST:PORT for h1/h2c")
    parser.add_argument("--unix", action="append", default=[], help="Unix socket path for h1/h2c")
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    args = parser.parse_args(argv)

    config = Config()
    config.accesslog = None
    config.errorlog = "-"
    config.loglevel = "INFO"
    config.keep_alive_timeout = 60
    config.keep_alive_max_requests = 100000
    config.graceful_timeout = 1
    config.websocket_max_message_size = 64 * 1024 * 1024
    plain = list(args.plain) + [f"unix:{path}" for path in args.unix]
    if args.tls:
        if not (args.certfile and args.keyfile):
            parser.error("--tls needs --certfile and --keyfile")
        config.certfile = args.certfile
        config.keyfile = args.keyfile
        config.alpn_protocols = ["h2", "http/1.1"]
        config.bind = list(args.tls)
        config.insecure_bind = plain
    else:
        config.bind = plain
    if not config.bind:
        parser.error("nothing to bind")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    asyncio.run(run())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
