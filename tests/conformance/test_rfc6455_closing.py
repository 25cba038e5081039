"""RFC 6455 5.5.1 and 7: the closing handshake, close codes and close reasons, client side."""

from __future__ import annotations

import struct

import pytest

from gun_core.events import Closed, Ws
from gun_core.ws import Close, CloseCode, Opcode, Text
from tests.helpers.ws import SID, client, close, error_code, feed, frame, ping, sent, text

VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]
INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_close_code_is_echoed(code: int) -> None:
    """On a Close, the client answers with a Close echoing the code, then closes (RFC 6455 5.5.1, 7.4)."""
    p = client()
    events = feed(p, close(code, "reason"))
    assert events[0] == Ws(SID, Close(code, "reason"))
    assert isinstance(events[1], Closed) and events[1].reason.code == code and events[1].reason.kind == "normal"
    [f] = sent(p)
    assert f.opcode == Opcode.CLOSE and f.payload == struct.pack("!H", code)


@pytest.mark.parametrize("code", INVALID_CODES)
def test_invalid_close_code_fails_1002(code: int) -> None:
    """A Close with a code that may not be sent is a protocol error (RFC 6455 7.4.1, 7.4.2)."""
    p = client()
    assert error_code(feed(p, close(code))) == 1002
    assert sent(p)[0].payload[:2] == b"\x03\xea"


def test_empty_close_is_answered_with_empty_close() -> None:
    """A Close without body is valid; the answer carries no code either (RFC 6455 5.5.1, 7.1.5)."""
    p = client()
    events = feed(p, close())
    assert events[0] == Ws(SID, Close())
    assert sent(p)[0].payload == b""


def test_one_byte_close_body_fails_1002() -> None:
    """A Close body, when present, starts with a 2-byte code: 1 byte is invalid (RFC 6455 5.5.1)."""
    assert error_code(feed(client(), frame(8, b"\x03"))) == 1002


def test_close_reason_of_123_bytes() -> None:
    """A reason filling the 125-byte control payload is fine (RFC 6455 5.5, 5.5.1)."""
    events = feed(client(), close(1000, "r" * 123))
    assert events[0] == Ws(SID, Close(1000, "r" * 123))


def test_close_payload_over_125_fails_1002() -> None:
    """A Close is a control frame: at most 125 bytes (RFC 6455 5.5)."""
    assert error_code(feed(client(), close(1000, "r" * 124))) == 1002


def test_close_reason_invalid_utf8_fails_1007() -> None:
    """The close reason must be UTF-8 (RFC 6455 5.5.1): otherwise 1007 (RFC 6455 8.1)."""
    assert error_code(feed(client(), close(1000, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"))) == 1007


def test_close_in_the_middle_of_a_fragmented_message() -> None:
    """Control frames may come between fragments; a Close there ends the connection (RFC 6455 5.4, 5.5.1)."""
    p = client()
    events = feed(p, text("part", fin=False) + close(1000) + frame(0, b"rest"))
    assert events[0] == Ws(SID, Close(1000)) and isinstance(events[1], Closed) and len(events) == 2


def test_second_close_and_later_frames_are_ignored() -> None:
    """After the Close handshake the client neither answers nor delivers anything (RFC 6455 5.5.1, 7.1.1)."""
    p = client()
    events = feed(p, close(1000) + close(1001) + ping(b"x") + text("y"))
    assert len(events) == 2
    assert len(sent(p)) == 1


def test_client_initiated_handshake() -> None:
    """We send Close, keep receiving data until the server's Close, then the connection is closed
    (RFC 6455 7.1.2, 7.1.3)."""
    p = client()
    p.send(Close(CloseCode.GOING_AWAY, "bye"))
    [f] = sent(p)
    assert f.payload == b"\x03\xe9bye"
    assert feed(p, text("late data")) == [Ws(SID, Text("late data"))]
    events = feed(p, close(1001))
    assert events[0] == Ws(SID, Close(1001)) and events[1].reason.kind == "normal"  # type: ignore[union-attr]
    assert p.data_to_send() == b""


def test_abnormal_closure_is_1006() -> None:
    """A TCP close without Close frames is reported with 1006 (RFC 6455 7.1.5, 7.4.1)."""
    [closed] = client().receive_data(b"")
    assert isinstance(closed, Closed) and closed.reason.code == 1006


def test_failing_sends_close_with_the_code() -> None:
    """When failing the connection after it is established, a Close with the code is sent first (RFC 6455 7.1.7)."""
    p = client()
    feed(p, frame(3, b""))
    [f] = sent(p)
    assert f.opcode == Opcode.CLOSE and struct.unpack("!H", f.payload[:2])[0] == 1002
    assert f.payload[2:].decode("utf-8")  # a short, valid UTF-8 reason
