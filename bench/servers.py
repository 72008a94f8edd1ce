"""Reaching the shim for the benchmarks: the default private server, or one started here.

Nothing is measured here. ``embedded_client()`` is what ``core.client.connect()`` gives with no
set-up (a private ``python -m core.server --listen stdio`` over pipes, warm pool of 1), and it
also finds that server's pid so memory can be sampled. ``ServerProcess`` starts
``python -m core.server --listen unix:PATH --pool N`` for the measurements that need another
pool size (cold opens use ``--pool 0``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import ROOT, descendants, process_name

if TYPE_CHECKING:
    from core.client import Client

__all__ = ["ServerProcess", "embedded_client", "ghci_pids", "server_pids"]


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


class ServerProcess:
    """``python -m core.server --listen unix:PATH --pool N``, stopped by ``close``."""

    def __init__(self, pool: int, *, max_sessions: int = 64, start_timeout: float = 120.0
                 ) -> None:
        self._dir = tempfile.mkdtemp(prefix="ghc-shim-bench-")
        self.path = os.path.join(self._dir, "server.sock")
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core.server", "--listen", f"unix:{self.path}",
             "--pool", str(pool), "--max-sessions", str(max_sessions)],
            env=env,
            cwd=str(ROOT),
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + start_timeout
        while not self._ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.proc.returncode}")
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("the server did not start listening in time")
            time.sleep(0.02)

    def _ready(self) -> bool:
        if not os.path.exists(self.path):
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            try:
                sock.connect(self.path)
            except OSError:
                return False
        return True

    @property
    def address(self) -> str:
        return f"unix:{self.path}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.rmdir(self._dir)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
