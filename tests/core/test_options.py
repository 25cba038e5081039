"""gun_core.options: defaults and BadOption for every protocol option dict."""

from __future__ import annotations

import pytest

from gun_core.errors import BadOption
from gun_core.options import check_http2_opts, check_http_opts, check_ws_opts


def test_defaults_are_bounded() -> None:
    """Every buffer has a finite default bound."""
    assert check_http_opts(None).max_header_block_size > 0
    assert check_http2_opts({}).max_header_list_size > 0
    assert check_ws_opts(None).max_message_size >= 16 * 1024 * 1024  # Autobahn 9.* sends 16 MiB


def test_values_are_checked() -> None:
    """Good values are kept; protocols become a tuple."""
    o = check_http_opts({"version": "HTTP/1.0", "keepalive": 5, "flow": 10})
    assert o.version == "HTTP/1.0" and o.keepalive == 5.0 and o.flow == 10
    w = check_ws_opts({"protocols": ["chat", b"v2"], "compress": True})
    assert w.protocols == ("chat", "v2") and w.compress


@pytest.mark.parametrize(
    ("check", "opts"),
    [
        (check_http_opts, {"nope": 1}),
        (check_http_opts, {"version": "HTTP/2"}),
        (check_http_opts, {"keepalive": -1}),
        (check_http_opts, {"transform_header_name": 5}),
        (check_http_opts, {"max_header_block_size": 0}),
        (check_http2_opts, {"max_frame_size_received": 100}),
        (check_http2_opts, {"initial_stream_window_size": 2**31}),
        (check_http2_opts, {"enable_connect_protocol": "yes"}),
        (check_ws_opts, {"protocols": "chat"}),
        (check_ws_opts, {"protocols": ["bad name"]}),
        (check_ws_opts, {"compress": 1}),
        (check_ws_opts, {"max_message_size": True}),
        (check_ws_opts, []),
    ],
)
def test_bad_options_raise(check: object, opts: object) -> None:
    """Unknown keys and ill-typed values raise BadOption naming the option."""
    with pytest.raises(BadOption):
        check(opts)  # type: ignore[operator]
