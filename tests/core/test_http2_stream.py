"""gun_core.http2_stream: half-states and their RFC 9113 5.1 names."""

from __future__ import annotations

import itertools

from gun_core.flow import RecvWindow
from gun_core.http2_stream import Half, Stream


def make(pushed: bool = False) -> Stream:
    return Stream(1, b"GET", RecvWindow(65535, 65535), pushed=pushed)


def test_new_stream_is_idle_and_queued() -> None:
    """A request stream starts idle both ways and is queued until it gets a wire id (RFC 9113 5.1)."""
    s = make()
    assert s.rfc_state() == "idle" and not s.started
    assert s.info()["state"] == "queued"
    s.wire_id = 3
    assert s.started and s.info()["state"] == "running" and s.info()["wire_id"] == 3


def test_every_half_state_pair_has_an_rfc_name() -> None:
    """Each reachable (local, remote) pair maps to one RFC 9113 5.1 state (a request stream
    cannot receive a response body before it sent its headers)."""
    names = set()
    for local, remote in itertools.product(Half, Half):
        if (local, remote) == (Half.IDLE, Half.NOFIN):
            continue
        s = make()
        s.local, s.remote = local, remote
        names.add(s.rfc_state())
    assert names == {"idle", "open", "half-closed (local)", "half-closed (remote)", "closed"}


def test_pushed_stream_is_reserved_remote() -> None:
    """A promised stream is reserved (remote) until its response starts (RFC 9113 5.1)."""
    s = make(pushed=True)
    assert s.local is Half.FIN
    assert s.rfc_state() == "reserved (remote)"
    s.remote = Half.NOFIN
    assert s.rfc_state() == "half-closed (local)"
