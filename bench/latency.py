"""Per-call latency of trivial requests: the shim's full stack vs raw GHCi vs ``hint``.

What: the wall time of one call, seen from this Python process, for three inputs —

* ``1 + 1`` — the trivial statement the DESIGN.md overhead target is judged on (GHCi
  evaluates it, binds ``it`` and prints ``2``: the whole output path is exercised);
* ``let x = 1`` — a statement that binds and prints nothing (shown, not judged);
* ``:type map`` — a query that runs no code (``expr_type`` / ``exprType``).

Stacks: ``compat.ghc_api.execStmt`` / ``exprType`` inside ``runGhc`` (facade → client →
msgpack over pipes → server → GHCi; the default private server, no set-up), the explicit
``core.client.Session.exec_stmt`` / ``expr_type`` (its own private server), raw GHCi in its
default configuration and with the shim's flags (``bench.raw_ghci``), the same raw GHCi fed
the exact text the shim sends for a statement (``:{``, a LINE pragma, the statement, ``:}``:
it separates GHCi's own cost of that framing from the shim's Python/IPC cost), and ``hint``
(``runStmt`` / ``typeOf`` / ``interpret``; round trip over pipes, and in-process time).

How: every stack is started and warmed up first; then ``rounds`` rounds each run ``batch``
calls per stack and input, the stack order rotating every round, so that slow drifts (GHCi's
growing interactive context, CPU frequency, other jobs on the machine) hit every stack
alike. Every answer is checked (``2``, the type text, the bound names); a wrong answer is
counted and reported, never timed as a success.
"""

from __future__ import annotations

import functools
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.common import descendants, sched_ns, stats
from bench.hint_driver import HintDriver, HintUnavailableError, build_driver
from bench.raw_ghci import ANY_CPU, DEFAULT, SHIM_FLAGS, RawConfig, RawGhci, iserv_path
from bench.report import Section, Target, fmt_ms, fmt_ratio
from bench.servers import embedded_client, server_pids

__all__ = ["run_latency"]

INPUTS: dict[str, str] = {"stmt": "1 + 1", "let": "let x = 1", "type": ":type map"}
MAP_TYPE = "(a -> b) -> [a] -> [b]"
OVERHEAD_TARGET = 1.10


Pids = Callable[[], list[int]]
GROUPS = ("client", "server", "ghci")


@dataclass
class _Stack:
    name: str
    # key -> call(instance): one timed call on GHCi instance ``instance`` (process or session).
    calls: dict[str, Callable[[int], bool]]
    samples: dict[str, list[float]] = field(default_factory=dict)
    inside: dict[str, list[float]] = field(default_factory=dict)
    wrong: int = 0
    # Processes whose CPU time a call of this stack uses: client (this process), server,
    # ghci (GHCi, its interpreter, or the hint driver).
    groups: dict[str, Pids] = field(default_factory=dict)
    # key -> group -> [on-CPU ns, run-queue wait ns] summed over the timed batches.
    cpu: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    # How many GHCi instances the calls rotate over (one per round), and how a batch on one
    # of them is run (compat: with that session made current).
    instances: int = 1
    run_batch: Callable[[int, Callable[[], None]], None] = lambda _i, batch: batch()


def _me() -> list[int]:
    return [os.getpid()]


def _tree(pid: int) -> Pids:
    return lambda: [pid, *descendants(pid)]


def _children(pid: int) -> Pids:
    return lambda: descendants(pid)


