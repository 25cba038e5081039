"""Session fixtures that start real peers on 127.0.0.1 (see ``tests/servers/README.md``).

Each server fixture starts its server once per session, on free ports, with its
files and logs in a pytest temporary folder, and stops it by PID at the end. When a
test that used one fails, the tails of that server's logs are added to the report.
Missing servers skip the test locally and fail it under CI (``tests.servers.require``).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import tempfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import ServerError, require, tail, unavailable
from tests.servers.certs import TestCA, make_test_ca

SERVER_FIXTURES = ("nginx", "nghttpd", "hypercorn_server", "autobahn", "autobahn_factory")
_STARTED: list[Any] = []


@atexit.register
def _stop_leftovers() -> None:
    """Stop any server a fixture could not tear down (e.g. an interrupted session)."""
    for server in _STARTED:
        try:
            server.stop()
        except Exception:  # best effort at exit
            pass


def _folder(factory: pytest.TempPathFactory, name: str) -> Path:
    """A fresh folder for one server; short enough for Unix socket paths (108 bytes)."""
    folder = factory.mktemp(name)
    if len(str(folder)) > 70:
        folder = Path(tempfile.mkdtemp(prefix=f"gun-{name}-"))
    return folder


def _run(server: Any) -> Iterator[Any]:
    _STARTED.append(server)
    try:
        server.start()
    except ServerError as exc:
        server.stop()
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        _STARTED.remove(server)


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """A throw-away CA and a server certificate for 127.0.0.1, ::1 and localhost.

    ``.cafile``, ``.certfile``, ``.keyfile`` (paths), ``.ssl_context`` (client, ALPN h2 +
    http/1.1, trusts only this CA), ``.client_context(alpn)``, ``.server_context(alpn)``.
    """
    require("py:trustme", "trustme is not installed (pip install -e '.[test]')")
    return make_test_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def hypercorn_server(tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA) -> Iterator[Any]:
    """hypercorn + ``tests/servers/hypercorn_app.py``: ``.tls_port``, ``.plain_port``, ``.unix_path``."""
    require("py:hypercorn", "hypercorn is not installed (pip install -e '.[test]')")
    from tests.servers.hypercorn_server import HypercornServer

    yield from _run(HypercornServer(_folder(tmp_path_factory, "hypercorn"), test_ca))


@pytest.fixture(scope="session")
def nginx(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA) -> Iterator[Any]:
    """Debian nginx: ``.http_port``, ``.h2c_port``, ``.tls_port``, ``.unix_path``, ``.big_path``,
    ``.big_size``, ``.restart()``, ``.stop()``, ``.start()``; ``/echo`` proxies to hypercorn."""
    binary = require("nginx", "nginx is not installed (apt-get install nginx)")
    from tests.servers.nginx import NginxServer

    upstream = None
    if importlib.util.find_spec("hypercorn") is not None:
        upstream = request.getfixturevalue("hypercorn_server").unix_path
    yield from _run(NginxServer(binary, _folder(tmp_path_factory, "nginx"), test_ca, upstream_unix=upstream))


@pytest.fixture(scope="session")
def nghttpd(tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA) -> Iterator[Any]:
    """nghttpd: ``.tls_port`` (h2 over TLS), ``.h2c_port`` (prior knowledge), ``.docroot``,
    ``.files``, ``.push``, ``.big_path``, ``.big_size``."""
    binary = require("nghttpd", "nghttpd is not installed (apt-get install nghttp2-server)")
    from tests.servers.nghttpd import NghttpdServer

    yield from _run(NghttpdServer(binary, _folder(tmp_path_factory, "nghttpd"), test_ca))


def _autobahn_python() -> str:
    from tests.servers.autobahn_server import venv_python

    python = venv_python()
    if not (python.is_file() and os.access(python, os.X_OK)):
        unavailable(f"Autobahn|Testsuite is not installed at {python}: run tests/servers/install_autobahn.sh")
    return str(python)


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


@pytest.fixture(scope="session")
def autobahn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The Autobahn fuzzing server: ``.url``, ``.port``, ``.case_ids``, ``.case_url(n, agent)``,
    ``.summary(agent)``. Cases from ``$GUN_AUTOBAHN_CASES`` (default ``*``), minus
    ``$GUN_AUTOBAHN_EXCLUDE`` (comma-separated patterns)."""
    python = _autobahn_python()
    from tests.servers.autobahn_server import AutobahnServer

    server = AutobahnServer(
        python,
        _folder(tmp_path_factory, "autobahn"),
        cases=_env_list("GUN_AUTOBAHN_CASES", "*"),
        exclude_cases=_env_list("GUN_AUTOBAHN_EXCLUDE", ""),
    )
    yield from _run(server)


@pytest.fixture(scope="session")
def autobahn_factory(tmp_path_factory: pytest.TempPathFactory) -> Generator[Callable[..., Any], None, None]:
    """``autobahn_factory(cases=[...], exclude_cases=[...], options={...})`` starts one more fuzzing
    server with those cases (stopped at the end of the session) and returns it."""
    python = _autobahn_python()
    from tests.servers.autobahn_server import AutobahnServer

    servers: list[AutobahnServer] = []

    def make(
        cases: list[str] | None = None,
        exclude_cases: list[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> AutobahnServer:
        server = AutobahnServer(python, _folder(tmp_path_factory, "autobahn"), cases, exclude_cases, options)
        servers.append(server)
        _STARTED.append(server)
        try:
            server.start()
        except ServerError as exc:
            pytest.fail(str(exc), pytrace=False)
        return server

    make.servers = servers  # type: ignore[attr-defined]
    try:
        yield make
    finally:
        for server in servers:
            server.stop()
            _STARTED.remove(server)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Attach the log tails of the servers a failing test used."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    for name in SERVER_FIXTURES:
        value = funcargs.get(name)
        if value is None:
            continue
        servers = getattr(value, "servers", [value])
        for server in servers:
            for log in getattr(server, "log_files", list)():
                report.sections.append((f"{name} log {log}", tail(log, 4000)))
