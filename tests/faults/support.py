"""Helpers of the fault suite: servers in their own processes, raw sockets, /proc.

Socket paths live in short private directories under /tmp (a Unix socket path must fit in
108 bytes). Processes are told apart by pid *and* start time, so a test never mistakes a
later process that reused a pid for a survivor.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.client import Client, Session, connect, launcher
from core.protocol import messages as m
from core.protocol.errors import ConnectionLostError
from core.protocol.framing import NEED_DATA, BadFrame, FrameDecoder, encode_frame

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------- processes (/proc)


@dataclass(frozen=True, slots=True)
class Proc:
    """One process as /proc/PID/stat describes it."""

    pid: int
    ppid: int
    pgid: int
    comm: str
    state: str
    start: int  # start time in clock ticks: tells a process from a later one with its pid


def read_proc(pid: int) -> Proc | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return Proc(pid, int(fields[1]), int(fields[2]), comm, fields[0], int(fields[19]))


def all_procs() -> list[Proc]:
    procs = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (proc := read_proc(int(entry))) is not None:
            procs.append(proc)
    return procs


def descendants(root: int) -> list[Proc]:
    """Every live process below ``root`` (children, grandchildren, ...)."""
    procs = all_procs()
    found: list[Proc] = []
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for proc in procs:
            if proc.ppid == parent and proc.state not in "ZX":
                found.append(proc)
                frontier.append(proc.pid)
    return found


def is_alive(proc: Proc) -> bool:
    """Whether this very process (not a later one with its pid) still runs (zombies don't)."""
    now = read_proc(proc.pid)
    return now is not None and now.start == proc.start and now.state not in "ZX"


def is_gone(pid: int) -> bool:
    """Whether process ``pid`` has exited (a zombie waiting to be reaped counts as gone)."""
    proc = read_proc(pid)
    return proc is None or proc.state in "ZX"


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step)


def survivors(procs: list[Proc], timeout: float) -> list[Proc]:
    """Those of ``procs`` still alive after waiting up to ``timeout`` seconds for them to die."""
    wait_until(lambda: not any(is_alive(p) for p in procs), timeout)
    return [p for p in procs if is_alive(p)]


def ghc_procs(procs: list[Proc]) -> list[Proc]:
    return [p for p in procs if p.comm.startswith("ghc")]


def interpreter_pid(session: Session) -> int:
    """The pid of the session's interpreter (``ghc-iserv``), asked from inside it."""
    chunks: list[str] = []
    outcome = session.exec_stmt(
        "System.Posix.Process.getProcessID >>= System.IO.print",
        on_output=lambda stream, text: chunks.append(text),
    )
    assert outcome.exception is None, outcome.exception
    return int("".join(chunks))


def vm_kib(pid: int, field: str) -> int:
    """A ``VmRSS``/``VmHWM``-style field of /proc/PID/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def stdout_of(session: Session, stmt: str, *, timeout: float | None = None) -> str:
    """What ``stmt`` printed on stdout (it must not throw)."""
    chunks: list[str] = []

    def collect(stream: str, text: str) -> None:
        if stream == "stdout":
            chunks.append(text)

    outcome = session.exec_stmt(stmt, on_output=collect, timeout=timeout)
    assert outcome.exception is None, outcome.exception
    return "".join(chunks)


def kill_leftovers(procs: list[Proc]) -> None:
    for proc in procs:
        if is_alive(proc):
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGKILL)


# ---------------------------------------------------------------------- server processes


def short_tempdir() -> str:
    return tempfile.mkdtemp(prefix="ghcshim-f-", dir="/tmp")


class ServerProcess(launcher.ServerProcess):
    """``python -m core.server --listen unix:PATH ...`` in its own process, with its log kept.

    With ``script``, runs ``python -c script PATH`` instead: for settings the command line
    does not offer (the script serves on the Unix socket ``sys.argv[1]``).
    """

    def __init__(
        self, *args: str, script: str | None = None, ready_timeout: float = 60.0
    ) -> None:
        log_fd, self.log_path = tempfile.mkstemp(prefix="ghcshim-log-", dir="/tmp")
        self._log = os.fdopen(log_fd, "wb")
        try:
            super().__init__(
                *args,
                start_timeout=ready_timeout,
                stderr=self._log.fileno(),
                python_args=("-c", script) if script is not None else None,
            )
        except ConnectionLostError:
            text = self.log()
            self._discard_log()
            raise RuntimeError(f"server did not start: {text}") from None

    @property
    def dir(self) -> str:
        return self.directory

    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def connect(self) -> Client:
        return connect(self.address)

    def raw(self) -> RawConnection:
        return RawConnection(self.path)

    def children(self) -> list[Proc]:
        return descendants(self.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL; kills any GHCi left behind (a failing test must not leak)."""
        left = self.children()
        self.close()
        kill_leftovers(left)
        self._discard_log()

    def _discard_log(self) -> None:
        self._log.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log_path)


_CONFIGURED_SERVER = """
import sys
from core.server import ServerConfig, parse_listen, serve_forever
sys.exit(serve_forever(ServerConfig({settings}), parse_listen("unix:" + sys.argv[1])))
"""


def configured_server(**settings: object) -> ServerProcess:
    """A server process with ``ServerConfig(**settings)``: for settings the command line
    does not offer (values are written with ``repr``)."""
    text = ", ".join(f"{name}={value!r}" for name, value in settings.items())
    return ServerProcess(script=_CONFIGURED_SERVER.format(settings=text))


# ---------------------------------------------------------------------- raw protocol


class RawConnection:
    """Bytes on a Unix socket, frames read back with the protocol's own decoder."""

    def __init__(self, path: str, timeout: float = 30.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.decoder = FrameDecoder()
        self._ids = iter(range(1, 1 << 40))

    def next_id(self) -> int:
        return next(self._ids)

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, message: dict[str, object]) -> None:
        self.sock.sendall(encode_frame(message))

    def recv(self) -> dict[object, object]:
        """The next frame; fails the test on an undecodable one or the end of the stream."""
        while True:
            frame = self.decoder.next_frame()
            if isinstance(frame, dict):
                return frame
            assert not isinstance(frame, BadFrame), f"the server sent a bad frame: {frame}"
            assert frame is NEED_DATA, "the server closed the connection"
            data = self.sock.recv(1 << 16)
            self.decoder.receive_data(data)

    def reply_to(self, rid: int) -> dict[object, object]:
        """The final reply for request ``rid`` (its output and other frames are skipped)."""
        while True:
            frame = self.recv()
            if frame.get("id") == rid and frame.get("op") != "output":
                return frame

    def request(self, op: str, **fields: object) -> dict[object, object]:
        rid = self.next_id()
        self.send({"op": op, "id": rid, **fields})
        return self.reply_to(rid)

    def hello(self, token: str | None = None) -> dict[object, object]:
        return self.request("hello", protocol_version=m.PROTOCOL_VERSION, token=token)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
