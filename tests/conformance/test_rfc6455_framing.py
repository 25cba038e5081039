"""RFC 6455 section 5 (data framing) and 10.4 (limits), client side.

Each test plays a server byte for byte and checks what the client core does: the
messages it delivers, or the close code it fails the connection with (RFC 6455 7.1.7).
"""

from __future__ import annotations

import struct

import pytest

from gun_core.events import Ws
from gun_core.ws import Binary, Opcode, Ping, Pong, Text
from tests.helpers.ws import SID, binary, client, close, error_code, feed, frame, ping, pong, sent, text

# ---------------------------------------------------------------- 5.1, 5.3 masking


def test_client_frames_are_masked_with_fresh_keys() -> None:
    """A client masks every frame it sends, each with a new unpredictable key (RFC 6455 5.1, 5.3)."""
    p = client()
    from gun_core.ws import Close

    p.send([Text("a"), Text("a"), Binary(b"b"), Ping(), Pong(), Close(1000)])
    frames = sent(p)
    assert all(f.masked for f in frames)
    assert len({f.key for f in frames}) == len(frames)


def test_masked_server_frame_fails_1002() -> None:
    """A client must close the connection on a masked frame from the server (RFC 6455 5.1)."""
    assert error_code(feed(client(), text("hi", mask=b"\x01\x02\x03\x04"))) == 1002


# ---------------------------------------------------------------- 5.2 base framing


@pytest.mark.parametrize("bits", [{"rsv1": True}, {"rsv2": True}, {"rsv3": True}, {"rsv1": True, "rsv3": True}])
@pytest.mark.parametrize("opcode", [1, 2, 9, 10, 8])
def test_reserved_bits_without_extension_fail_1002(bits: dict[str, bool], opcode: int) -> None:
    """RSV1-3 must be 0 unless an extension defines them; otherwise fail (RFC 6455 5.2)."""
    events = feed(client(), text("ok") + frame(opcode, b"x" if opcode != 8 else b"\x03\xe8", **bits))
    assert events[0] == Ws(SID, Text("ok"))
    assert error_code(events) == 1002


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
def test_unknown_opcodes_fail_1002(opcode: int) -> None:
    """Reserved opcodes make the client fail the connection (RFC 6455 5.2)."""
    assert error_code(feed(client(), frame(opcode, b"payload"))) == 1002


@pytest.mark.parametrize("n", [0, 1, 125, 126, 127, 65535, 65536, 200000])
def test_payload_lengths(n: int) -> None:
    """7-bit, 16-bit and 64-bit payload lengths (RFC 6455 5.2)."""
    assert feed(client(), binary(b"z" * n)) == [Ws(SID, Binary(b"z" * n))]


@pytest.mark.parametrize("form", [16, 64])
def test_non_minimal_length_encoding_accepted(form: int) -> None:
    """RFC 6455 5.2 says the minimal length encoding must be used by senders, but a receiver
    loses nothing by accepting a longer form; we accept it."""
    assert feed(client(), text("short", form=form)) == [Ws(SID, Text("short"))]


def test_64bit_length_with_msb_set_fails_1002() -> None:
    """The most significant bit of a 64-bit length must be 0 (RFC 6455 5.2)."""
    data = bytes([0x82, 127]) + struct.pack("!Q", 2**63 + 5)
    assert error_code(feed(client(), data)) == 1002


# ---------------------------------------------------------------- 5.4 fragmentation


def test_fragmented_message_is_reassembled() -> None:
    """A message may be split into a first frame and continuations; FIN marks the last (RFC 6455 5.4)."""
    data = text("fra", fin=False) + frame(0, b"gme", fin=False) + frame(0, b"", fin=False) + frame(0, b"nted")
    assert feed(client(), data) == [Ws(SID, Text("fragmented"))]


def test_control_frames_interleaved_in_fragments() -> None:
    """Control frames may be injected between fragments and are handled at once (RFC 6455 5.4)."""
    p = client(silence_pings=False)
    data = binary(b"a", fin=False) + ping(b"1") + frame(0, b"b", fin=False) + pong(b"2") + frame(0, b"c")
    assert feed(p, data) == [Ws(SID, Ping(b"1")), Ws(SID, Pong(b"2")), Ws(SID, Binary(b"abc"))]
    assert [(f.opcode, f.payload) for f in sent(p)] == [(Opcode.PONG, b"1")]


