"""The raw GHCi baseline: ``ghc --interactive`` driven over pipes as cheaply as is correct.

What it measures against: the shim's trivial statements, ``:type`` queries, session starts
and value printing are compared with the same input sent here. How it drives GHCi:

* the prompt is set to a unique marker (``:set prompt``; ``prompt-cont`` empty), so GHCi
  itself says when a command is done — no helper statement runs per command;
* one ``os.write`` per command, then ``poll`` on stdout and stderr (stderr is drained as it
  comes, so a chatty command cannot dead-lock the pipe); stdout is accumulated in a
  ``bytearray`` and only the newly read bytes (plus ``len(marker) - 1`` before them) are
  searched for the marker, so a 15 MB answer costs linear time, not quadratic; once an
  answer has passed 64 KiB and arrives in small pieces (default GHCi's ``NoBuffering``
  stdout writes one character per system call), the reader naps 0.5 ms between reads
  instead of waking per character — this makes the baseline *faster* (14.8 s instead of
  22.7 s to print 10^6 ``[Int]`` here) and never touches short answers;
* GHCi writes a command's stderr before its next prompt, so once the marker is seen the
  rest of stderr is already in the pipe and is drained without blocking.

Two configurations (``RawConfig``): GHCi's default (``ghc --interactive -ignore-dot-ghci``,
interpreted code in-process, stdout ``NoBuffering``), and the flags the shim's sessions use
(core/server/ghci_process.py: ``-fexternal-interpreter -pgmi <libdir>/bin/ghc-iserv``, a
UTF-8 locale, stdin ``NoBuffering`` and stdout ``LineBuffering`` set by one ``_ <-``
statement at start), with ``ghc`` and its interpreter kept on one CPU as the shim keeps each
session's (``ANY_CPU``: the same without that, to show what it is worth). The shim's
per-session resource limits (``ulimit -v`` in a wrapper
script) are left out: they cost nothing per command.
"""

from __future__ import annotations

import collections
import os
import secrets
import select
import shutil
import string
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Final

__all__ = ["ANY_CPU", "DEFAULT", "SHIM_FLAGS", "RawConfig", "RawGhci", "iserv_path"]

_READ: Final = 1 << 16
_BULK: Final = 1 << 16
_NAP: Final = 0.0005


@dataclass(frozen=True, slots=True)
class RawConfig:
    name: str
    external_interpreter: bool
    line_buffered_stdout: bool
    one_cpu: bool = False  # ghc and its interpreter kept on one CPU, as the shim keeps them


DEFAULT: Final = RawConfig("raw GHCi (default)", False, False)
SHIM_FLAGS: Final = RawConfig("raw GHCi (shim flags)", True, True, one_cpu=True)
ANY_CPU: Final = RawConfig("raw GHCi (shim flags, any CPU)", True, True)

# The CPUs this process may use, read before it pins itself anywhere (bench.latency does,
# to place its driver like the shim's server), and how many raw GHCis each one holds.
_USABLE: Final = sorted(os.sched_getaffinity(0))
_placed: collections.Counter[int] = collections.Counter()


def _choose_cpu(driver_cpu: int | None) -> int:
    """The shim's placement rule (core/server/server.py ``Server._take_cpu``): the least used
    CPU, where the driver's own CPU counts as one GHCi more and loses ties."""
    cpu = min(_USABLE, key=lambda c: (_placed[c] + (c == driver_cpu), c == driver_cpu))
    _placed[cpu] += 1
    return cpu


def _pin_tree(pid: int, cpu: int) -> None:
    """Keep ``pid``, its threads and its future children on ``cpu``."""
    pids = [pid]
    for p in pids:
        for tid in os.listdir(f"/proc/{p}/task"):
            os.sched_setaffinity(int(tid), {cpu})
            with open(f"/proc/{p}/task/{tid}/children") as f:
                pids.extend(int(c) for c in f.read().split())


_SETUP: Final = (
    "_ <- System.IO.hSetBuffering System.IO.stdin System.IO.NoBuffering GHC.Base.>> "
    "System.IO.hSetBuffering System.IO.stdout System.IO.LineBuffering"
)


