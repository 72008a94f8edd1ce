"""Throughput and memory with 1, 4 and 16 concurrent sessions; lost or mismatched replies.

What: N sessions (N = 1, 4, 16) on one connection to the default private server, each
binding its own value ``v = K_i`` (distinct per session) and then sending ``requests``
requests as fast as its replies come back: three of four are ``exec_stmt("v + j")``
(the printed text must be ``K_i + j``), every fourth ``eval("v * 2 + j")`` (the Python value
must be ``2 K_i + j``). A reply that is missing (an exception, a time-out) counts as lost; a
wrong one as mismatched. Two client flavours: ``core.client.aio`` (one asyncio connection,
one task per session) and the blocking ``core.client.Client`` shared by N threads (its
channel parks replies for other threads: this checks that routing).

Reported: requests per second over the load phase, per-request p50/p99, RSS of the server
process tree (server, its GHCi and ghc-iserv processes) — peak during the load, and per
session (tree with N sessions open minus the tree before opening, divided by N) — and the
GHCi processes left after the sessions closed (the pool's only) and after the server
stopped (none).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench.common import RssSampler, descendants, process_name, rss_kib, stats
from bench.report import Section, Target, fmt_ms
from bench.servers import ghci_pids, server_pids

if TYPE_CHECKING:
    from core.client import Session

__all__ = ["run_concurrency"]


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    mismatched: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, latency: float | None, ok: bool, error: str = "") -> None:
        with self.lock:
            if latency is None:
                self.lost += 1
                if len(self.errors) < 5:
                    self.errors.append(error)
            else:
                self.latencies.append(latency)
                if not ok:
                    self.mismatched += 1


def _collector(out: list[str]) -> Callable[[str, str], None]:
    def on_output(_stream: str, text: str) -> None:
        out.append(text)

    return on_output


def _key(i: int) -> int:
    return 1_000_003 * (i + 1)


def _tree_kib(pid: int) -> int:
    return rss_kib(pid) + sum(rss_kib(p) for p in descendants(pid))


def _steady(run: _Run, server_pid: int) -> None:
    """Memory with every session open and bound: the tree, and per GHCi (ghc + iserv)."""
    children = descendants(server_pid)
    run.steady_kib = rss_kib(server_pid) + sum(rss_kib(p) for p in children)
    ghcis = ghci_pids(server_pid)
    run.seen_ghci = set(ghcis)
    if ghcis:
        run.per_ghci_kib = sum(rss_kib(p) for p in children) / len(ghcis)


@dataclass
class _Run:
    flavour: str
    sessions: int
    requests: int
    wall: float = 0.0
    open_wall: float = 0.0
    tally: _Tally = field(default_factory=_Tally)
    before_kib: int = 0
    steady_kib: int = 0
    peak_kib: int = 0
    per_ghci_kib: float = 0.0
    ghci_after_close: int = -1
    seen_ghci: set[int] = field(default_factory=set)


async def _async_run(n: int, requests: int) -> tuple[_Run, int]:
    from core.client import aconnect

    run = _Run("asyncio (core.client.aio)", n, requests)
    before = server_pids()
    client = await aconnect(client_name="bench.concurrency")
    new = server_pids() - before
    server_pid = new.pop() if len(new) == 1 else -1
    try:
        await asyncio.sleep(0.5)  # let the pool fill, as a long-running server's would be
        run.before_kib = _tree_kib(server_pid)
        t0 = time.perf_counter()
        sessions = await asyncio.gather(*(client.open_session() for _ in range(n)))
        run.open_wall = time.perf_counter() - t0
        for i, s in enumerate(sessions):
            await s.exec_stmt(f"let v = {_key(i)} :: Int")
        _steady(run, server_pid)

        async def worker(i: int) -> None:
            s = sessions[i]
            k = _key(i)
            for j in range(requests):
                t = time.perf_counter()
                try:
                    if j % 4 == 3:
                        value = (await s.eval(f"v * 2 + {j}")).value
                        ok = value == 2 * k + j
                    else:
                        out: list[str] = []
                        await s.exec_stmt(f"v + {j}", on_output=_collector(out))
                        ok = "".join(out) == f"{k + j}\n"
                except Exception as exc:
                    run.tally.record(None, False, f"{type(exc).__name__}: {exc}")
                    continue
                run.tally.record(time.perf_counter() - t, ok)

        with RssSampler({"tree": lambda: [server_pid, *descendants(server_pid)]},
                        interval=0.02) as sampler:
            t0 = time.perf_counter()
            await asyncio.wait_for(asyncio.gather(*(worker(i) for i in range(n))), 600)
            run.wall = time.perf_counter() - t0
        run.peak_kib = sampler.peaks_kib["tree"]
        await asyncio.gather(*(s.close() for s in sessions))
        run.ghci_after_close = await asyncio.to_thread(_settled_ghci, server_pid)
    finally:
        await client.close()
    return run, server_pid


def _settled_ghci(server_pid: int, wait: float = 5.0) -> int:
    """GHCi processes of the server once closing and pool refill have settled."""
    deadline = time.monotonic() + wait
    count = len(ghci_pids(server_pid))
    while time.monotonic() < deadline:
        time.sleep(0.25)
        count = len(ghci_pids(server_pid))
        if count <= 1:
            break
    return count


def _thread_run(n: int, requests: int) -> tuple[_Run, int]:
    from core.client import connect

    run = _Run("threads (blocking core.client, shared)", n, requests)
    before = server_pids()
    client = connect(client_name="bench.concurrency.threads")
    new = server_pids() - before
    server_pid = new.pop() if len(new) == 1 else -1
    try:
        time.sleep(0.5)
        run.before_kib = _tree_kib(server_pid)
        t0 = time.perf_counter()
        sessions: list[Session | None] = [None] * n
        errors: list[BaseException] = []

        def opener(i: int) -> None:
            try:
                s = client.open_session()
                s.exec_stmt(f"let v = {_key(i)} :: Int")
                sessions[i] = s
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=opener, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise RuntimeError(f"opening sessions failed: {errors[0]!r}")
        run.open_wall = time.perf_counter() - t0
        _steady(run, server_pid)

        def worker(i: int) -> None:
            s = sessions[i]
            assert s is not None
            k = _key(i)
            for j in range(requests):
                t = time.perf_counter()
                try:
                    if j % 4 == 3:
                        ok = s.eval(f"v * 2 + {j}").value == 2 * k + j
                    else:
                        out: list[str] = []
                        s.exec_stmt(f"v + {j}", on_output=_collector(out))
                        ok = "".join(out) == f"{k + j}\n"
                except Exception as exc:
                    run.tally.record(None, False, f"{type(exc).__name__}: {exc}")
                    continue
                run.tally.record(time.perf_counter() - t, ok)

        with RssSampler({"tree": lambda: [server_pid, *descendants(server_pid)]},
                        interval=0.02) as sampler:
            t0 = time.perf_counter()
            threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(600)
            run.wall = time.perf_counter() - t0
        run.peak_kib = sampler.peaks_kib["tree"]
        for s in sessions:
            if s is not None:
                s.close()
        run.ghci_after_close = _settled_ghci(server_pid)
    finally:
        client.close()
    return run, server_pid


def _gone(pids: set[int], wait: float = 10.0) -> set[int]:
    """Those of ``pids`` still alive (as GHCi) after up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        alive = {p for p in alive if os.path.exists(f"/proc/{p}") and process_name(p) == "ghc"}
        if alive:
            time.sleep(0.1)
    return alive


