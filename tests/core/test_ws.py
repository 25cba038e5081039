"""Unit tests of gun_core.ws: frame classes, the websocket machine's API and event sequences.

The requirement-by-requirement checks of RFC 6455 live in tests/conformance/test_rfc6455_*.py;
this module covers the API contract the driver relies on.
"""

from __future__ import annotations

import pytest

from gun_core.errors import UsageError
from gun_core.events import Closed, Error, Ws
from gun_core.protocol import CoreProtocol
from gun_core.ws import Binary, Close, CloseCode, Opcode, Ping, Pong, Text, WsProtocol, WsState
from tests.helpers.ws import SID, binary, client, close, error_code, feed, frame, ping, pong, sent, text


def test_is_a_core_protocol() -> None:
    """The machine offers the interface every core implements."""
    p = client()
    assert isinstance(p, CoreProtocol)
    assert p.protocol == "ws"
    assert not p.paused and not p.closing
    assert p.active_streams() == [SID]


# ---------------------------------------------------------------- frame classes


def test_frame_classes_are_frozen_and_compare() -> None:
    """Frames are immutable values."""
    assert Text("a") == Text("a") and Binary(b"a") != Binary(b"b")
    with pytest.raises(AttributeError):
        Text("a").data = "b"  # type: ignore[misc]
    assert Ping() == Ping(b"") and Pong().data == b"" and Close() == Close(None, "")


def test_frame_repr_is_short() -> None:
    """Long payloads are truncated in repr (trace logs)."""
    assert len(repr(Text("x" * 10000))) < 100
    assert len(repr(Binary(b"x" * 10000))) < 100


@pytest.mark.parametrize("cls", [Ping, Pong])
def test_control_payload_limit(cls: type) -> None:
    """Ping and Pong carry at most 125 bytes (RFC 6455 5.5); bytes-likes are accepted."""
    assert cls(b"x" * 125).data == b"x" * 125
    assert cls(bytearray(b"ab")).data == b"ab"
    with pytest.raises(UsageError):
        cls(b"x" * 126)
    with pytest.raises(UsageError):
        cls("text")


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1011, 1012, 1014, 3000, 4999])
def test_close_codes_allowed(code: int) -> None:
    """Codes an endpoint may send (RFC 6455 7.4)."""
    assert Close(code).code == code


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, True])
def test_close_codes_refused(code: int) -> None:
    """Reserved and local-only codes cannot be sent (RFC 6455 7.4.1, 7.4.2)."""
    with pytest.raises(ValueError):
        Close(code)


def test_close_reason_rules() -> None:
    """A reason needs a code and fits in 123 bytes of UTF-8 (RFC 6455 5.5, 5.5.1)."""
    assert Close(1000, "é" * 61).reason == "é" * 61  # 122 bytes
    with pytest.raises(UsageError):
        Close(1000, "x" * 124)
    with pytest.raises(UsageError):
        Close(None, "why")
    with pytest.raises(UsageError):
        Close(1000, b"bytes")  # type: ignore[arg-type]


# ---------------------------------------------------------------- sending


def test_send_text_binary_and_controls() -> None:
    """Each frame becomes one masked, final frame with the right opcode and payload."""
    p = client()
    assert p.send([Text("héllo"), Binary(b"\x00\x01"), Ping(b"p"), Pong(b"q")]) == []
    frames = sent(p)
    assert [(f.opcode, f.payload, f.fin, f.masked, f.rsv) for f in frames] == [
        (Opcode.TEXT, "héllo".encode(), True, True, 0),
        (Opcode.BINARY, b"\x00\x01", True, True, 0),
        (Opcode.PING, b"p", True, True, 0),
        (Opcode.PONG, b"q", True, True, 0),
    ]
    assert len({f.key for f in frames}) == 4  # a fresh key per frame (RFC 6455 5.3)
    assert p.data_to_send() == b""


def test_send_large_binary_accepts_bytes_likes() -> None:
    """Lengths needing 16 and 64-bit forms go out intact; bytearray and memoryview are accepted."""
    p = client()
    p.send([Binary(bytearray(b"a" * 300)), Binary(memoryview(b"b" * 70000))])  # type: ignore[arg-type]
    frames = sent(p)
    assert [len(f.payload) for f in frames] == [300, 70000]


