"""gun_core.headers: normalising and validating caller headers."""

from __future__ import annotations

import pytest

from gun_core.errors import InvalidHeader
from gun_core.headers import get_header, has_header, normalize_headers


def test_names_lowercased_and_types_accepted() -> None:
    """Names are lowercased; str, bytes and int values are accepted; dicts and lists too."""
    assert normalize_headers({"Content-Type": "text/plain", b"X-N": 5}) == [
        (b"content-type", b"text/plain"),
        (b"x-n", b"5"),
    ]
    assert normalize_headers([("A", b"1"), ("a", "2")]) == [(b"a", b"1"), (b"a", b"2")]


@pytest.mark.parametrize(
    "bad",
    [("x", "a\rb"), ("x", "a\nb"), ("x", "a\x00b"), ("x y", "1"), ("x:", "1"), ("", "1"), ("x\n", "1")],
)
def test_cr_lf_nul_and_non_tokens_refused(bad: tuple[str, str]) -> None:
    """CR, LF, NUL in values and non-token names raise InvalidHeader (RFC 9110 5.1, 5.5)."""
    with pytest.raises(InvalidHeader):
        normalize_headers([bad])


def test_ignore_mode_drops_bad_headers() -> None:
    """With validation off, bad headers are dropped instead of raising."""
    assert normalize_headers([("x", "a\r\nb"), ("ok", "1")], validate=False) == [(b"ok", b"1")]


def test_non_latin1_and_bad_types() -> None:
    """Text that is not latin-1, and values of other types, are refused."""
    with pytest.raises(InvalidHeader):
        normalize_headers([("x", "日本")])
    with pytest.raises(InvalidHeader):
        normalize_headers([("x", 1.5)])  # type: ignore[list-item]
    with pytest.raises(InvalidHeader):
        normalize_headers(["notapair"])  # type: ignore[list-item]


def test_lookup_helpers() -> None:
    """get_header and has_header find lowercase names."""
    h = [(b"a", b"1"), (b"b", b"2"), (b"a", b"3")]
    assert get_header(h, b"a") == b"1"
    assert get_header(h, b"c") is None
    assert has_header(h, b"b") and not has_header(h, b"c")
