"""Messages the engine builds on its hot paths (slots set directly) are whole: equal to, hashed
and printed like the same message made by its dataclass constructor."""

from __future__ import annotations

import socket
from typing import Any

import gun_io
from gun_core import events as ev
from tests.helpers.fake_origin import FakeOrigin, read_request


def _twin(msg: Any) -> Any:
    """The same message made by the dataclass constructor (AttributeError if a slot is unset)."""
    cls = type(msg)
    twin = cls(*[getattr(msg, name) for name in cls.__dataclass_fields__])
    assert msg == twin
    assert repr(msg) == repr(twin)
    return twin


def test_response_and_data_messages_are_whole() -> None:
    def script(sock: socket.socket, index: int) -> None:
        read_request(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-a: 1\r\n\r\nhello")
        sock.recv(1)

    with FakeOrigin(script) as origin:
        conn = gun_io.open("127.0.0.1", origin.port, {"retry": 0})
        try:
            conn.await_up()
            ref = conn.get("/")
            resp = conn.await_(ref)
            data = conn.await_(ref)
        finally:
            conn.close()
    assert type(resp) is ev.GunResponse and resp.status == 200 and resp.fin is False
    assert resp.headers == [(b"content-length", b"5"), (b"x-a", b"1")]
    assert type(data) is ev.GunData and data.data == b"hello" and data.fin is True
    assert resp.conn is conn and data.conn is conn and resp.stream_ref is ref and data.stream_ref is ref
    _twin(resp)
    assert hash(data) == hash(_twin(data))  # GunResponse holds a list, so it has no hash
