"""Dripfeed tests of the websocket machine: the same bytes, cut anywhere, give the same events.

Each scenario is fed whole, one byte at a time, and cut at random places (hypothesis);
the events and the frames the client answers with must not depend on the cuts.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gun_core.events import Event
from gun_core.ws_deflate import DeflateParams
from tests.helpers.ws import ServerCompressor, binary, chunks, client, close, feed, frame, ping, pong, sent, text

SMILE = "smile 😀 and ü".encode()


def _plain() -> bytes:
    return b"".join(
        [
            text("hello"),
            binary(b"\x00" * 300),
            text(SMILE[:8], fin=False),  # cut inside the 4-byte emoji
            ping(b"in between"),
            frame(0, SMILE[8:11], fin=False),
            pong(b"pong"),
            frame(0, SMILE[11:]),
            binary(b"b" * 70000),
            text(""),
            frame(2, b"", fin=False),
            frame(0, b"", fin=True),
            close(1000, "done"),
        ]
    )


def _compressed() -> bytes:
    comp = ServerCompressor()
    big = comp.compress(("lorem ipsum " * 3000).encode())
    small = comp.compress(SMILE)
    again = comp.compress(SMILE)  # refers back to the previous message (context takeover)
    return b"".join(
        [
            frame(1, small, rsv1=True),
            frame(1, again[:3], rsv1=True, fin=False),
            ping(b"x"),
            frame(0, again[3:]),
            frame(2, big[:1000], rsv1=True, fin=False),
            frame(0, big[1000:5000], fin=False),
            frame(0, big[5000:]),
            text("uncompressed"),
            close(),
        ]
    )


SCENARIOS: dict[str, tuple[bytes, dict[str, Any]]] = {
    "plain": (_plain(), {"silence_pings": False}),
    "compressed": (_compressed(), {"deflate": DeflateParams(), "silence_pings": False}),
    "utf8_error": (text(SMILE[:5] + b"\xff" + b"tail" * 100), {}),
    "too_big": (text("a", fin=False) + frame(0, b"b" * 200), {"max_message_size": 100}),
}


def run(name: str, pieces: list[bytes]) -> tuple[list[Event], list[tuple[int, int, bytes]]]:
    data, opts = SCENARIOS[name]
    assert b"".join(pieces) == data
    p = client(**opts)
    out: list[tuple[int, int, bytes]] = []
    events: list[Event] = []
    for piece in pieces:
        events.extend(p.receive_data(piece))
        out.extend((f.opcode, f.rsv, f.payload) for f in sent(p))
    return events, out


@pytest.fixture(scope="module")
def reference() -> dict[str, tuple[list[Event], list[tuple[int, int, bytes]]]]:
    return {name: run(name, [data]) for name, (data, _) in SCENARIOS.items()}


def test_reference_events() -> None:
    """The whole-input run of the plain scenario gives the expected messages."""
    from gun_core.events import Closed, Ws
    from gun_core.ws import Binary, Close, Ping, Pong, Text

    events, out = run("plain", [SCENARIOS["plain"][0]])
    frames = [e.frame for e in events if isinstance(e, Ws)]
    assert frames == [
        Text("hello"),
        Binary(b"\x00" * 300),
        Ping(b"in between"),
        Pong(b"pong"),
        Text(SMILE.decode()),
        Binary(b"b" * 70000),
        Text(""),
        Binary(b""),
        Close(1000, "done"),
    ]
    assert isinstance(events[-1], Closed)
    assert out == [(0xA, 0, b"in between"), (0x8, 0, b"\x03\xe8")]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_one_byte_at_a_time(name: str, reference: dict[str, Any]) -> None:
    """One byte per receive_data call gives exactly the events of the whole input."""
    data = SCENARIOS[name][0]
    if len(data) > 20000:
        data_pieces = chunks(data, [1] * 3000 + [997])  # bytewise for the headers, faster over big bodies
    else:
        data_pieces = chunks(data, [1])
    assert run(name, data_pieces) == reference[name]


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(list(SCENARIOS)), sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=30))
def test_random_splits(name: str, sizes: list[int], reference: dict[str, Any]) -> None:
    """Cuts at random places give exactly the events of the whole input."""
    assert run(name, chunks(SCENARIOS[name][0], sizes)) == reference[name]


def test_utf8_error_fails_before_the_rest_arrives() -> None:
    """Fail fast: the invalid byte fails the connection although the frame is not complete (RFC 6455 8.1)."""
    data = SCENARIOS["utf8_error"][0]
    p = client()
    cut = data.index(b"\xff") + 1
    events = feed(p, data[:cut])
    assert events and events[0].reason.code == 1007  # type: ignore[union-attr]