def test_send_rejects_non_frames_atomically() -> None:
    """Bad input raises before anything is queued."""
    p = client()
    with pytest.raises(UsageError):
        p.send([Text("ok"), "not a frame"])  # type: ignore[list-item]
    with pytest.raises(UsageError):
        p.send(Text(b"bytes"))  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        p.send(Binary("str"))  # type: ignore[arg-type]
    assert p.data_to_send() == b""


def test_send_after_close_raises() -> None:
    """Nothing may follow our Close (RFC 6455 5.5.1), not even inside the same list."""
    p = client()
    with pytest.raises(UsageError):
        p.send([Close(1000), Text("late")])
    assert p.data_to_send() == b"" and p.state is WsState.OPEN
    p.send(Close(1000, "bye"))
    assert p.closing and p.state is WsState.CLOSING
    with pytest.raises(UsageError):
        p.send(Ping())
    assert [(f.opcode, f.payload) for f in sent(p)] == [(Opcode.CLOSE, b"\x03\xe8bye")]


def test_request_and_data_raise_cancel_is_noop() -> None:
    """HTTP commands make no sense on a websocket."""
    p = client()
    with pytest.raises(UsageError):
        p.request(b"GET", b"/", [], None)
    with pytest.raises(UsageError):
        p.data(SID, True, b"x")
    assert p.cancel(SID) == []


def test_keepalive_sends_ping_until_closing() -> None:
    """keepalive() pings the server; not once the closing handshake started."""
    p = client()
    assert p.keepalive() == []
    assert [(f.opcode, f.payload) for f in sent(p)] == [(Opcode.PING, b"")]
    p.close_gracefully()
    assert [(f.opcode, f.payload) for f in sent(p)] == [(Opcode.CLOSE, b"\x03\xe8")]
    p.keepalive()
    p.close_gracefully()
    assert p.data_to_send() == b""


def test_stream_info() -> None:
    """stream_info describes the websocket until it is closed."""
    p = client(protocol="chat")
    info = p.stream_info(SID)
    assert info is not None and info["subprotocol"] == "chat" and info["websocket"] == "open"
    assert p.stream_info(SID + 1) is None
    feed(p, close(1000))
    assert p.stream_info(SID) is None and p.active_streams() == []


# ---------------------------------------------------------------- receiving


def test_fast_path_events_equal_normal_ones() -> None:
    """Events built on the fast path are ordinary, equal, hashable-free values."""
    p = client()
    events = feed(p, text("hi") + binary(b"\x00") + text(""))
    assert events == [Ws(SID, Text("hi")), Ws(SID, Binary(b"\x00")), Ws(SID, Text(""))]
    assert type(events[0].frame) is Text and events[0].frame.data == "hi"
    assert repr(events[1]) == repr(Ws(SID, Binary(b"\x00")))


def test_many_frames_in_one_call() -> None:
    """All complete frames of one read come out of one receive_data call."""
    p = client()
    events = feed(p, b"".join(text(str(i)) for i in range(500)))
    assert [e.frame.data for e in events if isinstance(e, Ws)] == [str(i) for i in range(500)]


def test_pings_answered_and_silenced_by_default() -> None:
    """A Ping gets a Pong with the same payload; by default neither Ping nor Pong is delivered."""
    p = client()
    assert feed(p, ping(b"abc") + pong(b"x")) == []
    assert [(f.opcode, f.payload) for f in sent(p)] == [(Opcode.PONG, b"abc")]


def test_pings_delivered_when_not_silenced() -> None:
    """With silence_pings=False, Ping and Pong frames are delivered too; the Pong still goes out."""
    p = client(silence_pings=False)
    assert feed(p, ping(b"abc") + pong(b"x")) == [Ws(SID, Ping(b"abc")), Ws(SID, Pong(b"x"))]
    assert [(f.opcode, f.payload) for f in sent(p)] == [(Opcode.PONG, b"abc")]


def test_receive_after_closed_is_ignored() -> None:
    """Once Closed was returned, the core is finished: more bytes produce nothing."""
    p = client()
    feed(p, close(1000))
    p.data_to_send()
    assert p.receive_data(text("late")) == []
    assert p.receive_data(b"") == []
    assert p.data_to_send() == b""
    with pytest.raises(UsageError):
        p.send(Text("x"))


# ---------------------------------------------------------------- close sequences


