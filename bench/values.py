"""Value transfer: ``dynCompileExpr`` / ``Session.eval`` vs raw GHCi printing vs ``hint``.

What: the time until a bound Haskell value of 10^3…10^6 elements is a Python object, for
``[Int]`` (``[1 .. n]``), ``String`` (``take n (cycle ['a' .. 'z'])``) and ``Map Int Int``
(``fromList [(i, 2 * i) | i <- [1 .. n]]``):

* shim: ``core.client.Session.eval("v").value`` and the facade's
  ``dynCompileExpr("v").value`` (type query, the writer statement in GHCi, the payload
  file, the reply frame, decoding into ``list`` / ``str`` / ``dict``);
* raw GHCi printing ``v`` (GHCi's own ``print``; the answer read to the prompt marker), in
  its default configuration (``NoBuffering`` stdout: one write per character) and with the
  shim's flags (``LineBuffering``); and the floor DESIGN.md names, ``length (show v)``
  computed inside GHCi (shim flags), which moves nothing;
* hint: ``interpret "v"`` at the right type, forced in the host (nothing is copied: the
  value is already in the host's heap).

How: the value is bound and forced first (``let v = …``, then ``sum``/``length``/``size``),
so every row times the transfer alone, not building the value. Every transfer is checked
(length, first and last elements). While the shim transfers, a sampler thread reads the RSS
of the server process, of its GHCi/iserv processes, and of this (client) process every 5 ms;
the tables give each one's peak above its level just before.
"""

from __future__ import annotations

import os
import random
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.common import RssSampler, descendants, hwm_kib, stats
from bench.hint_driver import HintDriver, HintUnavailableError, build_driver
from bench.raw_ghci import DEFAULT, SHIM_FLAGS, RawGhci, iserv_path
from bench.report import Section, Target, fmt_ms, fmt_ratio
from bench.servers import embedded_client

if TYPE_CHECKING:
    from core.client import Session

__all__ = ["SIZES", "run_values"]

SIZES = (1_000, 10_000, 100_000, 1_000_000)
VALUE_TARGET = 0.10


@dataclass(frozen=True, slots=True)
class _Kind:
    name: str
    expr: Callable[[int], str]
    force: str
    hint_op: str
    check: Callable[[object, int], bool]


def _check_ints(value: object, n: int) -> bool:
    return isinstance(value, list) and len(value) == n and value[0] == 1 and value[-1] == n


def _check_string(value: object, n: int) -> bool:
    return (isinstance(value, str) and len(value) == n and value.startswith("abc")
            and value[-1] == chr(ord("a") + (n - 1) % 26))


def _check_map(value: object, n: int) -> bool:
    return isinstance(value, dict) and len(value) == n and value.get(n) == 2 * n \
        and value.get(1) == 2


KINDS = {
    "[Int]": _Kind("[Int]", lambda n: f"[1 .. {n}] :: [Int]", "sum v `seq` ()", "L",
                   _check_ints),
    "String": _Kind("String", lambda n: f"take {n} (cycle ['a' .. 'z'])",
                    "length v `seq` ()", "C", _check_string),
    "Map Int Int": _Kind(
        "Map Int Int",
        lambda n: (f"Data.Map.Strict.fromList [(i, 2 * i) | i <- [1 .. {n}]] "
                   ":: Data.Map.Strict.Map Int Int"),
        "Data.Map.Strict.size v `seq` ()", "M", _check_map),
}


@dataclass(frozen=True, slots=True)
class Reps:
    shim: int
    raw_default: int
    raw_flags: int


def default_reps(n: int) -> Reps:
    if n <= 10_000:
        return Reps(15, 3, 15)
    if n <= 100_000:
        return Reps(5, 1, 5)
    return Reps(3, 1, 2)


def _timed(reps: int, action: Callable[[], bool]) -> tuple[list[float], int]:
    samples: list[float] = []
    wrong = 0
    for _ in range(reps):
        t0 = time.perf_counter()
        ok = action()
        samples.append(time.perf_counter() - t0)
        wrong += not ok
    return samples, wrong


