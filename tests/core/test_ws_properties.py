"""Property tests of the websocket machine: whatever a server sends, the core never raises,
never reports an internal error, and ends in a documented state."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gun_core.events import Closed, Error, Ws
from gun_core.ws import WsState
from gun_core.ws_deflate import DeflateParams
from tests.helpers.ws import ServerCompressor, client, frame, read_frames

DOCUMENTED_CODES = {1002, 1007, 1009}

# Frames made of plausible parts, valid or not: every opcode, every RSV combination,
# masked or not, fin or not, short payloads, sometimes compressed.
frames = st.builds(
    lambda op, fin, rsv, masked, payload, comp: frame(
        op,
        ServerCompressor().compress(payload) if comp else payload,
        fin=fin,
        rsv1=bool(rsv & 4) or comp,
        rsv2=bool(rsv & 2),
        rsv3=bool(rsv & 1),
        mask=b"abcd" if masked else None,
    ),
    st.integers(0, 15),
    st.booleans(),
    st.sampled_from([0, 0, 0, 4, 2, 1, 7]),
    st.sampled_from([False, False, False, True]),
    st.one_of(st.binary(max_size=140), st.text(max_size=40).map(str.encode)),
    st.booleans(),
)


def check(events: list[object], state: WsState) -> None:
    for i, e in enumerate(events):
        if isinstance(e, Error):
            assert e.reason.code in DOCUMENTED_CODES, e.reason
            assert isinstance(events[i + 1], Closed) and i + 2 == len(events)
        if isinstance(e, Closed):
            assert i == len(events) - 1
            assert state is WsState.CLOSED


@settings(max_examples=300, deadline=None)
@given(st.lists(frames, max_size=8), st.booleans(), st.integers(1, 50))
def test_frame_sequences_never_break_the_core(parts: list[bytes], deflate: bool, cut: int) -> None:
    """Any sequence of frames, cut anywhere, gives events or a documented failure."""
    p = client(deflate=DeflateParams() if deflate else None, silence_pings=False, max_message_size=200)
    data = b"".join(parts)
    events: list[object] = []
    for i in range(0, len(data), cut):
        events.extend(p.receive_data(data[i : i + cut]))
    check(events, p.state)
    if p.state is not WsState.CLOSED:
        events.extend(p.receive_data(b""))
        assert isinstance(events[-1], Closed)
    # Whatever we wrote is well-formed, masked client frames.
    assert all(f.masked for f in read_frames(p.data_to_send()))
    assert all(isinstance(e, (Ws, Error, Closed)) for e in events)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_break_the_core(data: bytes) -> None:
    """Arbitrary bytes are either frames or a documented failure, never an exception."""
    p = client(deflate=DeflateParams(), max_message_size=1000)
    check(p.receive_data(data), p.state)