def test_server_close_sequence() -> None:
    """Peer Close: Ws(Close) then our echo is queued, then Closed(normal, code) (RFC 6455 5.5.1)."""
    p = client()
    events = feed(p, text("last") + close(1001, "going"))
    assert events[:2] == [Ws(SID, Text("last")), Ws(SID, Close(1001, "going"))]
    closed = events[2]
    assert isinstance(closed, Closed) and closed.reason.kind == "normal" and closed.reason.code == 1001
    assert closed.killed == (SID,)
    assert [(f.opcode, f.payload) for f in sent(p)] == [(Opcode.CLOSE, b"\x03\xe9")]
    assert p.state is WsState.CLOSED and not p.paused


def test_server_close_without_code() -> None:
    """An empty Close is answered with an empty Close; the reason code is 1005 (RFC 6455 7.1.5)."""
    p = client()
    events = feed(p, close())
    assert events[0] == Ws(SID, Close())
    assert isinstance(events[1], Closed) and events[1].reason.code == CloseCode.NO_STATUS_RCVD
    assert [(f.opcode, f.payload) for f in sent(p)] == [(Opcode.CLOSE, b"")]


def test_client_close_sequence() -> None:
    """We close first: nothing until the peer's Close, which is delivered, then Closed; no echo."""
    p = client()
    p.send(Close(1000))
    p.data_to_send()
    assert feed(p, text("in flight")) == [Ws(SID, Text("in flight"))]
    assert feed(p, ping(b"p")) == []  # no Pong after our Close
    events = feed(p, close(1000))
    assert events[0] == Ws(SID, Close(1000))
    assert isinstance(events[1], Closed) and events[1].reason.kind == "normal"
    assert p.data_to_send() == b""


def test_closing_timeout() -> None:
    """timeout('closing') ends a closing handshake the peer did not finish."""
    p = client()
    p.send(Close(1000))
    assert p.timeout("keepalive") == []
    [closed] = p.timeout("closing")
    assert isinstance(closed, Closed) and closed.reason.kind == "timeout"
    assert p.timeout("closing") == []


@pytest.mark.parametrize("we_closed", [False, True])
def test_tcp_closed_without_handshake(we_closed: bool) -> None:
    """b'' before the closing handshake: Closed('closed', 1006)."""
    p = client()
    if we_closed:
        p.send(Close(1000))
    [closed] = p.receive_data(b"")
    assert isinstance(closed, Closed) and closed.reason.kind == "closed"
    assert closed.reason.code == CloseCode.ABNORMAL_CLOSURE


def test_error_sequence() -> None:
    """A protocol error: earlier events kept, then Error and Closed with the same reason; Close queued."""
    p = client()
    events = feed(p, text("ok") + bytes([0x83, 0]) + text("never"))
    assert events[0] == Ws(SID, Text("ok"))
    assert error_code(events) == 1002 and len(events) == 3
    err = events[1]
    assert isinstance(err, Error) and err.reason.scope == "connection" and err.reason.kind == "protocol_error"
    [f] = sent(p)
    assert f.opcode == Opcode.CLOSE and f.payload[:2] == b"\x03\xea"
    assert p.state is WsState.CLOSED


def test_error_while_closing_sends_nothing_more() -> None:
    """After our Close, a protocol error closes without a second Close frame."""
    p = client()
    p.send(Close(1000))
    p.data_to_send()
    assert error_code(feed(p, bytes([0x8F, 0]))) == 1002
    assert p.data_to_send() == b""


