"""Shared helpers of the benchmarks: statistics, process memory from /proc, machine facts.

Nothing here measures anything by itself. Percentiles are linear interpolations between
order statistics (p99 of 500 samples is between the 5th and 6th largest); memory is read
from ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``) so the benchmarks need no extra package.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = [
    "BENCH_DIR",
    "OUT_DIR",
    "ROOT",
    "RssSampler",
    "Stats",
    "descendants",
    "machine_info",
    "percentile",
    "rss_kib",
    "sched_ns",
    "stats",
]

BENCH_DIR: Final = Path(__file__).resolve().parent
ROOT: Final = BENCH_DIR.parent
OUT_DIR: Final = BENCH_DIR / "out"


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of already sorted values, linearly interpolated."""
    if not sorted_values:
        return float("nan")
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return sorted_values[lo] * (1 - frac) + sorted_values[hi] * frac


@dataclass(frozen=True, slots=True)
class Stats:
    """Summary of timings, in seconds."""

    n: int
    p50: float
    p99: float
    mean: float
    minimum: float
    maximum: float

    def ms(self, what: str = "p50") -> float:
        return float(getattr(self, what)) * 1e3


def stats(values: Iterable[float]) -> Stats:
    ordered = sorted(values)
    if not ordered:
        nan = float("nan")
        return Stats(0, nan, nan, nan, nan, nan)
    return Stats(
        n=len(ordered),
        p50=percentile(ordered, 50),
        p99=percentile(ordered, 99),
        mean=sum(ordered) / len(ordered),
        minimum=ordered[0],
        maximum=ordered[-1],
    )


# ------------------------------------------------------------------------- processes


def _status_field(pid: int, name: str) -> int:
    """A ``kB`` field of /proc/<pid>/status in KiB (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(name.encode() + b":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
        return 0
    return 0


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` now, in KiB."""
    return _status_field(pid, "VmRSS")


def hwm_kib(pid: int) -> int:
    """Peak resident set size of ``pid`` since it started (``VmHWM``), in KiB."""
    return _status_field(pid, "VmHWM")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
        rest = data[data.rfind(b")") + 2 :].split()
        if len(rest) > 1:
            children.setdefault(int(rest[1]), []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (children, grandchildren, ...)."""
    tree = _children_map()
    found: list[int] = []
    todo = list(tree.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(tree.get(child, []))
    return found


def sched_ns(pids: Iterable[int]) -> tuple[int, int]:
    """Nanoseconds the threads of ``pids`` have spent on a CPU, and waiting for one (in a run
    queue), from ``/proc/<pid>/task/*/schedstat``. Threads that exited are not counted."""
    run = wait = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat", "rb") as f:
                    fields = f.read().split()
            except OSError:
                continue
            run += int(fields[0])
            wait += int(fields[1])
    return run, wait


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@dataclass
class RssSampler:
    """Samples the RSS of process groups in a background thread while a block runs.

    ``groups`` maps a label to a function returning the pids of that group (evaluated at
    every sample, so processes started meanwhile are counted); the peak of each group's
    summed RSS is kept.
    """

    groups: dict[str, Callable[[], list[int]]]
    interval: float = 0.005
    peaks_kib: dict[str, int] = field(default_factory=dict)
    baseline_kib: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self) -> dict[str, int]:
        return {name: sum(rss_kib(p) for p in pids()) for name, pids in self.groups.items()}

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, value in self._sample().items():
                if value > self.peaks_kib.get(name, 0):
                    self.peaks_kib[name] = value
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.baseline_kib = self._sample()
        self.peaks_kib = dict(self.baseline_kib)
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for name, value in self._sample().items():
            self.peaks_kib[name] = max(self.peaks_kib.get(name, 0), value)


# ------------------------------------------------------------------------- the machine


def _command_output(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info() -> dict[str, str]:
    """CPU model, cores, RAM, kernel, GHC, Python and hint versions."""
    cpu = "unknown"
    try:
        text = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
        if found:
            cpu = found.group(1).strip()
    except OSError:
        pass
    mem_kib = 0
    try:
        found_mem = re.search(r"^MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text(),
                              re.MULTILINE)
        if found_mem:
            mem_kib = int(found_mem.group(1))
    except OSError:
        pass
    hint = _command_output(["ghc-pkg", "field", "hint", "version", "--simple-output"])
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count() or 0),
        "affinity": str(len(os.sched_getaffinity(0))),
        "ram": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "ghc": _command_output(["ghc", "--numeric-version"]) or "not found",
        "python": sys.version.split()[0],
        "hint": hint.splitlines()[0] if hint else "not installed",
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }
