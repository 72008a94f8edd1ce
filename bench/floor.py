"""What the shim's design costs at the least: relays of growing weight next to the shim.

Usage::

    .venv/bin/python -m bench.floor            # 1000 calls per process, 2 processes per stack
    .venv/bin/python -m bench.floor -n 2000 --stack client

What it does: runs, side by side (``bench.interleave``: several processes per stack, taking
turns call by call in random order), ``execStmt "1 + 1"`` through

* raw GHCi configured as the shim's sessions (the baseline);
* a relay process between the driver and that GHCi (``_relay.py``) that forwards bytes;
* the same relay decoding and encoding the shim's frames as plain msgpack maps;
* the same relay with the shim's messages (pydantic validation and models on both ends);
* the same relay with msgspec structs of the same shape (decoded and validated in one pass:
  a compiled codec), when msgspec is installed (the ``dev`` extra has it);
* the shim itself (facade or ``core.client``, its embedded server).

and prints each one's p50 and ratio to raw GHCi. The relays keep to the last CPU and put
their GHCi off it, as the shim's server does. The steps between the rows say what the
process hop, the codec and the shim's own machinery (event loop, sessions, channels) each
cost on this machine, so a target like "≤ 1.10× raw" can be judged against them.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
from collections.abc import Sequence

from bench.common import ROOT
from bench.interleave import STMT, Stack, print_table, run_interleaved
from bench.report import Section, fmt_ms, fmt_ratio

__all__ = ["main", "run_floor", "stacks"]


def stacks(shim: str = "compat") -> list[Stack]:
    """Raw GHCi, the relays (msgspec's when it is installed), then the shim."""
    root = str(ROOT)
    found = [Stack("raw GHCi (shim flags)", "raw", root),
             Stack("relay: forwards bytes", "relay-bytes", root),
             Stack("relay: + frames, msgpack maps", "relay-msgpack", root),
             Stack("relay: + the shim's messages (pydantic)", "relay-models", root)]
    if importlib.util.find_spec("msgspec") is not None:
        found.append(Stack("relay: msgspec structs instead (compiled codec)", "relay-msgspec",
                           root))
    found.append(Stack(f"the shim ({shim})", shim, root))
    return found


def run_floor(*, rounds: int, instances: int = 2) -> Section:
    """The ``python -m bench`` section: each stack's p50 and ratio to raw GHCi."""
    chosen = stacks()
    times = run_interleaved(chosen, rounds, instances=instances)
    raw = statistics.median(times[chosen[0].name])
    section = Section("What the design costs at the least",
                      ["stack", "calls", "p50", "×raw"])
    for name, values in times.items():
        p50 = statistics.median(values)
        section.rows.append([name, str(len(values)), fmt_ms(p50 / 1e9), fmt_ratio(p50 / raw)])
        section.raw[name] = {"p50_ns": p50, "n": len(values)}
    section.notes.append(
        f"execStmt {STMT!r} through relay processes of growing weight between the driver and "
        "a GHCi configured as the shim's sessions (bench/_relay.py: blocking reads, pinned "
        "like the server), next to raw GHCi and the shim; "
        f"{instances} processes per stack taking turns call by call in random order. The "
        "steps between the rows are what the process hop, the wire codec and the shim's own "
        "machinery each cost (bench/PROFILE.md)."
    )
    if len(chosen) == 5:
        section.notes.append("msgspec is not installed: no compiled-codec row "
                             "(pip install -e '.[dev]').")
    return section


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1000, help="calls per process")
    parser.add_argument("--stack", choices=("compat", "client"), default="compat")
    parser.add_argument("--instances", type=int, default=2, help="processes per stack")
    args = parser.parse_args(argv)
    chosen = stacks(args.stack)
    if not any(stack.kind == "relay-msgspec" for stack in chosen):
        print("msgspec is not installed: no msgspec relay (pip install -e '.[dev]')")
    times = run_interleaved(chosen, args.n, instances=args.instances)
    print_table(f"execStmt {STMT!r} × {args.n} per process, {args.instances} processes per "
                "stack, random order; ratio to raw GHCi:", times)
    return 0


if __name__ == "__main__":
    sys.exit(main())
