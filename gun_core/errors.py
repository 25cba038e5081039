"""Exceptions raised to callers, and the structured reasons carried by error events.

Bad input from the peer never raises: it becomes an ``Error``/``Closed`` event whose
``reason`` is a :class:`Reason`. Bad input from the local caller raises at once
(:class:`BadOption`, :class:`InvalidHeader`, :class:`UsageError`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "BadOption",
    "ConnectionDown",
    "ConnectionFailure",
    "GunException",
    "InvalidHeader",
    "Reason",
    "StreamError",
    "Timeout",
    "UsageError",
]


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a stream or connection failed: a scope, a kind, a code and a message.

    ``scope`` is ``"stream"`` or ``"connection"``. ``kind`` is a short machine-readable
    word (``"protocol_error"``, ``"stream_reset"``, ``"closed"``, ``"normal"``,
    ``"timeout"``, ``"goaway"``, ``"limit"``, ``"tls"``, ``"connect"`` ...). ``code`` is
    the wire code when there is one (an HTTP/2 ``ErrorCode`` or a websocket close code).
    """

    scope: str
    kind: str
    message: str
    code: int | None = None

    def __str__(self) -> str:
        if self.code is not None:
            code = getattr(self.code, "name", str(self.code))
            return f"{self.kind} ({code}): {self.message}"
        return f"{self.kind}: {self.message}"

    @classmethod
    def stream(cls, kind: str, message: str, code: int | None = None) -> Reason:
        """A stream-scoped reason."""
        return cls("stream", kind, message, code)

    @classmethod
    def connection(cls, kind: str, message: str, code: int | None = None) -> Reason:
        """A connection-scoped reason."""
        return cls("connection", kind, message, code)


class GunException(Exception):
    """Base of every exception this library raises."""


class Timeout(GunException, TimeoutError):
    """Nothing arrived within the timeout."""


class _WithReason(GunException):
    def __init__(self, reason: Any) -> None:
        super().__init__(str(reason))
        self.reason = reason


class ConnectionDown(_WithReason):
    """The connection went down while waiting; ``.reason`` says why."""


class StreamError(_WithReason):
    """The stream was reset or hit a stream-level protocol error; ``.reason`` says why."""


class ConnectionFailure(_WithReason):
    """A connection-wide error; ``.reason`` says why."""


class BadOption(GunException, ValueError):
    """An option is unknown or has the wrong type or value."""


class InvalidHeader(GunException, ValueError):
    """A header name or value is not acceptable (CR, LF, NUL, bad token...)."""


class UsageError(GunException, ValueError):
    """The caller asked for something the connection or stream cannot do now."""
