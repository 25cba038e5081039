"""What every workload shares: the loopback servers, the alternating runner and the tables.

A workload is a list of :class:`Client`: a name, a function that runs one round and
returns a rate (or a size, for the memory workload), and what it needs installed.
:meth:`Bench.table` runs them in alternation (A B C A B C ...) for the rounds asked,
then prints one markdown table: the median, the spread ((max - min) / median) and, for
each gun client, its ratio to every row (>1: gun is better, whichever way "better"
points), followed by the targets of issue #8 for that table, met or not.

A ratio is paired by round: in each round the clients run back to back, so their ratio in
that round is measured under the same load; the table shows the median of those per-round
ratios and, in brackets, their lowest and highest. On a shared machine the load moves from
second to second, and a ratio of two medians taken from different rounds carries that drift.

A client whose package or binary is missing is shown as "not installed" and skipped;
under CI (``CI=true``) a missing *required* tool (nginx, h2load, wrk: ``.ci/run``
installs them) is a failure. A client that raises is shown as "failed" and makes the
run exit non-zero (a gun client failing is a bug to report).
"""

from __future__ import annotations

import contextlib
import cProfile
import importlib.util
import io
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
HELLO = b"Hello world!\n"
BIG_SIZE = 16 << 20
GIG_SIZE = 1 << 30

Result = float | tuple[float, str]
OURS = ("gun", "gun.aio")  # the columns of ratios


