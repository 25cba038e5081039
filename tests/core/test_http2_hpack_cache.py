"""The HTTP/2 core's memory of decoded field blocks gives exactly what decoding gives.

Blocks that use only the static table are remembered with the entries they insert; replaying
one must leave the decoder's dynamic table (RFC 7541 2.3.2) exactly where a real decode would,
and return the same fields, whatever happened in between (insertions, evictions, blocks that
refer to dynamic entries, size updates).
"""

from __future__ import annotations

from hpack import Decoder, Encoder
from hpack.struct import HeaderTuple, NeverIndexedHeaderTuple
from hypothesis import given, settings
from hypothesis import strategies as st

from gun_core.events import Event
from gun_core.http2 import Http2Protocol, _static_only_representations

NAMES = [b"server", b"date", b"content-type", b"etag", b"x-custom", b"set-cookie", b":status"]
VALUES = [b"nginx", b"200", b"text/plain", b'"abc"', b"v" * 40, b"Sun, 29 Nov 2026 02:00:00 GMT", b"404"]

field = st.tuples(st.sampled_from(NAMES), st.sampled_from(VALUES), st.sampled_from(["index", "no", "never"]))


def encode(encoder: Encoder, fields: list[tuple[bytes, bytes, str]], huffman: bool) -> bytes:
    out = []
    for name, value, mode in fields:
        if mode == "never":
            out.append(NeverIndexedHeaderTuple(name, value))
        elif mode == "no":
            out.append((name, value, True))  # sensitive: never indexed by hpack's encoder
        else:
            out.append(HeaderTuple(name, value))
    return bytes(encoder.encode(out, huffman=huffman))


@settings(max_examples=150, deadline=None)
@given(
    blocks=st.lists(st.lists(field, min_size=1, max_size=6), min_size=1, max_size=8),
    order=st.lists(st.integers(0, 7), max_size=30),
    table_size=st.sampled_from([0, 64, 256, 4096]),
    huffman=st.booleans(),
)
def test_remembered_blocks_decode_like_hpack(
    blocks: list[list[tuple[bytes, bytes, str]]], order: list[int], table_size: int, huffman: bool
) -> None:
    """Any sequence of blocks, repeated in any order, gives the reference decoder's fields, and
    the core's dynamic table equals the reference's after every block."""
    encoder = Encoder()
    encoder.header_table_size = table_size
    wire: list[bytes] = []
    for fields in blocks:
        wire.append(encode(encoder, fields, huffman))
    # Replaying encoded bytes out of order is only meaningful for blocks that do not depend on
    # the encoder's state; others are still fed, in order, to keep both decoders in step.
    sequence = wire + [wire[i % len(wire)] for i in order if _static_only_representations(wire[i % len(wire)])]
    proto = Http2Protocol(b"example.com")
    reference = Decoder()
    for block in sequence:
        events: list[Event] = []
        try:
            want = [(bytes(n), bytes(v)) for n, v in reference.decode(block, raw=True)]
        except Exception:
            break  # a block the reference refuses: the sequence ends here for both
        got = proto._decode(block, events)
        assert events == []
        assert got == want
        assert list(proto._decoder.header_table.dynamic_entries) == list(reference.header_table.dynamic_entries)


def test_scan_refuses_dynamic_references_and_size_updates() -> None:
    """Only static-table blocks are remembered: a dynamic index, a dynamic name index, a size
    update or a truncated block is not."""
    assert _static_only_representations(b"\x88") == [False]  # :status 200 (static 8)
    assert _static_only_representations(b"\xbe") is None  # index 62: dynamic
    assert _static_only_representations(b"\x7e\x01a") is None  # literal, name index 62: dynamic
    assert _static_only_representations(b"\x3f\xe1\x1f") is None  # size update
    assert _static_only_representations(b"\x40\x01a\x01b") == [True]  # literal name, indexed
    assert _static_only_representations(b"\x0f\x2b\x01a") == [False]  # name index 58, no indexing
    assert _static_only_representations(b"\x40\x05ab") is None  # truncated
    assert _static_only_representations(b"\x80") is None  # index 0 is an error


def test_cache_hit_replays_insertions() -> None:
    """The second time a block that inserts arrives, it is answered from memory and still
    inserts its entry (so later dynamic references resolve)."""
    proto = Http2Protocol(b"example.com")
    block = b"\x40\x01a\x01b"  # literal a: b, incremental indexing
    assert proto._decode(block, []) == [(b"a", b"b")]
    assert block in proto._decode_cache
    assert proto._decode(block, []) == [(b"a", b"b")]
    assert list(proto._decoder.header_table.dynamic_entries) == [(b"a", b"b"), (b"a", b"b")]
    assert proto._decode(b"\xbe\xbf", []) == [(b"a", b"b"), (b"a", b"b")]  # dynamic 62, 63


@settings(max_examples=100, deadline=None)
@given(
    lists=st.lists(st.lists(st.tuples(st.sampled_from(NAMES[:-1]), st.sampled_from(VALUES)), max_size=5), max_size=6),
    order=st.lists(st.integers(0, 5), max_size=40),
    resize_at=st.one_of(st.none(), st.integers(0, 40)),
)
def test_remembered_encodings_decode_to_what_was_sent(
    lists: list[list[tuple[bytes, bytes]]], order: list[int], resize_at: int | None
) -> None:
    """Field lists encoded in any order (repeats answered from memory), with a table size change
    from the peer at any point, decode with a fresh decoder to exactly the lists sent."""
    if not lists:
        return
    proto = Http2Protocol(b"example.com")
    decoder = Decoder()
    for step, i in enumerate([*range(len(lists)), *order]):
        if step == resize_at:
            proto._encoder.header_table_size = 256
            proto._encode_gen += 1
        fields = [(b":method", b"GET"), (b":path", b"/"), *lists[i % len(lists)]]
        block = proto._encode(fields)
        assert [(bytes(n), bytes(v)) for n, v in decoder.decode(block, raw=True)] == fields


def test_credentials_are_never_indexed_nor_remembered() -> None:
    """authorization is sent as never-indexed (RFC 7541 7.1.3), so its block is not remembered."""
    proto = Http2Protocol(b"example.com")
    fields = [(b":method", b"GET"), (b"authorization", b"Bearer secret")]
    first = proto._encode(fields)
    assert proto._encode(fields) == first
    assert tuple(fields) not in proto._encode_cache
    assert all(n != b"authorization" for n, _ in proto._encoder.header_table.dynamic_entries)
