"""The ASGI application served by ``gun demo`` (and by the CLI tests) on 127.0.0.1.

It needs nothing but the standard library; ``gun_io.demo.DemoServer`` serves it with
hypercorn. Routes:

- ``/``                     200, :data:`HELLO`
- ``/n/<i>``                200, ``response <i>\\n`` (the concurrent-requests step)
- ``/upload?rate=R``        reads the whole request body as it streams in (at about R bytes
                            per second when ``rate`` is given); answers JSON ``{"size": n, "sha256": hex}``
- ``/echo``                 streams each request body chunk back as it arrives
- ``/push``                 HTTP/2: pushes ``/style.css`` and ``/script.js``, then an HTML page;
                            elsewhere the page alone with ``x-push: unsupported``
- ``/style.css``, ``/script.js``   the pushed resources
- ``/bytes?size=N&rate=R``  N bytes (``bytes(range(256))`` repeated, with content-length),
                            at about R bytes per second when ``rate`` is given
- ``/delay?s=S``            waits S seconds, then :data:`HELLO`
- ``/status/<code>``        that status, body ``status <code>\\n`` where a body is allowed
- ``/headers``              JSON of the request: method, path, http_version, headers
- ``/ws``                   websocket echo (text and binary); the first offered subprotocol
                            is selected; permessage-deflate when the client offers it;
                            ``?close=CODE`` closes with CODE right after the handshake
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["HELLO", "SCRIPT_JS", "STYLE_CSS", "app", "pattern"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HELLO = b"Hello from the gun demo server!\n"
STYLE_CSS = b"body { font-family: sans-serif; }\n"
SCRIPT_JS = b"console.log('this script was pushed');\n"
PAGE = b'<!doctype html><link rel="stylesheet" href="/style.css"><script src="/script.js"></script>\n'
_BLOCK = bytes(range(256)) * 256  # 64 KiB
_NO_BODY = {204, 304}


def pattern(size: int) -> bytes:
    """The ``size`` bytes that ``/bytes?size=N`` sends."""
    whole, rest = divmod(size, len(_BLOCK))
    return _BLOCK * whole + _BLOCK[:rest]


def _query(scope: Scope) -> dict[str, str]:
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


def _number(text: str | None, default: float, low: float, high: float) -> float:
    try:
        value = default if text is None else float(text)
    except ValueError:
        value = default
    return min(max(value, low), high)


async def _reply(
    send: Send, status: int, body: bytes, ctype: bytes = b"text/plain", extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", ctype)]
    if status not in _NO_BODY:
        headers.append((b"content-length", str(len(body)).encode()))
    headers += extra or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if status in _NO_BODY else body})


async def _upload(scope: Scope, receive: Receive, send: Send) -> None:
    rate = _number(_query(scope).get("rate"), 0, 0, 1 << 40)
    loop = asyncio.get_running_loop()
    start = loop.time()
    digest = hashlib.sha256()
    size = 0
    while True:
        if rate:
            ahead = start + size / rate - loop.time()
            if ahead > 0:
                await asyncio.sleep(ahead)
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        size += len(chunk)
        digest.update(chunk)
        if not message.get("more_body", False):
            break
    body = json.dumps({"size": size, "sha256": digest.hexdigest()}).encode()
    await _reply(send, 200, body, b"application/json")


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    ctype = dict(scope["headers"]).get(b"content-type", b"application/octet-stream")
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", ctype)]})
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        more = bool(message.get("more_body", False))
        await send({"type": "http.response.body", "body": message.get("body", b""), "more_body": more})
        if not more:
            return


async def _push(scope: Scope, send: Send) -> None:
    if "http.response.push" not in scope.get("extensions", {}):
        await _reply(send, 200, PAGE, b"text/html", [(b"x-push", b"unsupported")])
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/html"), (b"content-length", str(len(PAGE)).encode())],
        }
    )
    for path in ("/style.css", "/script.js"):
        await send({"type": "http.response.push", "path": path, "headers": []})
    await send({"type": "http.response.body", "body": PAGE})


async def _bytes(scope: Scope, send: Send) -> None:
    query = _query(scope)
    size = int(_number(query.get("size"), 1 << 20, 0, 1 << 32))
    rate = _number(query.get("rate"), 0, 0, 1 << 40)
    chunk = 16384 if rate else len(_BLOCK)
    headers = [(b"content-type", b"application/octet-stream"), (b"content-length", str(size).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    while sent < size:
        n = min(chunk, size - sent)
        await send({"type": "http.response.body", "body": _BLOCK[:n], "more_body": sent + n < size})
        sent += n
        if rate:
            ahead = start + sent / rate - loop.time()
            if ahead > 0:
                await asyncio.sleep(ahead)
    if size == 0:
        await send({"type": "http.response.body", "body": b""})


async def _headers(scope: Scope, receive: Receive, send: Send) -> None:
    while (await receive()).get("more_body", False):
        pass
    info = {
        "method": scope["method"],
        "path": scope["path"],
        "http_version": scope["http_version"],
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]],
    }
    await _reply(send, 200, json.dumps(info).encode(), b"application/json")


async def _http(scope: Scope, receive: Receive, send: Send) -> None:
    path: str = scope["path"]
    if path == "/":
        await _reply(send, 200, HELLO)
    elif path.startswith("/n/"):
        await _reply(send, 200, f"response {path[3:]}\n".encode())
    elif path == "/upload":
        await _upload(scope, receive, send)
    elif path == "/echo":
        await _echo(scope, receive, send)
    elif path == "/push":
        await _push(scope, send)
    elif path == "/style.css":
        await _reply(send, 200, STYLE_CSS, b"text/css")
    elif path == "/script.js":
        await _reply(send, 200, SCRIPT_JS, b"text/javascript")
    elif path == "/bytes":
        await _bytes(scope, send)
    elif path == "/delay":
        await asyncio.sleep(_number(_query(scope).get("s"), 1.0, 0.0, 3600.0))
        await _reply(send, 200, HELLO)
    elif path.startswith("/status/"):
        try:
            code = int(path[8:])
        except ValueError:
            code = 400
        code = code if 200 <= code <= 599 else 400
        await _reply(send, code, f"status {code}\n".encode())
    elif path == "/headers":
        await _headers(scope, receive, send)
    else:
        await _reply(send, 404, b"not found\n")


async def _ws(scope: Scope, receive: Receive, send: Send) -> None:
    if (await receive())["type"] != "websocket.connect":
        return
    if scope["path"] != "/ws":
        await send({"type": "websocket.close", "code": 1008})
        return
    accept: Message = {"type": "websocket.accept"}
    if scope.get("subprotocols"):
        accept["subprotocol"] = scope["subprotocols"][0]
    await send(accept)
    close = _query(scope).get("close")
    if close is not None:
        await send({"type": "websocket.close", "code": int(_number(close, 1000, 1000, 4999))})
        return
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes") is not None:
            await send({"type": "websocket.send", "bytes": message["bytes"]})
        else:
            await send({"type": "websocket.send", "text": message.get("text") or ""})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI entry point."""
    kind = scope["type"]
    if kind == "http":
        await _http(scope, receive, send)
    elif kind == "websocket":
        await _ws(scope, receive, send)
    elif kind == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
