"""The in-process baseline: GHC's API through the ``hint`` library, in a small driver program.

What it measures: ``hint``'s per-call latency of ``runStmt``, ``interpret`` and ``typeOf``
inside one long-lived ``runInterpreter`` session, the time ``runInterpreter`` takes to open
a session (alone, and with a first ``interpret "1 + 1"``), and forcing a large value that
``interpret`` returns (no copy: it is already in the host's heap).

How: ``bench/HintDriver.hs`` is compiled once with ``ghc -O -dynamic -package hint`` into
``bench/out/hint/<hash of the source>/`` (Debian's ``libghc-hint-dev`` must be installed;
``-dynamic`` because Debian's GHCi loads packages as shared libraries, as hint does — the
static build takes about 4× longer to open its first session). The driver reads one command
a line on stdin and answers one line on a dedicated pipe (its stdout belongs to the
interpreted code and goes to /dev/null). Each answer carries the microseconds the call took
inside the driver, so both figures are available: the round trip seen from Python over
pipes (comparable with the raw GHCi and shim rows) and the in-process time alone.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench.common import BENCH_DIR, OUT_DIR

__all__ = ["HintDriver", "HintUnavailableError", "build_driver"]

SOURCE: Final = BENCH_DIR / "HintDriver.hs"


class HintUnavailableError(Exception):
    """``hint`` is not installed or the driver does not build."""


def _hint_installed(ghc: str) -> bool:
    pkg = shutil.which("ghc-pkg") or os.path.join(os.path.dirname(ghc), "ghc-pkg")
    try:
        result = subprocess.run([pkg, "field", "hint", "version"], capture_output=True,
                                text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0 and "version" in result.stdout


def build_driver(ghc: str = "ghc") -> Path:
    """The compiled driver, built on first use (cached by the hash of its source).

    Raises:
        HintUnavailableError: no ``hint`` package (``apt-get install libghc-hint-dev``) or the
            build failed (its output is quoted).
    """
    source = SOURCE.read_bytes()
    digest = hashlib.sha256(source + ghc.encode()).hexdigest()[:16]
    outdir = OUT_DIR / "hint" / digest
    exe = outdir / "HintDriver"
    if exe.exists():
        return exe
    if shutil.which(ghc) is None:
        raise HintUnavailableError(f"{ghc} not found")
    if not _hint_installed(ghc):
        raise HintUnavailableError("the hint package is not installed (apt-get install -y "
                              "libghc-hint-dev)")
    outdir.mkdir(parents=True, exist_ok=True)
    build = subprocess.run(
        [ghc, "-O", "-dynamic", "-package", "hint", "-outputdir", str(outdir), "-o", str(exe),
         str(SOURCE)],
        capture_output=True, text=True, timeout=600,
    )
    if build.returncode != 0 or not exe.exists():
        raise HintUnavailableError(
            f"building the hint driver failed:\n{build.stdout}{build.stderr}"
        )
    return exe


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    inside: float  # seconds the call took inside the driver
    round_trip: float  # seconds from sending the command to reading the answer


def _unescape(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\n" if nxt == "n" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


class HintDriver:
    """One driver process (one hint session at a time, as hint allows)."""

    def __init__(self, exe: Path) -> None:
        read_fd, write_fd = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [str(exe), str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        self._replies = os.fdopen(read_fd, "rb")
        assert self.proc.stdin is not None
        self._in = self.proc.stdin.fileno()
        self.started = False

    def _send(self, line: str) -> Answer:
        t0 = time.perf_counter()
        data = (line + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(self._in, view) :]
        reply = self._replies.readline()
        t1 = time.perf_counter()
        if not reply:
            err = self.proc.stderr.read().decode() if self.proc.stderr else ""
            raise HintUnavailableError(f"the hint driver exited: {err.strip()}")
        us, _, text = reply.decode().rstrip("\n").partition(" ")
        return Answer(_unescape(text), int(us) / 1e6, t1 - t0)

    def opens(self, count: int) -> tuple[list[float], list[float]]:
        """``count`` timings (seconds, in-process) of ``runInterpreter`` opening a session,
        then ``count`` of opening one and answering ``1 + 1``. Only before ``start``."""
        answer = self._send(f"open {count}")
        if answer.text.startswith("ERROR"):
            raise HintUnavailableError(answer.text)
        opens, firsts = answer.text.split(";")
        return ([int(x) / 1e6 for x in opens.split(",")],
                [int(x) / 1e6 for x in firsts.split(",")])

    def start(self) -> None:
        """Enter the long-lived session used by ``call``."""
        answer = self._send("start")
        if answer.text != "ready":
            raise HintUnavailableError(f"hint session did not start: {answer.text}")
        self.started = True

    def call(self, op: str, arg: str) -> Answer:
        """``op``: S (runStmt), I (interpret as Int), T (typeOf), E (eval), L/C/M (interpret a
        [Int] / String / Map Int Int and force it)."""
        answer = self._send(f"{op} {arg}")
        if answer.text.startswith("ERROR"):
            raise RuntimeError(f"hint {op} {arg!r}: {answer.text}")
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.write(self._in, b"quit\n")
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._replies.close()
        for pipe in (self.proc.stdin, self.proc.stderr):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> HintDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
