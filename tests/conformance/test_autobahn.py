"""The Autobahn|Testsuite fuzzing server (cases 1.* to 13.*) against our websocket client.

Every configuration (driver x compression) runs here. One configuration runs every
case (``GUN_AUTOBAHN_FULL``, default ``sync-plain``, about a minute; ``all`` runs the
whole matrix in full: the compression cases 12.* and 13.* take 15-20 minutes per
configuration, most of it in the Python 2.7 fuzzing server), the others run a
representative subset that includes compression cases. A case passes when
Autobahn's verdict is OK, NON-STRICT, INFORMATIONAL or UNIMPLEMENTED; FAILED fails the
test. The summary is printed (``pytest -s`` shows it) and explained in
``docs/conformance.md``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from gun_core.errors import ConnectionDown, ConnectionFailure, StreamError, Timeout
from gun_io import Binary, Close, GunUpgrade, GunWs, Text

SUBSET = [
    "1.1.*",
    "1.2.1",
    "1.2.8",
    "2.*",
    "3.*",
    "4.*",
    "5.*",
    "6.1.*",
    "6.2.*",
    "6.3.*",
    "6.4.*",
    "6.6.*",
    "6.12.*",
    "6.20.*",
    "7.1.*",
    "7.3.*",
    "7.5.*",
    "7.7.*",
    "7.9.*",
    "9.1.1",
    "9.2.1",
    "9.7.1",
    "10.*",
    "12.1.1",
    "12.1.3",
    "12.2.1",
    "12.5.1",
    "13.1.1",
    "13.3.1",
    "13.5.1",
    "13.7.1",
    "13.7.5",
]
CONFIGS = ["sync-plain", "sync-deflate", "aio-plain", "aio-deflate"]


def full_configs() -> set[str]:
    value = os.environ.get("GUN_AUTOBAHN_FULL", "sync-plain")
    return set(CONFIGS) if value == "all" else {v.strip() for v in value.split(",") if v.strip()}


def run_case(driver: Any, port: int, path: str, compress: bool) -> None:
    """Connect to one case URL and echo every message until the connection ends."""
    conn = driver.open("127.0.0.1", port, {"retry": 0, "ws_opts": {"compress": compress}})
    try:
        ref = conn.ws_upgrade(path)
        while True:
            try:
                msg = conn.await_(ref, 30)
            except (ConnectionDown, ConnectionFailure, StreamError, Timeout):
                return
            if isinstance(msg, GunUpgrade):
                continue
            if isinstance(msg, GunWs):
                frame = msg.frame
                if isinstance(frame, (Text, Binary)):
                    try:
                        conn.ws_send(ref, frame)
                    except Exception:  # the connection ended while we echoed
                        return
                elif isinstance(frame, Close):
                    try:
                        conn.wait_closed(5)
                    except Timeout:
                        pass
                    return
            else:  # a refusal response: nothing to echo
                return
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.timeout(2400)
@pytest.mark.parametrize("config", CONFIGS)
def test_autobahn(config: str, autobahn_factory: Any, request: pytest.FixtureRequest) -> None:
    """Zero FAILED verdicts from the Autobahn fuzzing server (RFC 6455, RFC 7692)."""
    driver_name, mode = config.split("-")
    compress = mode == "deflate"
    full = config in full_configs()
    server = autobahn_factory(cases=["*"] if full else SUBSET)
    from tests.helpers.drivers import AioDriver, SyncDriver

    driver: Any = SyncDriver() if driver_name == "sync" else AioDriver()
    agent = f"gun-{config}"
    try:
        for n in range(1, len(server.case_ids) + 1):
            run_case(driver, server.port, f"/runCase?case={n}&agent={agent}", compress)
    finally:
        driver.close()
    summary = server.summary(agent)
    counts = summary["counts"]
    line = " ".join(f"{k}={v}" for k, v in counts.items())
    print(f"\nAutobahn {config} ({'all' if full else 'subset of'} {len(server.case_ids)} cases): {line}")
    request.node.user_properties.append(("autobahn", f"{config}: {line}"))
    assert sum(counts.values()) == len(server.case_ids)
    assert counts.get("FAILED", 0) == 0, f"FAILED cases: {summary['failed']}"