def _raw_stacks(name: str, config: RawConfig, iserv: str, instances: int,
                driver_cpu: int | None, framed_name: str | None = None,
                ) -> tuple[list[_Stack], list[RawGhci]]:
    """``instances`` raw GHCis of one configuration; with ``framed_name``, a second stack that
    sends the shim's framing to the same processes (so the framing's cost is measured
    without the difference between two processes)."""
    ghcis = [RawGhci(config, iserv=iserv, driver_cpu=driver_cpu) for _ in range(instances)]

    def shim_text(stmt: str) -> str:
        # What core/server/ghci_process.py sends for a statement (GhciProcess.run, line=1).
        return f':{{\n{{-# LINE 1 "<interactive>" #-}}\n{stmt}\n:}}'

    def calls(framed: bool) -> dict[str, Callable[[int], bool]]:
        def stmt(i: int) -> bool:
            text = shim_text("1 + 1") if framed else "1 + 1"
            return ghcis[i].command(text, raw=True) == b"2\n"

        def let(i: int) -> bool:
            text = shim_text("let x = 1") if framed else "let x = 1"
            return ghcis[i].command(text, raw=True) == b"" and not ghcis[i].last_stderr

        def type_(i: int) -> bool:
            return ghcis[i].command(":type map") == f"map :: {MAP_TYPE}\n".encode()

        return {"stmt": stmt, "let": let} if framed else {
            "stmt": stmt, "let": let, "type": type_}

    def pids() -> list[int]:
        return [p for g in ghcis for p in (g.proc.pid, *descendants(g.proc.pid))]

    groups: dict[str, Pids] = {"client": _me, "ghci": pids}
    stacks = [_Stack(name, calls(False), groups=groups, instances=instances)]
    if framed_name is not None:
        stacks.append(_Stack(framed_name, calls(True), groups=groups, instances=instances))
    return stacks, ghcis


def _hint_call(driver: HintDriver, stack: _Stack, key: str, op: str, arg: str,
               expect: str) -> Callable[[int], bool]:
    def run(_instance: int) -> bool:
        answer = driver.call(op, arg)
        stack.inside.setdefault(key, []).append(answer.inside)
        return answer.text == expect

    return run


def _hint_stacks(driver: HintDriver) -> list[_Stack]:
    stmts = _Stack("hint (runStmt / typeOf)", {})
    stmts.calls = {
        "stmt": _hint_call(driver, stmts, "stmt", "S", "1 + 1", "ok"),
        "let": _hint_call(driver, stmts, "let", "S", "let x = 1", "ok"),
        "type": _hint_call(driver, stmts, "type", "T", "map", MAP_TYPE),
    }
    interp = _Stack("hint (interpret \"1 + 1\" :: Int)", {})
    interp.calls = {"stmt": _hint_call(driver, interp, "stmt", "I", "1 + 1", "2")}
    for stack in (stmts, interp):
        stack.groups = {"client": _me, "ghci": _tree(driver.proc.pid)}
    return [stmts, interp]


def _client_stack(sessions: Sequence[object], server_pid: int) -> _Stack:
    from core.client import Session

    out: list[str] = []

    def on_output(stream: str, text: str) -> None:
        out.append(text)

    def session(i: int) -> Session:
        chosen = sessions[i]
        assert isinstance(chosen, Session)
        return chosen

    def stmt(i: int) -> bool:
        out.clear()
        outcome = session(i).exec_stmt("1 + 1", on_output=on_output)
        return outcome.names == ("it",) and "".join(out) == "2\n"

    def let(i: int) -> bool:
        out.clear()
        outcome = session(i).exec_stmt("let x = 1", on_output=on_output)
        return outcome.names == ("x",) and not out

    def type_(i: int) -> bool:
        return session(i).expr_type("map") == MAP_TYPE

    return _Stack("shim: core.client Session", {"stmt": stmt, "let": let, "type": type_},
                  groups={"client": _me, "server": lambda: [server_pid],
                          "ghci": _children(server_pid)},
                  instances=len(sessions))


