"""``slot_builder``: both twins make the same objects as the class's own constructor, and refuse
the same bad arguments with the same errors."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gun_core import events as ev
from gun_core.accel import pure


def outcome(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return "ok", fn(*args, **kwargs)
    except Exception as exc:
        return type(exc), str(exc)


VALUES = st.one_of(st.none(), st.integers(), st.binary(max_size=8), st.booleans(), st.lists(st.integers(), max_size=3))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=VALUES, b=VALUES, c=VALUES, d=VALUES, e=VALUES)
def test_same_objects_as_the_constructor(impl: ModuleType, a: Any, b: Any, c: Any, d: Any, e: Any) -> None:
    gunws = impl.slot_builder(ev.GunWs, ("conn", "stream_ref", "frame"))
    data = impl.slot_builder(ev.GunData, ("conn", "stream_ref", "fin", "data"))
    response = impl.slot_builder(ev.GunResponse, ("conn", "stream_ref", "fin", "status", "headers"))
    for got, want in (
        (gunws(a, b, c), ev.GunWs(a, b, c)),
        (data(a, b, c, d), ev.GunData(a, b, c, d)),
        (response(a, b, c, d, e), ev.GunResponse(a, b, c, d, e)),
    ):
        assert type(got) is type(want)
        assert got == want
        assert outcome(repr, got) == outcome(repr, want)


def test_order_of_names_is_the_order_of_arguments(impl: ModuleType) -> None:
    build = impl.slot_builder(ev.GunWs, ("frame", "conn", "stream_ref"))
    assert build(1, 2, 3) == ev.GunWs(conn=2, stream_ref=3, frame=1)


def test_frozen_and_collected(impl: ModuleType) -> None:
    import gc
    import weakref

    class Probe:
        pass

    build = impl.slot_builder(ev.GunWs, ("conn", "stream_ref", "frame"))
    probe = Probe()
    ref = weakref.ref(probe)
    msg = build(probe, None, None)
    with pytest.raises(AttributeError):
        msg.conn = 1
    msg2 = build(msg, probe, None)
    msg3 = build(None, None, None)
    object.__setattr__(msg3, "frame", msg3)  # a cycle through a slot the builder left for later
    del msg, msg2, msg3, probe
    gc.collect()
    assert ref() is None


@dataclass(slots=True)
class _Plain:
    x: Any
    y: Any = None


class _OwnNew:
    __slots__ = ("x",)

    def __new__(cls) -> _OwnNew:
        return super().__new__(cls)


class _NoSlots:
    x = 1


@pytest.mark.parametrize(
    "args",
    [
        (ev.GunWs, ["conn"]),
        (ev.GunWs, ("conn", 1)),
        (1, ("conn",)),
        (ev.GunWs, ("conn", "nope")),
        (_NoSlots, ("x",)),
        (_OwnNew, ("x",)),
        (_Plain, ("x", "y") * 5),
        (_Plain, ()),
    ],
)
def test_same_refusals(c_twin: ModuleType, args: tuple[Any, Any]) -> None:
    c = outcome(c_twin.slot_builder, *args)
    py = outcome(pure.slot_builder, *args)
    if c[0] == "ok":
        assert py[0] == "ok"
        assert type(c[1]()) is type(py[1]()) is args[0]
    else:
        assert c == py


def test_wrong_number_of_values(impl: ModuleType) -> None:
    build = impl.slot_builder(_Plain, ("x", "y"))
    assert build(1, 2) == _Plain(1, 2)
    for bad in ((1,), (1, 2, 3)):
        got = outcome(build, *bad)
        assert got == (TypeError, f"the _Plain builder takes 2 positional arguments ({len(bad)} given)")
    assert outcome(build, 1, y=2)[0] is TypeError
