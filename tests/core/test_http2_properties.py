"""Property tests of gun_core.http2: chunking invariance and robustness against arbitrary frames."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gun_core.events import Closed, Event
from gun_core.http2 import Http2Protocol
from gun_core.options import check_http2_opts
from tests.helpers.h2 import H2Server

OPTS = check_http2_opts({"initial_stream_window_size": 3000, "max_concurrent_streams": 10})


def _client() -> Http2Protocol:
    p = Http2Protocol(b"example.com", b"https", OPTS)
    p.request(b"GET", b"/a", [], None)  # wire 1
    p.request(b"POST", b"/b", [], b"x" * 5000)  # wire 3
    p.request(b"GET", b"/c", [], None, flow=2000)  # wire 5
    p.request(b"HEAD", b"/d", [], None)  # wire 7
    p.data_to_send()
    return p


def _server_script() -> bytes:
    s = H2Server()
    promise = [(":method", "GET"), (":scheme", "https"), (":authority", "example.com"), (":path", "/p")]
    return b"".join(
        [
            s.settings({3: 100, 4: 1000, 5: 16384}),
            s.settings_ack(),
            s.ping(b"pingping"),
            s.headers(1, [(":status", "103"), ("link", "</p>")]),
            s.push_promise(1, 2, promise, padding=3),
            s.headers_split(1, [(":status", "200"), *[(f"x-{i}", "v" * 40) for i in range(10)]], 3),
            s.data(1, b"a" * 1200, padding=5),
            s.data(1, b"b" * 1000),
            s.window_update(0, 10000),
            s.window_update(3, 10000),
            s.headers(3, [(":status", "201"), ("content-length", "4")]),
            s.data(3, b"done", end_stream=True),
            s.headers(5, [(":status", "200")]),
            s.data(5, b"c" * 1500),
            s.data(5, b"c" * 100),
            s.headers(2, [(":status", "200")], padding=10),
            s.data(2, b"pushed", end_stream=True),
            s.priority(5, 1),
            s.frame(0x42, 0, 0, b"unknown"),
            s.headers(1, [("x-trailer", "t")], end_stream=True),
            s.headers(7, [(":status", "200"), ("content-length", "100")], end_stream=True),
            s.rst_stream(5, 2),
            s.ping(b"87654321"),
            s.goaway(7, 0, b"bye"),
        ]
    )


SCRIPT = _server_script()


def _run(chunks: list[bytes]) -> tuple[list[Event], bytes]:
    p = _client()
    events: list[Event] = []
    out = []
    for c in chunks:
        events += p.receive_data(c)
        out.append(p.data_to_send())
    return events, b"".join(out)


WHOLE = _run([SCRIPT])


def test_the_script_exercises_everything() -> None:
    """The reference run produces the expected kinds of events and ends with the GOAWAY."""
    events, out = WHOLE
    kinds = [type(e).__name__ for e in events]
    for k in ("Notify", "Inform", "Push", "Response", "Data", "Trailers", "Error", "Closed"):
        assert k in kinds, k
    assert isinstance(events[-1], Closed) and events[-1].reason.kind == "goaway"
    assert out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=len(SCRIPT)), max_size=40))
def test_any_chunking_gives_the_same_events_and_output(cuts: list[int]) -> None:
    """Feeding the server's bytes in any pieces yields the same events and the same client output
    as feeding them whole."""
    points = sorted(set(cuts))
    chunks = [SCRIPT[a:b] for a, b in zip([0, *points], [*points, len(SCRIPT)], strict=False) if b > a]
    assert _run(chunks) == WHOLE


def test_byte_by_byte() -> None:
    """One byte at a time gives the same result too."""
    assert _run([SCRIPT[i : i + 1] for i in range(len(SCRIPT))]) == WHOLE


# --------------------------------------------------------------------------- arbitrary frames

_frame = st.tuples(
    st.integers(min_value=0, max_value=10),  # type (10: unknown)
    st.sampled_from([0, 1, 4, 5, 8, 0x20, 0x25, 0x2D]),
    st.sampled_from([0, 1, 2, 3, 4, 5, 7, 0x7FFFFFFF]),
    st.binary(max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_frame, max_size=25), st.booleans())
def test_arbitrary_frames_never_raise(frames: list[tuple[int, int, int, bytes]], handshake: bool) -> None:
    """Whatever frames arrive, the machine returns events and never raises; after Closed it is inert;
    every stream it reported as started ends in the Closed lists or is finished."""
    s = H2Server()
    p = Http2Protocol(b"example.com")
    p.request(b"GET", b"/", [], None)
    p.request(b"POST", b"/", [], None, body_follows=True)
    data = s.settings() + s.settings_ack() if handshake else b""
    for ftype, flags, sid, payload in frames:
        if ftype == 1 and payload[:1] != b"\0" and sid % 2:
            payload = s.encode([(":status", "200")])  # sometimes a decodable block
        data += s.frame(ftype, flags, sid, payload)
    events: list[Any] = p.receive_data(data)
    p.data_to_send()
    closed = [e for e in events if isinstance(e, Closed)]
    assert len(closed) <= 1
    if closed:
        assert events[-1] is closed[0]
        assert p.closing and p.active_streams() == []
        assert p.receive_data(s.ping()) == []
    else:
        events += p.receive_data(b"")
        assert isinstance(events[-1], Closed)