def _compat_stack(server_pid: Callable[[], int], sessions: Sequence[object]) -> _Stack:
    from compat import ghc_api as GHC  # noqa: N812 - the facade's documented import name
    from core.client import Session

    out: list[str] = []
    opts = GHC.ExecOptions(stdout=out.append, stderr=out.append)

    def stmt(_i: int) -> bool:
        out.clear()
        result = GHC.execStmt("1 + 1", opts)  # type: ignore[deprecated]
        return (isinstance(result, GHC.ExecComplete) and isinstance(result.execResult, GHC.Right)
                and "".join(out) == "2\n")

    def let(_i: int) -> bool:
        out.clear()
        result = GHC.execStmt("let x = 1", opts)  # type: ignore[deprecated]
        return (isinstance(result, GHC.ExecComplete) and isinstance(result.execResult, GHC.Right)
                and [str(n) for n in result.execResult.value] == ["x"] and not out)

    def type_(_i: int) -> bool:
        return str(GHC.exprType(GHC.TM_Inst, "map")) == MAP_TYPE  # type: ignore[deprecated]

    def run_batch(i: int, batch: Callable[[], None]) -> None:
        # The facade's calls go to the current session: make instance i current for the batch.
        session = sessions[i]
        assert isinstance(session, Session)
        GHC.withSession(session, batch)  # type: ignore[deprecated]

    return _Stack("shim: compat execStmt/exprType", {"stmt": stmt, "let": let, "type": type_},
                  groups={"client": _me, "server": lambda: [server_pid()],
                          "ghci": lambda: descendants(server_pid())},
                  instances=len(sessions), run_batch=run_batch)


def _measure(stacks: list[_Stack], rounds: int, batch: int, warmup: int) -> None:
    for stack in stacks:
        for key, call in stack.calls.items():
            for i in range(stack.instances):
                stack.run_batch(i, functools.partial(_repeat, call, i, warmup))
            stack.samples[key] = []
            stack.inside.pop(key, None)
            stack.cpu.pop(key, None)
    for r in range(rounds):
        order = stacks[r % len(stacks):] + stacks[: r % len(stacks)]
        for stack in order:
            instance = r % stack.instances
            for key, call in stack.calls.items():
                pids = {g: f() for g, f in stack.groups.items()}
                before = {g: sched_ns(p) for g, p in pids.items()}
                stack.run_batch(instance, functools.partial(
                    _timed_batch, stack, key, call, instance, batch))
                cpu = stack.cpu.setdefault(key, {})
                for g, p in pids.items():
                    run, wait = sched_ns(p)
                    total = cpu.setdefault(g, [0, 0])
                    total[0] += run - before[g][0]
                    total[1] += wait - before[g][1]


def _measure_pinned(stacks: list[_Stack], rounds: int, batch: int, warmup: int,
                    driver_cpu: int | None) -> None:
    before = os.sched_getaffinity(0)
    if driver_cpu is not None:
        os.sched_setaffinity(0, {driver_cpu})
    try:
        _measure(stacks, rounds, batch, warmup)
    finally:
        os.sched_setaffinity(0, before)


def _repeat(call: Callable[[int], bool], instance: int, times: int) -> None:
    for _ in range(times):
        call(instance)


def _timed_batch(stack: _Stack, key: str, call: Callable[[int], bool], instance: int,
                 batch: int) -> None:
    samples = stack.samples[key]
    for _ in range(batch):
        t0 = time.perf_counter()
        ok = call(instance)
        samples.append(time.perf_counter() - t0)
        if not ok:
            stack.wrong += 1


