"""Where the shim's per-request CPU goes: a breakdown of the server's hot path.

Usage::

    .venv/bin/python -m bench.hotpath                 # 2000 × execStmt "1 + 1"
    .venv/bin/python -m bench.hotpath --op type -n 3000 --stmt map

What it does: starts a server process (``python -m bench.hotpath --serve …``) that installs
CPU-time accounting before running ``core.cli.main`` — every event-loop callback is timed
with ``time.thread_time_ns`` and filed under its task's coroutine (or the callback's name),
``select`` is timed apart, and a list of server functions on the request path (parsing,
validation, encoding, GHCi reads) is wrapped with the same timer (their time is *also*
inside the task that called them). It counts the reads of GHCi's pipes and how many bytes
each returned, which shows how many times the server wakes up per command. The client
sends ``-n`` requests of one kind over a Unix socket; then the server is stopped and the
table printed: CPU µs per request for each entry, calls per request, the server's user and
system CPU from ``/proc/<pid>/stat``, and this (client) process's own CPU per request.

It measures CPU, not latency, so it stays meaningful on a busy machine. The wrapped
functions are looked up by name; a name that no longer exists is reported and skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import collections
import functools
import importlib
import inspect
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import ROOT

__all__ = ["main"]

# (module, qualified name) of synchronous functions on the request path.
WRAPPED: tuple[tuple[str, str], ...] = (
    ("core.server.session", "classify"),
    ("core.server.session", "bound_names"),
    ("core.server.session", "check_sendable"),
    ("core.server.session", "split_exception"),
    ("core.server.session", "parse_diagnostics"),
    ("core.server.session", "_leading_diagnostics"),
    ("core.server.session", "_after_dcolon"),
    ("core.protocol.connection", "ServerConnection.next_event"),
    ("core.protocol.connection", "ServerConnection.send"),
    ("core.protocol.connection", "encode_message"),
    ("core.server.server", "Link.reply"),
    ("core.server.ghci_pipes", "_Stream.read"),
    ("core.server.ghci_pipes", "_Stream.drain"),
    ("core.server.ghci_pipes", "_Collection.feed_out"),
    ("core.server.output", "StderrStreamer.feed"),
    ("core.server.session", "Session._note_bindings"),
    # System calls and transports (time in the kernel included: a write that wakes the
    # reader costs the writer more on a virtual machine).
    ("os", "write"),
    ("os", "ftruncate"),
    ("os", "lseek"),
    ("asyncio.selector_events", "_SelectorSocketTransport.write"),
    ("asyncio.unix_events", "_UnixWritePipeTransport.write"),
)


# ------------------------------------------------------------------------- server side


def _install_accounting(out_path: str) -> None:
    acc: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    reads: collections.Counter[str] = collections.Counter()
    clock = time.thread_time_ns

    original_run = asyncio.events.Handle._run

    def timed_run(self: asyncio.events.Handle) -> None:
        callback = self._callback  # type: ignore[attr-defined]
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, asyncio.Task):
            key = "task " + owner.get_coro().__qualname__  # type: ignore[union-attr]
        else:
            key = "callback " + getattr(callback, "__qualname__", type(callback).__name__)
        t0 = clock()
        original_run(self)
        entry = acc[key]
        entry[0] += clock() - t0
        entry[1] += 1

    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]

    original_select = selectors.EpollSelector.select

    def timed_select(self: selectors.EpollSelector, timeout: float | None = None) -> Any:
        t0 = clock()
        result = original_select(self, timeout)
        entry = acc["event loop: select()"]
        entry[0] += clock() - t0
        entry[1] += 1
        return result

    selectors.EpollSelector.select = timed_select  # type: ignore[method-assign,assignment]

    missing: list[str] = []
    for module_name, qualname in WRAPPED:
        try:
            owner: Any = importlib.import_module(module_name)
            parts = qualname.split(".")
            for part in parts[:-1]:
                owner = getattr(owner, part)
            function = getattr(owner, parts[-1])
        except (ImportError, AttributeError):
            missing.append(f"{module_name}.{qualname}")
            continue
        if inspect.iscoroutinefunction(function) or getattr(function, "__wrapped__", None):
            missing.append(f"{module_name}.{qualname} (a coroutine)")
            continue
        setattr(owner, parts[-1], _timed(function, f"  fn {qualname}", acc, reads))

    def dump() -> None:
        with open(out_path, "w") as f:
            json.dump({"acc": acc, "reads": reads, "missing": missing}, f)

    # The server stops on SIGTERM through its own handler and exits normally.
    atexit.register(dump)


def _timed(function: Callable[..., Any], key: str, acc: dict[str, list[int]],
           reads: collections.Counter[str]) -> Callable[..., Any]:
    clock = time.thread_time_ns
    is_read = key.endswith(("_Stream.read", "_Stream.drain"))

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        try:
            result = function(*args, **kwargs)
        finally:
            entry = acc[key]
            entry[0] += clock() - t0
            entry[1] += 1
        if is_read:
            size = len(result)
            bucket = "0 (nothing)" if size == 0 else ("1" if size == 1 else (
                "2-39" if size < 40 else "40+"))
            reads[f"fd {args[0].fd}: {bucket} bytes"] += 1
        return result

    return wrapper


def _serve(argv: Sequence[str]) -> int:
    out_path = os.environ["GHC_SHIM_HOTPATH_OUT"]
    if os.environ.get("GHC_SHIM_HOTPATH_PYINSTRUMENT"):
        return _serve_sampled(argv, out_path)
    _install_accounting(out_path)
    from core.cli import main as cli_main
    from core.server import transport

    # The accounting hooks asyncio's own loop (its selector and handles); uvloop's loop,
    # which the server runs on otherwise, is C code that cannot be instrumented this way.
    # The figures are therefore those of the standard loop (somewhat higher).
    transport.event_loop_factory = lambda: asyncio.new_event_loop

    return cli_main(["serve", *argv])


def _serve_sampled(argv: Sequence[str], out_path: str) -> int:
    """The server as it runs in production (uvloop), sampled by pyinstrument."""
    from pyinstrument import Profiler

    from core.cli import main as cli_main

    profiler = Profiler(interval=0.0001, async_mode="disabled")
    profiler.start()
    try:
        return cli_main(["serve", *argv])
    finally:
        profiler.stop()
        with open(out_path, "w") as f:
            f.write(profiler.output_text(unicode=True, color=False, show_all=False))


# ------------------------------------------------------------------------- client side


def _ticks(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def _drive(op: str, stmt: str, count: int, sampled: bool = False) -> int:
    from core.client import connect

    workdir = tempfile.mkdtemp(prefix="ghc-shim-hotpath-")
    sock = os.path.join(workdir, "s.sock")
    out_path = os.path.join(workdir, "cpu.json")
    env = dict(os.environ, GHC_SHIM_HOTPATH_OUT=out_path)
    if sampled:
        env["GHC_SHIM_HOTPATH_PYINSTRUMENT"] = "1"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([sys.executable, "-m", "bench.hotpath", "--serve", "--listen",
                             f"unix:{sock}"], env=env, cwd=str(ROOT))
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(sock):
            if proc.poll() is not None or time.monotonic() > deadline:
                print("the server did not start", file=sys.stderr)
                return 1
            time.sleep(0.05)
        time.sleep(0.2)
        with connect(f"unix:{sock}", client_name="bench.hotpath") as client, \
                client.open_session() as session:
            out: list[str] = []

            def call() -> None:
                if op == "type":
                    session.expr_type(stmt)
                elif op == "eval":
                    session.eval(stmt)
                else:
                    session.exec_stmt(stmt, on_output=lambda _s, text: out.append(text))

            for _ in range(min(100, count)):
                call()
            user0, sys0 = _ticks(proc.pid)
            mine0 = os.times()
            t0 = time.perf_counter()
            for _ in range(count):
                call()
            wall = time.perf_counter() - t0
            user1, sys1 = _ticks(proc.pid)
            mine1 = os.times()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if sampled:
        print(f"{op} {stmt!r} × {count}: {wall / count * 1e3:.3f} ms per request (wall); "
              f"server user {(user1 - user0) / os.sysconf('SC_CLK_TCK') / count * 1e6:.0f} µs "
              "per request (under the sampler)\n")
        print(Path(out_path).read_text())
        return 0
    with open(out_path) as f:
        data = json.load(f)
    total_calls = count + min(100, count)
    tick = os.sysconf("SC_CLK_TCK")
    print(f"{op} {stmt!r} × {count}: {wall / count * 1e3:.3f} ms per request (wall); server "
          f"user {(user1 - user0) / tick / count * 1e6:.0f} µs + system "
          f"{(sys1 - sys0) / tick / count * 1e6:.0f} µs; this client process user "
          f"{(mine1.user - mine0.user) / count * 1e6:.0f} µs + system "
          f"{(mine1.system - mine0.system) / count * 1e6:.0f} µs per request")
    print("\nServer CPU per request (event-loop entries; indented 'fn' entries are inside "
          "them), over all requests incl. warm-up:")
    acc: dict[str, list[int]] = data["acc"]
    for key, (ns, calls) in sorted(acc.items(), key=lambda kv: -kv[1][0]):
        per = ns / total_calls / 1e3
        if per < 0.5:
            continue
        print(f"  {per:8.1f} µs  {calls / total_calls:6.2f}×  {key}")
    print("\nReads of GHCi's pipes per request (fd: bytes returned):")
    for key, calls in sorted(data["reads"].items(), key=lambda kv: -kv[1]):
        print(f"  {calls / total_calls:6.2f}  {key}")
    if data["missing"]:
        print(f"\nnot found (renamed in core?): {', '.join(data['missing'])}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--serve":
        return _serve(args[1:])
    parser = argparse.ArgumentParser(prog="python -m bench.hotpath", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--op", choices=["stmt", "type", "eval"], default="stmt")
    parser.add_argument("--stmt", default=None, help="statement/expression (default 1 + 1)")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--pyinstrument", action="store_true",
                        help="sample the server (on uvloop, as in production) with pyinstrument "
                             "and print its call tree instead of the per-callback accounting")
    ns = parser.parse_args(args)
    stmt = ns.stmt or {"stmt": "1 + 1", "type": "map", "eval": "[1 .. 1000 :: Int]"}[ns.op]
    return _drive(ns.op, stmt, ns.n, ns.pyinstrument)


if __name__ == "__main__":
    sys.exit(main())