def iserv_path(ghc: str = "ghc") -> str:
    """``<libdir>/bin/ghc-iserv``, the static interpreter the shim uses too."""
    libdir = subprocess.run(
        [ghc, "--print-libdir"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    return os.path.join(libdir, "bin", "ghc-iserv")


class RawGhci:
    """One GHCi process driven over pipes with a marker prompt (not thread-safe)."""

    def __init__(self, config: RawConfig, ghc: str = "ghc", iserv: str | None = None, *,
                 setup: bool = True, driver_cpu: int | None = None) -> None:
        """``driver_cpu``: the CPU the driving process keeps to while it measures, if any (a
        one-CPU configuration then avoids it, as the shim's sessions avoid its server's)."""
        self.config = config
        self.cpu: int | None = None
        args = [ghc, "--interactive", "-ignore-dot-ghci"]
        env = dict(os.environ)
        env.pop("GHC_ENVIRONMENT", None)
        if config.external_interpreter:
            args += ["-fexternal-interpreter", "-pgmi", iserv or iserv_path(ghc)]
            env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="dumb")
        # The shim's marker shape (core/server/ghci_process.py): NUL and 8 random letters or
        # digits. GHCi writes its prompt a character per write(2), so the marker's length is
        # part of every command's cost: both sides pay the same.
        alphabet = string.ascii_letters + string.digits
        self.marker = b"\0" + "".join(secrets.choice(alphabet) for _ in range(8)).encode()
        self.workdir = tempfile.mkdtemp(prefix="ghc-shim-bench-raw-")
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=self.workdir,
            start_new_session=True,
        )
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr
        self._in = self.proc.stdin.fileno()
        self._out = self.proc.stdout.fileno()
        self._err = self.proc.stderr.fileno()
        os.set_blocking(self._err, False)
        self._poll = select.poll()
        self._poll.register(self._out, select.POLLIN)
        self._poll.register(self._err, select.POLLIN)
        self._leftover = bytearray()
        self._err_eof = False
        self.last_stderr = b""
        prompt = self.marker.decode().replace("\0", "\\NUL")
        self.banner = self.command(f':set prompt-cont ""\n:set prompt "{prompt}"', raw=True)
        if config.one_cpu and len(_USABLE) > 1:
            self.cpu = _choose_cpu(driver_cpu)
            _pin_tree(self.proc.pid, self.cpu)
        if setup:
            self.setup()

    def setup(self) -> None:
        """The shim's set-up statement (stdin unbuffered, stdout line-buffered), if any."""
        if self.config.line_buffered_stdout:
            self.command(_SETUP)

    @classmethod
    def timed_start(cls, config: RawConfig, first: str = "1 + 1",
                    iserv: str | None = None) -> tuple[RawGhci, float, float]:
        """Start GHCi; seconds until its first prompt, and until the answer to ``first`` (with
        the shim's flags the set-up statement runs just before it, as the shim runs it just
        before a session's first statement)."""
        t0 = time.perf_counter()
        ghci = cls(config, iserv=iserv, setup=False)
        t1 = time.perf_counter()
        ghci.setup()
        answer = ghci.command(first)
        t2 = time.perf_counter()
        if answer.strip() != b"2":
            raise RuntimeError(f"raw GHCi answered {answer!r} to {first!r}")
        return ghci, t1 - t0, t2 - t0

    def command(self, text: str, *, raw: bool = False) -> bytes:
        """Send one line (``raw``: the text as is, plus a newline) and return GHCi's stdout
        up to the next prompt; stderr is kept in ``last_stderr``."""
        data = (text + "\n").encode()
        if not raw and "\n" in text:
            data = (":{\n" + text + "\n:}\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(self._in, view) :]
        return self._read_to_marker()

    def _read_to_marker(self) -> bytes:
        marker = self.marker
        buf = self._leftover
        self._leftover = bytearray()
        err = bytearray()
        searched = 0
        while True:
            index = buf.find(marker, max(0, searched - len(marker) + 1))
            if index >= 0:
                self._leftover = buf[index + len(marker) :]
                err += self._drain_err()
                self.last_stderr = bytes(err)
                return bytes(buf[:index])
            searched = len(buf)
            for fd, _ in self._poll.poll():
                if fd == self._err:
                    err += self._drain_err()
                    continue
                chunk = os.read(self._out, _READ)
                if not chunk:
                    raise EOFError(f"GHCi exited (status {self.proc.poll()}): {bytes(err)!r}")
                buf += chunk
                if len(buf) > _BULK and len(chunk) < _READ // 2:
                    # A long answer trickling in (GHCi's default NoBuffering stdout writes
                    # one byte per system call): let it pile up rather than wake per byte.
                    time.sleep(_NAP)

    def _drain_err(self) -> bytes:
        parts = []
        while True:
            try:
                chunk = os.read(self._err, _READ)
            except BlockingIOError:
                break
            if not chunk:
                if not self._err_eof:
                    self._err_eof = True
                    self._poll.unregister(self._err)
                break
            parts.append(chunk)
        return b"".join(parts)

    def close(self) -> None:
        if self.cpu is not None:
            _placed[self.cpu] -= 1
            self.cpu = None
        if self.proc.poll() is None:
            try:
                os.write(self._in, b":quit\n")
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RawGhci:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
