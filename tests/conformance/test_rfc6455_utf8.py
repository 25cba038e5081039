"""RFC 6455 5.6 and 8.1: text messages are UTF-8 (RFC 3629); invalid data fails with 1007, early.

The cases mirror the kinds of sequences Autobahn's section 6 throws at a client: valid
text split at every byte, overlongs, surrogates, code points past U+10FFFF, truncated
sequences, and invalid bytes in the middle of fragmented or partially received frames.
"""

from __future__ import annotations

import pytest

from gun_core.events import Ws
from gun_core.ws import Text
from tests.helpers.ws import SID, chunks, client, error_code, feed, frame, text

VALID = "κόσμε · ü · 日本 · 😀 · \u0000 · \U0010ffff".encode()

INVALID = {
    "lone continuation": b"\x80",
    "overlong slash": b"\xc0\xaf",
    "overlong 3 byte": b"\xe0\x80\xaf",
    "overlong 4 byte": b"\xf0\x80\x80\xaf",
    "surrogate high": b"\xed\xa0\x80",
    "surrogate low": b"\xed\xbf\xbf",
    "above U+10FFFF": b"\xf4\x90\x80\x80",
    "fe byte": b"\xfe",
    "ff byte": b"\xff",
    "5 byte form": b"\xf8\x88\x80\x80\x80",
    "bad continuation": b"\xce\x41",
}


def test_valid_utf8_in_one_frame() -> None:
    """Valid UTF-8, including U+0000 and U+10FFFF, is delivered as text (RFC 6455 5.6)."""
    assert feed(client(), text(VALID)) == [Ws(SID, Text(VALID.decode()))]


@pytest.mark.parametrize("cut", range(1, len(VALID)))
def test_valid_utf8_split_across_fragments_at_every_byte(cut: int) -> None:
    """A code point may be split between fragments; only the whole message must be valid (RFC 6455 5.6)."""
    data = text(VALID[:cut], fin=False) + frame(0, VALID[cut:])
    assert feed(client(), data) == [Ws(SID, Text(VALID.decode()))]


@pytest.mark.parametrize("name", list(INVALID))
def test_invalid_sequences_fail_1007(name: str) -> None:
    """Text that is not valid UTF-8 fails the connection with 1007 (RFC 6455 8.1, 7.4.1)."""
    assert error_code(feed(client(), text(b"ok " + INVALID[name] + b" ok"))) == 1007


@pytest.mark.parametrize("name", list(INVALID))
def test_invalid_sequences_in_fragments_fail_1007(name: str) -> None:
    """Also when the bad sequence is in a continuation frame."""
    data = text(b"ok ", fin=False) + frame(0, INVALID[name], fin=False) + frame(0, b" end")
    assert error_code(feed(client(), data)) == 1007


def test_truncated_sequence_at_message_end_fails_1007() -> None:
    """A message that ends inside a multi-byte sequence is invalid (RFC 6455 8.1)."""
    assert error_code(feed(client(), text(VALID[:-1]))) == 1007
    assert error_code(feed(client(), text(b"ab\xe2\x82", fin=False) + frame(0, b""))) == 1007


def test_fail_fast_on_the_bad_fragment() -> None:
    """The client fails when the fragment with the bad byte arrives, before the message ends (RFC 6455 8.1)."""
    p = client()
    assert feed(p, text("κόσμε", fin=False)) == []
    assert error_code(feed(p, frame(0, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", fin=False))) == 1007


def test_fail_fast_inside_a_frame() -> None:
    """Within one frame received in pieces, the bad byte fails as soon as it is received."""
    data = text(b"valid start " + b"\xf4\x90\x80\x80" + b" and much more text" * 100)
    bad_at = data.index(b"\xf4\x90")
    p = client()
    pieces = chunks(data, [bad_at, 4])  # the first piece stops just before the bad sequence
    assert p.receive_data(pieces[0]) == []
    assert error_code(p.receive_data(pieces[1])) == 1007


def test_binary_is_not_checked() -> None:
    """Binary messages may hold any bytes (RFC 6455 5.6)."""
    from gun_core.ws import Binary
    from tests.helpers.ws import binary

    assert feed(client(), binary(b"\xff\xfe")) == [Ws(SID, Binary(b"\xff\xfe"))]
