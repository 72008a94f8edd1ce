"""Session open time: the shim's warm pool and cold starts vs raw GHCi start vs ``hint``.

What, each timed from this Python process:

* warm (the default private server, pool of 1): ``Client.open_session()`` alone, and open
  plus the answer to a first ``1 + 1``; also the legacy one-liner ``runGhc(None, lambda:
  execStmt("1 + 1"))`` (open, answer, close). Between opens the benchmark waits until the
  pool has had time to refill (``settle`` seconds), so each open is a *warm* one; the reply's
  ``warm`` flag is checked and misses are reported, never hidden.
* cold: a server started with ``--pool 0`` (every open starts a GHCi, with the shim's
  flags, set-up statement and resource-limit wrapper); the first open of such a server is
  served by the GHCi it starts to learn GHC's version and is left out (``warm`` is True).
* raw GHCi: start to first prompt, and to the answer of ``1 + 1`` (both configurations).
* hint: ``runInterpreter`` in a fresh driver process (the first one of a process pays for
  loading GHC's packages: reported separately) and later ones in the same process; alone,
  and with a first ``interpret "1 + 1"``.
"""

from __future__ import annotations

import time
import warnings

from bench.common import stats
from bench.hint_driver import HintDriver, HintUnavailableError, build_driver
from bench.raw_ghci import DEFAULT, SHIM_FLAGS, RawGhci, iserv_path
from bench.report import Section, Target, fmt_ms
from bench.servers import server_process

__all__ = ["run_opens"]

WARM_TARGET = 0.010


def _row(section: Section, name: str, what: str, values: list[float], note: str = "") -> None:
    st = stats(values)
    section.rows.append([name, what, str(st.n), fmt_ms(st.p50), fmt_ms(st.minimum),
                         fmt_ms(st.maximum), note])
    section.raw[f"{name} | {what}"] = {"p50": st.p50, "min": st.minimum, "max": st.maximum,
                                      "n": st.n, "samples": values}


def _shim_opens(section: Section, address: str | None, count: int, settle: float,
                label: str, *, skip_warm: bool) -> tuple[list[float], list[float], int]:
    from core.client import connect

    opens: list[float] = []
    firsts: list[float] = []
    closes: list[float] = []
    misses = 0
    out: list[str] = []
    with connect(address, client_name="bench.opens") as client:
        attempts = 0
        while len(opens) < count and attempts < count * 2 + 2:
            attempts += 1
            time.sleep(settle)
            out.clear()
            t0 = time.perf_counter()
            session = client.open_session()
            t1 = time.perf_counter()
            session.exec_stmt("1 + 1", on_output=lambda _s, text: out.append(text))
            t2 = time.perf_counter()
            session.close()
            t3 = time.perf_counter()
            if "".join(out) != "2\n":
                raise RuntimeError(f"first answer of a new session was {out!r}")
            if session.warm == skip_warm:
                # A warm open in the cold series, or a pool miss in the warm series.
                if not skip_warm:
                    misses += 1
                continue
            opens.append(t1 - t0)
            firsts.append(t2 - t0)
            closes.append(t3 - t2)
    _row(section, label, "open_session()", opens)
    _row(section, label, "open + first \"1 + 1\"", firsts)
    _row(section, label, "first \"1 + 1\" after open", [f - o for f, o in zip(firsts, opens,
                                                                              strict=True)])
    _row(section, label, "close()", closes)
    return opens, firsts, misses


def _compat_opens(section: Section, count: int, settle: float) -> None:
    from compat import ghc_api as GHC  # noqa: N812

    out: list[str] = []
    opts = GHC.ExecOptions(stdout=out.append)
    samples: list[float] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GHC.GhcApiDeprecationWarning)
        # Connects the facade's shared client (and its private server) before timing.
        GHC.runGhc(None, lambda: None)  # type: ignore[deprecated]
        for _ in range(count):
            time.sleep(settle)
            out.clear()
            t0 = time.perf_counter()
            GHC.runGhc(None, lambda: GHC.execStmt("1 + 1", opts))  # type: ignore[deprecated]
            samples.append(time.perf_counter() - t0)
            if "".join(out) != "2\n":
                raise RuntimeError(f"runGhc/execStmt answered {out!r}")
    _row(section, "shim warm: compat runGhc", "runGhc(execStmt \"1 + 1\") incl. close",
         samples)


def run_opens(*, warm: int, cold: int, raw: int, hint_processes: int, hint_opens: int,
              settle: float, with_hint: bool = True) -> Section:
    section = Section("Session open time",
                      ["what", "measured", "n", "p50", "min", "max", "note"])
    warm_opens: list[float] = []
    misses = 0
    try:
        warm_opens, _, misses = _shim_opens(section, None, warm, settle,
                                            "shim warm pool (default server)",
                                            skip_warm=False)
        if misses:
            section.notes.append(f"{misses} open(s) found the pool empty (not counted above).")
        _compat_opens(section, max(3, warm // 2), settle)
        with server_process(0) as server:
            _shim_opens(section, server.address, cold, 0.2, "shim cold (--pool 0)",
                        skip_warm=True)
    except ImportError as exc:
        section.error = f"the shim cannot be imported: {exc}"
    iserv = iserv_path()
    for config in (DEFAULT, SHIM_FLAGS):
        prompts: list[float] = []
        answers: list[float] = []
        for _ in range(raw):
            ghci, to_prompt, to_answer = RawGhci.timed_start(config, iserv=iserv)
            ghci.close()
            prompts.append(to_prompt)
            answers.append(to_answer)
        _row(section, config.name, "start to first prompt", prompts)
        _row(section, config.name, "start + first \"1 + 1\"", answers)
        _row(section, config.name, "first \"1 + 1\" after the prompt",
             [a - p for a, p in zip(answers, prompts, strict=True)])
    if with_hint:
        try:
            exe = build_driver()
            first_open: list[float] = []
            later_open: list[float] = []
            later_answer: list[float] = []
            for _ in range(hint_processes):
                with HintDriver(exe) as driver:
                    opens, answers = driver.opens(hint_opens)
                first_open.append(opens[0])
                later_open += opens[1:]
                later_answer += answers
            _row(section, "hint runInterpreter", "1st open in a process", first_open,
                 "loads GHC's packages")
            _row(section, "hint runInterpreter", "later opens", later_open)
            _row(section, "hint runInterpreter", "later open + interpret \"1 + 1\"",
                 later_answer)
        except HintUnavailableError as exc:
            section.notes.append(f"hint not measured: {exc}")
    section.notes += [
        "Warm opens are spaced so the pool (1 GHCi) has refilled; the refill (a GHCi start) "
        "begins when the new session's first request has finished (or 0.25 s after the "
        "open), so that it does not compete with that request for the 2 cores.",
        "Cold = the server starts GHCi with the shim's flags for this open; compare with "
        "\"raw GHCi (shim flags)\" start + first answer.",
        "\"first … after\" rows: per open (start), the first answer's time minus the open "
        "(start) time. With the shim's flags it includes the set-up statement (stdin "
        "unbuffered, stdout line-buffered), which the shim runs just before a session's "
        "first statement.",
    ]
    w = stats(warm_opens)
    section.targets.append(Target(
        "warm session open p50", f"≤ {fmt_ms(WARM_TARGET, 0)}",
        f"{fmt_ms(w.p50)} (n={w.n}{f', {misses} pool misses' if misses else ''})"
        if w.n else "not measured",
        (w.p50 <= WARM_TARGET) if w.n else None,
    ))
    return section
