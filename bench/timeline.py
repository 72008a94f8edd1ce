"""The critical path of one request, as a timeline across the client, the server and GHCi.

Usage::

    .venv/bin/python -m bench.timeline              # 1500 × execStmt "1 + 1"
    .venv/bin/python -m bench.timeline -n 3000

What it does: starts a server process (``python -m bench.timeline --serve …``) that wraps a
few functions on the request path so that each records ``time.perf_counter_ns()`` when it
runs, then serves as in production (``core.cli``, uvloop). The client (this process) records
the same clock around its own steps. ``perf_counter_ns`` reads ``CLOCK_MONOTONIC``, one clock
for every process of the machine, so the events of both processes form one timeline per
request. Then it prints the median of each segment between consecutive steps, grouped as
client, hop, server and GHCi, and times the same statement sent to a raw GHCi configured as
the shim's sessions (``bench.raw_ghci.SHIM_FLAGS``), interleaved with the shim's calls:
GHCi's own part of a call, next to the shim's.

Each probe adds about a microsecond; segments are medians over all calls, so a busy machine
moves the GHCi rows far more than the Python ones. CPU per function is ``bench.hotpath``'s.
"""

from __future__ import annotations

import argparse
import atexit
import inspect
import itertools
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.common import ROOT

__all__ = ["main"]

# Server steps: (module, qualified name, label, when). "entry" records when the function is
# called, "exit" when it returns (for a coroutine function: when its coroutine finishes).
SERVER_PROBES: tuple[tuple[str, str, str, str], ...] = (
    ("core.server.server", "Link.feed", "server: request bytes in", "entry"),
    ("core.protocol.connection", "ServerConnection.next_event", "server: request validated",
     "exit"),
    ("core.server.server", "Server._run", "server: request task starts", "entry"),
    ("core.server.session", "Session.exec_stmt", "server: session op starts", "entry"),
    ("core.server.ghci_process", "GhciProcess.run", "server: command prepared", "entry"),
    ("core.server.ghci_process", "GhciProcess._write_now", "server: command written to GHCi",
     "entry"),
    ("core.server.ghci_pipes", "GhciPipes._stdout_ready", "server: first GHCi output read",
     "entry"),
    ("core.server.ghci_process", "GhciProcess._collect", "server: GHCi's prompt arrived",
     "exit"),
    ("core.server.server", "Link._send", "server: reply written", "entry"),
)
# Which side each segment ending at a step belongs to (the step's own process, except the
# hops: from the last step of one process to the first of the next).
_HOPS = {"server: request bytes in": "hop client → server",
         "server: first GHCi output read": "GHCi (computes, prints)",
         "server: GHCi's prompt arrived": "GHCi (finishes, prompt)",
         "client: reply read": "hop server → client"}


# ------------------------------------------------------------------------- server side


def _probe(function: Callable[..., Any], label: str, when: str,
           log: list[tuple[int, str]]) -> Callable[..., Any]:
    clock = time.perf_counter_ns
    if when == "exit" and inspect.iscoroutinefunction(function):
        async def after(*args: Any, **kwargs: Any) -> Any:
            result = await function(*args, **kwargs)
            log.append((clock(), label))
            return result
        return after
    if when == "exit":
        def after_sync(*args: Any, **kwargs: Any) -> Any:
            result = function(*args, **kwargs)
            log.append((clock(), label))
            return result
        return after_sync

    def before(*args: Any, **kwargs: Any) -> Any:
        log.append((clock(), label))
        return function(*args, **kwargs)
    return before


def _serve(argv: Sequence[str]) -> int:
    import importlib

    out_path = os.environ["GHC_SHIM_TIMELINE_OUT"]
    log: list[tuple[int, str]] = []
    for module_name, qualname, label, when in SERVER_PROBES:
        owner: Any = importlib.import_module(module_name)
        *path, name = qualname.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, name, _probe(getattr(owner, name), label, when, log))

    def dump() -> None:
        with open(out_path, "w") as f:
            f.writelines(f"{t} {label}\n" for t, label in log)

    atexit.register(dump)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    from core.cli import main as cli_main
    return cli_main(["serve", *argv])


