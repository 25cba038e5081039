"""RFC 9113 section 10.5 (denial-of-service considerations) and 10.5.1 (limits on field block
size): every abuse is bounded and ends in ENHANCE_YOUR_CALM, on the client machine."""

from __future__ import annotations

from typing import Any

from gun_core.events import Closed, Response
from gun_core.http2 import (
    MAX_EMPTY_DATA,
    MAX_PINGS_PER_FLUSH,
    MAX_RESERVED_PUSHES,
    MAX_RESETS_PER_FLUSH,
    MAX_SETTINGS_PER_FLUSH,
)
from gun_core.http2_frames import ErrorCode
from tests.helpers.h2 import (
    T_CONTINUATION,
    T_HEADERS,
    T_RST_STREAM,
    H2Server,
    Wire,
    connect_client,
    expect_connection_error,
)

EYC = ErrorCode.ENHANCE_YOUR_CALM
S = H2Server()


def started(**kw: Any) -> tuple[Wire, int]:
    w = connect_client(**kw)
    h: int = w.client.request(b"GET", b"/", [], None)
    w.pull()
    return w, h


def test_continuation_flood_of_empty_frames() -> None:
    """Endless empty CONTINUATION frames (the "CONTINUATION flood") are cut off (RFC 9113 10.5)."""
    w, _ = started()
    wire = S.frame(T_HEADERS, 0, 1, b"") + S.frame(T_CONTINUATION, 0, 1, b"") * 5000
    c = expect_connection_error(w, wire, EYC)
    assert "CONTINUATION" in c.reason.message


def test_field_block_larger_than_our_limit() -> None:
    """A field block larger than max_header_list_size is refused before it is decoded, even while it
    is still arriving (RFC 9113 10.5.1)."""
    w, _ = started(opts={"max_header_list_size": 4096})
    c = expect_connection_error(w, S.frame(T_HEADERS, 0, 1, b"\x00" * 5000), EYC)
    assert "max_header_list_size" in c.reason.message
    w, _ = started(opts={"max_header_list_size": 4096})
    w.feed(S.frame(T_HEADERS, 0, 1, b"\x00" * 3000))
    expect_connection_error(w, S.frame(T_CONTINUATION, 0, 1, b"\x00" * 3000), EYC)


def test_hpack_bomb() -> None:
    """A small block that decodes to a huge header list (one big table entry referenced many times) is
    refused while decoding, by max_header_list_size (RFC 9113 10.5.1, RFC 7541 7.3)."""
    w, h = started(opts={"max_header_list_size": 65536})
    s = w.server
    # Index a 4000-byte value in the dynamic table with a first response...
    assert w.feed(s.headers(1, [(":status", "200"), ("x-bomb", "b" * 4000)], end_stream=True))[0] == Response(
        h, True, 200, [(b"x-bomb", b"b" * 4000)]
    )
    w.client.request(b"GET", b"/", [], None)
    w.pull()
    # ...then refer to it 100 times: 100 bytes on the wire, 400 kB decoded.
    index = 62  # the newest dynamic table entry
    block = s.encode([(":status", "200")]) + bytes([0x80 | index]) * 100
    c = expect_connection_error(w, S.frame(T_HEADERS, 0x4, 3, block), EYC)
    assert "max_header_list_size" in c.reason.message


def test_ping_flood() -> None:
    """Too many PINGs to answer at once are refused (RFC 9113 10.5)."""
    w = connect_client()
    assert w.feed(S.ping() * MAX_PINGS_PER_FLUSH)[-1:] == []
    w = connect_client()
    expect_connection_error(w, S.ping() * (MAX_PINGS_PER_FLUSH + 1), EYC)


def test_pings_spread_over_reads_are_fine() -> None:
    """PINGs answered as they come (the output drained between reads) are not a flood."""
    w = connect_client()
    for _ in range(3 * MAX_PINGS_PER_FLUSH // 100):
        assert w.feed(S.ping() * 100) == []


def test_settings_flood() -> None:
    """Too many SETTINGS frames to acknowledge at once are refused (RFC 9113 10.5)."""
    w = connect_client()
    expect_connection_error(w, S.settings({3: 10}) * (MAX_SETTINGS_PER_FLUSH + 1), EYC)


def test_empty_data_flood() -> None:
    """Endless empty DATA frames without END_STREAM are refused (RFC 9113 10.5)."""
    w, _ = started()
    w.feed(w.server.headers(1, [(":status", "200")]))
    assert w.feed(S.data(1, b"") * MAX_EMPTY_DATA) == []
    expect_connection_error(w, S.data(1, b""), EYC)


def test_empty_data_counter_resets_on_real_data() -> None:
    """Empty DATA frames between real ones are tolerated."""
    w, _ = started()
    w.feed(w.server.headers(1, [(":status", "200")]))
    for _ in range(5):
        assert len(w.feed(S.data(1, b"") * MAX_EMPTY_DATA + S.data(1, b"x"))) == 1


def test_reset_flood_on_closed_streams() -> None:
    """Frames that make us send RST_STREAM over and over (DATA on closed streams) are bounded
    (RFC 9113 10.5)."""
    w = connect_client()
    for _ in range(MAX_RESETS_PER_FLUSH + 1):
        w.client.request(b"GET", b"/", [], None)
    w.pull()
    wire = b"".join(w.server.response(2 * i + 1, 200) for i in range(MAX_RESETS_PER_FLUSH + 1))
    w.feed(wire)
    flood = b"".join(S.data(2 * i + 1, b"") for i in range(MAX_RESETS_PER_FLUSH + 1))
    c = expect_connection_error(w, flood, EYC)
    assert isinstance(c, Closed)
    assert len([f for f in w.sent if f.type == T_RST_STREAM]) == MAX_RESETS_PER_FLUSH


def test_rst_stream_flood_on_dead_streams() -> None:
    """RST_STREAM frames for streams that are already gone are bounded too (RFC 9113 10.5)."""
    w, _ = started()
    w.feed(w.server.response(1, 200))
    expect_connection_error(w, S.rst_stream(1, 0) * (MAX_RESETS_PER_FLUSH + 1), EYC)


def test_reserved_push_streams_are_bounded() -> None:
    """Promised streams waiting for their response are bounded; extra promises are refused."""
    w, _ = started()
    s = w.server
    wire = b"".join(
        s.push_promise(
            1,
            2 * (i + 1),
            [(":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", f"/{i}")],
        )
        for i in range(MAX_RESERVED_PUSHES + 5)
    )
    events = w.feed(wire)
    assert len(events) == MAX_RESERVED_PUSHES
    assert len([f for f in w.sent if f.type == T_RST_STREAM]) == 5
