"""RFC 9113 section 6.5 (SETTINGS) and RFC 8441 section 3 (SETTINGS_ENABLE_CONNECT_PROTOCOL),
on the client machine."""

from __future__ import annotations

import pytest

from gun_core.errors import UsageError
from gun_core.events import Closed, Notify, Response
from gun_core.http2_frames import ErrorCode
from tests.helpers.h2 import (
    T_CONTINUATION,
    T_DATA,
    T_HEADERS,
    T_SETTINGS,
    H2Server,
    connect_client,
    expect_connection_error,
)

PE = ErrorCode.PROTOCOL_ERROR
S = H2Server()


def test_settings_are_acknowledged() -> None:
    """Every SETTINGS frame without ACK is acknowledged by an empty SETTINGS with ACK (RFC 9113 6.5.3)."""
    w = connect_client(handshake=False)
    w.feed(S.settings({3: 10}))
    assert [(f.type, f.flags, f.payload) for f in w.sent] == [(T_SETTINGS, 1, b"")]
    w.feed(S.settings({}))
    assert [(f.type, f.flags) for f in w.sent] == [(T_SETTINGS, 1)]


def test_settings_ack_is_not_acknowledged() -> None:
    """A SETTINGS ACK gets no answer (RFC 9113 6.5)."""
    w = connect_client(handshake=False)
    w.feed(S.settings())
    assert w.feed(S.settings_ack()) == [] and w.sent == []


def test_unknown_settings_are_ignored() -> None:
    """Unknown setting identifiers are ignored (RFC 9113 6.5.2)."""
    w = connect_client(handshake=False)
    (n,) = w.feed(S.settings({0x10: 5, 0xFFFF: 1}))
    assert isinstance(n, Notify) and n.value["max_concurrent_streams"] is None


def test_settings_are_processed_in_order() -> None:
    """Values in one SETTINGS frame are processed in order: the last one wins (RFC 9113 6.5.3)."""
    w = connect_client(handshake=False)
    (n,) = w.feed(S.settings([(3, 1), (3, 7)]))
    assert n.value["max_concurrent_streams"] == 7


def test_server_enable_push_one_is_an_error() -> None:
    """A client must treat SETTINGS_ENABLE_PUSH set to 1 from a server as a connection error
    PROTOCOL_ERROR (RFC 9113 6.5.2)."""
    w = connect_client(handshake=False)
    expect_connection_error(w, S.settings({2: 1}), PE)


def test_server_enable_push_zero_is_accepted() -> None:
    """A server may send SETTINGS_ENABLE_PUSH 0 (RFC 9113 6.5.2)."""
    w = connect_client(handshake=False)
    (n,) = w.feed(S.settings({2: 0}))
    assert n.value["enable_push"] is False


def test_enable_push_other_values() -> None:
    """SETTINGS_ENABLE_PUSH other than 0 or 1 is a connection error PROTOCOL_ERROR (RFC 9113 6.5.2)."""
    w = connect_client(handshake=False)
    expect_connection_error(w, S.settings({2: 2}), PE)


def test_initial_window_size_too_large() -> None:
    """SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 is a connection error FLOW_CONTROL_ERROR (RFC 9113 6.5.2)."""
    w = connect_client(handshake=False)
    expect_connection_error(w, S.settings({4: 2**31}), ErrorCode.FLOW_CONTROL_ERROR)


@pytest.mark.parametrize("value", [0, 16383, 2**24])
def test_max_frame_size_out_of_range(value: int) -> None:
    """SETTINGS_MAX_FRAME_SIZE outside 2^14..2^24-1 is a connection error PROTOCOL_ERROR (RFC 9113 6.5.2)."""
    w = connect_client(handshake=False)
    expect_connection_error(w, S.settings({5: value}), PE)


