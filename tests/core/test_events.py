"""gun_core.events: core events and messages are frozen, matchable, with short reprs."""

from __future__ import annotations

import dataclasses

import pytest

from gun_core.events import Data, GunData, Response


def test_events_are_frozen_and_matchable() -> None:
    """Events cannot be changed and work with structural pattern matching."""
    e = Response(1, False, 200, [(b"a", b"b")])
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.status = 404  # type: ignore[misc]
    match e:
        case Response(stream_id=1, status=200, fin=False):
            matched = True
        case _:
            matched = False
    assert matched


def test_data_repr_is_short() -> None:
    """Big payloads are cut in reprs so trace lines stay short."""
    r = repr(Data(1, True, b"x" * 100_000))
    assert len(r) < 200 and "100000 total" in r
    assert len(repr(GunData(None, None, True, b"y" * 100_000))) < 200
