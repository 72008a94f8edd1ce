"""Run every benchmark, print the tables and write ``bench/RESULTS.md``.

Usage::

    .venv/bin/python -m bench            # full run, about 4 minutes on 2 cores
    .venv/bin/python -m bench --quick    # about 1 minute: fewer samples, [Int] values only
    .venv/bin/python -m bench --no-hint  # without the hint baseline

Sections (each module's docstring says exactly what it measures and how):

1. ``bench.latency``     per-call latency of ``1 + 1``, ``let x = 1`` and ``:type map``:
                         compat facade and explicit client vs raw GHCi (default and shim
                         flags) vs hint, p50/p99 and ratios;
2. ``bench.opens``       session open: warm pool, cold, raw GHCi start, hint runInterpreter;
3. ``bench.values``      ``dynCompileExpr``/``Session.eval`` of ``[Int]``, ``String``,
                         ``Map Int Int`` (10^3…10^6) vs raw GHCi printing them, peak RSS;
4. ``bench.concurrency`` 1/4/16 sessions: throughput, memory, lost/mismatched replies;
5. ``bench.floor``       the same ``1 + 1`` through relays of growing weight (bytes, msgpack
                         frames, the shim's pydantic messages, msgspec structs) next to the
                         shim and raw GHCi: what the hop, the codec and the shim's machinery
                         each cost.

The table of DESIGN.md's targets (PASS/FAIL) closes the output. The exit status is 0 when
every section ran, whatever the verdicts; 1 when a section could not run (its error is
printed and written to the results). The full run writes ``bench/RESULTS.md``; ``--quick``
writes ``bench/out/RESULTS-quick.md`` (``--results PATH`` overrides either); the raw figures go
to ``bench/out/results*.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import BENCH_DIR, OUT_DIR, machine_info, stats
from bench.report import Section, Target, markdown, targets_rows, text_table, write_json
from bench.values import SIZES, Reps, default_reps

__all__ = ["main"]


@dataclass(frozen=True, slots=True)
class Plan:
    latency_rounds: int
    latency_batch: int
    latency_warmup: int
    latency_instances: int
    warm_opens: int
    cold_opens: int
    raw_starts: int
    hint_processes: int
    hint_opens: int
    settle: float
    value_kinds: tuple[str, ...]
    value_sizes: tuple[int, ...]
    value_reps: Callable[[int], Reps]
    session_counts: tuple[int, ...]
    requests: int
    threads: bool
    floor_rounds: int


FULL = Plan(
    latency_rounds=24, latency_batch=42, latency_warmup=20, latency_instances=3,
    warm_opens=20, cold_opens=8, raw_starts=8, hint_processes=3, hint_opens=6, settle=1.0,
    value_kinds=("[Int]", "String", "Map Int Int"), value_sizes=SIZES, value_reps=default_reps,
    session_counts=(1, 4, 16), requests=40, threads=True, floor_rounds=500,
)
QUICK = Plan(
    latency_rounds=4, latency_batch=25, latency_warmup=10, latency_instances=2,
    warm_opens=5, cold_opens=3, raw_starts=3, hint_processes=1, hint_opens=4, settle=1.0,
    value_kinds=("[Int]",), value_sizes=(10_000, 1_000_000),
    value_reps=lambda n: Reps(2, 1, 1),
    session_counts=(1, 4, 16), requests=8, threads=False, floor_rounds=100,
)


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _run_section(title: str, action: Callable[[], Section]) -> Section:
    print(f"\n=== {title} ...", flush=True)
    t0 = time.perf_counter()
    try:
        section = action()
    except Exception as exc:
        traceback.print_exc()
        section = Section(title, [], error=f"{type(exc).__name__}: {exc}")
        section.targets.append(Target(title, "section ran", "crashed", None))
    elapsed = time.perf_counter() - t0
    section.raw["seconds"] = elapsed
    print(f"--- {section.title} ({elapsed:.0f} s)")
    if section.error:
        print(f"ERROR: {section.error}")
    if section.rows:
        print(text_table(section.header, section.rows))
    for caption, header, rows in section.subtables:
        print(f"\n{caption}")
        print(text_table(header, rows))
    for note in section.notes:
        print(f"  * {note}")
    sys.stdout.flush()
    return section


def _find(section: Section, raw_key: str) -> dict[str, Any]:
    value = section.raw.get(raw_key)
    return value if isinstance(value, dict) else {}


def _interpretation(sections: list[Section]) -> list[str]:
    """Plain-language reading of the figures, derived from them (no fixed claims)."""
    out: list[str] = []
    by_title = {s.title.split(" (")[0]: s for s in sections}
    lat = by_title.get("Per-call latency")
    if lat is not None and not lat.error:
        table = _find(lat, "latency")

        def p50(name: str, label: str = "1 + 1") -> float:
            entry = table.get(f"{name} | {label}")
            return float(entry["p50"]) if isinstance(entry, dict) else float("nan")

        compat = p50("shim: compat execStmt/exprType")
        client = p50("shim: core.client Session")
        raw_d = p50("raw GHCi (default)")
        raw_sf = p50("raw GHCi (shim flags)")
        any_cpu = p50("raw GHCi (shim flags, any CPU)")
        framed = p50("raw GHCi (shim flags + shim framing)")
        out.append(
            f"A trivial `execStmt \"1 + 1\"` through the whole stack takes {compat * 1e3:.2f} ms "
            f"(p50) against {raw_d * 1e3:.2f} ms for raw GHCi (default) and "
            f"{raw_sf * 1e3:.2f} ms for raw GHCi configured as the shim's sessions (external "
            f"interpreter, line-buffered stdout, ghc and its interpreter on one CPU): the shim "
            f"adds {(compat - raw_sf) * 1e3:.2f} ms per call over the same GHCi configuration. "
            f"Of that, GHCi's own handling of the shim's `:{{ LINE … :}}` framing accounts for "
            f"{(framed - raw_sf) * 1e3:+.2f} ms; the rest ({(compat - framed) * 1e3:.2f} ms) is "
            f"the two extra process hops (client → server → client: each wake-up of a sleeping "
            f"process costs tens of microseconds on this virtual machine) and Python on both "
            f"sides (bench/PROFILE.md). The explicit client alone: {client * 1e3:.2f} ms. "
            f"Left to the kernel's placement, the same raw GHCi takes {any_cpu * 1e3:.2f} ms: "
            f"keeping each session's pair of processes on one CPU is worth "
            f"{(any_cpu - raw_sf) * 1e3:.2f} ms per statement."
        )
        t_compat = p50("shim: compat execStmt/exprType", ":type map")
        t_raw = p50("raw GHCi (default)", ":type map")
        out.append(
            f"`:type map` costs GHCi almost nothing ({t_raw * 1e3:.2f} ms raw), so the same "
            f"fixed cost makes `exprType` {t_compat / t_raw:.1f}× raw "
            f"({t_compat * 1e3:.2f} ms): there is no target for it, but it shows the floor of "
            f"the shim's per-request cost."
        )
    opens = by_title.get("Session open time")
    if opens is not None and not opens.error:
        warm = _find(opens, "shim warm pool (default server) | open_session()")
        first = _find(opens, "shim warm pool (default server) | open + first \"1 + 1\"")
        close = _find(opens, "shim warm pool (default server) | close()")
        raw_first = _find(opens, "raw GHCi (shim flags) | first \"1 + 1\" after the prompt")
        shim_first = _find(opens, "shim warm pool (default server) | first \"1 + 1\" after open")
        if warm:
            fresh = ""
            if raw_first and shim_first:
                fresh = (f" (the first `1 + 1` alone: {shim_first['p50'] * 1e3:.1f} ms in the "
                         f"new session, {raw_first['p50'] * 1e3:.1f} ms in a freshly started "
                         f"raw GHCi with the same flags)")
            out.append(
                f"Opening a session from the warm pool takes {warm['p50'] * 1e3:.2f} ms (p50). "
                f"The first answer in that fresh GHCi arrives {first.get('p50', 0) * 1e3:.1f} ms "
                f"after the open began: the server runs its set-up statement before the first "
                f"user statement, a fresh GHCi's first statements are slower than later ones"
                f"{fresh}. "
                f"Closing a session is answered in {close.get('p50', 0) * 1e3:.2f} ms: GHCi "
                f"is stopped in the background (it needs ~50 ms to exit)."
            )
    values = by_title.get("Value transfer")
    if values is not None and not values.error:
        table = _find(values, "values")
        big = table.get("[Int] n=1000000")
        small = table.get("[Int] n=1000") or table.get("[Int] n=10000")
        if isinstance(big, dict):
            compat_s = stats(big["compat"]).p50
            raw_s = stats(big["raw_default"]).p50
            flags_s = stats(big["raw_shim_flags"]).p50
            out.append(
                f"10^6 `[Int]` reaches Python as a list in {compat_s * 1e3:.0f} ms, "
                f"{raw_s / compat_s:.0f}× faster than default GHCi prints it ({raw_s:.1f} s: "
                f"one write system call per character) but {compat_s / flags_s:.1f}× the time "
                f"GHCi with line-buffered stdout needs to print it ({flags_s * 1e3:.0f} ms)."
            )
        if isinstance(small, dict):
            fixed = small.get("fixed")
            shim_small = (fixed["shim"] if isinstance(fixed, dict)
                          else stats(small["shim"]).p50)
            text = (f"Small values pay a fixed cost: {shim_small * 1e3:.1f} ms for the smallest "
                    f"`[Int]` measured")
            if isinstance(fixed, dict):
                ghci = fixed["type"] + fixed["writer"]
                text += (f", of which GHCi itself needs {ghci * 1e3:.1f} ms for the two "
                         f"commands the server sends (`:type +d`, {fixed['type'] * 1e3:.2f} ms; "
                         f"compiling and running the writer statement, "
                         f"{fixed['writer'] * 1e3:.1f} ms); the remaining "
                         f"{max(0.0, shim_small - ghci) * 1e3:.1f} ms are the shim's round "
                         f"trips, server work and decoding (see bench/PROFILE.md)")
            out.append(text + ".")
    conc = by_title.get("Concurrent sessions")
    if conc is not None and not conc.error:
        for target in conc.targets:
            out.append(f"Concurrency: {target.measured} ({target.verdict}).")
    floor = by_title.get("What the design costs at the least")
    if floor is not None and not floor.error:
        ratios = {row[0]: row[3] for row in floor.rows}
        steps = ", ".join(f"{name.removeprefix('relay: ')} {ratio}"
                          for name, ratio in ratios.items() if name.startswith("relay"))
        shim = next((r for n, r in ratios.items() if n.startswith("the shim")), "–")
        out.append(
            f"What the design costs at the least (× raw GHCi, same run): relays between the "
            f"driver and GHCi: {steps}; the shim {shim}. The hop itself costs nothing "
            "measurable; the wire codec and the shim's own machinery make the difference "
            "(bench/PROFILE.md)."
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a ~1-minute subset")
    parser.add_argument("--no-hint", action="store_true", help="skip the hint baseline")
    parser.add_argument("--results", type=Path, help="where to write the Markdown results")
    parser.add_argument("--only", choices=["latency", "opens", "values", "concurrency", "floor"],
                        action="append", help="run only these sections (repeatable)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    mode = "quick" if args.quick else "full"
    with_hint = not args.no_hint
    os.environ.pop("GHC_SHIM_SERVER", None)  # the default private server, as legacy code gets
    os.chdir(BENCH_DIR.parent)
    t0 = time.perf_counter()
    machine = machine_info()
    machine["load_start"] = _loadavg()
    print(f"ghc-shim benchmarks ({mode}) on {machine['cpu']}, {machine['cores']} cores, "
          f"{machine['ram']}, GHC {machine['ghc']}, Python {machine['python']}, "
          f"hint {machine['hint']}; load average {machine['load_start']}", flush=True)

    from bench.concurrency import run_concurrency
    from bench.floor import run_floor
    from bench.latency import run_latency
    from bench.opens import run_opens
    from bench.values import run_values

    sections: list[Section] = []
    wanted = set(args.only or ["latency", "opens", "values", "concurrency", "floor"])
    if "latency" in wanted:
        sections.append(_run_section("Per-call latency", lambda: run_latency(
            rounds=plan.latency_rounds, batch=plan.latency_batch, warmup=plan.latency_warmup,
            instances=plan.latency_instances,
            with_hint=with_hint)))
    if "opens" in wanted:
        sections.append(_run_section("Session open time", lambda: run_opens(
            warm=plan.warm_opens, cold=plan.cold_opens, raw=plan.raw_starts,
            hint_processes=plan.hint_processes, hint_opens=plan.hint_opens,
            settle=plan.settle, with_hint=with_hint)))
    if "values" in wanted:
        sections.append(_run_section("Value transfer", lambda: run_values(
            kinds=list(plan.value_kinds), sizes=list(plan.value_sizes),
            reps=plan.value_reps, with_hint=with_hint)))
    if "concurrency" in wanted:
        sections.append(_run_section("Concurrent sessions", lambda: run_concurrency(
            counts=list(plan.session_counts), requests=plan.requests, threads=plan.threads)))
    if "floor" in wanted:
        sections.append(_run_section("What the design costs at the least", lambda: run_floor(
            rounds=plan.floor_rounds)))

    wall = time.perf_counter() - t0
    machine["load_end"] = _loadavg()
    rows = targets_rows(sections)
    print("\n=== Targets (DESIGN.md)")
    print(text_table(["target", "goal", "measured", "verdict"], rows))
    interpretation = _interpretation(sections)
    interpretation.append(
        f"Load average {machine['load_start']} at the start and {machine['load_end']} at the "
        "end of the run (other jobs on this 2-core machine make single figures noisy; every "
        "comparison above is interleaved or run back to back in the same run)."
    )
    command = "python -m bench" + (" --quick" if args.quick else "")
    results = args.results or (BENCH_DIR / "RESULTS.md" if not args.quick
                               else OUT_DIR / "RESULTS-quick.md")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(markdown(sections, machine, mode=mode, wall=wall, command=command,
                                interpretation=interpretation))
    write_json(OUT_DIR / f"results-{mode}.json", sections, machine, mode)
    failed = [r[0] for r in rows if r[3] == "FAIL"]
    print(f"\nwrote {results} ({wall:.0f} s); "
          + (f"targets FAILED: {', '.join(failed)}" if failed else "no target failed"))
    crashed = [s.title for s in sections if s.error]
    if crashed:
        print(f"sections that could not run: {', '.join(crashed)}")
        return 1
    return 0