def test_max_frame_size_is_used_when_sending() -> None:
    """We do not send frames larger than the server's SETTINGS_MAX_FRAME_SIZE (RFC 9113 4.2, 6.5.2)."""
    w = connect_client(settings={5: 16384, 4: 2**20})
    w.feed(S.window_update(0, 2**20))
    w.client.request(b"POST", b"/", [(b"x-large", bytes(range(33, 127)) * 400)], b"z" * 40000)
    frames = w.pull()
    assert {f.type for f in frames} == {T_HEADERS, T_CONTINUATION, T_DATA}
    assert max(len(f.payload) for f in frames) <= 16384


def test_header_table_size_is_honoured_by_our_encoder() -> None:
    """With SETTINGS_HEADER_TABLE_SIZE 0 our encoder must not use the dynamic table, and signals the
    change in the next field block (RFC 9113 6.5.2, RFC 7541 4.2, 6.3)."""
    from hpack import Decoder

    w = connect_client(settings={1: 0})
    decoder = Decoder()
    decoder.max_allowed_table_size = 0
    for _ in range(2):
        w.client.request(b"GET", b"/", [(b"x-custom", b"value")], None)
        (f,) = w.pull()
        decoder.decode(f.payload, raw=True)  # raises if the table size rules are broken
    assert decoder.header_table_size == 0


def test_our_smaller_decoder_table_applies_after_ack() -> None:
    """Our SETTINGS_HEADER_TABLE_SIZE applies once acknowledged; a server still using a larger table
    afterwards is a COMPRESSION_ERROR (RFC 9113 6.5.3, RFC 7541 4.2)."""
    w = connect_client({"max_decode_table_size": 0})
    w.client.request(b"GET", b"/", [], None)
    w.pull()
    # The server's encoder still has the default 4096-byte table and indexes a field.
    expect_connection_error(w, w.server.headers(1, [(":status", "200"), ("x-a", "b")]), ErrorCode.COMPRESSION_ERROR)


def test_our_smaller_table_accepted_when_the_server_shrinks_it() -> None:
    """A server that signals the smaller table size in its next block is fine (RFC 7541 4.2)."""
    w = connect_client({"max_decode_table_size": 0})
    h = w.client.request(b"GET", b"/", [], None)
    w.pull()
    w.server.encoder.header_table_size = 0
    assert w.feed(w.server.headers(1, [(":status", "200"), ("x-a", "b")], end_stream=True)) == [
        Response(h, True, 200, [(b"x-a", b"b")])
    ]


def test_settings_timeout() -> None:
    """Without an ACK of our SETTINGS in time the connection fails with SETTINGS_TIMEOUT (RFC 9113 6.5.3)."""
    w = connect_client(handshake=False)
    w.feed(S.settings())
    (c,) = w.client.timeout("settings")
    assert isinstance(c, Closed) and c.reason.code is ErrorCode.SETTINGS_TIMEOUT
    assert w.pull()[0].error_code() == ErrorCode.SETTINGS_TIMEOUT


def test_extended_connect_setting_cannot_be_withdrawn() -> None:
    """SETTINGS_ENABLE_CONNECT_PROTOCOL may not go from 1 back to 0 (RFC 8441 3)."""
    w = connect_client(settings={8: 1})
    expect_connection_error(w, S.settings({8: 0}), PE)


def test_extended_connect_only_when_enabled() -> None:
    """A client must not send :protocol before the server sent SETTINGS_ENABLE_CONNECT_PROTOCOL 1
    (RFC 8441 3, 4)."""
    w = connect_client(settings={8: 0})
    with pytest.raises(UsageError):
        w.client.request(b"CONNECT", b"/ws", [], None, body_follows=True, protocol=b"websocket")
    w.feed(S.settings({8: 1}))
    w.client.request(b"CONNECT", b"/ws", [], None, body_follows=True, protocol=b"websocket")
    (f,) = w.pull()
    assert (b":protocol", b"websocket") in w.server.decode(f.payload)


def test_settings_flood_is_refused() -> None:
    """Too many SETTINGS frames at once are an abuse: ENHANCE_YOUR_CALM (RFC 9113 10.5)."""
    w = connect_client()
    expect_connection_error(w, S.settings({3: 100}) * 101, ErrorCode.ENHANCE_YOUR_CALM)