def run_latency(*, rounds: int, batch: int, warmup: int, instances: int = 3,
                with_hint: bool = True) -> Section:
    """``instances``: GHCi processes (raw) or sessions (shim) per stack, used in turn round by
    round: two identical GHCi processes differ by a few percent here (where the kernel put
    their memory), so a ratio between two single processes would be partly luck."""
    section = Section(
        "Per-call latency (trivial statement, :type)",
        ["stack", "input", "n", "p50", "p99", "p50 ×raw", "p99 ×raw", "p50 ×raw-sf",
         "p99 ×raw-sf"],
    )
    iserv = iserv_path()
    stacks: list[_Stack] = []
    raws: list[RawGhci] = []
    # While it measures, this process (the raw driver and the shim's client) keeps to the
    # last CPU, where the shim's command-line server keeps too; the one-CPU raw GHCis are
    # placed by the shim's rule around it. Pinned only once every server has started: a
    # server inherits its starter's CPUs and places its sessions on them.
    usable = sorted(os.sched_getaffinity(0))
    driver_cpu = usable[-1] if len(usable) > 1 else None
    if len(usable) > 1:
        # No more sessions than fit beside the server's CPU (the rule fills the others with
        # two each before it uses that one): this section measures a statement's cost, not
        # CPU sharing with the server, which the concurrency section covers.
        instances = min(instances, 2 * (len(usable) - 1))
    driver: HintDriver | None = None
    hint_error = ""
    try:
        for name, config, framed_name in (
            ("raw GHCi (default)", DEFAULT, None),
            ("raw GHCi (shim flags)", SHIM_FLAGS, "raw GHCi (shim flags + shim framing)"),
            ("raw GHCi (shim flags, any CPU)", ANY_CPU, None),
        ):
            new_stacks, ghcis = _raw_stacks(name, config, iserv, instances, driver_cpu,
                                            framed_name)
            stacks.extend(new_stacks)
            raws.extend(ghcis)
        if with_hint:
            try:
                driver = HintDriver(build_driver())
                driver.start()
                stacks.extend(_hint_stacks(driver))
            except HintUnavailableError as exc:
                hint_error = str(exc)
                driver = None
        core_error = ""
        try:
            from compat import ghc_api as GHC  # noqa: N812
        except ImportError as exc:
            core_error = f"the shim cannot be imported: {exc}"
        if core_error:
            _measure_pinned(stacks, rounds, batch, warmup, driver_cpu)
            section.error = core_error
        else:
            client, server_pid = embedded_client()
            with client:
                sessions = [client.open_session() for _ in range(instances)]
                stacks.append(_client_stack(sessions, server_pid))
                compat_pid: list[int] = []

                def compat_server() -> int:
                    # The facade's shared client runs its own private server (started by
                    # runGhc before the first call): the one server that is not ours.
                    if not compat_pid:
                        others = server_pids() - {server_pid}
                        compat_pid.extend(others if len(others) == 1 else [-1])
                    return compat_pid[0]

                def body() -> None:
                    first = GHC.getSession()  # type: ignore[deprecated]
                    more = [first.client.open_session() for _ in range(instances - 1)]
                    stacks.append(_compat_stack(compat_server, [first, *more]))
                    _measure_pinned(stacks, rounds, batch, warmup, driver_cpu)
                    for extra in more:
                        extra.close()

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", GHC.GhcApiDeprecationWarning)
                    GHC.runGhc(None, body)  # type: ignore[deprecated]
                for session in sessions:
                    session.close()
    finally:
        for ghci in raws:
            ghci.close()
        if driver is not None:
            driver.close()
    _fill(section, stacks, hint_error, instances)
    return section


