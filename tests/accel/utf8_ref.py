"""A slow, independent UTF-8 reference for the tests: code-point arithmetic from RFC 3629 3 and 4.

``ref_utf8(data)`` is ``COMPLETE`` (valid and ends between characters), ``PARTIAL`` (valid so far,
but inside a character) or ``INVALID`` (no continuation can make it valid). An incomplete character
is still possible when the code points its missing bytes could give, ``lo..hi``, meet the valid
ones: from the smallest that needs this many bytes (no overlong form) up to U+10FFFF, without the
surrogates U+D800..DFFF.
"""

from __future__ import annotations

COMPLETE, PARTIAL, INVALID = "complete", "partial", "invalid"


def ref_utf8(data: bytes) -> str:
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        if b & 0xE0 == 0xC0:
            size, lo, min_cp = 2, b & 0x1F, 0x80
        elif b & 0xF0 == 0xE0:
            size, lo, min_cp = 3, b & 0x0F, 0x800
        elif b & 0xF8 == 0xF0:
            size, lo, min_cp = 4, b & 0x07, 0x10000
        else:
            return INVALID
        hi = lo
        for k in range(1, size):
            if i + k < n:
                c = data[i + k]
                if c & 0xC0 != 0x80:
                    return INVALID
                lo, hi = lo << 6 | c & 0x3F, hi << 6 | c & 0x3F
            else:
                lo, hi = lo << 6, hi << 6 | 0x3F
        if hi < min_cp or lo > 0x10FFFF or (lo >= 0xD800 and hi <= 0xDFFF):
            return INVALID
        if i + size > n:
            return PARTIAL
        i += size
    return COMPLETE


def expected_feeds(chunks: list[bytes]) -> list[bool]:
    """What ``feed(chunk, final=last)`` must return for each chunk of one message."""
    results = []
    seen = b""
    for j, chunk in enumerate(chunks):
        seen += chunk
        verdict = ref_utf8(seen)
        final = j == len(chunks) - 1
        results.append(verdict == COMPLETE if final else verdict != INVALID)
    return results
