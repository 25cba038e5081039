"""Property tests for the HTTP/1.1 core: any split of the input gives the same events.

A pipelined stream of responses (content-length, chunked with extensions and trailers,
1xx, no-body statuses, HEAD, a close-delimited last one) is generated together with the
events it must produce; feeding it cut anywhere must give exactly those events once
adjacent ``Data`` events are merged.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gun_core.errors import Reason
from gun_core.events import Closed, Data, Event, Inform, Response, Trailers
from gun_core.http1 import Http1Protocol
from tests.helpers.h1 import coalesce, dripfeed, feed

NAMES = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10).map(lambda s: b"x-" + s.encode())
VALUES = st.text("".join(map(chr, range(32, 127))) + "\t", max_size=20).map(lambda s: s.strip(" \t").encode())
HEADERS = st.lists(st.tuples(NAMES, VALUES), max_size=4)
BODIES = st.binary(max_size=80)


@dataclass
class Exchange:
    method: bytes
    wire: bytes
    events: list[Event]


def _head(status: int, headers: list[tuple[bytes, bytes]], version: bytes = b"HTTP/1.1") -> bytes:
    # Names go on the wire in mixed case, with extra spaces around values.
    lines = [version + b" %d Reason" % status] + [n.upper() + b":  " + v + b" \t" for n, v in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


@st.composite
def informs(draw: st.DrawFn, sid: int) -> tuple[bytes, list[Event]]:
    wire = b""
    events: list[Event] = []
    for status in draw(st.lists(st.sampled_from([100, 102, 103]), max_size=2)):
        headers = draw(HEADERS)
        wire += _head(status, headers)
        events.append(Inform(sid, status, headers))
    return wire, events


@st.composite
def exchange(draw: st.DrawFn, sid: int) -> Exchange:
    pre, events = draw(informs(sid))
    kind = draw(st.sampled_from(["length", "chunked", "nobody", "head"]))
    status = draw(st.sampled_from([200, 201, 404, 500]))
    headers = draw(HEADERS)
    if kind == "length":
        body = draw(BODIES)
        hs = [*headers, (b"content-length", b"%d" % len(body))]
        events.append(Response(sid, not body, status, hs))
        if body:
            events.append(Data(sid, True, body))
        return Exchange(b"GET", pre + _head(status, hs) + body, events)
    if kind == "chunked":
        chunks = draw(st.lists(st.binary(min_size=1, max_size=40), max_size=4))
        ext = draw(st.sampled_from([b"", b";a=b", b" ; x", b';q="s"']))
        trailers = draw(HEADERS)
        hs = [*headers, (b"transfer-encoding", b"chunked")]
        wire = _head(status, hs)
        wire += b"".join(b"%X%s\r\n%s\r\n" % (len(c), ext, c) for c in chunks)
        wire += b"0" + ext + b"\r\n" + b"".join(n + b": " + v + b"\r\n" for n, v in trailers) + b"\r\n"
        body = b"".join(chunks)
        events.append(Response(sid, False, status, hs))
        if trailers:
            if body:
                events.append(Data(sid, False, body))
            events.append(Trailers(sid, trailers))
        else:
            events.append(Data(sid, True, body))
        return Exchange(b"GET", pre + wire, events)
    if kind == "nobody":
        status = draw(st.sampled_from([204, 304]))
        events.append(Response(sid, True, status, headers))
        return Exchange(b"GET", pre + _head(status, headers), events)
    # HEAD: content-length describes a body that is not sent
    hs = [*headers, (b"content-length", b"1234")]
    events.append(Response(sid, True, status, hs))
    return Exchange(b"HEAD", pre + _head(status, hs), events)


@st.composite
def conversation(draw: st.DrawFn) -> tuple[list[Exchange], bool]:
    n = draw(st.integers(1, 5))
    exchanges = [draw(exchange(i + 1)) for i in range(n)]
    close_delimited = draw(st.booleans())
    if close_delimited:
        sid = n + 1
        pre, events = draw(informs(sid))
        body = draw(BODIES)
        events.append(Response(sid, False, 200, []))
        events.append(Data(sid, True, body))
        exchanges.append(Exchange(b"GET", pre + _head(200, []) + body, events))
    return exchanges, close_delimited


def _proto(exchanges: list[Exchange], flow: int | None = None) -> Http1Protocol:
    p = Http1Protocol(b"example.com")
    for x in exchanges:
        p.request(x.method, b"/", [], None, flow=flow)
    p.data_to_send()
    return p


def _expected(exchanges: list[Exchange], close_delimited: bool) -> list[Event]:
    events = [e for x in exchanges for e in x.events]
    if close_delimited:
        reason = Reason.connection(
            "closed", "the response body ended when the server closed the connection (RFC 9112 6.3)"
        )
        events.append(Closed(reason, (), ()))
    return events


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(conversation(), st.lists(st.integers(1, 64), max_size=60))
def test_any_split_gives_the_expected_events(conv: tuple[list[Exchange], bool], sizes: list[int]) -> None:
    """Cutting a pipelined response stream anywhere yields the events of feeding it whole
    (RFC 9112 is a byte stream: message boundaries do not depend on reads)."""
    exchanges, close_delimited = conv
    wire = b"".join(x.wire for x in exchanges)
    expected = _expected(exchanges, close_delimited)
    whole = coalesce(feed(_proto(exchanges), wire, eof=close_delimited))
    split = coalesce(feed(_proto(exchanges), wire, sizes, eof=close_delimited))
    assert whole == expected
    assert split == expected


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(conversation())
def test_dripfeed_gives_the_expected_events(conv: tuple[list[Exchange], bool]) -> None:
    """Feeding one byte at a time yields the same events as feeding the stream whole."""
    exchanges, close_delimited = conv
    wire = b"".join(x.wire for x in exchanges)
    assert coalesce(dripfeed(_proto(exchanges), wire, eof=close_delimited)) == _expected(exchanges, close_delimited)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    conversation(),
    st.lists(st.integers(1, 64), max_size=40),
    st.integers(0, 30),
    st.lists(st.integers(1, 40), min_size=1, max_size=20),
)
def test_flow_control_delivers_the_same_events(
    conv: tuple[list[Exchange], bool], sizes: list[int], flow: int, grants: list[int]
) -> None:
    """With a small flow credit and repeated update_flow, the events are the same as without
    flow control, and no Data event exceeds the credit that was available."""
    exchanges, close_delimited = conv
    wire = b"".join(x.wire for x in exchanges)
    p = _proto(exchanges, flow=flow)
    credit = {sid: flow for sid in range(1, len(exchanges) + 1)}
    events: list[Event] = []
    granted = 0

    def account(new: list[Event]) -> None:
        for e in new:
            if type(e) is Data:
                credit[e.stream_id] -= len(e.data)
                assert credit[e.stream_id] >= 0
        events.extend(new)

    def unpause() -> None:
        nonlocal granted
        while p.paused:
            sid = p.active_streams()[0]
            inc = grants[granted % len(grants)]
            granted += 1
            credit[sid] += inc
            account(p.update_flow(sid, inc))

    pos = 0
    for size in [*sizes, len(wire)]:
        if pos >= len(wire):
            break
        account(p.receive_data(wire[pos : pos + size]))
        pos += size
        unpause()
    if close_delimited:
        account(p.receive_data(b""))
        unpause()
    assert coalesce(events) == _expected(exchanges, close_delimited)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(1, 50), max_size=20), st.booleans())
def test_garbage_never_raises(data: bytes, sizes: list[int], eof: bool) -> None:
    """Whatever the server sends, the core returns events (at most one Closed, then nothing)."""
    p = Http1Protocol(b"h")
    for _ in range(3):
        p.request(b"GET", b"/", [], None)
    events = feed(p, data, sizes, eof=eof)
    closed = [i for i, e in enumerate(events) if type(e) is Closed]
    assert len(closed) <= 1
    if closed:
        assert closed[0] == len(events) - 1
        assert p.receive_data(b"HTTP/1.1 200 OK\r\n\r\n") == []


@settings(max_examples=150, deadline=None)
@given(conversation(), st.integers(0, 10_000), st.binary(min_size=1, max_size=3), st.lists(st.integers(1, 20)))
def test_corrupted_streams_never_raise(
    conv: tuple[list[Exchange], bool], where: int, junk: bytes, sizes: list[int]
) -> None:
    """A valid stream with bytes overwritten anywhere ends in events, never an exception."""
    exchanges, _ = conv
    wire = bytearray(b"".join(x.wire for x in exchanges))
    i = where % len(wire)
    wire[i : i + len(junk)] = junk
    events = feed(_proto(exchanges), bytes(wire), sizes, eof=True)
    assert type(events[-1]) is Closed
