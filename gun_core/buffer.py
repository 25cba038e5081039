"""A receive buffer: one ``bytearray``, a read offset and a "scanned up to" offset.

Bytes are appended at the end and consumed from the front by moving the read offset;
the consumed prefix is dropped lazily (only once it is both large and more than half
of the buffer), so consuming is O(1) and compaction is amortised O(n).

:meth:`ReceiveBuffer.scan` looks for a terminator (``b"\\r\\n\\r\\n"`` for a header
block) and remembers how far it has already looked, so a block trickled in one byte at
a time costs O(n) in total, not O(n^2). Every scan takes a ``limit``: a unit that grows
past it is reported (``TOO_LARGE``) instead of being buffered without end.

The HTTP/1.1 core (:mod:`gun_core.http1`) parses straight from the ``bytes`` it was
given when its buffer is empty and keeps only the unparsed tail here; it reads
:attr:`ReceiveBuffer.buf` and :attr:`ReceiveBuffer.pos` directly on its hot path.
"""

from __future__ import annotations

__all__ = ["COMPACT_THRESHOLD", "NOT_FOUND", "TOO_LARGE", "ReceiveBuffer"]

#: The consumed prefix is dropped once it is larger than this and than the rest.
COMPACT_THRESHOLD = 16384
#: :meth:`ReceiveBuffer.scan`: the terminator is not there yet.
NOT_FOUND = -1
#: :meth:`ReceiveBuffer.scan`: the unit is already longer than the limit.
TOO_LARGE = -2


class ReceiveBuffer:
    """Bytes received and not yet consumed.

    ``buf[pos:]`` are the unread bytes. ``scanned`` counts the unread bytes already
    searched by :meth:`scan` without finding the terminator (reset by every consume).
    """

    __slots__ = ("buf", "pos", "scanned")

    def __init__(self, data: bytes = b"") -> None:
        self.buf = bytearray(data)
        self.pos = 0
        self.scanned = 0

    def __len__(self) -> int:
        return len(self.buf) - self.pos

    def __bool__(self) -> bool:
        return len(self.buf) > self.pos

    def __repr__(self) -> str:
        return f"<ReceiveBuffer unread={len(self)} pos={self.pos}>"

    def append(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes at the end."""
        buf = self.buf
        if self.pos and self.pos == len(buf):
            buf.clear()
            self.pos = 0
        buf += data

    def load(self, data: bytes, start: int, scanned: int = 0) -> None:
        """Replace the contents with ``data[start:]`` (the unparsed tail of a read)."""
        buf = self.buf
        buf.clear()
        buf += memoryview(data)[start:]
        self.pos = 0
        self.scanned = scanned

    def advance(self, pos: int) -> None:
        """Mark everything before the absolute offset ``pos`` as consumed."""
        buf = self.buf
        n = len(buf)
        if pos >= n:
            buf.clear()
            self.pos = 0
        elif pos > COMPACT_THRESHOLD and pos > n - pos:
            del buf[:pos]
            self.pos = 0
        else:
            self.pos = pos
        self.scanned = 0

    def consume(self, n: int) -> bytes:
        """Remove and return the first ``n`` unread bytes (fewer if fewer are there)."""
        pos = self.pos
        out = bytes(self.buf[pos : pos + n])
        self.advance(pos + len(out))
        return out

    def take_all(self) -> bytes:
        """Remove and return every unread byte."""
        out = bytes(self.buf[self.pos :])
        self.clear()
        return out

    def clear(self) -> None:
        """Forget everything."""
        self.buf.clear()
        self.pos = 0
        self.scanned = 0

    def scan(self, terminator: bytes, limit: int) -> int:
        """Find ``terminator`` in the unread bytes, resuming where the last scan stopped.

        Returns the length of the unit *including* the terminator (so ``consume`` of
        that many bytes takes it), :data:`NOT_FOUND` when more bytes are needed, or
        :data:`TOO_LARGE` when the unit before the terminator would exceed ``limit``.
        """
        buf = self.buf
        pos = self.pos
        tlen = len(terminator)
        i = buf.find(terminator, pos + self.scanned)
        if i < 0:
            unread = len(buf) - pos
            if unread >= limit + tlen:
                return TOO_LARGE
            self.scanned = max(0, unread - tlen + 1)
            return NOT_FOUND
        if i - pos > limit:
            return TOO_LARGE
        return i - pos + tlen
