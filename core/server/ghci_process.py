"""One real GHCi child process, driven over pipes.

Responsible for: starting ``ghc --interactive`` with the external interpreter, framing each
command by GHCi's own prompt (``ghci_pipes`` reads the output up to it), feeding the
statement's stdin, interrupting, and stopping the process group for good. Must not:
interpret what the output *means* (diagnostics, exceptions, bound names are the session's
business) or accept text that GHCi would run as a colon command — callers pass only text
built by the server.

How a command is framed (after ghcid, with GHCi's prompt instead of marker statements):
the prompt is set to a random marker, so GHCi itself prints it when a command is finished.
No helper statement runs per command, so ``it``, the user's scope and GHCi's module counter
are untouched, and nothing user code does to its own handles can forge or break the marker
(the interpreted code runs in ``ghc-iserv``, a separate process, whose stdout and stderr are
pipes of their own: what it prints is never taken for GHCi's answers, reports or prompt).
Everything GHCi writes to stderr for a command is written before it prints the prompt, and
GHCi flushes the program's handles before that too, so once the marker arrives on stdout
the rest of that command's output is already in the pipes and is drained without blocking.

Why the external interpreter (``-fexternal-interpreter``): user code runs in its own process
with its own stdin (a file the server rewrites per statement — GHCi would otherwise read
its commands and the user's ``getLine`` from one shared handle), its own rlimits (a memory
bomb kills ``ghc-iserv``, not the compiler), and its own stdout/stderr handles (``hClose stdout``
cannot close GHCi's). When iserv dies GHC 9.0.2 exits too, so a death is one event here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import shutil
import signal
import stat
import string
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from core.server.ghci_pipes import CommandOutput, GhciPipes, OutputCallback
from core.server.workdirs import STDIN_NAME, lock_in_use, make_workdir

__all__ = [
    "FLUSHER_COMMAND",
    "CommandOutput",
    "GhciConfig",
    "GhciDiedError",
    "GhciProcess",
    "GhciStartError",
    "find_ghc",
]

log = logging.getLogger(__name__)

# A SIGINT that reaches GHCi while it reads a command discards that line -- or, inside a
# ``:{`` block, only the ``:{``, after which the block's lines run one by one as commands
# (user text reaching GHCi as colon commands, statements half run, lost replies; seen under
# repeated interrupts). GHCi reads a command within microseconds of its write: an interrupt
# waits until the command has been written at least this long.
_READ_GUARD: Final = 0.05
# How long an interrupt is the interpreter's alone before GHCi gets it too (``interrupt``).
_ESCALATE_AFTER: Final = 0.25


class GhciStartError(Exception):
    """GHCi could not be started (not installed, wrong version, bad flags)."""


class GhciDiedError(Exception):
    """The GHCi process exited (or closed its output) while a command was running."""

    def __init__(self, message: str, *, returncode: int | None, stderr_tail: str) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr_tail = stderr_tail


@dataclass(frozen=True, slots=True)
class GhciConfig:
    """How to start GHCi. ``heap_mb`` limits the interpreter process's address space; its
    heap gets 40 % of it (``_HEAP_SHARE``)."""

    ghc: str = "ghc"
    flags: tuple[str, ...] = ()
    libdir: str | None = None
    heap_mb: int | None = 2048
    cpu_seconds: int | None = None
    workdir: str | None = None  # the server's own files for this GHCi (stdin, values)
    cwd: str | None = None  # where GHCi and the user's code run (None: the server's)
    start_timeout: float = 60.0
    cpus: frozenset[int] | None = None  # CPUs GHCi and its interpreter run on (None: any)


def find_ghc(explicit: str | None = None) -> str:
    """The GHC executable: ``explicit``, else ``$GHC_SHIM_GHC``, else ``ghc`` on ``PATH``.

    Raises:
        GhciStartError: no such executable.
    """
    name = explicit or os.environ.get("GHC_SHIM_GHC") or "ghc"
    path = shutil.which(name)
    if path is None:
        raise GhciStartError(
            f"GHC not found: {name!r} is not an executable on PATH "
            "(install Debian's 'ghc' package, or name it with --ghc / GHC_SHIM_GHC)"
        )
    return path


def _iserv_path(ghc: str, libdir: str | None) -> str:
    # GHC runs "<libdir>/bin/ghc-iserv[-dyn]"; -pgmi replaces it by our wrapper, which must
    # then name the real one itself. The "-dyn" flavour of Debian's 9.0.2 aborts with
    # "internal error: stg_ap_v_ret" on the first statement; the static one works.
    if libdir is None:
        try:
            libdir = _libdir(ghc, os.stat(ghc).st_mtime_ns)
        except subprocess.CalledProcessError as exc:
            raise GhciStartError(f"{ghc} --print-libdir failed (exit status {exc.returncode}): "
                                 f"{(exc.stderr or '').strip()}") from exc
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GhciStartError(f"{ghc} --print-libdir failed: {exc}") from exc
    for name in ("ghc-iserv", "ghc-iserv-dyn"):
        candidate = Path(libdir) / "bin" / name
        if candidate.exists():
            return str(candidate)
    raise GhciStartError(f"no ghc-iserv under {libdir}/bin: this GHC cannot interpret externally")


@functools.lru_cache(maxsize=16)
def _libdir(ghc: str, mtime_ns: int) -> str:
    """``ghc --print-libdir``, once per GHC executable (and version of it: ``mtime_ns``).
    Asked at every GHCi start it cost each ~60 ms of a CPU, competing with the sessions
    when the pool refilled."""
    return subprocess.run(
        [ghc, "--print-libdir"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()


# bash, not sh: dash redirects only single-digit descriptors ("0<&11" is a syntax error).
_WRAPPER: Final = """#!/bin/bash
# Started by GHC (-pgmi) as the external interpreter of one shim session. It applies the
# session's resource limits to the interpreter only (not to the compiler), gives it the
# session's stdin file, whose open file description the shim server shares and rewinds,
# and its own stdout and stderr pipes, apart from GHCi's.
{limits}exec {pdeathsig}{iserv} "$@" {rts}0<&{stdin_fd} 1>&{out_fd} 2>&{err_fd} \\
    {out_fd}>&- {err_fd}>&-