def _mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def run_values(*, kinds: list[str], sizes: list[int], reps: Callable[[int], Reps],
               with_hint: bool = True) -> Section:
    section = Section(
        "Value transfer (dynCompileExpr / Session.eval vs raw GHCi printing)",
        ["type", "n", "shim eval", "compat dynCompileExpr", "raw print", "raw-sf print",
         "floor length.show", "hint interpret", "compat ×raw", "compat ×raw-sf",
         "server peak Δ", "GHCi peak Δ", "client peak Δ"],
    )
    from compat import ghc_api as GHC  # noqa: N812

    iserv = iserv_path()
    raw_default = RawGhci(DEFAULT, iserv=iserv)
    raw_flags = RawGhci(SHIM_FLAGS, iserv=iserv)
    driver: HintDriver | None = None
    if with_hint:
        try:
            driver = HintDriver(build_driver())
            driver.start()
        except HintUnavailableError as exc:
            section.notes.append(f"hint not measured: {exc}")
            driver = None
    client, server_pid = embedded_client()
    wrong: dict[str, int] = {}
    raw: dict[str, object] = {}
    fixed_rows: list[list[str]] = []
    target_row: dict[str, float] = {}
    try:
        session = client.open_session()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GHC.GhcApiDeprecationWarning)

            def body() -> None:
                for kind_name in kinds:
                    kind = KINDS[kind_name]
                    for n in sizes:
                        if n == min(sizes):
                            # Untimed: the first eval of a type loads its interfaces in GHCi.
                            session.eval(kind.expr(10))
                            GHC.dynCompileExpr(kind.expr(10))  # type: ignore[deprecated]
                        _one(section, kind, n, reps(n), session, raw_default, raw_flags,
                             driver, server_pid, wrong, raw, target_row,
                             fixed_rows if n == min(sizes) else None)

            GHC.runGhc(None, body)  # type: ignore[deprecated]
        session.close()
        bind_rows = _bind_values(client, sizes)
    finally:
        server_hwm = hwm_kib(server_pid)
        client.close()
        raw_default.close()
        raw_flags.close()
        if driver is not None:
            driver.close()
    section.raw = {"values": raw, "wrong": wrong, "server_vmhwm_kib": server_hwm}
    if fixed_rows:
        section.subtables.append((
            "Fixed cost of one eval at the smallest size: the two commands the server sends "
            "(`:type +d v`, then the writer statement of core/server/value_writer.py: for "
            "a type seen before in the session, as here, the shorter one), timed "
            "in raw GHCi with the shim's flags, alternating with the shim's eval (p50 of 9 "
            "rounds); the rest is the shim's own (round trips, server, payload file, "
            "decoding):",
            ["type", "n", "shim eval", "raw :type +d", "raw writer stmt", "rest (shim)"],
            fixed_rows,
        ))
    if bind_rows:
        section.subtables.append((
            "Values into a session (`Session.bind_value`, then `eval` of its length to check "
            "it): the value crosses as Haskell source that GHCi compiles, with string "
            "literals in a default session, literal-free under RebindableSyntax with "
            "OverloadedStrings; its long texts (digits, characters) travel apart, as files "
            "that the bound value reads when first used (p50):",
            ["type", "n", "bind + check (default session)",
             "bind + check (RebindableSyntax + OverloadedStrings)"],
            bind_rows,
        ))
    section.notes += [
        "Steady state: one untimed eval of each type comes first (the first eval of a type "
        "in a session loads that type's interfaces in GHCi, and the server learns the "
        "type's header for its shorter writer statement). "
        "Times are p50 over the repetitions (fewer for raw GHCi's default configuration at "
        "large n: printing is slow there); ×raw = compat dynCompileExpr time / raw GHCi "
        "printing time (default configuration), ×raw-sf = the same vs raw GHCi with the "
        "shim's flags.",
        "Peak Δ: highest RSS seen during the shim's transfers of that value minus the RSS "
        "just before (server = the Python server process; GHCi = its ghc and ghc-iserv "
        "processes; client = this process, which ends up holding the Python object). "
        f"Server peak RSS over the whole run (VmHWM): {_mib(server_hwm)}.",
    ]
    if wrong:
        section.notes.append(f"WRONG VALUES: {wrong}")
    if "shim" in target_row and "raw" in target_row:
        ratio = target_row["shim"] / target_row["raw"]
        section.targets.append(Target(
            "dynCompileExpr of 10^6 [Int] vs raw GHCi printing it",
            f"≤ {VALUE_TARGET:.2f}× (default GHCi)",
            f"{fmt_ratio(ratio)} ({fmt_ms(target_row['shim'])} vs "
            f"{fmt_ms(target_row['raw'])}; vs shim-flags GHCi "
            f"{fmt_ratio(target_row['shim'] / target_row['raw_sf'])})",
            ratio <= VALUE_TARGET and not wrong,
        ))
    else:
        section.targets.append(Target("dynCompileExpr of 10^6 [Int] vs raw GHCi printing it",
                                      f"≤ {VALUE_TARGET:.2f}×", "not measured", None))
    return section