@pytest.mark.parametrize("where", ["parse_header", "ws_simple_frames"])
def test_internal_error_is_1011(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """A bug of ours fails with 1011 and no internal detail on the wire."""
    import gun_core.ws as ws_mod

    def boom(*args: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(ws_mod, where, boom)
    p = client()
    if where == "parse_header":  # a fragment with a 16-bit length: its header goes through parse_header
        events = feed(p, text("x" * 200, fin=False))
    else:  # a whole message: the hot path builds it
        events = feed(p, text("x" * 200))
    assert error_code(events) == 1011
    assert isinstance(events[0], Error) and events[0].reason.kind == "internal_error"
    [f] = sent(p)
    assert f.payload == b"\x03\xf3internal error"


def test_message_too_big_kind_is_limit() -> None:
    """1009 errors are of kind 'limit' and name the option."""
    p = client(max_message_size=10)
    events = feed(p, text("x" * 11))
    assert error_code(events) == 1009
    assert isinstance(events[0], Error) and events[0].reason.kind == "limit"
    assert "max_message_size" in events[0].reason.message


# ---------------------------------------------------------------- flow control


def test_flow_pauses_and_resumes() -> None:
    """With a flow credit, delivery stops once it is used up; update_flow resumes it."""
    p = client(flow=5)
    events = feed(p, text("abc") + text("defg") + text("h") + ping(b"z"))
    assert events == [Ws(SID, Text("abc")), Ws(SID, Text("defg"))]
    assert p.paused
    assert p.data_to_send() == b""  # the ping waits behind the paused message
    assert p.update_flow(SID + 1, 100) == []
    assert p.update_flow(SID, 1) == []  # credit -2 + 1: still paused
    assert p.paused
    assert p.update_flow(SID, 10) == [Ws(SID, Text("h"))]
    assert not p.paused
    assert [f.opcode for f in sent(p)] == [Opcode.PONG]


def test_flow_credit_counts_fragmented_messages() -> None:
    """Flow counts message bytes, also for reassembled messages."""
    p = client(flow=3)
    events = feed(p, text("ab", fin=False) + frame(0, b"cd") + text("e"))
    assert events == [Ws(SID, Text("abcd"))]
    assert p.paused
    assert p.update_flow(SID, 5) == [Ws(SID, Text("e"))]


def test_eof_delivers_buffered_messages_when_paused() -> None:
    """Nothing is lost at EOF: frames waiting for flow credit are delivered before Closed."""
    p = client(flow=1)
    feed(p, text("a") + text("b"))
    events = p.receive_data(b"")
    assert events[0] == Ws(SID, Text("b")) and isinstance(events[1], Closed)


def test_no_flow_is_never_paused() -> None:
    """Without flow, the core never asks to stop reading; update_flow is a no-op."""
    p = client()
    feed(p, text("x" * 1000))
    assert not p.paused
    assert p.update_flow(SID, 5) == []


def test_server_role_requires_masks() -> None:
    """mask=False plays the server: it needs masked frames from the client (RFC 6455 5.1)."""
    from gun_core.options import WsOpts
    from gun_core.ws_handshake import Negotiated

    srv = WsProtocol(SID, WsOpts(), Negotiated(), mask=False)
    assert error_code(srv.receive_data(text("unmasked"))) == 1002
    srv = WsProtocol(SID, WsOpts(), Negotiated(), mask=False)
    assert srv.receive_data(text("masked", mask=b"abcd")) == [Ws(SID, Text("masked"))]
    srv.send(Text("out"))
    assert srv.data_to_send() == text("out")


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
@pytest.mark.parametrize(
    "message",
    [Binary(b"x" * 16), Binary(bytearray(b"ab" * 100)), Binary(b""), Text("héllo"), Binary(bytes(70000))],
    ids=["binary", "bytearray", "empty", "text", "large"],
)
def test_message_bytes_is_send_then_data_to_send(message: Text | Binary, deflate: bool) -> None:
    """message_bytes gives the frames send() + data_to_send() give (masked with fresh keys)."""
    from gun_core.ws_deflate import DeflateParams
    from tests.helpers.ws import read_frames

    params = DeflateParams() if deflate else None
    one, two = client(deflate=params), client(deflate=params)
    via_send = (two.send(message), two.data_to_send())
    got = one.message_bytes(message)
    assert via_send[0] == []
    a, b = read_frames(got), read_frames(via_send[1])
    assert [(f.fin, f.rsv, f.opcode, f.payload, f.masked) for f in a] == [
        (f.fin, f.rsv, f.opcode, f.payload, f.masked) for f in b
    ]
    assert a[0].key != b[0].key  # each core draws its own keys
    assert one.data_to_send() == b""


def test_message_bytes_refuses_what_send_refuses() -> None:
    p = client()
    with pytest.raises(UsageError):
        p.message_bytes(Ping(b"x"))  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        p.message_bytes(Text(b"not str"))  # type: ignore[arg-type]
    p.send(Close(1000))
    sent(p)
    with pytest.raises(UsageError):
        p.message_bytes(Binary(b"after close"))
