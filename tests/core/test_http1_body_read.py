"""Bodies the driver reads itself (Http1Protocol.body_to_read / body_read): only the rest of a
content-length body in progress, exactly its bytes, and the response ends as if fed."""

from __future__ import annotations

import pytest

from gun_core.errors import UsageError
from gun_core.events import Closed, Data, Response
from tests.helpers.h1 import chunked, proto, response

BODY = bytes(range(256)) * 400  # 102,400 bytes


def _head(length: int, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n" % length + extra + b"\r\n"


def test_rest_of_a_content_length_body_is_for_the_driver() -> None:
    p = proto(1)
    events = p.receive_data(_head(len(BODY)) + BODY[:1000])
    assert [type(e) for e in events] == [Response, Data]
    assert p.body_to_read(1) == len(BODY) - 1000
    assert p.body_to_read(2) == 0  # not the stream being answered
    assert p.body_read(1, 5000) == []
    assert p.body_to_read(1) == len(BODY) - 6000
    assert p.body_read(1, len(BODY) - 6000) == []  # complete; keep-alive: nothing to say
    assert p.body_to_read(1) == 0
    assert p.active_streams() == []
    # The connection goes on: the next request's response is parsed from the next bytes.
    sid = p.request(b"GET", b"/next", [], None)
    p.data_to_send()
    assert p.receive_data(response(200, b"ok")) == [
        Response(sid, False, 200, [(b"content-length", b"2")]),
        Data(sid, True, b"ok"),
    ]


def test_the_next_pipelined_response_is_not_the_drivers() -> None:
    p = proto(2)
    p.receive_data(_head(len(BODY)))
    p.body_read(1, len(BODY))
    assert p.body_to_read(1) == 0 and p.body_to_read(2) == 0  # at a head: nothing to read raw
    events = p.receive_data(response(200, b"second"))
    assert events[-1] == Data(2, True, b"second")


def test_a_response_that_closes_the_connection_ends_with_closed() -> None:
    p = proto(1)
    p.receive_data(_head(len(BODY), b"connection: close\r\n"))
    events = p.body_read(1, len(BODY))
    # The same end as when the body is fed: the response is complete, nothing killed.
    fed = proto(1)
    assert events == fed.receive_data(_head(len(BODY), b"connection: close\r\n") + BODY)[2:]
    assert len(events) == 1 and type(events[0]) is Closed and events[0].killed == ()


@pytest.mark.parametrize(
    "case",
    ["chunked", "flow", "cancelled", "no body yet", "close-delimited", "eof"],
)
def test_nothing_for_the_driver_outside_a_content_length_body(case: str) -> None:
    if case == "flow":
        p = proto(0)
        p.request(b"GET", b"/", [], None, flow=10)
        p.data_to_send()
        p.receive_data(_head(len(BODY)))
    else:
        p = proto(1)
        if case == "chunked":
            whole = chunked(200, [b"x" * 1000])
            p.receive_data(whole[: whole.index(b"\r\n\r\n") + 20])  # in the middle of the chunk
        elif case == "cancelled":
            p.receive_data(_head(len(BODY)))
            p.cancel(1)
        elif case == "close-delimited":
            p.receive_data(b"HTTP/1.1 200 OK\r\n\r\nsome")
        elif case == "eof":
            p.receive_data(_head(len(BODY)))
            p.receive_data(b"")
    assert p.body_to_read(1) == 0
    with pytest.raises(UsageError):
        p.body_read(1, 1)


def test_more_than_the_body_or_a_bad_count_is_refused() -> None:
    p = proto(1)
    p.receive_data(_head(100))
    with pytest.raises(UsageError):
        p.body_read(1, 101)
    with pytest.raises(UsageError):
        p.body_read(1, -1)
    with pytest.raises(UsageError):
        p.body_read(1, True)
    assert p.body_to_read(1) == 100  # refused reads change nothing
    assert p.body_read(1, 0) == []
    assert p.body_to_read(1) == 100
