"""The cookie store (RFC 6265 client rules)."""

from __future__ import annotations

from gun_io.cookies import CookieStore


def test_host_only_cookie_round_trip() -> None:
    """A cookie without Domain is sent back only to the same host (RFC 6265 5.3 step 6)."""
    s = CookieStore()
    s.set_cookie("http", "example.com", "/a/b", "sid=1; Path=/", now=0)
    assert s.cookie_header("http", "example.com", "/x", now=1) == b"sid=1"
    assert s.cookie_header("http", "sub.example.com", "/x", now=1) is None


def test_domain_cookie_matches_subdomains() -> None:
    """A Domain cookie goes to the domain and its subdomains (RFC 6265 5.1.3)."""
    s = CookieStore()
    s.set_cookie("http", "www.example.com", "/", "a=1; Domain=.example.com", now=0)
    assert s.cookie_header("http", "example.com", "/", now=1) == b"a=1"
    assert s.cookie_header("http", "api.example.com", "/", now=1) == b"a=1"
    assert s.cookie_header("http", "example.org", "/", now=1) is None


def test_foreign_domain_refused() -> None:
    """A response may not set a cookie for a domain it does not belong to."""
    s = CookieStore()
    s.set_cookie("http", "evil.com", "/", "a=1; Domain=example.com", now=0)
    assert len(s) == 0


def test_default_path_and_path_match() -> None:
    """The default path is the request path's directory (RFC 6265 5.1.4)."""
    s = CookieStore()
    s.set_cookie("http", "h", "/docs/page", "p=1", now=0)
    assert s.cookie_header("http", "h", "/docs/other", now=1) == b"p=1"
    assert s.cookie_header("http", "h", "/docsx", now=1) is None
    assert s.cookie_header("http", "h", "/", now=1) is None


def test_expiry_and_deletion() -> None:
    """Max-Age wins over Expires; a past expiry deletes the cookie."""
    s = CookieStore()
    s.set_cookie("http", "h", "/", "a=1; Max-Age=10; Expires=Wed, 01 Jan 2020 00:00:00 GMT", now=100)
    assert s.cookie_header("http", "h", "/", now=105) == b"a=1"
    assert s.cookie_header("http", "h", "/", now=111) is None
    s.set_cookie("http", "h", "/", "b=2", now=100)
    assert s.cookie_header("http", "h", "/", now=101) == b"a=1; b=2"
    s.set_cookie("http", "h", "/", "b=; Max-Age=0", now=101)
    assert s.cookie_header("http", "h", "/", now=102) == b"a=1"


def test_secure_only_over_https() -> None:
    """Secure cookies are neither stored from nor sent over plain http."""
    s = CookieStore()
    s.set_cookie("http", "h", "/", "s=1; Secure", now=0)
    assert len(s) == 0
    s.set_cookie("https", "h", "/", "s=1; Secure", now=0)
    assert s.cookie_header("http", "h", "/", now=1) is None
    assert s.cookie_header("https", "h", "/", now=1) == b"s=1"


def test_longer_paths_first_and_bounded() -> None:
    """Cookies with longer paths come first; one domain keeps a bounded number."""
    s = CookieStore()
    s.set_cookie("http", "h", "/", "a=1; Path=/", now=0)
    s.set_cookie("http", "h", "/", "b=2; Path=/x", now=1)
    assert s.cookie_header("http", "h", "/x/y", now=2) == b"b=2; a=1"
    for i in range(200):
        s.set_cookie("http", "h", "/", f"c{i}=v", now=10 + i)
    assert len(s) <= 50
