"""The cookie store behind the ``cookie_store`` option (RFC 6265, client side).

A store keeps the cookies set by responses and gives the ``cookie`` header for each
request. Any object with the same two methods can be passed as ``cookie_store``:

* ``add_response(scheme, host, path, headers)`` after each response;
* ``cookie_header(scheme, host, path) -> bytes | None`` before each request.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

__all__ = ["Cookie", "CookieStore"]

_MAX_COOKIES = 3000
_MAX_PER_DOMAIN = 50


@dataclass(slots=True)
class Cookie:
    """One stored cookie."""

    name: str
    value: str
    domain: str
    host_only: bool
    path: str
    expires: float | None
    secure: bool
    http_only: bool
    created: float


def _default_path(request_path: str) -> str:
    # RFC 6265 5.1.4
    path = request_path.split("?", 1)[0]
    if not path.startswith("/") or path.count("/") == 1:
        return "/"
    return path[: path.rfind("/")]


def _domain_match(host: str, domain: str) -> bool:
    # RFC 6265 5.1.3
    if host == domain:
        return True
    return host.endswith("." + domain) and not host.replace(".", "").isdigit()


def _path_match(request_path: str, cookie_path: str) -> bool:
    # RFC 6265 5.1.4
    path = request_path.split("?", 1)[0] or "/"
    if path == cookie_path:
        return True
    if path.startswith(cookie_path):
        return cookie_path.endswith("/") or path[len(cookie_path)] == "/"
    return False


class CookieStore:
    """An in-memory cookie jar, bounded in size, safe to share between connections."""

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str, str], Cookie] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._cookies)

    def add_response(self, scheme: str, host: str, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        """Store the cookies of the ``set-cookie`` headers of a response."""
        for name, value in headers:
            if name == b"set-cookie":
                self.set_cookie(scheme, host, path, value.decode("latin-1"))

    def set_cookie(self, scheme: str, host: str, request_path: str, header: str, now: float | None = None) -> None:
        """Parse one ``set-cookie`` value (RFC 6265 5.2) and store it."""
        now = time.time() if now is None else now
        host = host.lower().rstrip(".")
        parts = header.split(";")
        pair = parts[0]
        if "=" not in pair:
            return
        cname, cvalue = (s.strip() for s in pair.split("=", 1))
        if not cname:
            return
        domain = ""
        path = ""
        expires: float | None = None
        max_age: float | None = None
        secure = http_only = False
        for attr in parts[1:]:
            attr_name, _, val = attr.partition("=")
            key_name = attr_name.strip().lower()
            val = val.strip()
            if key_name == "domain" and val:
                domain = val.lstrip(".").lower()
            elif key_name == "path" and val.startswith("/"):
                path = val
            elif key_name == "max-age":
                try:
                    max_age = float(int(val))
                except ValueError:
                    continue
            elif key_name == "expires":
                try:
                    expires = parsedate_to_datetime(val).timestamp()
                except (TypeError, ValueError, IndexError, OverflowError):
                    continue
            elif key_name == "secure":
                secure = True
            elif key_name == "httponly":
                http_only = True
        if max_age is not None:
            expires = now + max_age
        if domain:
            if not _domain_match(host, domain):
                return  # RFC 6265 5.3 step 6: not for this host
            host_only = False
        else:
            domain, host_only = host, True
        if secure and scheme != "https":
            return
        cookie = Cookie(
            cname, cvalue, domain, host_only, path or _default_path(request_path), expires, secure, http_only, now
        )
        key = (cookie.domain, cookie.path, cookie.name)
        with self._lock:
            if expires is not None and expires <= now:
                self._cookies.pop(key, None)
                return
            old = self._cookies.get(key)
            if old is not None:
                cookie.created = old.created
            self._cookies[key] = cookie
            self._evict(now, domain)

    def _evict(self, now: float, domain: str) -> None:
        for k in [k for k, c in self._cookies.items() if c.expires is not None and c.expires <= now]:
            del self._cookies[k]
        same = sorted((c.created, k) for k, c in self._cookies.items() if c.domain == domain)
        for _, k in same[: max(0, len(same) - _MAX_PER_DOMAIN)]:
            del self._cookies[k]
        if len(self._cookies) > _MAX_COOKIES:
            oldest = sorted((c.created, k) for k, c in self._cookies.items())
            for _, k in oldest[: len(self._cookies) - _MAX_COOKIES]:
                del self._cookies[k]

    def cookie_header(self, scheme: str, host: str, path: str, now: float | None = None) -> bytes | None:
        """The ``cookie`` header value for a request, or ``None`` (RFC 6265 5.4)."""
        now = time.time() if now is None else now
        host = host.lower().rstrip(".")
        with self._lock:
            chosen = [
                c
                for c in self._cookies.values()
                if (c.expires is None or c.expires > now)
                and (host == c.domain if c.host_only else _domain_match(host, c.domain))
                and _path_match(path, c.path)
                and (not c.secure or scheme == "https")
            ]
        if not chosen:
            return None
        chosen.sort(key=lambda c: (-len(c.path), c.created))
        return "; ".join(f"{c.name}={c.value}" for c in chosen).encode("latin-1")
