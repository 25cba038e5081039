"""Write the hand-made seeds of ``fuzz/corpus/<target>/`` (files named ``spec-*``).

The messages follow the examples of RFC 9112 (HTTP/1.1), RFC 9113 (HTTP/2 frames),
RFC 7541 Appendix C (HPACK), RFC 6455 5.7 (websocket frames), RFC 6455 1.3/4.2.2 (the
handshake) and RFC 7692 7.2.3 (permessage-deflate), in the input format of each target
(a config byte, a split byte, the payload: see ``fuzz/harness.py``).

    python -m fuzz.make_seeds        # rewrites the spec-* files; captured ones are kept
"""

from __future__ import annotations

import struct
from pathlib import Path

from fuzz.harness import seed
from fuzz.targets import h2_conn, ws
from fuzz.targets.h2_conn import frame as h2frame

__all__ = ["SEEDS", "main"]

CORPUS = Path(__file__).resolve().parent / "corpus"
CRLF = b"\r\n"


def _h1() -> dict[str, bytes]:
    ok = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello"
    chunked = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n"
        b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: 42\r\n\r\n"
    )
    informs = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </s.css>\r\n\r\n" + ok
    close = b"HTTP/1.0 200 OK\r\nserver: x\r\n\r\nbody until close"
    switch = (
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
        b"sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x05Hello"
    )
    return {
        "rfc9112-content-length": seed(0, 0, ok),
        "rfc9112-chunked-trailers": seed(5, 3, chunked),
        "rfc9112-chunked-bytewise": seed(0, 1, chunked),
        "rfc9112-informational": seed(0, 2 | 4, informs),
        "rfc9112-close-delimited": seed(0x10, 0, close),
        "rfc9112-head": seed(1, 0, b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n"),
        "rfc9112-pipelined": seed(2, 7, ok + b'HTTP/1.1 304 Not Modified\r\netag: "x"\r\n\r\n' + chunked),
        "rfc9112-head-pipelined": seed(3, 3, ok + b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n" + ok),
        "rfc9112-post-continue": seed(4, 0, b"HTTP/1.1 100 Continue\r\n\r\n" + ok + ok),
        "rfc9112-upgrade": seed(6, 0, switch),
        "rfc9112-upgrade-refused": seed(6, 0, ok + ok),
        "rfc9112-connect": seed(7, 0, b"HTTP/1.1 200 Connection Established\r\n\r\ntunnel bytes"),
        "rfc9112-flow": seed(0x08 | 2, 3, ok + chunked + ok),
        "rfc9112-connection-close": seed(2, 0, b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"),
        "rfc9112-cancel": seed(0xC2, 0, ok + ok + ok),
        "rfc9112-graceful": seed(0x20 | 2, 0, ok + ok + ok),
        "rfc9112-closing-timeout": seed(0x40 | 2, 0, ok),
        "rfc9112-bad-chunk": seed(5, 0, b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"),
        "rfc9112-obs-fold": seed(0, 0, b"HTTP/1.1 200 OK\r\nx: a\r\n b\r\ncontent-length: 0\r\n\r\n"),
        "rfc9112-two-lengths": seed(0, 0, b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!"),
        "rfc9112-te-and-cl": seed(
            0, 0, b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"
        ),
        "rfc9112-big-head": seed(0, 0, b"HTTP/1.1 200 OK\r\nx: " + b"a" * 300 + b"\r\n\r\n"),
    }


# RFC 7541 C.2 / C.3 / C.4: header blocks a decoder must read (requests, but HPACK all the same).
C21 = bytes.fromhex("400a637573746f6d2d6b65790d637573746f6d2d686561646572")
C22 = bytes.fromhex("040c2f73616d706c652f70617468")
C23 = bytes.fromhex("100870617373776f726406736563726574")
C24 = bytes.fromhex("82")
C31 = bytes.fromhex("828684410f7777772e6578616d706c652e636f6d")
C41 = bytes.fromhex("828684418cf1e3c2e5f23a6ba0ab90f4ff")
# RFC 7541 4.2: a dynamic table size update to 256 (what our SETTINGS ask for).
SIZE_256 = b"\x3f\xe1\x01"


def _literal(index: int, value: bytes) -> bytes:
    """A literal field with incremental indexing, indexed name (RFC 7541 6.2.1), short value."""
    return bytes((0x40 | index,)) + bytes((len(value),)) + value


# RFC 7541 C.5.1: :status 302, cache-control private, date, location (no Huffman).
C51 = (
    _literal(8, b"302")
    + _literal(24, b"private")
    + _literal(33, b"Mon, 21 Oct 2013 20:13:21 GMT")
    + _literal(46, b"https://www.example.com")
)


def _h2_frames() -> dict[str, bytes]:
    frames = {
        "settings": h2frame(4, 0, 0, struct.pack(">HLHL", 3, 100, 4, 65535)),
        "settings-ack": h2frame(4, 1, 0, b""),
        "headers": h2frame(1, 5, 1, SIZE_256 + C51),
        "headers-padded-priority": h2frame(1, 0x2C, 3, b"\x02" + struct.pack(">LB", 1, 15) + C41 + b"\0\0"),
        "continuation": h2frame(1, 0, 1, C21) + h2frame(9, 4, 1, C22),
        "data": h2frame(0, 1, 1, b"hello"),
        "data-padded": h2frame(0, 9, 1, b"\x03hello\0\0\0"),
        "priority": h2frame(2, 0, 3, struct.pack(">LB", 0x80000001, 255)),
        "rst-stream": h2frame(3, 0, 1, struct.pack(">L", 8)),
        "push-promise": h2frame(5, 4, 1, struct.pack(">L", 2) + C31),
        "ping": h2frame(6, 0, 0, b"12345678"),
        "goaway": h2frame(7, 0, 0, struct.pack(">LL", 1, 0) + b"debug"),
        "window-update": h2frame(8, 0, 0, struct.pack(">L", 1 << 20)),
        "unknown": h2frame(0xFA, 0xFF, 7, b"ext"),
        "oversize": h2frame(0, 0, 1, b"x" * 100),
    }
    out = {f"rfc9113-{k}": seed(0, 0, v) for k, v in frames.items()}
    out["rfc9113-all"] = seed(0, 1, b"".join(frames.values()))
    out["rfc9113-all-small-max"] = seed(1, 2, b"".join(frames.values()))
    return out


def _h2_conn() -> dict[str, bytes]:
    preface = h2_conn.server_preface()
    R = h2_conn.record
    raw = {
        "rfc7541-c5-response": preface + h2frame(1, 4, 1, SIZE_256 + C51) + h2frame(0, 1, 1, b"moved"),
        "rfc7541-c2-c4-blocks": preface
        + h2frame(1, 4, 1, SIZE_256 + C21 + C22 + C23 + C24)
        + h2frame(1, 5, 3, C31)
        + h2frame(1, 5, 5, C41),
        "rfc9113-trailers": preface
        + h2frame(1, 4, 1, SIZE_256 + b"\x88")
        + h2frame(0, 0, 1, b"body")
        + h2frame(1, 5, 1, b"\x40\x09x-trailer\x011"),
        "rfc9113-goaway": preface + h2frame(7, 0, 0, struct.pack(">LL", 1, 0)) + h2frame(1, 5, 1, SIZE_256 + b"\x88"),
        "rfc9113-rst": preface + h2frame(3, 0, 1, struct.pack(">L", 7)),
        "rfc9113-ping-windows": preface
        + h2frame(6, 0, 0, b"abcdefgh")
        + h2frame(8, 0, 0, struct.pack(">L", 100000))
        + h2frame(8, 0, 5, struct.pack(">L", 100000)),
        "rfc9113-no-preface": h2frame(1, 5, 1, b"\x88"),
        "rfc9113-http1-answer": b"HTTP/1.1 400 Bad Request\r\n\r\n",
        "rfc9113-push": preface
        + h2frame(5, 4, 1, struct.pack(">L", 2) + SIZE_256 + C41)
        + h2frame(1, 4, 1, b"\x88")
        + h2frame(1, 5, 2, b"\x88")
        + h2frame(0, 1, 1, b"x"),
    }
    out = {k: seed(0x03 | (0x04 if "push" in k else 0), 0, v) for k, v in raw.items()}
    out["rfc9113-no-preface"] = seed(0, 0, raw["rfc9113-no-preface"])
    out["rfc9113-http1-answer"] = seed(0, 0, raw["rfc9113-http1-answer"])
    structured = {
        "struct-responses": R(0xF0, 0, 1, bytes((0, 7)))
        + R(0, 1, 1, b"hello")
        + R(0xF0, 1, 2, bytes((2,)))
        + R(0xF0, 0, 3, bytes((3, 8)))
        + R(0, 0, 3, b"abc")
        + R(0xF0, 1, 3, bytes((9,))),
        "struct-informational": R(0xF0, 0, 1, bytes((1,))) + R(0xF0, 1, 1, bytes((0, 6))),
        "struct-push": R(0xF1, 0, 1, bytes((5, 10, 12, 13, 14))) + R(0xF0, 1, 5, bytes((0,))) + R(0xF0, 1, 1, b"\0"),
        "struct-flow": R(8, 0, 0, struct.pack(">L", 100000))
        + R(8, 0, 3, struct.pack(">L", 100000))
        + R(0xF0, 0, 4, b"\0")
        + R(0, 0, 4, b"x" * 200)
        + R(0, 1, 4, b"y" * 50),
        "struct-goaway": R(0xF0, 0, 1, b"\0") + R(7, 0, 0, struct.pack(">LL", 1, 0)) + R(0, 1, 1, b"end"),
        "struct-rst": R(3, 0, 1, struct.pack(">L", 8)) + R(3, 0, 2, struct.pack(">L", 7)),
        "struct-settings": R(4, 0, 0, struct.pack(">HLHL", 4, 0, 5, 20000)) + R(4, 1, 0, b""),
        "struct-bad-fields": R(0xF0, 0, 1, bytes((0, 16, 22))) + R(0xF0, 1, 2, bytes((5,))),
        "struct-continuation": R(1, 0, 1, b"\x88") + R(9, 4, 1, b"\x5c\x01\x35") + R(0, 1, 1, b"12345"),
    }
    for name, payload in structured.items():
        out[name] = seed(0x30 | 0x03 | (0x04 if "push" in name else 0) | (0x08 if "flow" in name else 0), 0, payload)
    out["struct-graceful"] = seed(0x70 | 3, 3, structured["struct-responses"])
    out["struct-closing-timeout"] = seed(0xB0 | 3, 0, structured["struct-responses"])
    out["struct-cancel"] = seed(0xF0 | 3, 1, structured["struct-responses"])
    return out


# RFC 7692 7.2.3: "Hello" compressed, and its variants.
HELLO = b"\xf2\x48\xcd\xc9\xc9\x07\x00"
HELLO_AGAIN = b"\xf2\x00\x11\x00\x00"  # 7.2.3.2, with the window of the first
HELLO_STORED = b"\x00\x05\x00\xfa\xffHello\x00"  # 7.2.3.3, no compression
HELLO_BFINAL = b"\xf3\x48\xcd\xc9\xc9\x07\x00\x00"  # 7.2.3.4
HELLO_TWO_BLOCKS = b"\xf2\x48\x05\x00\x00\x00\xff\xff\xca\xc9\xc9\x07\x00"  # 7.2.3.5


def _ws() -> dict[str, bytes]:
    frames = {
        # RFC 6455 5.7
        "rfc6455-text": b"\x81\x05Hello",
        "rfc6455-masked-text": b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
        "rfc6455-fragmented": b"\x01\x03Hel\x80\x02lo",
        "rfc6455-ping": b"\x89\x05Hello",
        "rfc6455-pong": b"\x8a\x05Hello",
        "rfc6455-binary-256": b"\x82\x7e\x01\x00" + bytes(range(256)),
        "rfc6455-binary-64k-header": b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00" + b"\0" * 64,
        "rfc6455-close": b"\x88\x02\x03\xe8",
        "rfc6455-close-reason": b"\x88\x05\x03\xe8bye",
        "rfc6455-interleaved-ping": b"\x01\x03Hel\x89\x00\x80\x02lo\x88\x00",
        "rfc6455-bad-utf8": b"\x81\x03\xed\xa0\x80",
    }
    out = {k: seed(0, 0, v) for k, v in frames.items()}
    out["rfc6455-bytewise"] = seed(0x10, 1, b"".join(frames.values()))
    out["rfc6455-flow"] = seed(0x08, 3, b"\x82\x7e\x01\x00" + bytes(range(256)) + b"\x81\x05Hello")
    out["rfc6455-twins"] = seed(0x80, 3, b"".join(frames.values()))
    out["rfc6455-close-first"] = seed(0x40, 0, b"\x81\x05Hello\x88\x02\x03\xe8")
    deflated = {
        "rfc7692-hello": b"\xc1\x07" + HELLO,
        "rfc7692-fragmented": b"\x41\x03" + HELLO[:3] + b"\x80\x04" + HELLO[3:],
        "rfc7692-shared-window": b"\xc1\x07" + HELLO + b"\xc1\x05" + HELLO_AGAIN,
        "rfc7692-stored": b"\xc1\x0b" + HELLO_STORED,
        "rfc7692-bfinal": b"\xc1\x08" + HELLO_BFINAL,
        "rfc7692-two-blocks": b"\xc1\x0d" + HELLO_TWO_BLOCKS,
    }
    for k, v in deflated.items():
        out[k] = seed(1, 0, v)
        out[k + "-no-takeover"] = seed(3 | 0x80, 3, v)
    R = ws.record
    out["struct-mixed"] = seed(
        0x21,
        3,
        R(0x81, 0, b"hello")
        + R(0xC1, 2, b"hello hello hello")
        + R(0x01, 0, b"he")
        + R(0x89, 0, b"p")
        + R(0x80, 0, b"llo")
        + R(0x82, 4, b"x" * 200)
        + R(0x88, 0, b"\x03\xe8"),
    )
    out["struct-too-big"] = seed(0x21, 0, R(0xC2, 2, b"\0" * 255) + R(0x02, 0, b"a" * 200) + R(0x80, 0, b"b" * 100))
    out["struct-masked"] = seed(0x20, 0, R(0x81, 1, b"masked"))
    return out


def _ws_deflate() -> dict[str, bytes]:
    raw = {
        "rfc7692-hello": HELLO,
        "rfc7692-hello-again": HELLO + HELLO_AGAIN,
        "rfc7692-stored": HELLO_STORED,
        "rfc7692-bfinal": HELLO_BFINAL,
        "rfc7692-two-blocks": HELLO_TWO_BLOCKS,
        "rfc7692-garbage": b"\xff\xff\xff",
    }
    out = {}
    for k, v in raw.items():
        out[k] = seed(0, 0, v)
        out[k + "-split"] = seed(2, 1, v)
    out["roundtrip-messages"] = seed(1, 3, b"Hello\xffHello\xff" + b"abc" * 50 + b"\xff")
    out["roundtrip-small-window"] = seed(1 | 2, 2, b"x" * 600)
    return out


OK_EMPTY = b"HTTP/1.1 200 OK\r\n\r\n"


def _ws_handshake() -> dict[str, bytes]:
    base = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    )
    return {
        "rfc6455-accept": seed(0, 0, base + b"\r\n\x81\x05Hello"),
        "rfc6455-protocol": seed(2, 3, base + b"Sec-WebSocket-Protocol: chat\r\n\r\n\x81\x05Hello"),
        "rfc6455-bad-accept": seed(0, 0, base.replace(b"xOo=", b"xOx=") + b"\r\n"),
        "rfc6455-refused": seed(4, 0, b"HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\n\r\nno" + OK_EMPTY),
        "rfc7692-accept": seed(
            1,
            0,
            base + b"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n\r\n\xc1\x07" + HELLO,
        ),
        "rfc7692-unoffered": seed(0, 0, base + b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"),
        "rfc7692-ext-1": seed(8, 0, b"permessage-deflate; client_max_window_bits; server_max_window_bits=10"),
        "rfc7692-ext-2": seed(8, 0, b'permessage-deflate; server_max_window_bits="10", permessage-deflate'),
        "rfc7692-ext-3": seed(8, 0, b"permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        "rfc6455-ext-list": seed(8, 0, b"foo, bar; baz=2, x-webkit-deflate-frame"),
    }


def _accel() -> dict[str, bytes]:
    frames = b"\x81\x05Hello\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58\x82\x7e\x01\x00" + b"\0" * 10
    return {
        "mask": seed(0, 3, b"\x37\xfa\x21\x3dHello, world, masked"),
        "mask-negative-offset": seed(0x80, 9, b"\x37\xfa\x21\x3d" + b"x" * 40),
        "build-masked": seed(0x41, 0x81, b"\x37\xfa\x21\x3dHello"),
        "build-long": seed(0x81, 0x82, b"0123456789" * 12),
        "ws-headers": seed(2, 0, frames),
        "ws-headers-64": seed(0x12, 0, b"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"),
        "h2-headers": seed(3, 0, h2frame(4, 0, 0, b"") + h2frame(0, 1, 1, b"hello") + h2frame(0, 0, 1, b"x" * 20000)),
        "h2-headers-small": seed(0x13, 0, h2frame(0, 1, 1, b"x" * 200)),
        "utf8": seed(4, 1, "héllo wörld € 𝄞".encode()),
        "utf8-bad": seed(4, 3, b"\xed\xa0\x80\xf4\x90\x80\x80\xc0\xaf"),
        "all": seed(7, 3, frames),
    }


SEEDS = {
    "http1": _h1,
    "h2_frames": _h2_frames,
    "h2_conn": _h2_conn,
    "ws": _ws,
    "ws_deflate": _ws_deflate,
    "ws_handshake": _ws_handshake,
    "accel": _accel,
}


def main() -> None:
    for target, make in SEEDS.items():
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("spec-*"):
            old.unlink()
        for name, data in make().items():
            (folder / f"spec-{name}").write_bytes(data)
        print(f"{target}: {len(list(folder.iterdir()))} files")


if __name__ == "__main__":
    main()