def _fill(section: Section, stacks: list[_Stack], hint_error: str, instances: int) -> None:
    by_name = {s.name: s for s in stacks}
    base = by_name["raw GHCi (default)"]
    base_sf = by_name["raw GHCi (shim flags)"]
    raw: dict[str, object] = {}
    for key, label in INPUTS.items():
        b = stats(base.samples.get(key, []))
        bsf = stats(base_sf.samples.get(key, []))
        for stack in stacks:
            if key not in stack.samples:
                continue
            st = stats(stack.samples[key])
            row = [stack.name, label, str(st.n), fmt_ms(st.p50), fmt_ms(st.p99),
                   fmt_ratio(st.p50 / b.p50), fmt_ratio(st.p99 / b.p99),
                   fmt_ratio(st.p50 / bsf.p50), fmt_ratio(st.p99 / bsf.p99)]
            section.rows.append(row)
            inside = stats(stack.inside.get(key, []))
            if inside.n:
                section.rows.append([f"  … {stack.name}, in-process only", label, str(inside.n),
                                     fmt_ms(inside.p50), fmt_ms(inside.p99), "", "", "", ""])
            raw[f"{stack.name} | {label}"] = {
                "p50": st.p50, "p99": st.p99, "mean": st.mean, "n": st.n,
                "inside_p50": inside.p50 if inside.n else None,
            }
    cpu_rows: list[list[str]] = []
    for key, label in INPUTS.items():
        for stack in stacks:
            cpu = stack.cpu.get(key)
            calls = len(stack.samples.get(key, []))
            if not cpu or not calls:
                continue

            def us(group: str, i: int, cpu: dict[str, list[int]] = cpu, calls: int = calls
                   ) -> float:
                return cpu[group][i] / calls / 1e3 if group in cpu else 0.0

            total = sum(us(g, 0) for g in GROUPS)
            wait = sum(us(g, 1) for g in GROUPS)
            cpu_rows.append([stack.name, label] + [
                f"{us(g, 0):.0f}" if g in cpu else "–" for g in GROUPS
            ] + [f"{total:.0f}", f"{wait:.0f}"])
            raw[f"{stack.name} | {label}"]["cpu_us"] = {  # type: ignore[index]
                g: us(g, 0) for g in cpu} | {"wait_total": wait}
    section.subtables.append((
        "CPU time per call (µs, from /proc/<pid>/task/*/schedstat; \"wait\" = time the "
        "processes were runnable but waiting for a CPU):",
        ["stack", "input", "client", "server", "GHCi/iserv/hint", "total CPU", "wait"],
        cpu_rows,
    ))
    wrong = {s.name: s.wrong for s in stacks if s.wrong}
    section.raw = {"latency": raw, "wrong_answers": wrong}
    section.notes += [
        "×raw: ratio to raw GHCi in its default configuration; ×raw-sf: ratio to raw GHCi with "
        "the shim's flags (-fexternal-interpreter, LineBuffering stdout, ghc and its "
        "interpreter on one CPU as in the shim's sessions; \"any CPU\" leaves that to the "
        "kernel). Same input, same run, interleaved rounds.",
        f"Every GHCi stack runs on {instances} GHCi processes (raw) or sessions (shim), one per "
        "round in turn: identical GHCi processes differ by up to ±4% here, so one process "
        "per stack would make a ratio partly a draw. No more than fit beside the server's "
        "(driver's) CPU: sharing it is the concurrency section's subject.",
        "Placement, alike for both: while measuring, this process (raw driver and shim "
        "client) keeps to the last CPU, where the shim's server keeps too; the shim places its "
        "sessions and this benchmark its one-CPU raw GHCis by the same rule (least used CPU, "
        "the server's or driver's own counting one more).",
        "\"shim framing\" sends the exact text the shim's driver sends for a statement "
        "(`:{`, `{-# LINE 1 \"<interactive>\" #-}`, the statement, `:}`) to the same raw "
        "GHCi processes as \"shim flags\": the part of the shim's cost that GHCi itself "
        "spends on that framing.",
        "hint rows: round trip over the driver's pipes from Python (comparable with the "
        "other rows); the in-process row is the time inside the driver alone.",
    ]
    if wrong:
        section.notes.append(f"WRONG ANSWERS (not timed as successes): {wrong}")
    if hint_error:
        section.notes.append(f"hint not measured: {hint_error}")
    shim = by_name.get("shim: compat execStmt/exprType")
    if shim is None:
        for cfg in ("default", "shim flags"):
            section.targets.append(Target(
                f"execStmt overhead vs raw GHCi ({cfg})", f"p50 ≤ {OVERHEAD_TARGET:.2f}×",
                "not measured", None))
        return
    s = stats(shim.samples["stmt"])
    for cfg, ref in (("default", base), ("shim flags", base_sf)):
        r = stats(ref.samples["stmt"])
        ratio = s.p50 / r.p50
        section.targets.append(Target(
            f"execStmt \"1 + 1\" overhead vs raw GHCi ({cfg})",
            f"p50 ≤ {OVERHEAD_TARGET:.2f}×",
            f"{fmt_ratio(ratio)} ({fmt_ms(s.p50)} vs {fmt_ms(r.p50)}; p99 "
            f"{fmt_ratio(s.p99 / r.p99)})",
            ratio <= OVERHEAD_TARGET and not shim.wrong,
        ))