def run_concurrency(*, counts: list[int], requests: int, threads: bool = True) -> Section:
    section = Section(
        "Concurrent sessions (throughput, memory, lost/mismatched replies)",
        ["client", "sessions", "requests", "lost", "mismatched", "req/s", "p50", "p99",
         "open all", "tree peak RSS", "RSS / GHCi", "GHCi left"],
    )
    runs: list[_Run] = []
    leftovers: set[int] = set()
    for n in counts:
        run, _ = asyncio.run(_async_run(n, requests))
        runs.append(run)
        leftovers |= _gone(run.seen_ghci)
    if threads:
        for n in counts:
            run, _ = _thread_run(n, requests)
            runs.append(run)
            leftovers |= _gone(run.seen_ghci)
    total_bad = 0
    for run in runs:
        st = stats(run.tally.latencies)
        done = len(run.tally.latencies)
        per = run.per_ghci_kib / 1024
        section.rows.append([
            run.flavour, str(run.sessions), f"{done + run.tally.lost}", str(run.tally.lost),
            str(run.tally.mismatched), f"{done / run.wall:.0f}" if run.wall else "–",
            fmt_ms(st.p50), fmt_ms(st.p99), fmt_ms(run.open_wall),
            f"{run.peak_kib / 1024:.0f} MiB", f"{per:.0f} MiB", str(run.ghci_after_close),
        ])
        total_bad += run.tally.lost + run.tally.mismatched
        if run.tally.errors:
            section.notes.append(f"{run.flavour} × {run.sessions}: lost replies: "
                                 f"{'; '.join(run.tally.errors)}")
        section.raw[f"{run.flavour} x{run.sessions}"] = {
            "wall": run.wall, "done": done, "lost": run.tally.lost,
            "mismatched": run.tally.mismatched, "p50": st.p50, "p99": st.p99,
            "open_wall": run.open_wall, "before_kib": run.before_kib,
            "steady_kib": run.steady_kib, "peak_kib": run.peak_kib,
            "per_ghci_kib": run.per_ghci_kib,
            "ghci_after_close": run.ghci_after_close,
        }
    section.notes += [
        "Each session binds its own v = K_i and checks every answer against K_i: a reply "
        "routed to the wrong request or session would be counted as mismatched.",
        "RSS / GHCi: resident memory of the server's children (each GHCi is a ghc process "
        "and its ghc-iserv) divided by the number of ghc processes, with every session open.",
        "\"GHCi left\": ghc processes of the server after all sessions closed (the warm pool "
        "keeps 1). After each server stopped, GHCi processes still alive: "
        f"{len(leftovers)}.",
        "req/s counts requests of all sessions together over the load phase (2 cores: "
        "GHCi's own work per request bounds it).",
    ]
    biggest = max(counts)
    big_runs = [r for r in runs if r.sessions == biggest]
    bad_big = sum(r.tally.lost + r.tally.mismatched for r in big_runs)
    done_big = sum(len(r.tally.latencies) for r in big_runs)
    section.targets.append(Target(
        f"{biggest} concurrent sessions: no reply lost or mismatched",
        "0 lost, 0 mismatched, no GHCi left",
        f"{bad_big} bad of {done_big + sum(r.tally.lost for r in big_runs)} replies; "
        f"{len(leftovers)} GHCi outlived their server",
        bad_big == 0 and not leftovers and done_big > 0,
    ))
    return section