# One more size for the random [Int] rows: a value of 20 MB of digits.
_LARGEST_BIND = 1_000_000


def _bind_values(client: Any, sizes: list[int]) -> list[list[str]]:
    """``bind_value`` of ``[Int]`` (consecutive, and random 64-bit: also 10^6), ``[Double]``
    and ``String`` values up to 10^5 elements in a default session and in one with
    RebindableSyntax and OverloadedStrings (where the literal-free form is used)."""
    from core.client import Import

    rows: list[list[str]] = []
    sessions = [client.open_session(),
                client.open_session(flags=["-XRebindableSyntax", "-XOverloadedStrings"])]
    draw = random.Random(1)
    try:
        sessions[1].set_context([Import("Prelude")])
        # (name, a value of n elements)
        samples: list[tuple[str, Callable[[int], object]]] = [
            ("[Int]", lambda n: list(range(n))),
            ("[Int] (random)", lambda n: [draw.randint(-(1 << 63), (1 << 63) - 1)
                                          for _ in range(n)]),
            ("[Double]", lambda n: [draw.uniform(-1e6, 1e6) for _ in range(n)]),
            ("String", lambda n: "x" * n)]
        for name, make in samples:
            counts = sorted({min(max(s, 1000), 100_000) for s in sizes})
            if name == "[Int] (random)" and max(sizes) >= _LARGEST_BIND:
                counts.append(_LARGEST_BIND)
            for n in counts:
                value = make(n)
                cells = [name, f"{n:,}"]
                for session in sessions:
                    def bind(session: Any = session, value: object = value, n: int = n,
                             type_: str | None = "[Int]" if name.startswith("[Int]") else None
                             ) -> bool:
                        session.bind_value("benchBound", value, type_)
                        return bool(session.eval("length benchBound").value == n)
                    times, bad = _timed(1 if n >= 100_000 else 3, bind)
                    cells.append(fmt_ms(stats(times).p50) + (" (WRONG)" if bad else ""))
                rows.append(cells)
    finally:
        for session in sessions:
            session.close()
    return rows


def _fixed_cost(kind: _Kind, n: int, session: Session, raw_flags: RawGhci,
                entry: dict[str, object], rounds: int = 9) -> list[str]:
    """GHCi's own time for the two commands behind one eval of the bound value ``v``, timed
    in rounds alternating with the shim's own eval of it (so load drifts hit both)."""
    try:
        from core.server.value_writer import known_type_statement, seen_type, writer_statement
    except ImportError as exc:
        return [kind.name, f"{n:,}", "", "", f"not measured: {exc}", ""]
    type_text = raw_flags.command(":type +d v").decode().split("::", 1)[-1].strip()
    path = os.path.join(raw_flags.workdir, "value.bin")
    # What the server sends once it has seen the type (as the shim's untimed first eval
    # made it): the shorter statement.
    raw_flags.command(writer_statement("v", type_text, path, literals=True))
    with open(path, "rb") as f:
        seen = seen_type(type_text, f.read())
    statement = (known_type_statement("v", seen, path) if seen is not None
                 else writer_statement("v", type_text, path, literals=True))
    shims: list[float] = []
    types: list[float] = []
    writes: list[float] = []
    for _ in range(rounds):
        shims += _timed(1, lambda: kind.check(session.eval("v").value, n))[0]
        types += _timed(1, lambda: bool(raw_flags.command(":type +d v")))[0]
        writes += _timed(1, lambda: raw_flags.command(statement) == b""
                         and not raw_flags.last_stderr and os.path.getsize(path) > 0)[0]
    shim, t, w = stats(shims).p50, stats(types).p50, stats(writes).p50
    entry["fixed"] = {"shim": shim, "type": t, "writer": w}
    return [kind.name, f"{n:,}", fmt_ms(shim), fmt_ms(t), fmt_ms(w), fmt_ms(shim - t - w)]


