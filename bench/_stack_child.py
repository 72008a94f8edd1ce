"""One stack of ``bench.interleave``, run as a script: each byte on stdin is answered with one
timed ``execStmt "1 + 1"``, its nanoseconds (8 bytes) on stdout.

Usage: ``_stack_child.py KIND CPU-or-empty``, with ``PYTHONPATH`` naming the checkout whose
shim it imports. Kinds: ``raw`` (GHCi with the shim's flags, driven over pipes), ``client``
and ``compat`` (the shim through ``core.client`` or the facade, embedded server), and
``relay-bytes``, ``relay-msgpack``, ``relay-models``, ``relay-msgspec`` (a ``_relay.py``
process in between, in that mode, with the matching encoding on this side).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

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


def relay_call(mode: str) -> Callable[[], object]:
    """A call through a ``_relay.py`` process in ``mode``."""
    from bench._relay import read_body, read_exact, read_frame
    from core.protocol import messages as m
    from core.protocol.connection import encode_message
    from core.protocol.framing import FrameDecoder, encode_frame

    if mode == "msgspec":
        from bench import _msgspec_messages as ms
    relay = subprocess.Popen([sys.executable, str(Path(__file__).with_name("_relay.py")), mode],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert relay.stdin is not None and relay.stdout is not None
    to_relay, from_relay = relay.stdin.fileno(), relay.stdout.fileno()
    if read_exact(from_relay, 1) != b"R":
        raise RuntimeError("the relay did not start")
    decoder = FrameDecoder()
    ids = iter(range(1, 1 << 62))
    statement = STMT.encode()

    def raw_bytes() -> object:
        os.write(to_relay, len(statement).to_bytes(4, "big") + statement)
        return read_body(from_relay)

    def structs() -> object:
        os.write(to_relay, ms.encode(ms.ExecStmt(id=next(ids), session="s", stmt=STMT)))
        return ms.decode_reply(read_body(from_relay))

    def plain_maps() -> object:
        os.write(to_relay, encode_frame({
            "op": "exec_stmt", "id": next(ids), "session": "s", "stmt": STMT,
            "source_file": "<interactive>", "line": 1, "timeout": None, "stdin": None,
        }))
        return read_frame(from_relay, decoder)

    def models() -> object:
        os.write(to_relay, encode_message(m.ExecStmt(id=next(ids), session="s", stmt=STMT)))
        return m.REPLY_ADAPTER.validate_python(read_frame(from_relay, decoder))

    calls = {"bytes": raw_bytes, "msgpack": plain_maps, "models": models, "msgspec": structs}
    return calls[mode]


def main(kind: str, pin: str) -> None:
    warnings.simplefilter("ignore")  # the facade's deprecation warnings, once per call
    if kind == "raw":
        from bench.raw_ghci import SHIM_FLAGS, RawGhci

        # Its GHCi goes where the shim's servers put theirs (off the last CPU, which they
        # keep to), wherever this driver runs: both sides placed alike.
        ghci = RawGhci(SHIM_FLAGS, driver_cpu=max(os.sched_getaffinity(0)))
        serve(lambda: ghci.command(STMT), pin)
    elif kind.startswith("relay-"):
        serve(relay_call(kind.removeprefix("relay-")), pin)
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
