"""gun_core.errors: reasons and exceptions."""

from __future__ import annotations

import pytest

from gun_core.errors import ConnectionDown, Reason, StreamError, Timeout


def test_reason_str_names_kind_code_and_message() -> None:
    """A reason prints its kind, its code's name when it has one, and the message."""
    assert str(Reason.stream("stream_reset", "reset by peer", 8)) == "stream_reset (8): reset by peer"
    assert str(Reason.connection("closed", "bye")) == "closed: bye"
    assert Reason.connection("x", "y").scope == "connection"
    assert Reason.stream("x", "y").scope == "stream"


def test_exceptions_carry_the_reason() -> None:
    """ConnectionDown and StreamError keep the reason they were raised with."""
    reason = Reason.connection("closed", "gone")
    with pytest.raises(ConnectionDown) as info:
        raise ConnectionDown(reason)
    assert info.value.reason is reason
    assert "gone" in str(info.value)
    assert isinstance(StreamError("r"), Exception)
    assert isinstance(Timeout("t"), TimeoutError)