def _one(section: Section, kind: _Kind, n: int, reps: Reps, session: Session,
         raw_default: RawGhci, raw_flags: RawGhci, driver: HintDriver | None,
         server_pid: int, wrong: dict[str, int], raw: dict[str, object],
         target_row: dict[str, float], fixed_rows: list[list[str]] | None) -> None:
    from compat import ghc_api as api

    expr = kind.expr(n)
    key = f"{kind.name} n={n}"

    def count(label: str, bad: int) -> None:
        if bad:
            wrong[f"{key} {label}"] = wrong.get(f"{key} {label}", 0) + bad

    # Bind and force the value everywhere first.
    out: list[str] = []
    session.exec_stmt(f"let v = {expr}")
    session.exec_stmt(kind.force, on_output=lambda _s, t: out.append(t))
    opts = api.ExecOptions(stdout=out.append)
    api.execStmt(f"let v = {expr}", opts)  # type: ignore[deprecated]
    api.execStmt(kind.force, opts)  # type: ignore[deprecated]
    for ghci in (raw_default, raw_flags):
        ghci.command(f"let v = {expr}")
        out.append(ghci.command(kind.force).decode())
    if driver is not None:
        driver.call("S", f"let v = {expr}")
        driver.call("S", kind.force)
    if "".join(out) != "()\n" * 4:
        raise RuntimeError(f"binding {key} failed: {out!r}")

    def shim_eval() -> bool:
        return kind.check(session.eval("v").value, n)

    def compat_eval() -> bool:
        return kind.check(api.dynCompileExpr("v").value, n)

    shown_min = n  # every element shows as at least one character
    groups = {
        "server": lambda: [server_pid],
        "ghci": lambda: descendants(server_pid),
        "client": lambda: [os.getpid()],
    }
    with RssSampler(groups) as sampler:
        shim_s, bad = _timed(reps.shim, shim_eval)
        count("shim", bad)
        compat_s, bad = _timed(reps.shim, compat_eval)
        count("compat", bad)
    peaks = {g: sampler.peaks_kib[g] - sampler.baseline_kib[g] for g in groups}
    raw_s, bad = _timed(reps.raw_default, lambda: len(raw_default.command("v")) > shown_min)
    count("raw default", bad)
    flags_s, bad = _timed(reps.raw_flags, lambda: len(raw_flags.command("v")) > shown_min)
    count("raw shim flags", bad)
    floor_s, bad = _timed(reps.raw_flags,
                          lambda: int(raw_flags.command("length (show v)")) > shown_min)
    count("floor", bad)
    hint_p50 = float("nan")
    if driver is not None:
        hint_s, bad = _timed(reps.shim, lambda: driver.call(kind.hint_op, "v").text == str(n))
        count("hint", bad)
        hint_p50 = stats(hint_s).p50
    shim, compat = stats(shim_s).p50, stats(compat_s).p50
    rawp, flagsp, floorp = stats(raw_s).p50, stats(flags_s).p50, stats(floor_s).p50
    section.rows.append([
        kind.name, f"{n:,}", fmt_ms(shim), fmt_ms(compat), fmt_ms(rawp), fmt_ms(flagsp),
        fmt_ms(floorp), fmt_ms(hint_p50), fmt_ratio(compat / rawp), fmt_ratio(compat / flagsp),
        _mib(peaks["server"]), _mib(peaks["ghci"]), _mib(peaks["client"]),
    ])
    entry: dict[str, object] = {
        "shim": shim_s, "compat": compat_s, "raw_default": raw_s, "raw_shim_flags": flags_s,
        "floor": floor_s, "hint_p50": hint_p50, "peaks_kib": peaks,
    }
    raw[key] = entry
    if kind.name == "[Int]" and n == 1_000_000:
        target_row.update(shim=compat, raw=rawp, raw_sf=flagsp)
    if fixed_rows is not None:
        fixed_rows.append(_fixed_cost(kind, n, session, raw_flags, entry))
    # Drop the value everywhere before the next one.
    session.exec_stmt("let v = ()")
    api.execStmt("let v = ()", opts)  # type: ignore[deprecated]
    for ghci in (raw_default, raw_flags):
        ghci.command("let v = ()")
    if driver is not None:
        driver.call("S", "let v = ()")