def in_ci() -> bool:
    """True under CI (env ``CI`` = ``true``/``1``/``yes``), as in ``tests/servers``."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def which(binary: str) -> str | None:
    """The full path of ``binary`` on PATH or in the sbin folders, or None."""
    return shutil.which(binary) or shutil.which(binary, path="/usr/local/sbin:/usr/sbin:/sbin")


APT = {"nginx": "nginx", "h2load": "nghttp2-client", "wrk": "wrk"}


def missing(needs: Sequence[str]) -> str | None:
    """Why a client cannot run (``"py:module"`` or ``"bin:name"`` not found), or None."""
    for need in needs:
        kind, _, name = need.partition(":")
        if kind == "py":
            try:
                found = importlib.util.find_spec(name) is not None
            except ImportError:
                found = False
            if not found:
                return f"not installed (pip install -e '.[bench]': {name})"
        elif kind == "bin" and which(name) is None:
            return f"not installed (apt install {APT.get(name, name)})"
    return None


@dataclass
class Client:
    """One contender of a table: ``fn()`` runs one round and returns its figure (and a note)."""

    name: str
    fn: Callable[[], Result]
    needs: tuple[str, ...] = ()
    required: bool = False  # under CI, missing is a failure (.ci/run installs it)


@dataclass(frozen=True)
class Target:
    """``ours`` must reach ``factor`` x the best of ``peers`` (issue #8's target table)."""

    label: str
    ours: str
    peers: tuple[str, ...]
    factor: float


@dataclass
class Bench:
    """The run: its settings, what failed, and every target's outcome for the summary."""

    quick: bool
    rounds: int
    profile: bool = False  # after each table, cProfile one more round of each gun client
    failures: list[str] = field(default_factory=list)
    outcomes: list[tuple[str, str]] = field(default_factory=list)

    def n(self, full: int, quick: int) -> int:
        """A count: ``full`` normally, ``quick`` under ``--quick``."""
        return quick if self.quick else full

    def table(
        self,
        key: str,
        title: str,
        unit: str,
        clients: Sequence[Client],
        targets: Sequence[Target] = (),
        *,
        lower_is_better: bool = False,
        rounds: int | None = None,
        warmup: bool = False,
    ) -> dict[str, float]:
        """Run ``clients`` in alternation for the rounds, print the table, return the medians.

        ``warmup``: first run every client once, untimed (not under ``--quick``). The clients
        share one process, and what one leaves behind changes what the next pays: glibc's
        malloc, for one, serves the 256 KiB buffer asyncio reads into with mmap/mremap/munmap
        (three system calls per read) until some large block is freed, after which it serves it
        from the heap. A warm-up round puts every client in the same state whatever the order.
        """
        rounds = rounds or self.rounds
        status: dict[str, str] = {}
        runnable: list[Client] = []
        for c in clients:
            why = missing(c.needs)
            if why is None:
                runnable.append(c)
                continue
            status[c.name] = why
            if c.required and in_ci():
                self.failures.append(f"{key}: {c.name} {why} (required under CI)")
        values: dict[str, list[float]] = {c.name: [] for c in runnable}
        by_round: list[dict[str, float]] = []  # each timed round's results, for paired ratios
        notes: dict[str, str] = {}
        started = time.perf_counter()
        for r in range(rounds + (warmup and not self.quick)):
            timed = r >= (warmup and not self.quick)
            this_round: dict[str, float] = {}
            if timed:
                by_round.append(this_round)
            for c in runnable:
                if c.name in status:
                    continue
                try:
                    got = c.fn()
                except Exception as exc:  # report it in the table, go on with the others
                    traceback.print_exc(file=sys.stderr)
                    status[c.name] = f"failed: {type(exc).__name__}: {exc}".replace("|", "/")[:160]
                    self.failures.append(f"{key}: {c.name} {status[c.name]}")
                    continue
                if not timed:
                    continue
                if isinstance(got, tuple):
                    got, notes[c.name] = got
                values[c.name].append(got)
                this_round[c.name] = got
        medians = {name: statistics.median(v) for name, v in values.items() if v and name not in status}
        better = "lower" if lower_is_better else "higher"
        print(f"\n### {key}: {title}\n")
        took = time.perf_counter() - started
        warm = ", after an untimed warm-up round" if warmup and not self.quick else ""
        paired_note = "ratios paired by round (median, lowest-highest)"
        print(f"{unit}, {better} is better; {rounds} round(s){warm}, clients alternated, {paired_note}; {took:.1f} s\n")
        ours = [c.name for c in clients if c.name in OURS and c.name in medians]
        head = ["client", "median", "spread", *(f"{o} vs this" for o in ours)]
        has_notes = bool(notes)
        if has_notes:
            head.append("note")
        print("| " + " | ".join(head) + " |")
        print("|---|" + "---:|" * (len(head) - 1 - has_notes) + ("---|" if has_notes else ""))
        for c in clients:
            if c.name in medians:
                v = values[c.name]
                med = medians[c.name]
                spread = f"{(max(v) - min(v)) / med * 100:.0f}%" if med else "-"
                vs = [
                    "1.00x" if o == c.name else fmt_paired(paired(by_round, o, c.name, lower_is_better)) for o in ours
                ]
                cells = [c.name, fmt(med), spread, *vs]
                if has_notes:
                    cells.append(notes.get(c.name, ""))
            else:
                cells = [c.name, status.get(c.name, "no result"), *([""] * (len(head) - 2))]
            print("| " + " | ".join(cells) + " |")
        if self.profile:
            for c in runnable:
                if c.name in OURS and c.name not in status:
                    print_profile(key, c)
        if targets:
            print()
        for t in targets:
            outcome = judge(t, medians, by_round, lower_is_better)
            self.outcomes.append((t.label, outcome))
            print(f"- target {t.label}: {outcome}")
        sys.stdout.flush()
        return medians


def print_profile(key: str, c: Client, top: int = 20) -> None:
    """One more round of ``c`` under cProfile (the calling thread only), the top functions by own time."""
    prof = cProfile.Profile()
    prof.enable()
    try:
        c.fn()
    finally:
        prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    print(f"\ncProfile of one more {c.name} round of {key} (this thread only; top {top} by own time):\n")
    print("```")
    print("\n".join(lines[-top - 2 :]))
    print("```")


def ratio(medians: dict[str, float], ours: str, other: str, lower_is_better: bool) -> float:
    """How much better ``ours`` is than ``other`` (>1: better)."""
    a, b = medians[ours], medians[other]
    if lower_is_better:
        return b / a if a else float("inf")
    return a / b if b else float("inf")


def paired(by_round: Sequence[dict[str, float]], ours: str, other: str, lower_is_better: bool) -> list[float]:
    """``ratio`` of ``ours`` to ``other`` in each round where both have a result, sorted."""
    return sorted(ratio(r, ours, other, lower_is_better) for r in by_round if ours in r and other in r)


def judge(t: Target, medians: dict[str, float], by_round: Sequence[dict[str, float]], lower_is_better: bool) -> str:
    """``met (1.27x http.client)`` / ``NOT met (...)`` / ``not measured (...)``: the median of the
    per-round ratios to the best peer (the one with the best median)."""
    present = [p for p in t.peers if p in medians]
    if t.ours not in medians or not present:
        return f"not measured ({t.ours} or {'/'.join(t.peers)} has no result)"
    best = max(present, key=lambda p: -medians[p] if lower_is_better else medians[p])
    r = statistics.median(paired(by_round, t.ours, best, lower_is_better))
    word = "met" if r >= t.factor else "NOT met"
    shown = f"{r:.3f}" if abs(r - t.factor) < 0.01 else f"{r:.2f}"  # 0.998 must not read as 1.00
    return f"{word} ({t.ours} is {shown}x {best}, target {t.factor:g}x)"


def fmt(v: float) -> str:
    """Three significant figures or so, thousands separated."""
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_ratio(r: float) -> str:
    return f"{r:.2f}x"


def fmt_paired(rs: list[float]) -> str:
    """The median of per-round ratios, with their range when there is more than one round."""
    if not rs:
        return "-"
    if len(rs) == 1:
        return fmt_ratio(rs[0])
    return f"{fmt_ratio(statistics.median(rs))} ({rs[0]:.2f}-{rs[-1]:.2f})"


# -- servers ----------------------------------------------------------------------------------


def raise_nofile(want: int = 8192) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``want`` (up to the hard limit); return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


@dataclass(frozen=True)
class Pinning:
    """Which CPUs the clients run on and which the servers do (empty: no pinning).

    On a small machine the scheduler moves the client, its threads and the server between
    CPUs from one round to the next, and a round trip costs more when they land on different
    CPUs than on one: a ping-pong figure then depends on placement more than on the client.
    Pinned, every client runs on the same CPU and the servers on the others, so the figures
    compare what the clients do.
    """

    client: frozenset[int] = frozenset()
    servers: frozenset[int] = frozenset()

    @staticmethod
    def choose() -> Pinning:
        """The first allowed CPU for the clients, the rest for the servers (none with one CPU)."""
        if not hasattr(os, "sched_getaffinity"):
            return Pinning()
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return Pinning()
        return Pinning(frozenset(cpus[:1]), frozenset(cpus[1:]))

    def __str__(self) -> str:
        if not self.client:
            return "not pinned"
        return f"clients pinned to CPU {_cpus(self.client)}, servers to CPU {_cpus(self.servers)}"

    def pin_client(self) -> None:
        """Pin the calling thread (and the threads it starts later) to the client CPUs."""
        if self.client:
            os.sched_setaffinity(0, self.client)

    @contextlib.contextmanager
    def server_side(self) -> Iterator[None]:
        """Processes started inside run on the server CPUs (they inherit the affinity)."""
        if not self.client:
            yield
            return
        os.sched_setaffinity(0, self.servers)
        try:
            yield
        finally:
            os.sched_setaffinity(0, self.client)


def _cpus(cpus: frozenset[int]) -> str:
    return ",".join(str(c) for c in sorted(cpus))


class Servers:
    """The loopback servers of the run, each started on first use and stopped at the end."""

    def __init__(self, pinning: Pinning | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="gun-bench-"))
        self.pinning = pinning or Pinning()
        self._nginx: Any = None
        self._ws: tuple[subprocess.Popen[str], int] | None = None

    def nginx(self) -> Any:
        """Debian's nginx (tests/servers/nginx.py's config, tuned for benchmarks, plus ``/gig``)."""
        if self._nginx is None:
            binary = which("nginx")
            if binary is None:
                raise SystemExit("nginx is not installed (apt install nginx): every HTTP workload needs it")
            from bench.servers import BenchNginx
            from tests.servers.certs import make_test_ca

            raise_nofile()
            server = BenchNginx(binary, self.folder / "nginx", make_test_ca(self.folder / "ca"))
            with self.pinning.server_side():
                server.start()
            self._nginx = server
        return self._nginx

    def ws_echo(self) -> int:
        """The port of the websocket echo server (bench/wsecho.py in a subprocess)."""
        if self._ws is None:
            with self.pinning.server_side():
                proc = subprocess.Popen(
                    [sys.executable, str(ROOT / "bench" / "wsecho.py")],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                proc.wait(5)
                raise SystemExit("the websocket echo server (bench/wsecho.py) did not start")
            self._ws = (proc, int(line))
        return self._ws[1]

    def stop(self) -> None:
        if self._nginx is not None:
            self._nginx.stop()
            self._nginx = None
        if self._ws is not None:
            proc, _ = self._ws
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            self._ws = None
        shutil.rmtree(self.folder, ignore_errors=True)