"""

# The interpreter's heap limit (GHC's -M), as a share of its address-space limit. Under -M
# a program that outgrows its heap gets GHC's HeapOverflow exception, in its own statement:
# the session keeps its state. At the address-space limit alone the runtime died ("out of
# memory") and the session had to be restarted and replayed. Why 40 %: GHC 9.0 reserves 2/3
# of the address-space limit for its heap at start, and a collection near the limit needs
# room beyond -M (stacks are copied); at 50 % deep recursions still died at 448-800 MB of
# address space, at 40 % every memory bomb tried ended as HeapOverflow (448 MB to 4 GB).
# After one, a session may still die later: its heap stays fragmented near the limit.
_HEAP_SHARE: Final = 0.4


def _wrapper_script(config: GhciConfig, iserv: str, stdin_fd: int, out_fd: int,
                    err_fd: int) -> str:
    """The interpreter's wrapper (``_WRAPPER``) with the session's limits filled in."""
    limits = rts = ""
    if config.heap_mb is not None:
        # glibc gives each thread that allocates its own 64 MB arena of address space;
        # GHC's threaded runtime has several, and GHC reserves 2/3 of the limit for its
        # heap at start, so 3 arenas left too little to load base: heap_mb=640 never
        # started, 448 now and then. One arena: malloc is rare in the interpreter.
        limits += "export MALLOC_ARENA_MAX=1\n"
        limits += f"ulimit -v {config.heap_mb * 1024} || exit 97\n"
        rts = f"+RTS -M{max(1, int(config.heap_mb * _HEAP_SHARE))}m -RTS "
    if config.cpu_seconds is not None:
        limits += f"ulimit -t {config.cpu_seconds} || exit 97\n"
    return _WRAPPER.format(limits=limits, iserv=iserv, stdin_fd=stdin_fd, out_fd=out_fd,
                           err_fd=err_fd, pdeathsig=_pdeathsig_prefix(), rts=rts)


def _pdeathsig_prefix() -> str:
    # The interpreter is GHC's child, not ours: PR_SET_PDEATHSIG on ghc does not reach it.
    # An idle ghc-iserv exits when its pipe from ghc closes, but a busy one (``length
    # [1..]``) outlived a SIGKILLed server, burning CPU for ever. setpriv (util-linux) sets
    # the parent-death signal before it execs the interpreter: it dies with its ghc.
    setpriv = shutil.which("setpriv")
    return f"{setpriv} --pdeathsig KILL -- " if setpriv else ""


# stdout of the interpreted code is line buffered instead of GHCi's NoBuffering, which
# writes character by character (printing 10 MB took 17 s instead of 1 s here); GHCi still
# flushes it after every statement. The server's own actions run as `:cmd <IO String>`
# returning no commands: that binds no names (`it` and the user's scope stay) and, unlike a
# `_ <- e` statement, is not rebound by the user's RebindableSyntax.
_SETUP: Final = (
    ":cmd System.IO.hSetBuffering System.IO.stdout System.IO.LineBuffering GHC.Base.>> "
    "GHC.Base.return GHC.Base.mempty"
)

# Line buffering holds back a line still being written: `putStr "." >> threadDelay ...`
# progress arrived only at the end of its statement (with GHCi's unbuffered stdout at once;
# IHaskell polls its capture pipe every 100 ms). A thread of the interpreter's own flushes
# stdout every 100 ms, so such output arrives within that, at the cost of one wake-up of an
# otherwise idle interpreter per period (its RTS clock ticks every 10 ms anyway). Started
# once per interpreter (it outlives loads), by the session while it is idle after its first
# statement: compiling it costs GHCi 25-50 ms (interfaces to load, and GHC's major
# collection brought forward), which a session's first answer would otherwise wait for. It
# binds no name and catches every exception (a closed stdout), so it is never seen; no
# numeric literal (RebindableSyntax).
_FLUSH_PERIOD_US: Final = 100_000
FLUSHER_COMMAND: Final = (
    # The local signature: -Wmissing-local-signatures with -Werror refused the binding.
    ":cmd let { ghcShim'flush :: GHC.Types.IO (); ghcShim'flush = "
    "GHC.Conc.IO.threadDelay (GHC.Base.ord "
    f"'\\{_FLUSH_PERIOD_US}') GHC.Base.>> GHC.IO.catchAny (System.IO.hFlush System.IO.stdout) "
    "(\\_ -> GHC.Base.return ()) GHC.Base.>> ghcShim'flush } in "
    "GHC.Conc.Sync.forkIO ghcShim'flush GHC.Base.>> GHC.Base.return GHC.Base.mempty"
)


_RESET_STDIN: Final = (
    ":cmd System.IO.hSeek System.IO.stdin System.IO.AbsoluteSeek "
    "(GHC.Real.toInteger (GHC.Base.ord '\\NUL')) GHC.Base.>> GHC.Base.return GHC.Base.mempty"
)


def _reopen_stdin(backup_fd: int) -> str:
    """The command that gives the interpreter a stdin again after user code closed it
    (``hClose stdin``, or ``getContents``/``interact`` reading to the end): until then every
    later statement given stdin text failed with "handle is closed" (an autograder running
    an ``interact`` program per test case got one answer). The interpreter keeps the
    server's stdin file open as ``backup_fd`` too (the wrapper's redirection leaves it
    open): duplicated onto fd 0 it shares the offset the server rewinds. Char literals, not
    numeric ones, no ``if`` and no string or list literal, so that RebindableSyntax cannot
    change its meaning. Costs GHCi ~5 ms to compile: sent only when rewinding failed.
    """
    fd = f"(GHC.Real.fromIntegral (GHC.Base.ord '\\{backup_fd}'))"
    zero = "(GHC.Real.fromIntegral (GHC.Base.ord '\\NUL'))"
    # fd 0 first (closing stdin closed it, and a plain dup would then return 0 itself, which
    # the temporary handle's hClose would close again), then a Handle over it like the one
    # GHCi made: read-only, text in the locale's encoding, "<stdin>" in messages, unbuffered.
    name = "(" + " : ".join(f"'{c}'" for c in "<stdin>") + " : GHC.Base.mempty)"
    return (f":cmd System.Posix.Internals.c_dup2 {fd} {zero} "
            f"GHC.Base.>> System.Posix.Internals.c_dup {fd} GHC.Base.>>= \\ghcShim'fd -> "
            "GHC.IO.Handle.FD.fdToHandle' ghcShim'fd GHC.Maybe.Nothing GHC.Types.False "
            f"{name} System.IO.ReadMode GHC.Types.False GHC.Base.>>= \\ghcShim'h -> "
            "GHC.IO.Handle.hDuplicateTo ghcShim'h System.IO.stdin GHC.Base.>> "
            "System.IO.hClose ghcShim'h GHC.Base.>> "
            "System.IO.hSetBuffering System.IO.stdin System.IO.NoBuffering GHC.Base.>> "
            # hDuplicateTo keeps an encoding only for a handle that writes (GHC 9.0.2's
            # dupHandle_ tests haEncoder): a read-only one came out binary, "é" as '\195'.
            "GHC.IO.Encoding.getLocaleEncoding GHC.Base.>>= "
            "System.IO.hSetEncoding System.IO.stdin GHC.Base.>> "
            "GHC.Base.return GHC.Base.mempty")


class GhciProcess:
    """A started GHCi. One command runs at a time (callers serialise; this is not locked)."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        config: GhciConfig,
        workdir: Path,
        owns_workdir: bool,
        stdin_fd: int,
        marker: bytes,
        user_fds: tuple[int, int],
    ) -> None:
        self._proc = proc
        self.config = config
        self.workdir = workdir
        self._owns_workdir = owns_workdir
        self._stdin_fd = stdin_fd
        self._marker = marker
        assert proc.stdout is not None and proc.stderr is not None and proc.stdin is not None
        # Raw non-blocking fds rather than asyncio streams, so that "drain stderr now" is
        # exact (see the module docstring).
        self._user_fds: tuple[int, ...] = user_fds
        self._pipes = GhciPipes(proc.stdout.fileno(), proc.stderr.fileno(), *user_fds)
        self._in_fd = proc.stdin.fileno()
        os.set_blocking(self._in_fd, False)
        self.ghc_version = ""
        self.commands_run = 0
        self._runs = 0  # run() calls started: a held-back SIGINT is for one run only
        self._reset_at_run = 0  # the run() before whose command stdin was last rewound
        self._payload_at: float | None = 0.0  # when this run's command was written
        self._needs_resync = False
        self._stdin_dirty = False
        self._stdin_written = False  # the stdin file holds text or an advanced offset
        self._statements_ready = False
        self.flusher_started = False  # FLUSHER_COMMAND has run (the session runs it)
        self._killed = False

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def start(cls, config: GhciConfig) -> GhciProcess:
        """Start GHCi and wait until it answers.

        Raises:
            GhciStartError: GHC is missing, or GHCi did not come up (its stderr is quoted).
        """
        ghc = find_ghc(config.ghc)
        owns_workdir = config.workdir is None
        workdir = Path(config.workdir) if config.workdir else make_workdir()
        try:
            proc, stdin_fd, user_fds = await cls._spawn(config, ghc, workdir)
        except BaseException:
            # Also when cancelled (a server stopping while its pool refills): nothing of a
            # GHCi that never started may stay behind (temporary directories left by every
            # start that was cut short are a known complaint about evaluation services).
            if owns_workdir:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        marker = _new_marker()
        self = cls(proc, config, workdir, owns_workdir, stdin_fd, marker, user_fds)
        try:
            # GHCi prints its prompt before reading each command: the first marker appears
            # only after both settings are read. `-v0` would hide the prompt altogether.
            await self._write(f':set prompt-cont ""\n:set prompt {_prompt_literal(marker)}\n')
            banner = await asyncio.wait_for(self._collect(None, None, None), config.start_timeout)
            self.ghc_version = _version_from_banner(banner.stdout)
        except (GhciDiedError, TimeoutError, GhciStartError) as exc:
            tail = getattr(exc, "stderr_tail", "") or ""
            if not tail:
                # It may have died before reading anything: what it said is still in the pipe.
                await self._wait_exit(2.0)
                tail = self._pipes.read_stderr_now().decode("utf-8", "replace").strip()
            await self.kill()
            raise GhciStartError(f"GHCi did not start ({ghc}): {exc} {tail}".strip()) from exc
        except BaseException:
            # Cancelled: no awaiting any more. SIGKILLed, it is gone within milliseconds.
            self._kill_now()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(1.0)
            raise
        return self

    @staticmethod
    async def _spawn(config: GhciConfig, ghc: str, workdir: Path
                     ) -> tuple[subprocess.Popen[bytes], int, tuple[int, int]]:
        """Start GHCi with its files in ``workdir``: the process, its stdin file's fd and the
        read ends of the interpreter's stdout and stderr pipes."""
        stdin_fd = os.open(workdir / STDIN_NAME, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        # The interpreted program writes to pipes of its own, not to GHCi's: GHCi's output
        # is then GHCi's alone (answers, diagnostics, its prompt), which nothing the program
        # prints can corrupt or forge (a forked thread printing during a :type; an error
        # report of a program run with System.Process; the marker itself).
        user_out_r, user_out_w = os.pipe()
        user_err_r, user_err_w = os.pipe()
        try:
            # Held while the server, GHCi or its interpreter lives (the interpreter inherits
            # this descriptor): what tells a sweep that the directory is in use.
            lock_in_use(stdin_fd)
            os.set_inheritable(stdin_fd, True)
            wrapper = workdir / "iserv"
            loop = asyncio.get_running_loop()
            iserv = await loop.run_in_executor(None, _iserv_path, ghc, config.libdir)
            wrapper.write_text(_wrapper_script(config, iserv, stdin_fd, user_out_w, user_err_w))
            wrapper.chmod(stat.S_IRWXU)
            args = [ghc, "--interactive", "-ignore-dot-ghci", "-fexternal-interpreter"]
            args += ["-pgmi", str(wrapper)]
            if config.libdir:
                args += ["-B" + config.libdir]
            args += list(config.flags)
            env = dict(os.environ)
            # GHC 9.0.2 under a non-UTF-8 locale ends the session on non-ASCII input.
            env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="dumb")
            env.pop("GHC_ENVIRONMENT", None)
            try:
                proc = subprocess.Popen(
                    args,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=env,
                    # Relative paths in `:load`, module search and the user's own file access
                    # resolve here, as they would in the caller's process with in-process GHC.
                    cwd=config.cwd or os.getcwd(),
                    pass_fds=(stdin_fd, user_out_w, user_err_w),
                    start_new_session=True,  # its own process group, for SIGINT and cleanup
                    preexec_fn=functools.partial(_prepare_child, config.cpus),
                )
            except OSError as exc:
                raise GhciStartError(f"cannot start {ghc}: {exc}") from exc
        except BaseException:
            for fd in (stdin_fd, user_out_r, user_err_r):
                os.close(fd)
            raise
        finally:
            # GHCi holds them now (and hands them to its interpreter).
            os.close(user_out_w)
            os.close(user_err_w)
        return proc, stdin_fd, (user_out_r, user_err_r)

    def pin(self, cpus: frozenset[int]) -> None:
        """Keep GHCi, its threads and its interpreter (now or later started) on ``cpus``.

        Why: ``ghc`` and ``ghc-iserv`` exchange several messages per statement, and GHC's
        threaded runtime wakes its own threads around each; on different CPUs every
        hand-over is an inter-processor wake-up. On one CPU a trivial statement took 0.35 ms
        less here (bench/PROFILE.md). The two never compute at the same time, so nothing
        runs slower for it.
        """
        for pid in _process_tree(self._proc.pid):
            with contextlib.suppress(OSError):
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with contextlib.suppress(OSError):
                        os.sched_setaffinity(int(tid), cpus)

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return self._proc.poll()

    @property
    def killed(self) -> bool:
        """Whether ``kill`` ran (the process and its pipes are gone or going)."""
        return self._killed

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None and not self._pipes.stdout_eof

    def interrupt(self) -> None:
        """SIGINT to the interpreter, then (if the command goes on) to GHCi.

        The interpreter alone first: the running code gets ``UserInterrupt`` as it would in
        in-process GHCi, so code that catches it finishes and its statement binds its
        names. A SIGINT that also reaches ``ghc`` makes GHCi abandon the statement whatever
        the code does ("Interrupted.", nothing bound; measured in raw GHCi with the shim's
        flags). GHCi gets its SIGINT when the command is still running after
        ``_ESCALATE_AFTER``: GHC itself may be busy (compiling), or the code may not heed
        it (a loop that does not allocate); GHCi then abandons the statement. (GHCi's SIGINT
        alone does nothing while the interpreter runs the code, GHC 9.0.2; ghc_api.md §1.9.)
        """
        run = self._runs
        interpreter = self._interpreter_pid()
        reached = False
        if interpreter is not None and not self._killed:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(interpreter, signal.SIGINT)
                reached = True
        with contextlib.suppress(RuntimeError):  # no loop: at once
            asyncio.get_running_loop().call_later(_ESCALATE_AFTER, self._interrupt_ghci, run,
                                                  not reached)
            return
        self._interrupt_ghci(run, not reached)

    def _interpreter_pid(self) -> int | None:
        for pid in _process_tree(self._proc.pid)[1:]:
            with contextlib.suppress(OSError), open(f"/proc/{pid}/comm") as comm:
                if comm.read().startswith("ghc-iserv"):
                    return pid
        return None

    def _interrupt_ghci(self, run: int, group: bool) -> None:
        """The second stage: ``ghc`` itself, or the whole group when the interpreter was not
        reached (one SIGINT each: a second one to an interpreter stuck in a loop that does
        not allocate left it stuck until the session was killed)."""
        if self._killed or run != self._runs or self._pipes.idle:
            return  # that command is over
        # GHCi answers a SIGINT that arrives while it waits for input with one more prompt;
        # the next command starts with a resync that discards it.
        self._needs_resync = True
        self._sigint(run, group)

    def _sigint(self, run: int, group: bool = True) -> None:
        if self._killed or run != self._runs:
            return  # that command is over; the one now running was not interrupted
        sent = self._payload_at  # None while the run is still re-syncing or preparing stdin
        wait = _READ_GUARD if sent is None else sent + _READ_GUARD - time.monotonic()
        if wait > 0:
            with contextlib.suppress(RuntimeError):  # no loop: send it now
                asyncio.get_running_loop().call_later(wait, self._sigint, run, group)
                return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(self._proc.pid, signal.SIGINT)
            else:
                os.kill(self._proc.pid, signal.SIGINT)

    async def _resync(self) -> None:
        self._needs_resync = False
        # Let a signal still in flight land while GHCi is idle, not while it reads the
        # next command (a SIGINT during the read would discard that line).
        await asyncio.sleep(0.05)
        self._pipes.discard_available()
        self._marker = _new_marker()
        await self._write(f":set prompt {_prompt_literal(self._marker)}\n")
        await self._collect(None, None, None)

    async def stop(self, grace: float = 2.0) -> None:
        """Ask GHCi to quit, then SIGTERM, then SIGKILL the process group; always reaps."""
        if self._proc.poll() is None:
            with contextlib.suppress(OSError, GhciDiedError, TimeoutError):
                await asyncio.wait_for(self._write(":quit\n"), grace)
            await self._wait_exit(grace)
        await self.kill()

    async def kill(self) -> None:
        """SIGKILL the whole process group (a busy GHCi ignores SIGTERM) and reap it."""
        self._kill_group()
        await self._wait_exit(10.0)
        # A second signal catches an interpreter that was being spawned at the first.
        self._kill_now()

    def _kill_now(self) -> None:
        """SIGKILL the process group and release everything, without waiting (the process
        is reaped by ``subprocess`` later)."""
        self._kill_group()
        self._killed = True
        # Readers first: closing an fd under a registered reader would leave it waiting
        # for ever. A command being collected returns and reports the death.
        self._pipes.close()
        self._close_pipes()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ------------------------------------------------------------------ commands

    @property
    def statements_ready(self) -> bool:
        """Whether ``prepare_statements`` has run."""
        return self._statements_ready

    async def prepare_statements(self) -> None:
        """Run the set-up of the interpreted program before the first statement (and before
        the first after a load, which undoes it).

        Not at start-up: compiling any statement loads interfaces, which changes the order
        in which ``:info`` lists instances. Run just before the user's first statement it
        leaves GHCi's state as the user's own statement would have (checked against a raw
        GHCi), so the helper stays invisible.
        """
        if self._statements_ready:
            return
        self._statements_ready = True
        setup = await self.run(_SETUP, line=None)
        if setup.stderr.strip():
            log.warning("GHCi set-up statement failed: %s", setup.stderr.strip())

    async def _prepare_stdin(self, text: str | None) -> None:
        """Make the next statement read ``text`` from stdin, then end of file.

        The interpreter's stdin is a file whose open file description the server shares:
        rewriting it and rewinding the shared offset is enough, unless the previous
        statement read from it — then GHC's handle may hold read-ahead bytes (even with
        NoBuffering), which ``hSeek`` discards — or closed it, which only a statement that
        is given text finds out (``_reopen_stdin`` then). A Char literal, not a numeric one,
        so that RebindableSyntax cannot change its meaning.
        """
        # Given text, the statement must read it even if an earlier one closed stdin
        # without reading it (so the offset did not move): rewind whenever anything ran
        # since the last time; a rewind that fails means stdin was closed.
        if self._stdin_dirty or (text is not None and self._runs > self._reset_at_run):
            self._stdin_dirty = False
            self._reset_at_run = self._runs
            await self._write(_RESET_STDIN + "\n")
            rewound = await self._collect(None, None, None)
            if rewound.stderr.strip():
                await self._write(_reopen_stdin(self._stdin_fd) + "\n")
                reopened = await self._collect(None, None, None)
                if reopened.stderr.strip():
                    log.warning("could not reopen the interpreter's stdin: %s",
                                reopened.stderr.strip())
        data = (text or "").encode("utf-8")
        if not data and not self._stdin_written:
            return  # already empty and rewound: spare two system calls per statement
        os.ftruncate(self._stdin_fd, 0)
        if data:
            os.pwrite(self._stdin_fd, data, 0)
        os.lseek(self._stdin_fd, 0, os.SEEK_SET)
        self._stdin_written = bool(data)

    async def run(
        self,
        text: str,
        *,
        line: int | None = 1,
        source_file: str = "<interactive>",
        stdin: str | None = None,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
        output_limit: int | None = None,
        while_running: Callable[[], None] | None = None,
        on_user_stderr: OutputCallback | None = None,
        on_user_stdout: OutputCallback | None = None,
    ) -> CommandOutput:
        """Send one command (a statement, declarations or a colon command the server built)
        and collect its output up to the prompt.

        ``on_stdout`` gets the interpreted program's stdout (and GHCi's own), unless
        ``on_user_stdout`` takes the program's, ``on_stderr`` GHCi's stderr (diagnostics,
        exception reports), ``on_user_stderr`` the program's stderr; the result's
        ``stdout``/``stderr`` hold GHCi's own output only. Program output while no command
        takes it waits for the next one that does.

        ``while_running`` is called once the command is sent, before its output is awaited.
        ``line`` set: the text is sent as a ``:{``/``:}`` block whose first line GHC reports
        as ``line`` of ``source_file`` (a LINE pragma, as ``execLineNumber`` does in GHC).

        Raises:
            GhciDiedError: GHCi exited or closed its stdout before the prompt came back.
        """
        if self._killed:
            # Its pipes and stdin file are closed (their fd numbers may be reused already).
            raise GhciDiedError("GHCi was killed", returncode=self.returncode, stderr_tail="")
        self._runs += 1
        self._payload_at = None
        if self._needs_resync:
            await self._resync()
        if stdin or self._stdin_written or self._stdin_dirty:
            await self._prepare_stdin(stdin)
        if line is not None:
            payload = f':{{\n{{-# LINE {line} "{_escape(source_file)}" #-}}\n{text}\n:}}\n'
        elif "\n" in text:
            payload = f":{{\n{text}\n:}}\n"
        else:
            payload = text + "\n"
        rest = self._write_now(payload.encode("utf-8"))
        if rest:
            await self._write_rest(rest)
        self._payload_at = time.monotonic()
        self.commands_run += 1
        try:
            if while_running is not None:
                # GHCi works on the command now, on another CPU: work done here is off the
                # request's critical path.
                while_running()
            return await self._collect(on_stdout, on_stderr, output_limit, on_user_stderr,
                                       on_user_stdout)
        finally:
            if text.startswith((":load", ":reload", ":add")):
                # GHCi turns the interpreted program's buffering off again after a load
                # (GHC 9.0.2: stdout NoBuffering, so `print [1..200000]` took 2.9 s and
                # 85,000 writes instead of 69 ms): the set-up runs again before the next
                # statement.
                self._statements_ready = False
            # Reading an empty file leaves the offset at 0: only a statement that was
            # given stdin text can have moved it.
            if self._stdin_written:
                with contextlib.suppress(OSError):
                    self._stdin_dirty = os.lseek(self._stdin_fd, 0, os.SEEK_CUR) > 0

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)

    def _close_pipes(self) -> None:
        for pipe in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        # Idempotent: ``kill`` can run twice for one death (the grace-period killer and the
        # session's recovery), and the second ``os.close`` of this bare fd number would close
        # whatever reused it meanwhile — the restarted GHCi's stdin file (EBADF on its first
        # command, seen as an ``internal`` error after a timeout kill) or a client socket.
        stdin_fd, self._stdin_fd = self._stdin_fd, -1
        user_fds, self._user_fds = self._user_fds, ()
        for fd in (stdin_fd, *user_fds):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)

    async def _wait_exit(self, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        delay = 0.002
        while self._proc.poll() is None and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def _write(self, text: str) -> None:
        rest = self._write_now(text.encode("utf-8"))
        if rest:
            await self._write_rest(rest)

    def _write_now(self, data: bytes) -> memoryview | None:
        """Write what the pipe takes at once; the rest, if any, for ``_write_rest``.

        A command almost always fits the pipe: writing it here, not in a coroutine, keeps
        the event loop out of the request's critical path.
        """
        try:
            written = os.write(self._in_fd, data)
        except BlockingIOError:
            written = 0
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise GhciDiedError(
                f"GHCi's stdin is closed ({exc})", returncode=self.returncode, stderr_tail=""
            ) from exc
        return memoryview(data)[written:] if written < len(data) else None

    async def _write_rest(self, data: memoryview) -> None:
        loop = asyncio.get_running_loop()
        while data:
            try:
                written = os.write(self._in_fd, data)
            except BlockingIOError:
                ready = loop.create_future()
                loop.add_writer(self._in_fd, ready.set_result, None)
                try:
                    await ready
                finally:
                    loop.remove_writer(self._in_fd)
                continue
            except (BrokenPipeError, ValueError, OSError) as exc:
                raise GhciDiedError(
                    f"GHCi's stdin is closed ({exc})", returncode=self.returncode, stderr_tail=""
                ) from exc
            data = data[written:]

    async def _collect(
        self,
        on_stdout: OutputCallback | None,
        on_stderr: OutputCallback | None,
        output_limit: int | None,
        on_user_stderr: OutputCallback | None = None,
        on_user_stdout: OutputCallback | None = None,
    ) -> CommandOutput:
        if self._killed:
            raise GhciDiedError("GHCi was killed", returncode=self.returncode, stderr_tail="")
        output = await self._pipes.collect(self._marker, on_stdout, on_stderr, output_limit,
                                           on_user_stderr, on_user_stdout)
        if output.ended:
            await self._wait_exit(2.0)
            raise GhciDiedError(
                f"GHCi exited (status {self.returncode})",
                returncode=self.returncode,
                stderr_tail=output.stderr_tail,
            )
        return output


def _process_tree(root: int) -> list[int]:
    """``root`` and its descendants (from /proc/PID/task/TID/children)."""
    found = [root]
    for pid in found:
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/children") as f:
                    found.extend(int(child) for child in f.read().split())
    return found


_MARKER_ALPHABET: Final = string.ascii_letters + string.digits


def _new_marker() -> bytes:
    """A fresh prompt marker: NUL, then 8 random letters or digits (47 random bits).

    Nothing the server sends GHCi holds a NUL (``check_sendable`` refuses it in user text),
    so GHCi itself never echoes one; only the interpreted program can print NUL, and it
    cannot know the random part (output by chance would need ~10^14 NULs per false match).
    Short, because GHCi writes its prompt one character per ``write(2)``, each of which can
    wake the server once more: against the 20-character marker this replaced, GHCi spends
    ~28 µs less CPU per command and the server reads its stdout ~2.5 times instead of ~6
    (the latency of one command did not change measurably; bench/PROFILE.md).
    """
    return b"\0" + "".join(secrets.choice(_MARKER_ALPHABET) for _ in range(8)).encode()


def _prompt_literal(marker: bytes) -> str:
    """``marker`` as the Haskell string literal ``:set prompt`` reads (NUL as ``\\NUL``)."""
    return '"' + marker.decode("ascii").replace("\0", "\\NUL") + '"'


def _prepare_child(cpus: frozenset[int] | None) -> None:
    # Runs in the child between fork and exec. The CPU placement set here is inherited by
    # every thread GHC's runtime starts and by its interpreter, with no window in which a
    # new thread could escape it (``pin`` is for pooled GHCis placed after their start).
    if cpus:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, cpus)
    _die_with_parent()


def _die_with_parent() -> None:
    # Runs in the child between fork and exec. If the server dies without cleaning up
    # (SIGKILL), the kernel kills GHCi too; its interpreter then sees its pipe close and
    # exits. No GHCi outlives the server.
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _version_from_banner(banner: str) -> str:
    # "GHCi, version 9.0.2: https://www.haskell.org/ghc/  :? for help"
    marker = "GHCi, version "
    start = banner.find(marker)
    if start < 0:
        return "unknown"
    rest = banner[start + len(marker) :]
    return rest.split(":", 1)[0].strip()

