"""Autobahn|Testsuite's fuzzing server (``wstest -m fuzzingserver``) for the websocket client tests.

The client under test drives it over websocket URLs:

- ``/getCaseCount``                        one text message: the number of cases N
- ``/getCaseInfo?case=I``                  JSON ``{"id": "1.1.1", "description": ...}``
- ``/runCase?case=I&agent=A``              runs case I (1..N); the client must echo every message
- ``/updateReports?agent=A``               writes ``reports/clients/index.json`` (and HTML)

``AutobahnServer.case_ids`` maps I-1 to the case id; :meth:`AutobahnServer.summary`
reads the report.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from tests.servers import HOST, ServerProcess, free_port
from tests.servers.wsraw import RawWebSocket

LAUNCHER = Path(__file__).with_name("wstest_launch.py")
INSTALLER = Path(__file__).with_name("install_autobahn.sh")
BEHAVIORS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")


def cache_dir() -> Path:
    """``$GUN_TEST_CACHE`` or ``~/.cache/gun-tests``."""
    return Path(os.environ.get("GUN_TEST_CACHE") or Path.home() / ".cache" / "gun-tests")


def venv_python() -> Path:
    """The Python 2.7 of the virtualenv ``install_autobahn.sh`` makes."""
    return cache_dir() / "autobahn-venv" / "bin" / "python"


class AutobahnServer:
    """One fuzzing server on ``ws://127.0.0.1:port`` with its own report folder.

    - ``cases`` / ``exclude_cases``: patterns as in a wstest spec (``"1.*"``, ``"12.1.1"``);
    - ``case_ids``: the resolved case ids, in ``runCase?case=N`` order (N from 1);
    - ``outdir``: ``folder/reports/clients``; ``index_json``: its ``index.json``.
    """

    host = HOST

    def __init__(
        self,
        python: str,
        folder: Path,
        cases: list[str] | None = None,
        exclude_cases: list[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.python = python
        self.folder = folder
        self.port = free_port()
        self.url = f"ws://{HOST}:{self.port}"
        self.outdir = folder / "reports" / "clients"
        self.index_json = self.outdir / "index.json"
        self.spec: dict[str, Any] = {
            "url": self.url,
            "outdir": str(self.outdir),
            "cases": list(cases or ["*"]),
            "exclude-cases": list(exclude_cases or []),
            "exclude-agent-cases": {},
        }
        if options:
            self.spec["options"] = options
        self.spec_file = folder / "fuzzingserver.json"
        self.cases_file = folder / "cases.json"
        self.case_ids: list[str] = []
        self.log = folder / "wstest.log"
        env = dict(os.environ, PYTHONWARNINGS="ignore", PYTHONUNBUFFERED="1")
        for var in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
            env.pop(var, None)
        self.process = ServerProcess(
            "autobahn", [python, "-u", str(LAUNCHER), str(self.spec_file), str(self.cases_file)],
            log=self.log, cwd=folder, env=env,
        )  # fmt: skip

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def start(self) -> None:
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.spec_file.write_text(json.dumps(self.spec, indent=2))
        self.process.start()
        self.process.wait_ready([self.port], timeout=60.0)
        self.case_ids = json.loads(self.cases_file.read_text())

    def stop(self) -> None:
        self.process.stop()

    def log_files(self) -> list[Path]:
        return [self.log]

    # -- URLs -------------------------------------------------------------------------------------

    def case_count_url(self) -> str:
        return f"{self.url}/getCaseCount"

    def case_info_url(self, case: int) -> str:
        return f"{self.url}/getCaseInfo?case={case}"

    def case_url(self, case: int, agent: str) -> str:
        """URL that runs case number ``case`` (1-based, see ``case_ids``) for ``agent``."""
        return f"{self.url}/runCase?case={case}&agent={agent}"

    def update_reports_url(self, agent: str) -> str:
        return f"{self.url}/updateReports?agent={agent}"

    def case_number(self, case_id: str) -> int:
        """The 1-based number of ``case_id`` ("1.1.1") for ``case_url``."""
        return self.case_ids.index(case_id) + 1

    # -- reports ----------------------------------------------------------------------------------

    def update_reports(self, agent: str) -> None:
        """Ask the server to write the reports for ``agent`` (as a client would, over a websocket)."""
        ws = RawWebSocket.connect(HOST, self.port, f"/updateReports?agent={agent}", timeout=120.0)
        ws.close()

    def results(self, agent: str) -> dict[str, dict[str, Any]]:
        """``{case_id: {"behavior", "behaviorClose", "duration", "remoteCloseCode", "reportfile"}}``."""
        if not self.index_json.exists():
            return {}
        data: dict[str, dict[str, dict[str, Any]]] = json.loads(self.index_json.read_text())
        return data.get(agent, {})

    def summary(self, agent: str, *, update: bool = True) -> dict[str, Any]:
        """Counts of each behaviour for ``agent``, plus the cases that need a look.

        Returns ``{"counts": {"OK": n, "NON-STRICT": n, "INFORMATIONAL": n, "UNIMPLEMENTED": n,
        "FAILED": n}, "behaviors": {case_id: behavior}, "failed": [case_id, ...],
        "close_failed": [case_id, ...]}``; with ``update`` the reports are refreshed first.
        """
        if update:
            self.update_reports(agent)
        results = self.results(agent)
        counts: Counter[str] = Counter({name: 0 for name in BEHAVIORS})
        behaviors: dict[str, str] = {}
        for case_id, result in results.items():
            behaviors[case_id] = result.get("behavior", "?")
            counts[behaviors[case_id]] += 1
        return {
            "counts": dict(counts),
            "behaviors": behaviors,
            "failed": sorted(c for c, b in behaviors.items() if b == "FAILED"),
            "close_failed": sorted(c for c, r in results.items() if r.get("behaviorClose") == "FAILED"),
        }

    def case_report(self, agent: str, case_id: str) -> dict[str, Any]:
        """The detailed JSON report of one case (expectations, what was received, wire log)."""
        result = self.results(agent).get(case_id)
        if not result:
            return {}
        report: dict[str, Any] = json.loads((self.outdir / result["reportfile"]).read_text())
        return report
