"""Reaching the shim for the benchmarks: the default private server, or one started here.

Nothing is measured here. ``embedded_client()`` is what ``core.client.connect()`` gives with no
set-up (a private ``python -m core.server --listen stdio`` over pipes, warm pool of 1), and it
also finds that server's pid so memory can be sampled. ``server_process`` starts
``python -m core.server --listen unix:PATH --pool N`` for the measurements that need another
pool size (cold opens use ``--pool 0``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import descendants, process_name
from core.client.launcher import ServerProcess

if TYPE_CHECKING:
    from core.client import Client

__all__ = ["embedded_client", "ghci_pids", "server_pids", "server_process"]


def server_pids() -> set[int]:
    """Pids of shim servers started by this process (embedded or not)."""
    found = set()
    for pid in descendants(os.getpid()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"core.server" in cmdline:
            found.add(pid)
    return found


def ghci_pids(server_pid: int) -> list[int]:
    """The GHCi (``ghc``) processes a server runs, pooled or in sessions."""
    return [p for p in descendants(server_pid) if process_name(p) == "ghc"]


def embedded_client() -> tuple[Client, int]:
    """``core.client.connect()`` with no address (a private server), and that server's pid."""
    from core.client import connect

    os.environ.pop("GHC_SHIM_SERVER", None)
    before = server_pids()
    client = connect(client_name="bench")
    new = server_pids() - before
    if len(new) != 1:
        client.close()
        raise RuntimeError(f"cannot tell which server process is the new one: {new}")
    return client, new.pop()


def server_process(pool: int, *, max_sessions: int = 64) -> ServerProcess:
    """``python -m core.server --listen unix:PATH --pool N`` (see core.client.launcher)."""
    return ServerProcess("--pool", str(pool), "--max-sessions", str(max_sessions))


