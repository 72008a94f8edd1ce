"""Two versions of the shim side by side with raw GHCi: did a change make calls faster?

Usage::

    .venv/bin/python -m bench.compare HEAD~1              # this checkout vs HEAD~1
    .venv/bin/python -m bench.compare v0.1 -n 2000 --stack client --pin 0

What it does: checks ``REV`` out into ``bench/out/compare/<commit>`` (a git worktree, made
once), then starts ``--instances`` child processes per stack — raw GHCi configured as the
shim's sessions, the shim at ``REV``, the shim of this checkout — each shim child with its
own embedded server (of its own version) and one session. The children take turns call by
call, in a fresh random order every round, and time their own calls, so a machine that
speeds up or slows down during the run moves all of them alike (single runs here varied by
30 % within minutes). Two identical processes still differ by a few percent, and a fixed
order once made a stack 5 % slower than an identical one: compare a revision with itself
to see how close two equal stacks come on the day. It prints each stack's p50 (over all its
processes) and its ratio to raw GHCi.

``--pin CPU`` keeps every child's calling thread on that CPU (the embedded servers keep to
the last CPU and put their GHCis elsewhere, ``ServerConfig.server_cpu``): where a program
that uses the shim runs changes the figures, see bench/PROFILE.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import struct
import subprocess
import sys
from collections.abc import Sequence

from bench.common import BENCH_DIR, OUT_DIR, ROOT

__all__ = ["main"]

_STMT = "1 + 1"  # what bench/_compare_child.py runs


# --------------------------------------------------------------------------- the driver


def _worktree(rev: str) -> str:
    """A checkout of ``rev`` (made once per commit: a name like HEAD moves)."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", rev + "^{commit}"],
                            check=True, capture_output=True, text=True).stdout.strip()
    path = OUT_DIR / "compare" / commit
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f",
                        str(path), commit], check=True, capture_output=True)
    return str(path)


def _start(kind: str, root: str, pin: str) -> subprocess.Popen[bytes]:
    # The child imports the shim from ``root`` (ahead of the installed one); its embedded
    # server is started from there too.
    env = dict(os.environ, PYTHONPATH=root)
    child = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "_compare_child.py"), kind, pin],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=root,
    )
    assert child.stdout is not None
    if child.stdout.read(1) != b"R":
        raise RuntimeError(f"the {kind} child at {root} did not start")
    return child


def _timed(child: subprocess.Popen[bytes]) -> int:
    assert child.stdin is not None and child.stdout is not None
    os.write(child.stdin.fileno(), b"x")
    data = child.stdout.read(8)
    if len(data) != 8:
        raise RuntimeError("a child stopped answering")
    value: int = struct.unpack("q", data)[0]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rev", help="the git revision to compare this checkout with")
    parser.add_argument("-n", type=int, default=1500, help="calls per stack")
    parser.add_argument("--stack", choices=("compat", "client"), default="compat")
    parser.add_argument("--pin", default="", help="a CPU for every child's calling thread")
    parser.add_argument("--instances", type=int, default=2,
                        help="processes per stack (identical ones differ by a few %%)")
    args = parser.parse_args(argv)
    stacks = [("raw GHCi (shim flags)", "raw", str(ROOT)),
              (f"shim at {args.rev}", args.stack, _worktree(args.rev)),
              ("shim, this checkout", args.stack, str(ROOT))]
    children = [(name, _start(kind, root, args.pin))
                for name, kind, root in stacks for _ in range(args.instances)]
    times: dict[str, list[int]] = {name: [] for name, _, _ in stacks}
    order = random.Random(0)
    try:
        for _ in range(args.n):
            # A fresh order every round: what ran just before a call changes its time.
            for name, child in order.sample(children, len(children)):
                times[name].append(_timed(child))
    finally:
        for _, child in children:
            assert child.stdin is not None
            child.stdin.close()
            child.wait(30)
    raw = statistics.median(times[stacks[0][0]])
    print(f"execStmt {_STMT!r} × {args.n} per process, {args.instances} processes per stack, "
          f"interleaved ({args.stack}"
          f"{', pinned to CPU ' + args.pin if args.pin else ''}):")
    for name, values in times.items():
        p50 = statistics.median(values)
        print(f"  {name:28s} p50 {p50 / 1e3:8.1f} µs  {p50 / raw:6.3f}× raw")
    return 0


if __name__ == "__main__":
    sys.exit(main())
