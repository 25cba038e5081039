"""Incremental UTF-8 validation (RFC 3629 3, 4, 10), on both twins."""

from __future__ import annotations

import codecs
from types import ModuleType

import pytest

from .utf8_ref import COMPLETE, INVALID, PARTIAL, expected_feeds, ref_utf8

VALID = [
    b"",
    b"plain ascii " * 10,
    "\u00e9t\u00e9".encode(),
    "\u20ac 1".encode(),
    "\U0001f642".encode(),
    b"\x7f",
    b"\xc2\x80",  # U+0080, the smallest 2-byte character
    b"\xdf\xbf",  # U+07FF
    b"\xe0\xa0\x80",  # U+0800, the smallest 3-byte character
    b"\xed\x9f\xbf",  # U+D7FF, just below the surrogates
    b"\xee\x80\x80",  # U+E000, just above them
    b"\xef\xbf\xbf",  # U+FFFF
    b"\xf0\x90\x80\x80",  # U+10000, the smallest 4-byte character
    b"\xf4\x8f\xbf\xbf",  # U+10FFFF, the largest
    "\u65e5\u672c\u8a9e mixed \u00fc text".encode() * 20,
]

# (bytes, how many of them are accepted before the validator must say no)
INVALID_SEQUENCES = [
    (b"\x80", 0),  # a continuation byte cannot start a character
    (b"\xbf", 0),
    (b"\xc0\x80", 0),  # RFC 3629 10: overlong NUL; C0 and C1 never appear
    (b"\xc1\xbf", 0),
    (b"\xe0\x80\x80", 1),  # overlong 3-byte form: fails at the second byte
    (b"\xe0\x9f\xbf", 1),
    (b"\xf0\x80\x80\x80", 1),  # overlong 4-byte form
    (b"\xf0\x8f\xbf\xbf", 1),
    (b"\xed\xa0\x80", 1),  # U+D800, a surrogate: fails at the second byte
    (b"\xed\xbf\xbf", 1),  # U+DFFF
    (b"\xf4\x90\x80\x80", 1),  # U+110000, above U+10FFFF
    (b"\xf5\x80\x80\x80", 0),  # F5..FF never appear
    (b"\xff", 0),
    (b"\xc3\x28", 1),  # a lead byte without its continuation
    (b"\xe2\x82\x28", 2),
    (b"ok\xf0\x9f\x99", None),  # truncated at the end: fine until the message is final
]


@pytest.mark.parametrize("data", VALID)
def test_valid_text(impl: ModuleType, data: bytes) -> None:
    """RFC 3629 4: every well-formed sequence, including the smallest and largest of each length
    and the neighbours of the surrogate range, is accepted whole and byte by byte."""
    assert ref_utf8(data) == COMPLETE
    v = impl.Utf8Validator()
    assert v.feed(data, True) is True
    v = impl.Utf8Validator()
    for i in range(len(data)):
        assert v.feed(data[i : i + 1], False) is True
    assert v.feed(b"", True) is True


@pytest.mark.parametrize(("data", "accepted"), INVALID_SEQUENCES)
def test_invalid_sequences_fail_early(impl: ModuleType, data: bytes, accepted: int | None) -> None:
    """RFC 3629 3, 4, 10: overlong forms, surrogates, code points above U+10FFFF and stray or
    missing continuation bytes are refused, as soon as the bytes seen cannot start a valid
    character (fed one byte at a time)."""
    v = impl.Utf8Validator()
    results = [v.feed(data[i : i + 1], False) for i in range(len(data))]
    if accepted is None:
        assert all(results)
        assert v.feed(b"", True) is False
    else:
        assert results == [True] * accepted + [False] * (len(data) - accepted)
    assert impl.Utf8Validator().feed(data, True) is False


def test_split_inside_a_character(impl: ModuleType) -> None:
    """A message split inside a character validates as if it came whole."""
    text = "a\u00e9\u20ac\U0001f642z".encode()
    for cut in range(len(text) + 1):
        v = impl.Utf8Validator()
        assert v.feed(text[:cut], False) is True
        assert v.feed(text[cut:], True) is True


def test_final_inside_a_character_fails(impl: ModuleType) -> None:
    """A message cannot end inside a character: the final feed says no."""
    v = impl.Utf8Validator()
    assert v.feed(b"abc\xe2\x82", False) is True
    assert v.feed(b"", True) is False


def test_no_is_sticky_until_reset(impl: ModuleType) -> None:
    """Once the bytes cannot be valid, every later feed says no, until reset() starts a new message."""
    v = impl.Utf8Validator()
    assert v.feed(b"\xff", False) is False
    assert v.feed(b"fine", True) is False
    v.reset()
    assert v.feed(b"fine", True) is True


def test_final_starts_a_new_message(impl: ModuleType) -> None:
    """After a final feed that said yes, the next feed starts a new message."""
    v = impl.Utf8Validator()
    assert v.feed(b"one", True) is True
    assert v.feed(b"\xc3", False) is True
    assert v.feed(b"\xa9", True) is True
    v.reset()
    assert v.feed(b"\xe2", False) is True
    v.reset()
    assert v.feed(b"\xa9", True) is False


@pytest.mark.parametrize("n", range(0, 70, 3))
def test_ascii_fast_path_boundaries(impl: ModuleType, n: int) -> None:
    """A bad byte anywhere in a run of ASCII is found, wherever it falls relative to 8- and 32-byte
    blocks."""
    for i in range(n):
        data = bytearray(b"a" * n)
        data[i] = 0x80
        assert impl.Utf8Validator().feed(bytes(data), False) is False
        data[i] = 0xC3
        expected = ref_utf8(bytes(data))
        assert impl.Utf8Validator().feed(memoryview(data), False) is (expected != INVALID)


def test_every_two_byte_sequence(impl: ModuleType) -> None:
    """For every pair of bytes, fed whole and split, the verdict is the reference's."""
    for a in range(256):
        for b in range(0x70, 0x100, 7):
            data = bytes((a, b))
            verdict = ref_utf8(data)
            assert verdict in (COMPLETE, PARTIAL, INVALID)
            v = impl.Utf8Validator()
            assert [v.feed(data[:1], False), v.feed(data[1:], False)] == expected_feeds([data[:1], data[1:], b""])[:2]


def test_agrees_with_python_decoder_on_complete_messages(impl: ModuleType) -> None:
    """For complete messages the verdict is bytes.decode's (CPython's strict UTF-8 decoder)."""
    samples = [bytes((a, b, c)) for a in (0xE0, 0xED, 0xEF) for b in range(0x80, 0xC0, 5) for c in (0x80, 0xBF)]
    for data in samples:
        try:
            codecs.decode(data, "utf-8")
            ok = True
        except UnicodeDecodeError:
            ok = False
        assert impl.Utf8Validator().feed(data, True) is ok