# ------------------------------------------------------------------------- client side


def _drive(count: int, stmt: str) -> int:
    from bench.raw_ghci import SHIM_FLAGS, RawGhci
    from core.client import connect
    from core.client.launcher import ServerProcess

    out_path = os.path.join(ROOT, "bench", "out", "timeline-server.txt")
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    os.environ["GHC_SHIM_TIMELINE_OUT"] = out_path
    clock = time.perf_counter_ns
    log: list[tuple[int, str]] = []
    raw_ns: list[int] = []
    raw = RawGhci(SHIM_FLAGS)
    server = ServerProcess(python_args=["-m", "bench.timeline", "--serve", "--listen"],
                           stderr=None)
    try:
        # The server's socket address is the last argument ServerProcess appends.
        with connect(server.address, client_name="bench.timeline") as client, \
                client.open_session() as session:
            io = client._channel._io  # the probes wrap the client's own reads and writes
            read, write = io.read, io.write

            def timed_read(n: int) -> bytes:
                data = read(n)
                log.append((clock(), "client: reply read"))
                return data

            def timed_write(data: bytes) -> None:
                log.append((clock(), "client: request sent"))
                write(data)

            io.read, io.write = timed_read, timed_write
            for i in range(count + 200):
                if i == 200:
                    log.clear()
                log.append((clock(), "client: call"))
                session.exec_stmt(stmt, on_output=lambda _s, _t: None)
                log.append((clock(), "client: call returns"))
                t0 = clock()
                raw.command(stmt)
                if i >= 200:
                    raw_ns.append(clock() - t0)
    finally:
        server.close()
        raw.close()
    with open(out_path) as f:
        for line in f:
            stamp, label = line.rstrip("\n").split(" ", 1)
            log.append((int(stamp), label))
    _report(sorted(log), raw_ns, stmt, count)
    return 0


def _report(events: list[tuple[int, str]], raw_ns: list[int], stmt: str, count: int) -> None:
    calls: list[dict[str, int]] = []
    for stamp, label in events:
        if label == "client: call":
            calls.append({})
        if calls:
            calls[-1].setdefault(label, stamp)  # the first time each step happened
    order = ["client: call", "client: request sent",
             *(label for _, _, label, _ in SERVER_PROBES), "client: reply read",
             "client: call returns"]
    segments: dict[str, list[float]] = {}
    for call in calls:
        if "client: call returns" not in call:
            continue
        steps = [label for label in order if label in call]
        for before, after in itertools.pairwise(steps):
            if call[after] < call[before]:
                continue  # a step that ran in another order this time
            name = _HOPS.get(after, after)
            segments.setdefault(f"{name}  (since {before})", []).append(
                (call[after] - call[before]) / 1e3)
        segments.setdefault("total", []).append(
            (call["client: call returns"] - call["client: call"]) / 1e3)
    print(f"execStmt {stmt!r} × {len(calls)} through the explicit client (µs, p50 of each "
          "segment; segments do not add up to the total's p50 exactly):")
    for name, values in segments.items():
        print(f"  {statistics.median(values):8.1f}  {name}")
    raw = statistics.median(raw_ns) / 1e3
    print(f"\nraw GHCi (shim flags), the same statement, interleaved: p50 {raw:.1f} µs")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--serve":
        # ServerProcess runs ``python -m bench.timeline --serve --listen PATH``.
        return _serve(["--listen", f"unix:{args[-1]}"])
    parser = argparse.ArgumentParser(prog="python -m bench.timeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1500)
    parser.add_argument("--stmt", default="1 + 1")
    ns = parser.parse_args(args)
    return _drive(ns.n, ns.stmt)


if __name__ == "__main__":
    sys.exit(main())
