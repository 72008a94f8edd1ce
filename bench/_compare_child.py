"""One stack of ``bench.compare``, run as a script: each byte on stdin is answered with one
timed ``execStmt "1 + 1"``, its nanoseconds (8 bytes) on stdout.

Usage: ``_compare_child.py raw|client|compat CPU-or-empty``, with ``PYTHONPATH`` naming the
checkout whose shim it imports.
"""

from __future__ import annotations

import os
import struct
import sys
import time
import warnings
from collections.abc import Callable

STMT = "1 + 1"
WARMUP = 100


def serve(call: Callable[[], object], pin: str) -> None:
    if pin:
        os.sched_setaffinity(0, {int(pin)})
    for _ in range(WARMUP):
        call()
    os.write(1, b"R")
    clock = time.perf_counter_ns
    while os.read(0, 1):
        start = clock()
        call()
        os.write(1, struct.pack("q", clock() - start))


def main(kind: str, pin: str) -> None:
    warnings.simplefilter("ignore")  # the facade's deprecation warnings, once per call
    if kind == "raw":
        from bench.raw_ghci import SHIM_FLAGS, RawGhci

        # Its GHCi goes where the shim's servers put theirs (off the last CPU, which they
        # keep to), wherever this driver runs: both sides placed alike.
        ghci = RawGhci(SHIM_FLAGS, driver_cpu=max(os.sched_getaffinity(0)))
        serve(lambda: ghci.command(STMT), pin)
    elif kind == "client":
        from core.client import connect

        with connect(None) as client, client.open_session() as session:
            serve(lambda: session.exec_stmt(STMT, on_output=lambda _s, _t: None), pin)
    else:
        from compat import ghc_api as GHC  # noqa: N812 - the facade's documented name

        out: list[str] = []
        opts = GHC.ExecOptions(stdout=out.append, stderr=out.append)

        def call() -> None:
            out.clear()
            GHC.execStmt(STMT, opts)

        GHC.runGhc(None, lambda: serve(call, pin))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