def test_continuation_without_start_fails_1002() -> None:
    """A continuation frame with no message in progress is a protocol error (RFC 6455 5.4)."""
    assert error_code(feed(client(), frame(0, b"orphan"))) == 1002
    assert error_code(feed(client(), text("done") + frame(0, b"orphan", fin=False))) == 1002


@pytest.mark.parametrize("opcode", [1, 2])
def test_new_message_inside_fragmented_message_fails_1002(opcode: int) -> None:
    """Fragments of different messages must not be interleaved (RFC 6455 5.4)."""
    assert error_code(feed(client(), text("a", fin=False) + frame(opcode, b"b"))) == 1002


def test_continuation_frames_of_binary_may_be_empty() -> None:
    """Empty fragments are fine, including an empty final one (RFC 6455 5.4)."""
    data = binary(b"", fin=False) + frame(0, b"", fin=False) + frame(0, b"")
    assert feed(client(), data) == [Ws(SID, Binary(b""))]


# ---------------------------------------------------------------- 5.5 control frames


def test_control_frame_of_125_bytes_is_fine() -> None:
    """A ping of 125 bytes is answered with a pong of the same 125 bytes (RFC 6455 5.5, 5.5.3)."""
    p = client()
    feed(p, ping(b"p" * 125))
    assert [(f.opcode, f.payload) for f in sent(p)] == [(Opcode.PONG, b"p" * 125)]


@pytest.mark.parametrize("opcode", [8, 9, 10])
def test_control_frame_over_125_bytes_fails_1002(opcode: int) -> None:
    """Control frames carry at most 125 bytes (RFC 6455 5.5)."""
    assert error_code(feed(client(), frame(opcode, b"\x03\xe8" + b"x" * 124))) == 1002


@pytest.mark.parametrize("opcode", [8, 9, 10])
def test_fragmented_control_frame_fails_1002(opcode: int) -> None:
    """Control frames must not be fragmented (RFC 6455 5.5)."""
    assert error_code(feed(client(), frame(opcode, b"", fin=False) + frame(0, b""))) == 1002


def test_every_ping_gets_its_pong() -> None:
    """Each Ping gets a Pong with its application data (RFC 6455 5.5.2, 5.5.3)."""
    p = client()
    feed(p, b"".join(ping(str(i).encode()) for i in range(10)))
    assert [f.payload for f in sent(p)] == [str(i).encode() for i in range(10)]


def test_unsolicited_pong_is_ignored() -> None:
    """An unsolicited Pong needs no answer (RFC 6455 5.5.3)."""
    p = client()
    assert feed(p, pong(b"heartbeat") + text("after")) == [Ws(SID, Text("after"))]
    assert p.data_to_send() == b""


def test_ping_with_binary_payload() -> None:
    """Ping payloads are arbitrary bytes, echoed unchanged (RFC 6455 5.5.2)."""
    payload = bytes(range(125))
    p = client()
    feed(p, ping(payload))
    assert sent(p)[0].payload == payload


# ---------------------------------------------------------------- 10.4 limits


def test_message_over_max_message_size_fails_1009() -> None:
    """A client may limit message size and close with 1009 (RFC 6455 10.4, 7.4.1)."""
    assert feed(client(max_message_size=10), text("x" * 10)) == [Ws(SID, Text("x" * 10))]
    assert error_code(feed(client(max_message_size=10), text("x" * 11))) == 1009


def test_fragmented_message_over_max_fails_when_header_arrives() -> None:
    """The limit covers the reassembled message and fails as soon as a header announces too much."""
    p = client(max_message_size=100)
    events = feed(p, text("a" * 60, fin=False) + bytes([0x00, 126]) + struct.pack("!H", 41))
    assert error_code(events) == 1009


def test_frame_after_close_is_ignored() -> None:
    """After the closing handshake no more data is processed (RFC 6455 5.5.1)."""
    p = client()
    events = feed(p, close(1000) + text("ignored") + ping(b"ignored"))
    assert [type(e).__name__ for e in events] == ["Ws", "Closed"]
    assert [f.opcode for f in sent(p)] == [Opcode.CLOSE]
