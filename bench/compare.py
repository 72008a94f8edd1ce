"""Two versions of the shim side by side with raw GHCi: did a change make calls faster?

Usage::

    .venv/bin/python -m bench.compare HEAD~1              # this checkout vs HEAD~1
    .venv/bin/python -m bench.compare v0.1 -n 2000 --stack client --pin 0

What it does: checks ``REV`` out into ``bench/out/compare/<commit>`` (a git worktree, made
once), then runs three stacks side by side (``bench.interleave``: several processes each,
taking turns call by call in random order) — raw GHCi configured as the shim's sessions,
the shim at ``REV``, the shim of this checkout — each shim process with its own embedded
server (of its own version) and one session. It prints each stack's p50 and its ratio to
raw GHCi. Compare a revision with itself to see how close two equal stacks come on the
day (1–2 % here).

``--pin CPU`` keeps every child's calling thread on that CPU (the embedded servers keep to
the last CPU and put their GHCis elsewhere, ``ServerConfig.server_cpu``): where a program
that uses the shim runs changes the figures, see bench/PROFILE.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence

from bench.common import OUT_DIR, ROOT
from bench.interleave import STMT, Stack, print_table, run_interleaved

__all__ = ["main"]


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rev", help="the git revision to compare this checkout with")
    parser.add_argument("-n", type=int, default=1000, help="calls per process")
    parser.add_argument("--stack", choices=("compat", "client"), default="compat")
    parser.add_argument("--pin", default="", help="a CPU for every child's calling thread")
    parser.add_argument("--instances", type=int, default=2,
                        help="processes per stack (identical ones differ by a few %%)")
    args = parser.parse_args(argv)
    stacks = [Stack("raw GHCi (shim flags)", "raw", str(ROOT)),
              Stack(f"shim at {args.rev}", args.stack, _worktree(args.rev)),
              Stack("shim, this checkout", args.stack, str(ROOT))]
    times = run_interleaved(stacks, args.n, instances=args.instances, pin=args.pin)
    print_table(f"execStmt {STMT!r} × {args.n} per process, {args.instances} processes per "
                f"stack, random order ({args.stack}"
                f"{', pinned to CPU ' + args.pin if args.pin else ''}); ratio to raw GHCi:",
                times)
    return 0


if __name__ == "__main__":
    sys.exit(main())
