"""``fuzz/run TARGET SECONDS``: run atheris targets for a while and summarize (see fuzz/README.md).

Each run reads ``fuzz/corpus/<target>/`` but writes new inputs to a scratch corpus
(``fuzz/.scratch/<target>/``, not committed), uses the protocol's dictionary, and saves any
crashing input as ``fuzz/crashes/<target>-crash-<sha1>``. The summary gives executions,
exec/s and the coverage libFuzzer reached (``cov``: edges, ``ft``: features). The exit status
is non-zero when any target crashed (or could not run).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DICTS", "TARGETS", "Result", "main", "run_target"]

ROOT = Path(__file__).resolve().parent.parent
FUZZ = ROOT / "fuzz"

#: target -> dictionary file in fuzz/dicts/
DICTS = {
    "http1": "http1.dict",
    "ws_handshake": "http1.dict",
    "h2_frames": "http2.dict",
    "h2_conn": "http2.dict",
    "ws": "ws.dict",
    "ws_deflate": "ws.dict",
    "accel": "ws.dict",
}
TARGETS = list(DICTS)

_STATUS = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/\S+.*?exec/s: (\d+)", re.M)
_STAT = re.compile(r"^stat::(\w+):\s+(\d+)", re.M)
_ARTIFACT = re.compile(r"Test unit written to (\S+)")


@dataclass
class Result:
    target: str
    returncode: int
    seconds: float
    execs: int = 0
    exec_per_sec: int = 0
    cov: int = 0
    ft: int = 0
    corpus: int = 0
    crash: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.crash is None

    def line(self) -> str:
        state = "OK" if self.ok else f"FAIL (exit {self.returncode})"
        out = (
            f"{self.target:13} {state:6} {self.seconds:6.0f}s  execs={self.execs}  exec/s={self.exec_per_sec}  "
            f"cov={self.cov}  ft={self.ft}  corpus={self.corpus}"
        )
        if self.crash:
            out += f"\n{'':13} crashing input: {self.crash}"
        return out


def run_target(target: str, seconds: int, extra: list[str] | None = None) -> Result:
    """Run one target for ``seconds``; return the parsed libFuzzer summary.

    ``GUN_FUZZ_WORKDIR`` moves the scratch corpora, logs and crashes out of ``fuzz/``.
    """
    work = Path(os.environ.get("GUN_FUZZ_WORKDIR") or FUZZ)
    scratch = work / ".scratch" / target
    scratch.mkdir(parents=True, exist_ok=True)
    corpus = FUZZ / "corpus" / target
    corpus.mkdir(parents=True, exist_ok=True)
    crashes = work / "crashes"
    crashes.mkdir(exist_ok=True)
    log = work / ".scratch" / f"{target}.log"
    cmd = [
        sys.executable,
        "-m",
        f"fuzz.targets.{target}",
        str(scratch),
        str(corpus),
        f"-dict={FUZZ / 'dicts' / DICTS[target]}",
        f"-max_total_time={seconds}",
        "-rss_limit_mb=2048",
        "-timeout=20",
        "-max_len=8192",
        "-print_final_stats=1",
        f"-artifact_prefix={crashes}/{target}-",
        *(extra or []),
    ]
    env = dict(os.environ, GUN_FUZZING="1", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    text = log.read_text("utf-8", "replace")
    r = Result(target, proc.returncode, time.monotonic() - started)
    statuses = _STATUS.findall(text)
    if statuses:
        last = statuses[-1]
        r.execs, r.cov, r.ft, r.corpus, r.exec_per_sec = (int(x) for x in last)
    stats = dict(_STAT.findall(text))
    if "number_of_executed_units" in stats:
        r.execs = int(stats["number_of_executed_units"])
    if "average_exec_per_sec" in stats:
        r.exec_per_sec = int(stats["average_exec_per_sec"])
    m = _ARTIFACT.search(text)
    if m:
        r.crash = m.group(1)
    if not r.ok:
        tail = text.splitlines()[-60:]
        print(f"---- {target}: last lines of {log}", file=sys.stderr)
        print("\n".join(tail), file=sys.stderr)
    return r


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["list"]:
        print("\n".join(TARGETS))
        return 0
    if len(args) < 2 or not args[1].isdigit() or (args[0] != "all" and args[0] not in DICTS):
        print(
            f"usage: fuzz/run TARGET|all SECONDS [libFuzzer flags...]\ntargets: {', '.join(TARGETS)}", file=sys.stderr
        )
        return 2
    targets = TARGETS if args[0] == "all" else [args[0]]
    seconds = int(args[1])
    results = []
    for target in targets:
        r = run_target(target, seconds, args[2:])
        print(r.line(), flush=True)
        results.append(r)
    if len(results) > 1:
        bad = [r.target for r in results if not r.ok]
        print(f"{len(results) - len(bad)}/{len(results)} targets OK" + (f"; failed: {', '.join(bad)}" if bad else ""))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
