"""RFC 9113 sections 5.2 and 6.9: flow control, on the client machine."""

from __future__ import annotations

from gun_core.events import Closed, Data, Response
from gun_core.http2_frames import ErrorCode
from tests.helpers.h2 import (
    T_DATA,
    T_WINDOW_UPDATE,
    H2Server,
    connect_client,
    expect_connection_error,
    expect_stream_error,
)

FCE = ErrorCode.FLOW_CONTROL_ERROR
S = H2Server()


def test_initial_windows_are_65535() -> None:
    """Both the connection and new streams start with a 65,535-octet send window (RFC 9113 6.9.2)."""
    w = connect_client()
    w.client.request(b"POST", b"/", [], b"x" * 100000)
    assert sum(len(f.payload) for f in w.pull() if f.type == T_DATA) == 65535


def test_sender_never_exceeds_the_stream_window() -> None:
    """A sender must not send a flow-controlled frame larger than the space in the stream window
    (RFC 9113 6.9.1)."""
    w = connect_client(settings={4: 1000})
    h = w.client.request(b"POST", b"/", [], b"x" * 5000)
    assert sum(len(f.payload) for f in w.pull() if f.type == T_DATA) == 1000
    for _ in range(3):
        w.feed(S.window_update(1, 700))
        assert sum(len(f.payload) for f in w.sent if f.type == T_DATA) == 700
    assert w.client.stream_info(h)["queued_bytes"] == 5000 - 3100


def test_only_data_is_flow_controlled() -> None:
    """Only DATA frames are subject to flow control: HEADERS go out with a zero window (RFC 9113 5.2.1, 6.9)."""
    w = connect_client(settings={4: 0})
    w.client.request(b"POST", b"/", [], b"body")
    assert [f.type for f in w.pull()] == [1]
    w.client.request(b"GET", b"/", [], None)
    assert [f.type for f in w.pull()] == [1]


def test_settings_change_can_make_the_window_negative() -> None:
    """A smaller SETTINGS_INITIAL_WINDOW_SIZE can make a stream window negative; the sender waits until
    WINDOW_UPDATEs make it positive again (RFC 9113 6.9.2)."""
    w = connect_client()
    h = w.client.request(b"POST", b"/", [], None, body_follows=True)
    w.client.data(h, False, b"a" * 60000)
    w.pull()
    w.feed(S.settings({4: 16384}))
    assert w.client.stream_info(h)["send_window"] == 16384 - 60000
    w.client.data(h, True, b"b" * 100)
    assert [f for f in w.pull() if f.type == T_DATA] == []
    w.feed(S.window_update(1, 60000 - 16384))
    assert [f.type for f in w.sent] == []  # window is exactly 0
    w.feed(S.window_update(1, 100))
    assert [(f.type, f.flags, len(f.payload)) for f in w.sent] == [(T_DATA, 1, 100)]


def test_settings_change_overflowing_a_window() -> None:
    """A SETTINGS_INITIAL_WINDOW_SIZE change that takes a window above 2^31-1 is a connection error
    FLOW_CONTROL_ERROR (RFC 9113 6.9.2)."""
    w = connect_client()
    w.client.request(b"POST", b"/", [], None, body_follows=True)
    w.pull()
    w.feed(S.window_update(1, 2**31 - 1 - 65535))
    expect_connection_error(w, S.settings({4: 65536}), FCE)


def test_window_update_overflow() -> None:
    """A WINDOW_UPDATE taking a window above 2^31-1 terminates the stream (stream window) or the
    connection (connection window) with FLOW_CONTROL_ERROR (RFC 9113 6.9.1)."""
    w = connect_client()
    h = w.client.request(b"POST", b"/", [], None, body_follows=True)
    w.pull()
    expect_stream_error(w, S.window_update(1, 2**31 - 65535), FCE, h)
    expect_connection_error(w, S.window_update(0, 2**31 - 65535), FCE)


def test_receiver_window_overrun_on_a_stream() -> None:
    """A peer sending more than the stream window we advertised breaks flow control: FLOW_CONTROL_ERROR
    (RFC 9113 6.9.1)."""
    w = connect_client({"initial_stream_window_size": 500})
    h = w.client.request(b"GET", b"/", [], None)
    w.pull()
    w.feed(w.server.headers(1, [(":status", "200")]))
    expect_stream_error(w, S.data(1, b"x" * 501), FCE, h)


def test_receiver_window_overrun_on_the_connection() -> None:
    """A peer sending more than the connection window is a connection error FLOW_CONTROL_ERROR
    (RFC 9113 6.9.1)."""
    w = connect_client({"initial_stream_window_size": 1 << 20, "max_frame_size_received": 1 << 20})
    w.client.request(b"GET", b"/", [], None)
    w.pull()
    w.feed(w.server.headers(1, [(":status", "200")]))
    expect_connection_error(w, S.data(1, b"x" * 65536), FCE)


def test_we_open_our_receive_windows_again() -> None:
    """We send WINDOW_UPDATE for the connection and the stream as data is consumed, so a long body never
    stalls (RFC 9113 6.9)."""
    w = connect_client()
    h = w.client.request(b"GET", b"/", [], None)
    w.pull()
    w.feed(w.server.headers(1, [(":status", "200")]))
    stream_window = conn_window = 65535
    for i in range(50):
        chunk = b"d" * 16000
        stream_window -= len(chunk)
        conn_window -= len(chunk)
        assert stream_window >= 0 and conn_window >= 0, i
        (e,) = w.feed(S.data(1, chunk))
        assert e == Data(h, False, chunk)
        for f in w.sent:
            if f.type == T_WINDOW_UPDATE:
                if f.stream_id == 0:
                    conn_window += f.u32()
                else:
                    stream_window += f.u32()
    assert w.feed(S.data(1, b"", end_stream=True)) == [Data(h, True, b"")]


def test_padding_and_dropped_data_are_given_back() -> None:
    """Padding and DATA for a closed stream still count against the connection window and are returned
    with WINDOW_UPDATE, so the connection does not starve (RFC 9113 6.1, 6.9)."""
    w = connect_client()
    h = w.client.request(b"GET", b"/", [], None)
    w.pull()
    assert w.feed(w.server.headers(1, [(":status", "200")])) == [Response(h, False, 200, [])]
    w.client.cancel(h)
    w.pull()
    total = 0
    for _ in range(200):  # 51,200 octets of padding alone: more than half the connection window
        w.feed(S.data(1, b"", padding=255))
        total += sum(f.u32() for f in w.sent if f.type == T_WINDOW_UPDATE and f.stream_id == 0)
    assert total >= 65535 // 2
    assert not any(isinstance(e, Closed) for e in w.feed(S.ping()))
