"""A session: one GHCi child, its limits, its journal, and the operations run in it.

Responsible for: turning each validated request into GHCi commands built by the server
(never user text as a colon command), reading GHCi's answer into a reply model or a
``RequestError`` with structured details, time limits, interrupts, crash recovery (restart
and replay the journal), and keeping one request at a time per session. Must not: know about
connections or frames (``server`` does), or parse GHC's text itself beyond calling the pure
parsers in ``diagnostics``, ``ghci_text`` and ``haskell_source``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import secrets
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from core.protocol import messages as m
from core.protocol.errors import (
    CompileError,
    DiagnosticInfo,
    ErrorDetails,
    EvaluationError,
    ExceptionInfo,
    GhcUsageError,
    InterruptedError_,
    OutputLimitError,
    SessionDiedError,
    TimeoutError_,
)
from core.protocol.flags import joined_arguments, with_flag
from core.protocol.imports import render_import, split_import_items
from core.server.blobs import blob_files
from core.server.diagnostics import (
    INTERRUPTED,
    NO_LOCATION,
    Diagnostic,
    classify_exception,
    parse_diagnostics,
    render_diagnostic,
    shown_constructor,
    split_exception,
)
from core.server.ghci_process import (
    FLUSHER_COMMAND,
    CommandOutput,
    GhciConfig,
    GhciDiedError,
    GhciProcess,
)
from core.server.ghci_text import (
    parse_complete,
    parse_info,
    parse_module_lines,
    result_type,
    type_after_dcolon,
)
from core.server.haskell_source import (
    bound_names,
    check_sendable,
    classify,
    declared_names,
    is_let_statement,
)
from core.server.journal import Journal, JournalEntry
from core.server.output import StderrStreamer
from core.server.value_writer import (
    EVAL_SOURCE,
    EXPR_INDENT,
    SeenType,
    has_table_reading,
    known_type_statement,
    seen_type,
    writer_statement,
)

__all__ = ["Emit", "Session", "SessionLimits", "refuse_flag"]

log = logging.getLogger(__name__)

_FLUSHER_AFTER: Final = 0.05  # seconds after a request before the flusher may start

Emit = Callable[[Literal["stdout", "stderr"], str], None]

_IDENT: Final = re.compile(r"^[a-z_][A-Za-z0-9_']*$")
_MODULE: Final = re.compile(r"^[A-Z][A-Za-z0-9_']*(\.[A-Z][A-Za-z0-9_']*)*$")
# Flags that would break the server's hold on GHCi (its interpreter, prompt, scripts) or
# reach outside the session; everything else is GHC's business to accept or refuse.
_FORBIDDEN_FLAGS: Final = re.compile(
    r"^-(f(no-)?external-interpreter|pgm|opt|ghci-script|ignore-dot-ghci|e$|-interactive|"
    r"-make|interactive-print|B|v[0-9]?$|package-env|F$|ddump|dth-dec-file|fno-code|"
    r"fobject-code|fbyte-code|outputdir|odir|hidir|stubdir|dumpdir|tmpdir|fplugin)"
)
# Flags that take away what the server's own statements (buffering and stdin set-up, the
# value writer) rely on: every name they use is fully qualified, resolved by GHCi's implicit
# qualified imports, which Safe Haskell turns off with them (GHC 9.0.2: after `:set -XSafe`
# `System.IO.putStrLn` is "Not in scope"). Accepted, they left stdout unbuffered, stdin
# unusable and every value transfer failing with an error about code the user never wrote.
_HELPERS_NEED: Final = {
    "-XSafe": "Safe Haskell (SECURITY.md: it is not enforced here; sessions are isolated by "
              "process and limits instead)",
    "-fno-implicit-import-qualified": "this flag",
}
# GHC's "kind of thing" words that start a TyThing line in :info output.
_NOT_IN_SCOPE: Final = re.compile(r"Not in scope|not in scope|No module named|not in scope:")
# `:info`'s "Defined at <file>:<line>:<col>" (a span's end may follow: `:3:1-5`).
_LOCATION: Final = re.compile(r"^(?P<file>.+?):\d+:\d+(?:-\d+)?$")
_MAX_KNOWN_TYPES: Final = 64  # type texts whose payload header a session keeps


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """Per-session limits; every one has a finite default (DESIGN.md: limits per session)."""

    timeout: float = 120.0  # seconds per request, evaluation and serialisation together
    grace: float = 2.0  # seconds an interrupted request gets before GHCi is killed
    output_limit: int = 32 * 1024 * 1024  # bytes of output kept per request
    value_limit: int = 48 * 1024 * 1024  # bytes of one serialized value


@dataclass(slots=True)
class _State:
    context: list[m.ImportSpec] = field(default_factory=list)
    extensions: dict[str, bool] = field(default_factory=dict)  # name -> on
    flags: list[str] = field(default_factory=list)
    targets: list[m.TargetSpec] = field(default_factory=list)
    bindings: list[str] = field(default_factory=list)  # oldest first
    # Remote references: name -> the StablePtr that keeps the value alive in the
    # interpreter (None when the value's type cannot be pinned, e.g. a constrained type).
    refs: dict[str, int | None] = field(default_factory=dict)


class Session:
    """One user session. ``run_*`` methods are called with the session lock held."""

    def __init__(
        self,
        session_id: str,
        ghci: GhciProcess,
        config: GhciConfig,
        limits: SessionLimits,
    ) -> None:
        self.id = session_id
        self.ghci = ghci
        self.config = config
        self.limits = limits
        self.lock = asyncio.Lock()
        self.journal = Journal()
        self.state = _State()
        self.restarts = 0
        self.created = time.monotonic()
        self.last_used = time.monotonic()
        self.closed = False
        self.request_id: int | None = None  # the request that holds the lock
        self._flusher_pending: asyncio.Future[None] | None = None
        self._interrupt_at_start: set[int] = set()  # waiting requests interrupted already
        self._running: int | None = None  # serial of the command in flight
        # An interrupt of the request in progress that came while none of its commands ran
        # (between two, or while GHCi was being prepared): its next command gets it.
        self._interrupt_next = False
        self._serial = 0
        self._interrupt_reason: Literal["interrupt", "timeout"] | None = None
        self._ref_counter = 0
        self._blob_serial = 0  # bindings with blob files so far (their files' names)
        self._value_path = Path(ghci.workdir) / "value.bin"
        self._killing: asyncio.Future[None] | None = None
        self._search_dirs: set[str] = set()
        # Type text -> what the last payload of a value of that type showed: values of types
        # seen before are written by a shorter statement.
        self._known_types: dict[str, SeenType] = {}
        # Flags on GHCi's command line (a session started for its options): GHCi has them
        # as if set, and get_flags and the value writer must know (under RebindableSyntax
        # the writer's `_ <-` would use the user's >>=).
        self._note_flags(config.flags)

    @property
    def busy(self) -> bool:
        return self.lock.locked()

    # ------------------------------------------------------------------ plumbing

    async def close(self) -> None:
        self.closed = True
        self._interrupt_at_start.clear()
        if self._flusher_pending is not None:
            self._flusher_pending.cancel()
        self.interrupt()
        await self.ghci.stop()

    def begin_request(self, request_id: int) -> None:
        """The request ``request_id`` holds the lock now (``interrupt`` may aim at it)."""
        self.request_id = request_id
        self._interrupt_next = request_id in self._interrupt_at_start
        self._interrupt_at_start.discard(request_id)

    def interrupt_when_started(self, request_id: int) -> None:
        """Interrupt request ``request_id``, still waiting for the lock, as it starts."""
        self._interrupt_at_start.add(request_id)

    def end_request(self) -> None:
        self.request_id = None
        self._interrupt_next = False
        if (self._flusher_pending is None and not self.ghci.flusher_started
                and self.ghci.statements_ready and not self.closed):
            self._flusher_pending = asyncio.ensure_future(self._start_flusher())

    async def _start_flusher(self) -> None:
        """Start the interpreter's stdout flusher (``FLUSHER_COMMAND`` says why) once the
        session is idle after a statement: not before one (compiling any code loads
        interfaces, which a first ``:info`` would show), and not on a request's time."""
        try:
            await asyncio.sleep(_FLUSHER_AFTER)  # a request that follows at once goes first
            async with self.lock:
                if self.closed or self.ghci.flusher_started:
                    return
                ghci = self.ghci
                try:
                    output = await asyncio.wait_for(ghci.run(FLUSHER_COMMAND, line=None),
                                                    self.limits.timeout)
                except GhciDiedError:
                    # Not recovered here: the next request finds GHCi dead, restarts and
                    # replays, and its caller is told (session_died), as for any death
                    # between requests.
                    return
                except TimeoutError:
                    log.warning("session %s: the stdout flusher did not start in %g s; "
                                "killing GHCi", self.id, self.limits.timeout)
                    await ghci.kill()
                    return
                if output.stderr.strip():
                    log.warning("session %s: the stdout flusher did not start: %s", self.id,
                                output.stderr.strip())
                ghci.flusher_started = True
        finally:
            self._flusher_pending = None

    def interrupt(self, request_id: int | None = None) -> bool:
        """Interrupt the request in progress (only if it is ``request_id``, when given);
        never waits for the session lock. False when there was nothing to interrupt."""
        if request_id is not None and request_id != self.request_id:
            return False  # that request has ended, or has not started: not this one
        serial = self._running
        if serial is None:
            if self.request_id is None:
                return False
            self._interrupt_next = True
            return True
        self._interrupt_reason = self._interrupt_reason or "interrupt"
        self.ghci.interrupt()
        asyncio.get_running_loop().call_later(self.limits.grace, self._kill_if_stuck, serial)
        return True

    def _interrupt_command(self, serial: int) -> None:
        if self._running == serial:
            self.interrupt()

    def _on_time_limit(self, serial: int) -> None:
        if self._running == serial:
            self._interrupt_reason = "timeout"
            self.interrupt()

    def interrupt_reason(self) -> Literal["interrupt", "timeout"] | None:
        """Why the running request was interrupted (set by ``interrupt`` or the time limit)."""
        return self._interrupt_reason

    def _kill_if_stuck(self, serial: int) -> None:
        if self._running == serial:
            log.warning("session %s ignored SIGINT for %.1fs; killing GHCi", self.id,
                        self.limits.grace)
            self._killing = asyncio.ensure_future(self.ghci.kill())

    async def _command(
        self,
        text: str,
        *,
        timeout: float | None = None,
        line: int | None = None,
        source_file: str = "<interactive>",
        stdin: str | None = None,
        on_stdout: Callable[[str], None] | None = None,
        on_stderr: Callable[[str], None] | None = None,
        declarations: bool = False,
        while_running: Callable[[], None] | None = None,
        on_user_stderr: Callable[[str], None] | None = None,
        on_user_stdout: Callable[[str], None] | None = None,
    ) -> tuple[CommandOutput, Literal["interrupt", "timeout"] | None]:
        """Run one command under the time limit; recover from a dead GHCi.

        Raises:
            SessionDiedError: GHCi died or had to be killed; it was restarted and replayed.
        """
        self.last_used = time.monotonic()
        limit = timeout if timeout is not None else self.limits.timeout
        self._interrupt_reason = None
        if (not self.ghci.statements_ready and not declarations
                and not text.lstrip().startswith((":", "import "))):
            try:
                await self.ghci.prepare_statements()
            except GhciDiedError as exc:
                await self._recover(f"the interpreter died ({_describe_exit(exc.returncode)})")
        # No task per command: timers interrupt it in place (fewer event-loop round trips on
        # the hot path). A time limit interrupts; an interrupt that GHCi ignores for the
        # grace period kills it, and the run then ends with GhciDiedError.
        loop = asyncio.get_running_loop()
        self._serial += 1
        serial = self._running = self._serial
        deadline = loop.call_later(limit, self._on_time_limit, serial)
        if self._interrupt_next:
            # As if the interrupt had come a moment later, once the command was written.
            self._interrupt_next = False
            loop.call_soon(self._interrupt_command, serial)
        try:
            output = await self.ghci.run(
                text,
                line=line,
                source_file=source_file,
                stdin=stdin,
                on_stdout=on_stdout,
                on_stderr=on_stderr,
                output_limit=self.limits.output_limit,
                while_running=while_running,
                on_user_stderr=on_user_stderr,
                on_user_stdout=on_user_stdout,
            )
        except GhciDiedError as exc:
            # The request is no longer interruptible: an interrupt or this time limit
            # arriving during the restart below would reach the *new* GHCi (its SIGINT, then
            # its kill after the grace period) and break the replay -- seen under repeated
            # interrupts: replayed lets silently missing, "Variable not in scope" afterwards.
            deadline.cancel()
            self._running = None
            reason = self.interrupt_reason()
            detail = exc.stderr_tail.strip()
            if reason == "timeout":
                why = (f"the request exceeded its time limit of {limit:g} s and GHCi did not "
                       "stop when interrupted, so it was killed")
            elif reason == "interrupt":
                why = "GHCi did not stop when interrupted and was killed"
            elif _out_of_memory(detail):
                limit_text = (f"the session's limit of {self.config.heap_mb} MB"
                              if self.config.heap_mb is not None else "no limit set")
                why = f"the interpreter ran out of memory ({limit_text})"
                detail = _first_line(detail)
            else:
                why = f"the interpreter died ({_describe_exit(exc.returncode)})"
            await self._recover(why + (f": {detail}" if detail else ""))
        finally:
            deadline.cancel()
            self._running = None
        return output, self.interrupt_reason()

    async def _recover(self, why: str) -> None:
        """Restart GHCi, replay the journal, and raise ``SessionDiedError`` saying so."""
        await self.ghci.kill()
        self.restarts += 1
        replayed, failed = await self._restart_and_replay()
        skipped = [f"not re-run (side effects): {s}" for s in self.journal.skipped]
        message = f"{why}. The session was restarted"
        if replayed:
            message += f" and {len(replayed)} state change(s) were replayed"
        if failed:
            message += f"; {len(failed)} could not be replayed"
        raise SessionDiedError(
            message,
            details=ErrorDetails(
                replayed=tuple(replayed), problems=tuple(failed + skipped)
            ),
        )

    async def _restart_and_replay(self) -> tuple[list[str], list[str]]:
        config = GhciConfig(
            ghc=self.config.ghc,
            flags=self.config.flags,
            libdir=self.config.libdir,
            heap_mb=self.config.heap_mb,
            cpu_seconds=self.config.cpu_seconds,
            workdir=None,
            cwd=self.config.cwd,
            start_timeout=self.config.start_timeout,
            cpus=self.config.cpus,
        )
        self._scope_changed()
        self.ghci = await GhciProcess.start(config)
        self._value_path = Path(self.ghci.workdir) / "value.bin"
        old_refs = list(self.state.refs)
        self.state.refs.clear()
        replayed: list[str] = []
        failed: list[str] = []
        for entry in list(self.journal.entries):
            ok = True
            commands = [entry.text] if entry.kind in ("decls", "let") else entry.text.split("\n")
            if entry.blobs is not None:
                # The files went with the old GHCi's directory.
                workdir = Path(self.ghci.workdir)
                entry.blobs.write(workdir)
                commands = [entry.blobs.moved(entry.text, Path(entry.blobs_dir), workdir)]
            for command in commands:
                try:
                    out = await asyncio.wait_for(
                        self.ghci.run(
                            command,
                            line=entry.line,
                            source_file=entry.source_file,
                        ),
                        self.limits.timeout,
                    )
                except (GhciDiedError, TimeoutError):
                    # Start afresh and go on with the rest. A GHCi that hung is killed, not
                    # left running; the entry is reported once (it was listed twice).
                    await self.ghci.kill()
                    self.ghci = await GhciProcess.start(config)
                    self._value_path = Path(self.ghci.workdir) / "value.bin"
                    ok = False
                    break
                if any(d.severity == "error" for d in parse_diagnostics(out.stderr)):
                    ok = False
            (replayed if ok else failed).append(entry.summary)
        # References whose binding was replayed are pinned again (the old interpreter's
        # stable pointers died with it); the others are lost.
        for name in old_refs:
            if any(e.summary == f"reference {name}" for e in self.journal.entries):
                self.state.refs[name] = await self._pin(name)
            else:
                failed.append(f"reference {name} (it did not survive an earlier load)")
        return replayed, failed

    # ------------------------------------------------------------------ parsing helpers

    @staticmethod
    def _errors(stderr: str) -> list[Diagnostic]:
        return [d for d in parse_diagnostics(stderr) if d.severity == "error"]

    def _compile_error(self, stderr: str, fallback: str) -> CompileError:
        diagnostics = parse_diagnostics(stderr)
        text = stderr.strip() or fallback
        return CompileError(
            text,
            details=ErrorDetails(diagnostics=tuple(_info(d) for d in diagnostics)),
        )

    @staticmethod
    def _exception(shown: str, reason: Literal["interrupt", "timeout"] | None) -> ExceptionInfo:
        if shown == INTERRUPTED:
            if reason == "timeout":
                return ExceptionInfo("Timeout", "timeout")
            return ExceptionInfo("UserInterrupt", "user interrupt")
        return ExceptionInfo(classify_exception(shown), shown)

    async def _exception_info(self, shown: str,
                              reason: Literal["interrupt", "timeout"] | None) -> ExceptionInfo:
        """``_exception``, and for a text that names no known type, the type of the user's
        whose ``show`` it can be: the type of its first constructor, if that type is an
        instance of ``Exception`` (two ``:type`` queries, made only then; API.md: the type's
        name "where it can be known")."""
        info = self._exception(shown, reason)
        constructor = shown_constructor(shown)
        if info.type != "SomeException" or constructor is None:
            return info
        typed, _ = await self._command(f":type {constructor}")
        type_name = (None if typed.stderr.strip()
                     else result_type(type_after_dcolon(typed.stdout, constructor)))
        if type_name is None:
            return info
        check, _ = await self._command(
            f":type GHC.Exception.Type.toException (GHC.Err.undefined :: {type_name})")
        if check.stderr.strip():
            return info
        return ExceptionInfo(type_name.rsplit(".", 1)[-1], shown)

    def _quota_left(self, output: CommandOutput, streamed_stderr: int) -> int:
        """Bytes of the output quota not yet sent to the client for this request.

        A truncated command's stderr ends with the tail GHCi's driver keeps past the quota so
        that the exception report survives a flood; that tail is for the parsers, not for the
        client, which received up to 64 KiB more than its ``output_limit`` before this cut.
        """
        sent = (len(output.stdout.encode("utf-8", "replace")) + output.user_stdout_bytes
                + streamed_stderr)
        return max(0, self.limits.output_limit - sent)

    def _check_text(self, text: str) -> None:
        problem = check_sendable(text)
        if problem is not None:
            raise CompileError(problem)

    # ------------------------------------------------------------------ statements

    async def exec_stmt(self, req: m.ExecStmt, emit: Emit) -> m.ExecResult:
        self._check_text(req.stmt)
        kind = classify(req.stmt)
        if kind == "empty":
            return m.ExecResult(id=req.id, names=[])
        if kind in ("declaration", "import"):
            word = req.stmt.split()[0]
            raise CompileError(
                f"{req.source_file}:{req.line}:1: error: parse error on input ‘{word}’",
                details=ErrorDetails(
                    diagnostics=(
                        _diag(req.source_file, req.line, 1, len(word),
                              f"parse error on input ‘{word}’"),
                    )
                ),
            )
        streamed_stderr = 0  # bytes

        def emit_stderr(text: str) -> None:
            nonlocal streamed_stderr
            streamed_stderr += len(text.encode("utf-8", "replace"))
            emit("stderr", text)

        streamer = StderrStreamer(emit_stderr)
        saw_stdout = False

        def on_stdout(text: str) -> None:
            nonlocal saw_stdout
            saw_stdout = True
            emit("stdout", text)

        names: list[str] = []
        usual: list[m.ExecResult] = []

        def while_running() -> None:
            names.extend(bound_names(req.stmt))
            # The usual outcome (no warning, no exception), built while GHCi works: once
            # the prompt is back, building it is on the request's critical path.
            usual.append(m.ExecResult(id=req.id, names=names))

        output, reason = await self._command(
            req.stmt,
            timeout=req.timeout,
            line=req.line,
            source_file=req.source_file,
            stdin=req.stdin,
            on_stdout=on_stdout,
            on_stderr=streamer.feed,
            while_running=while_running,
            on_user_stderr=emit_stderr,
        )
        if not output.stderr and not output.truncated and reason is None and usual:
            # Nothing on stderr: no diagnostic, no exception, nothing held back.
            self._bound(req, names)
            return usual[0]
        diagnostics, rest = _leading_diagnostics(output.stderr)
        errors = [d for d in diagnostics if d.severity == "error"]
        if errors and not saw_stdout and not rest.strip():
            raise self._compile_error(output.stderr, "compile error")
        user_stderr, shown = split_exception(rest)
        # Stream what the streamer held back (a partial last line, or text held because it
        # started like a diagnostic) — it is the user's own output.
        held = user_stderr[max(0, streamer.emitted - _prefix_len(output.stderr, rest)) :]
        if output.truncated:
            held = _cut_to(held, self._quota_left(output, streamed_stderr))
        if held:
            emit("stderr", held)
        warnings = [_model(d) for d in diagnostics if d.severity == "warning"]
        if shown is not None:
            exc = await self._exception_info(shown, reason)
            return m.ExecResult(
                id=req.id,
                names=[],
                exception=m.ExceptionModel(type=exc.type, message=exc.message),
                truncated=output.truncated,
                warnings=warnings,
            )
        self._bound(req, names)
        return m.ExecResult(id=req.id, names=names, truncated=output.truncated, warnings=warnings)

    def _bound(self, req: m.ExecStmt, names: list[str]) -> None:
        """A statement ran to completion: note what it bound and journal it for replay."""
        self._note_bindings(names)
        # `let ... in e` is an expression, whose effects a replay must not repeat.
        if is_let_statement(req.stmt):
            self.journal.record(
                JournalEntry("let", req.stmt, f"let: {_short(req.stmt)}", req.line,
                             req.source_file)
            )
        elif names and names != ["it"]:
            self.journal.skip(_short(req.stmt))

    async def run_decls(self, req: m.RunDecls, emit: Emit) -> m.DeclsResult:
        self._scope_changed()
        self._check_text(req.decls)
        kind = classify(req.decls)
        if kind == "empty":
            return m.DeclsResult(id=req.id, names=[])
        if kind != "declaration":
            message = (
                "Parse error: module header, import declaration\n"
                "or top-level declaration expected."
            )
            raise CompileError(
                f"{req.source_file}:{req.line}:1: error:\n    {message}",
                details=ErrorDetails(
                    diagnostics=(_diag(req.source_file, req.line, 1, 1, message),)
                ),
            )
        # Output of Template Haskell splices run while compiling them streams as it comes.
        output, _ = await self._command(
            req.decls, timeout=req.timeout, line=req.line, source_file=req.source_file,
            declarations=True, on_stdout=lambda text: emit("stdout", text),
            on_user_stderr=lambda text: emit("stderr", text),
        )
        diagnostics = parse_diagnostics(output.stderr)
        if any(d.severity == "error" for d in diagnostics):
            raise self._compile_error(output.stderr, "compile error")
        names = declared_names(req.decls)
        self._note_bindings(names)
        self.journal.record(
            JournalEntry("decls", req.decls, f"declarations: {_short(req.decls)}", req.line,
                         req.source_file)
        )
        return m.DeclsResult(
            id=req.id, names=names, warnings=[_model(d) for d in diagnostics]
        )

    def _note_bindings(self, names: list[str]) -> None:
        for name in names:
            if name in self.state.bindings:
                self.state.bindings.remove(name)
            self.state.bindings.append(name)

    # ------------------------------------------------------------------ values

    async def _expr_type(self, expr: str, flag: str) -> str:
        self._check_text(expr)
        command = f":type {flag}{expr}" if flag else f":type {expr}"
        output, _ = await self._command(command)
        if self._errors(output.stderr):
            raise self._compile_error(output.stderr, "type error")
        return type_after_dcolon(output.stdout, expr)

    async def dyn_compile_expr(self, req: m.DynCompileExpr, emit: Emit) -> m.ValueResult:
        type_text = await self._expr_type(req.expr, "+d ")
        if _has_type_variables(type_text):
            raise CompileError(
                f"No instance for (Typeable a0) arising from a use of ‘toDyn’: the type of "
                f"the expression, {type_text}, is polymorphic and cannot be defaulted",
                details=ErrorDetails(
                    diagnostics=(
                        _diag("<interactive>", 1, 1, max(1, len(req.expr)),
                              f"Ambiguous type: {req.expr} :: {type_text}"),
                    )
                ),
            )
        payload = await self._write_value(req.expr, type_text, req.timeout, emit)
        return m.ValueResult(id=req.id, type=type_text, payload=payload)

    async def _write_value(
        self, expr: str, type_text: str, timeout: float | None, emit: Emit
    ) -> bytes:
        path = self._value_path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        opaque = False
        show_fallback = True
        # Under RebindableSyntax `_ <- e` means the user's own >>=, and literals are rebound:
        # a :cmd command binds nothing and is not rebound; the path is a list of Chars.
        rebindable = bool(self.state.extensions.get("RebindableSyntax"))
        form: Literal["bind", "cmd"] = "cmd" if rebindable else "bind"
        known = None if rebindable else self._known_types.get(type_text)
        annotate = True
        expr_lines = expr.count("\n") + 1
        # One byte beyond the limit: a file that long says the value did not fit.
        byte_limit = self.limits.value_limit + 1
        while True:
            if known is not None:
                statement = known_type_statement(expr, known, str(path), byte_limit=byte_limit)
            else:
                statement = writer_statement(expr, type_text, str(path), opaque=opaque,
                                             form=form, literals=not rebindable,
                                             annotate=annotate, byte_limit=byte_limit,
                                             show_fallback=show_fallback)
            output, reason = await self._command(
                statement,
                timeout=timeout,
                # Line 0: the statement's own line, so that the expression's lines keep
                # their numbers (a LINE pragma would turn a :cmd into a statement).
                line=None if rebindable else 0,
                source_file=EVAL_SOURCE,
                on_stdout=lambda text: emit("stdout", text),
                on_user_stderr=lambda text: emit("stderr", text),
            )
            diagnostics, rest = _leading_diagnostics(output.stderr)
            errors = [d for d in diagnostics if d.severity == "error"]
            if errors and known is not None:
                # Nothing ran; the usual statement decides what the error is.
                self._known_types.pop(type_text, None)
                known = None
                continue
            if errors:
                if not opaque and _MISSING_SHOW.search(output.stderr):
                    # The show fallback needs an instance the session does not see: its
                    # value's own (a function), or an orphan of a table type out of the
                    # context's sight (Show Double without the Prelude). The value then
                    # crosses by its table reading, or only its type does.
                    if show_fallback and has_table_reading(type_text):
                        show_fallback = False
                    else:
                        opaque = True
                    continue
                if annotate and not rebindable and any(d.line > expr_lines for d in errors):
                    # GHC cannot read the type back as it printed it (one that needs an
                    # extension to be written, say): without the annotation, then.
                    annotate = False
                    continue
                raise _writer_error(output.stderr, errors, expr_lines)
            user_stderr, shown = split_exception(rest)
            if (shown is not None and not opaque and not user_stderr
                    and shown.startswith(_SERVER_PART[rebindable])
                    and _MISSING_SHOW.search(shown)):
                # -fdefer-type-errors: the show fallback compiled with its missing instance
                # deferred, and failed when run, before the value was touched. (Were it a
                # deferred error of the user's, the opaque statement raises it again.)
                opaque = True
                continue
            if output.truncated:
                user_stderr = _cut_to(user_stderr, self._quota_left(output, 0))
            if user_stderr:
                emit("stderr", _expression_positions(user_stderr))
            if shown is not None:
                # A call stack or a deferred type error points into the expression.
                shown = _without_writer_context(_expression_positions(shown))
                exc = await self._exception_info(shown, reason)
                if exc.type == "UserInterrupt":
                    raise InterruptedError_("interrupted while the value was computed",
                                            details=ErrorDetails(exception=exc))
                if exc.type == "Timeout":
                    raise TimeoutError_(
                        "the time limit ran out while the value was computed",
                        details=ErrorDetails(exception=exc),
                    )
                raise EvaluationError(exc.message, details=ErrorDetails(exception=exc))
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                raise EvaluationError("the value was not written") from None
            if size > self.limits.value_limit:
                path.unlink()
                raise OutputLimitError(
                    f"the value needs more than {self.limits.value_limit} bytes, this "
                    "session's limit (it may be infinite); keep it in the session with "
                    "compile_expr and fetch parts of it"
                )
            data = path.read_bytes()
            path.unlink()
            if known is not None and data[12:13] == b"M":
                # Another type after all (the cast failed before anything was evaluated).
                self._known_types.pop(type_text, None)
                known = None
                continue
            if known is None and not rebindable:
                self._learn_type(type_text, data)
            return data

    def _learn_type(self, type_text: str, payload: bytes) -> None:
        """Keep what a payload says about its type for ``known_type_statement``: while the
        session's scope is unchanged, ``type_text`` denotes the same type."""
        seen = seen_type(type_text, payload)
        if seen is not None:
            if len(self._known_types) >= _MAX_KNOWN_TYPES:
                self._known_types.pop(next(iter(self._known_types)))
            self._known_types[type_text] = seen

    def _scope_changed(self) -> None:
        """Names in scope, flags or the GHCi itself may have changed: a type's text may now
        denote another type."""
        self._known_types.clear()

    async def compile_expr(self, req: m.CompileExpr, emit: Emit) -> m.RefResult:
        self._check_text(req.expr)
        self._ref_counter += 1
        name = f"hvalue{self._ref_counter}_{secrets.token_hex(3)}"
        # As GHC's compileExpr: a lazy binding, nothing evaluated beyond what GHC would.
        stmt = f"let {name} = (\n{_indented(req.expr)}\n        )"
        output, _ = await self._command(stmt, timeout=req.timeout, line=1)
        if self._errors(output.stderr):
            raise self._compile_error(output.stderr, "compile error")
        type_text = await self._expr_type(name, "")
        self.state.refs[name] = await self._pin(name)
        self._note_bindings([name])
        self.journal.record(JournalEntry("let", stmt, f"reference {name}", 1))
        return m.RefResult(id=req.id, ref=name, type=type_text)

    async def _pin(self, name: str) -> int | None:
        """Keep the value of ``name`` reachable from a StablePtr, which survives ``load``.

        GHC's ``load`` drops every prompt binding, but a ``ForeignHValue`` stays valid; the
        interpreter's stable-pointer table is where the value can outlive its binding
        (the same mechanism as GHC's RemoteRef). ``_ <-`` binds nothing.
        """
        action = (
            f"Foreign.StablePtr.newStablePtr {name} GHC.Base.>>= "
            "(System.IO.print GHC.Base.. Foreign.StablePtr.castStablePtrToPtr)"
        )
        # A statement, so that GHCi's extended defaulting fixes the type of a polymorphic
        # value; under RebindableSyntax a `_ <-` statement would use the user's >>=.
        if self.state.extensions.get("RebindableSyntax"):
            action = f":cmd {action} GHC.Base.>> GHC.Base.return GHC.Base.mempty"
        else:
            action = f"_ <- {action}"
        # The interpreter prints the pointer on its own stdout (a thread of the user's may
        # print there too: the pointer is the last line).
        printed: list[str] = []
        output, _ = await self._command(action, on_stdout=printed.append)
        lines = "".join(printed).split()
        if output.stderr.strip() or not lines or not lines[-1].startswith("0x"):
            return None  # e.g. a constrained polymorphic value: it cannot outlive load
        return int(lines[-1], 16)

    async def _rebind_refs_after_load(self, types: dict[str, str]) -> list[str]:
        """Bind each pinned reference's name again after a load; the names that could not
        be (their type cannot be written in the new scope)."""
        lost: list[str] = []
        for name, type_text in types.items():
            pointer = self.state.refs.get(name)
            if pointer is None:
                continue
            output, _ = await self._command(
                f"let {name} = GHC.IO.Unsafe.unsafePerformIO (Foreign.StablePtr.deRefStablePtr "
                f"(Foreign.StablePtr.castPtrToStablePtr (GHC.Ptr.nullPtr `GHC.Ptr.plusPtr` "
                f"({pointer} :: GHC.Types.Int)))) :: {type_text}"
            )
            if output.stderr.strip():
                log.info("reference %s does not survive load: %s", name, output.stderr.strip())
                await self._unpin([pointer])
                del self.state.refs[name]
                lost.append(name)
            else:
                self._note_bindings([name])
        return lost

    async def _unpin(self, pointers: list[int]) -> None:
        if pointers:
            listed = ", ".join(str(p) for p in pointers)
            await self._command(
                ":cmd Data.Foldable.mapM_ (Foreign.StablePtr.freeStablePtr GHC.Base.. "
                "Foreign.StablePtr.castPtrToStablePtr GHC.Base.. GHC.Ptr.plusPtr GHC.Ptr.nullPtr) "
                f"([{listed}] :: [GHC.Types.Int]) GHC.Base.>> GHC.Base.return GHC.Base.mempty"
            )

    async def free_refs(self, req: m.FreeRefs) -> m.Done:
        names = [r for r in req.refs if r in self.state.refs]
        if names:
            # Rebinding each name to () lets GHC's GC reclaim the value; the name stays
            # bound (GHCi cannot unbind), to a value that holds nothing.
            stmt = "let " + "; ".join(f"{n} = ()" for n in names)
            await self._command(stmt)
            await self._unpin([p for n in names if (p := self.state.refs.pop(n)) is not None])
            for name in names:
                if name in self.state.bindings:
                    self.state.bindings.remove(name)
            self.journal.entries = [
                e for e in self.journal.entries if not any(n in e.summary for n in names)
            ]
        return m.Done(id=req.id)

    async def bind_value(self, req: m.BindValue) -> m.DeclsResult:
        if not _IDENT.match(req.name) or req.name in _RESERVED:
            raise GhcUsageError(f"not a variable name: {req.name!r}")
        expr = req.expr
        extensions = self.state.extensions
        literals = req.expr_literals is not None and not (
            extensions.get("RebindableSyntax") and extensions.get("OverloadedStrings"))
        if literals:
            # String literals mean what they say here: only OverloadedStrings makes them
            # overloaded, and only RebindableSyntax with it takes the fromString in scope.
            assert req.expr_literals is not None
            expr = req.expr_literals
        self._check_text(expr)
        self._check_text(req.type)
        blobs = None
        workdir = Path(self.ghci.workdir)
        if req.blobs:
            self._blob_serial += 1
            blobs = blob_files(req.blobs, expr, self._blob_serial, literals=literals)
            blobs.write(workdir)
            expr = blobs.reading(expr, workdir)
        # No ``:: req.type``: that is the TypeRep rendering (``Map [Char] Integer``), whose
        # names need not be in scope; ``expr`` carries its own fully qualified annotation.
        stmt = f"let {req.name} = (\n{_indented(expr)}\n        )"
        output, _ = await self._command(stmt, line=1)
        if self._errors(output.stderr):
            if blobs is not None:
                blobs.remove(workdir)
            raise self._compile_error(output.stderr, "compile error")
        self._note_bindings([req.name])
        self.journal.record(JournalEntry("let", stmt, f"let {req.name}", 1, blobs=blobs,
                                         blobs_dir=str(workdir)))
        return m.DeclsResult(id=req.id, names=[req.name])

    # ------------------------------------------------------------------ types and names

    async def expr_type(self, req: m.ExprType) -> m.TypeResult:
        flag = {"inst": "", "noinst": "+v ", "default": "+d "}[req.mode]
        return m.TypeResult(id=req.id, type=await self._expr_type(req.expr, flag))

    async def type_kind(self, req: m.TypeKind) -> m.KindResult:
        self._check_text(req.type)
        command = (":kind! " if req.normalise else ":kind ") + req.type
        output, _ = await self._command(command)
        if self._errors(output.stderr):
            raise self._compile_error(output.stderr, "kind error")
        lines = output.stdout.rstrip("\n").split("\n")
        normalised = None
        if req.normalise and len(lines) > 1 and lines[-1].startswith("= "):
            # ":kind! T" prints "T :: K" and then "= <normalised T>".
            normalised = " ".join(lines[-1][2:].split())
            lines = lines[:-1]
        first = " ".join(" ".join(lines).split())
        kind = type_after_dcolon(first, req.type)
        return m.KindResult(
            id=req.id, type=normalised or " ".join(req.type.split()), kind=kind
        )

    async def _info(self, name: str, all_info: bool) -> tuple[str, list[m.InfoItem]]:
        self._check_text(name)
        target = name.strip()
        if target.startswith("(") and target.endswith(")"):
            target = target[1:-1].strip()
        output, _ = await self._command((":info! " if all_info else ":info ") + target)
        if self._errors(output.stderr):
            if _NOT_IN_SCOPE.search(output.stderr):
                return output.stderr, []
            raise self._compile_error(output.stderr, "error")
        items = [
            m.InfoItem(
                text=block.text,
                thing=block.thing,
                defined_in=block.defined_in,
                fixity=block.fixity,
                instances=list(block.instances),
            )
            for block in parse_info(output.stdout)
        ]
        return output.stdout, items

    async def get_info(self, req: m.GetInfo) -> m.InfoResult:
        text, items = await self._info(req.name, req.all_info)
        return m.InfoResult(id=req.id, text=text if items else "", items=items)

    async def parse_name(self, req: m.ParseName) -> m.NamesResult:
        text, items = await self._info(req.name, False)
        if not items:
            raise self._compile_error(text, f"Not in scope: ‘{req.name}’")
        # Each :info block is one thing with this spelling (a type and a constructor can
        # share it). The block's head is not the name itself for a class method or a data
        # constructor (GHCi shows the class or the data type), so the name is the spelling
        # asked for, without parentheses or module qualifier.
        occ = _occurrence(req.name)
        names = [m.NameItem(name=occ, module=await self._module_of(item.defined_in))
                 for item in items]
        return m.NamesResult(id=req.id, names=names)

    async def _module_of(self, defined: str | None) -> str | None:
        """The module of ``:info``'s ``Defined in ‘M’`` / ``Defined at F:L:C``: for a
        location, the home module loaded from ``F`` (``:show modules``), or None for a
        prompt binding (``<interactive>``) -- not the location, which is no module name."""
        location = _LOCATION.match(defined or "")
        if location is None:
            return defined
        path = location.group("file")
        if path == "<interactive>":
            return None
        return next((module.name for module in await self._modules() if module.file == path),
                    None)

    async def names_in_scope(self, req: m.NamesInScope) -> m.NamesResult:
        candidates = await self._complete("", 1_000_000)
        if not req.rdr:
            candidates = [c for c in candidates if not _is_qualified(c)]
        return m.NamesResult(id=req.id, names=[m.NameItem(name=c) for c in candidates])

    async def _complete(self, prefix: str, limit: int) -> list[str]:
        self._check_text(prefix)
        if "\n" in prefix:
            return []
        literal = '"' + prefix.replace("\\", "\\\\").replace('"', '\\"') + '"'
        output, _ = await self._command(f":complete repl 1-{limit} {literal}")
        if output.stderr.strip():
            raise GhcUsageError(output.stderr.strip())
        try:
            _, _, unused, candidates = parse_complete(output.stdout)
        except ValueError as exc:
            raise GhcUsageError(f"unexpected completion output from GHCi: {exc}") from exc
        return [unused + c for c in candidates]

    async def complete(self, req: m.Complete) -> m.Completions:
        return m.Completions(id=req.id, completions=await self._complete(req.prefix, req.limit))

    async def get_bindings(self, req: m.GetBindings) -> m.BindingsResult:
        bindings = []
        for name in reversed(self.state.bindings):
            if name in self.state.refs or not name:
                continue
            command = f":type ({name})" if not name[0].isalpha() and name[0] != "_" else (
                f":kind {name}" if name[0].isupper() else f":type {name}"
            )
            output, _ = await self._command(command)
            if output.stderr.strip():
                continue  # shadowed by a later load, or a constructor-less type
            bindings.append(m.Binding(name=name, type=type_after_dcolon(output.stdout, name)))
        return m.BindingsResult(id=req.id, bindings=bindings)

    # ------------------------------------------------------------------ context and flags

    async def get_context(self, req: m.GetContext) -> m.ContextResult:
        return m.ContextResult(id=req.id, imports=list(self.state.context))

    async def set_context(self, req: m.SetContext) -> m.Done:
        self._scope_changed()
        for spec in req.imports:
            if not _MODULE.match(spec.module) or (spec.as_ and not _MODULE.match(spec.as_)):
                raise CompileError(f"not a module name: {spec.module!r}")
            for name in spec.names:
                self._check_text(name)
                if "\n" in name or split_import_items(name) != (" ".join(name.split()),):
                    raise CompileError(f"not an importable name: {name!r}")
        commands = _context_commands(req.imports)
        try:
            await self._apply_context(commands)
        except Exception:
            # GHC leaves the previous context in force when setContext fails.
            with contextlib.suppress(Exception):
                await self._apply_context(_context_commands(self.state.context))
            raise
        self.state.context = list(req.imports)
        self.journal.record(JournalEntry("context", "\n".join(commands), "import context"))
        return m.Done(id=req.id)

    async def _apply_context(self, commands: list[str]) -> None:
        for command in commands:
            output, _ = await self._command(command)
            stderr = output.stderr.strip()
            if not stderr:
                continue
            # A ``*M`` entry that fails is GHC's usage error (not an interpreted home module:
            # missing, from a package, compiled); a missing module of an ``import`` is a
            # SourceError (its text also says "It is not a module in ...").
            if command.startswith(":module + *"):
                module = command.split("*")[-1].strip()
                raise GhcUsageError(
                    f"Cannot add module {module} to context: not a home module ({stderr})"
                )
            raise self._compile_error(output.stderr, stderr)

    async def get_flags(self, req: m.GetFlags) -> m.FlagsResult:
        return self._flags_result(req.id, [], [])

    def _flags_result(self, rid: int, unrecognized: list[str], warnings: list[str]
                      ) -> m.FlagsResult:
        extensions = [
            name if on else "No" + name for name, on in self.state.extensions.items()
        ]
        return m.FlagsResult(
            id=rid,
            extensions=extensions,
            flags=list(self.state.flags),
            unrecognized=unrecognized,
            warnings=warnings,
        )

    def _note_flags(self, flags: Iterable[str]) -> None:
        """Record flags GHCi has accepted: extensions by name, other flags as given; the last
        word wins (``-fno-x`` takes ``-fx`` out, so the flags read back say what is in
        force, and a replay after a restart sets that)."""
        for flag in flags:
            if flag.startswith("-X"):
                name = flag[2:]
                if name.startswith("No") and name not in ("NondecreasingIndentation",):
                    self.state.extensions.pop(name[2:], None)
                    self.state.extensions[name[2:]] = False
                else:
                    self.state.extensions.pop(name, None)
                    self.state.extensions[name] = True
            else:
                with_flag(self.state.flags, flag)

    async def adopt_flags(self, req: m.SetFlags) -> m.FlagsResult:
        """Give a pooled GHCi the flags its session was opened with, so that it behaves as
        a GHCi started with them.

        ``:set`` alone is not enough for one flag: GHCi drops its implicit ``import Prelude``
        only when it computes the context anew, so after ``:set -XRebindableSyntax`` (which
        implies ``NoImplicitPrelude``) ``map`` was still in scope, while a GHCi started with
        the flag never had it -- whether a session had the Prelude depended on the pool.
        A ``:module`` command makes GHCi recompute the context.
        """
        result = await self.set_flags(req)
        if not result.unrecognized and not _implicit_prelude(req.flags):
            await self._command(":module -Prelude")
        return result

    async def set_flags(self, req: m.SetFlags) -> m.FlagsResult:
        self._scope_changed()
        req = req.model_copy(update={"flags": joined_arguments(req.flags)})
        bad = [f for f in req.flags if not f.startswith("-") or any(c.isspace() for c in f)
               or '"' in f]
        if bad:
            raise GhcUsageError(f"not a GHC flag: {bad[0]!r}")
        for flag in req.flags:
            refuse_flag(flag)
        if not req.flags:
            return self._flags_result(req.id, [], [])
        output, _ = await self._command(":set " + " ".join(req.flags))
        unrecognized: list[str] = []
        warnings: list[str] = []
        # GHCi applies none of the flags of a :set that has an unknown one, or that fails
        # (an unknown warning flag under -Werror); an unknown warning flag otherwise is a
        # warning, and the others apply.
        failed = bool(_SET_ERROR.search(output.stderr))
        for line in output.stderr.splitlines():
            if ("not been recognized" in line or "unrecognised flag" in line.lower()
                    or (failed and "unrecognised warning flag" in line)):
                unrecognized += line.split(":", 1)[-1].split()
                failed = True
            elif line.strip() and not _SET_ERROR.match(line):
                warnings.append(line.strip())
        applied = [] if failed else list(req.flags)
        self._note_flags(applied)
        if applied:
            self.journal.record(
                JournalEntry("flags", ":set " + " ".join(applied), "flags " + " ".join(applied))
            )
        return self._flags_result(req.id, unrecognized, warnings)

    # ------------------------------------------------------------------ modules

    async def set_targets(self, req: m.SetTargets) -> m.Done:
        self._scope_changed()
        for target in req.targets:
            _check_target(target)
        self.state.targets = list(req.targets)
        return m.Done(id=req.id)

    async def get_targets(self, req: m.GetTargets) -> m.TargetsResult:
        return m.TargetsResult(id=req.id, targets=list(self.state.targets))

    async def add_target(self, req: m.AddTarget) -> m.Done:
        self._scope_changed()
        _check_target(req.target)
        if req.target not in self.state.targets:
            self.state.targets.append(req.target)
        return m.Done(id=req.id)

    async def remove_target(self, req: m.RemoveTarget) -> m.Done:
        self._scope_changed()
        self.state.targets = [
            t for t in self.state.targets
            if (t.kind, t.name) != (req.target.kind, req.target.name)
        ]
        return m.Done(id=req.id)

    async def load(self, req: m.Load, emit: Emit) -> m.LoadResult:
        self._scope_changed()
        if req.how == "up_to":
            if req.module is None or not _MODULE.match(req.module):
                raise GhcUsageError("load up_to needs a module name")
            # GHC finds the module among the targets' module graph; GHCi's `:load M` looks
            # for it on the search path, so the targets' directories join it.
            dirs = sorted({os.path.dirname(t.name) for t in self.state.targets
                           if t.kind == "file" and os.path.dirname(t.name)
                           and not any(c.isspace() for c in t.name)})
            new_dirs = [d for d in dirs if d not in self._search_dirs]
            if new_dirs:
                command = ":set " + " ".join(f"-i{d}" for d in new_dirs)
                await self._command(command)
                self._search_dirs.update(new_dirs)
                self.journal.record(JournalEntry("flags", command, "search path"))
            names = [req.module]
        else:
            names = [_target_text(t) for t in self.state.targets]
        command = ":load " + " ".join(names) if names else ":load"
        # References must outlive the load: learn their types in an empty context, where
        # GHCi prints every name qualified unless the Prelude has it (so the type can be
        # written again once the load has reset the context).
        ref_types: dict[str, str] = {}
        if any(p is not None for p in self.state.refs.values()):
            await self._command(":module")
            for name, pointer in self.state.refs.items():
                if pointer is None:
                    continue
                typed, _ = await self._command(f":type {name}")
                type_text = type_after_dcolon(typed.stdout, name)
                if typed.stderr.strip() or "=>" in type_text:
                    continue
                ref_types[name] = type_text
        # What the program prints while the modules compile (Template Haskell's runIO)
        # reaches the caller now, as in-process; GHCi's progress lines do not.
        output, _ = await self._command(
            command, timeout=req.timeout,
            on_user_stdout=lambda text: emit("stdout", text),
            on_user_stderr=lambda text: emit("stderr", text))
        diagnostics = parse_diagnostics(output.stderr)
        not_found = [
            d for d in diagnostics
            if d.file == "<no location info>" and (
                "can't find file" in d.message or "Could not find module" in d.message
                or "cannot be found locally" in d.message
            )
        ]
        # As in GHC, load resets the import context and prompt bindings; GHCi's :load also
        # adds the top module to the context, which the GHC API does not do.
        await self._command(":module")
        self.state.context = []
        self.state.bindings = []
        lost = [n for n in self.state.refs if n not in ref_types]
        await self._unpin([p for n in lost if (p := self.state.refs.pop(n)) is not None])
        lost += await self._rebind_refs_after_load(ref_types)
        # Said in the result, not only in the server's log: the caller still holds them.
        diagnostics += [
            Diagnostic(NO_LOCATION, 1, 1, 1, 1, "warning",
                       f"reference {name} does not survive the load (a polymorphic or "
                       "constrained type, or one declared at the prompt, cannot be kept): "
                       "its name is no longer in scope", None)
            for name in lost
        ]
        if not_found:
            raise CompileError(
                output.stderr.strip(),
                details=ErrorDetails(diagnostics=tuple(_info(d) for d in not_found)),
            )
        success = "Ok," in output.stdout and not any(d.severity == "error" for d in diagnostics)
        modules = await self._modules()
        # The load reset the prompt bindings: blob files that none of them read yet never
        # will be.
        for entry in self.journal.entries:
            if entry.blobs is not None:
                entry.blobs.remove(Path(self.ghci.workdir))
        self.journal.record(JournalEntry("load", command + "\n:module", "load " + " ".join(names)))
        return m.LoadResult(
            id=req.id,
            success=success,
            diagnostics=[_model(d) for d in diagnostics],
            modules=modules,
        )

    async def _modules(self) -> list[m.ModuleInfo]:
        output, _ = await self._command(":show modules")
        return [
            m.ModuleInfo(name=name, file=path, interpreted=interpreted)
            for name, path, interpreted in parse_module_lines(output.stdout)
        ]

    async def module_graph(self, req: m.ModuleGraph) -> m.ModuleGraphResult:
        return m.ModuleGraphResult(id=req.id, modules=await self._modules())


# ---------------------------------------------------------------------- helpers

_RESERVED: Final = frozenset(
    [
        "case", "class", "data", "default", "deriving", "do", "else", "foreign", "if",
        "import", "in", "infix", "infixl", "infixr", "instance", "let", "module", "newtype",
        "of", "then", "type", "where",
    ]
)


def _cut_to(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits in ``limit`` bytes."""
    data = text.encode("utf-8", "replace")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    if code == 0:
        # GHC 9.0.2 exits with status 0 when its external interpreter dies under it
        # (segfault, exit, memory limit): "exit status 0" would read like a clean exit.
        return "its interpreter process ended abruptly: a crash, a real exit or a memory limit"
    return f"exit status {code}"


# How GHC 9.0.2's runtime reports running into the memory limit: a failed allocation
# ("out of memory"), a failed commit of reserved heap ("internal error: Unable to commit …",
# followed by an invitation to report a GHC bug that does not apply), or a thread that
# cannot get its stack ("failed to create OS thread").
_OUT_OF_MEMORY: Final = re.compile(
    r"out of memory|Unable to commit \d+ bytes of memory|failed to create OS thread: "
    r"Cannot allocate memory|Cannot allocate memory"
)


def _out_of_memory(stderr_tail: str) -> bool:
    return _OUT_OF_MEMORY.search(stderr_tail) is not None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _indented(expr: str) -> str:
    # The lines after ``let name = (`` must be indented past ``name`` (column 5), or the
    # layout rule closes the binding: a parse error. A uniform indent keeps the expression's
    # own layout.
    return "\n".join("        " + line for line in expr.split("\n"))


def _short(text: str, limit: int = 60) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _info(d: Diagnostic) -> DiagnosticInfo:
    return DiagnosticInfo(
        file=d.file, line=d.line, column=d.column, end_line=d.end_line,
        end_column=d.end_column, severity=d.severity, message=d.message, code=d.code,
    )


def _model(d: Diagnostic) -> m.Diagnostic:
    return m.Diagnostic(
        file=d.file, line=d.line, column=d.column, end_line=d.end_line,
        end_column=d.end_column, severity=d.severity, message=d.message, code=d.code,
    )


def _diag(file: str, line: int, column: int, end_column: int, message: str) -> DiagnosticInfo:
    return DiagnosticInfo(
        file=file, line=line, column=column, end_line=line, end_column=end_column,
        severity="error", message=message,
    )


def _leading_diagnostics(stderr: str) -> tuple[list[Diagnostic], str]:
    """Diagnostics GHCi printed before running anything, and the stderr after them.

    GHCi prints each diagnostic as a block that starts with an empty line; anything after the
    last such block is output of the code (or GHCi's exception report).
    """
    if not stderr.startswith("\n"):
        return [], stderr
    diagnostics = parse_diagnostics(stderr)
    if not diagnostics:
        return [], stderr
    # Find where the last diagnostic block ends: blocks are separated by blank lines and
    # their bodies are indented (or carry the caret excerpt "  |").
    lines = stderr.split("\n")
    end = 0
    i = 0
    while i < len(lines):
        if lines[i] == "" and i + 1 < len(lines) and _HEADER.match(lines[i + 1]):
            i += 2
            while i < len(lines) and (lines[i].startswith((" ", "\t")) or
                                      _EXCERPT.match(lines[i])):
                i += 1
            end = i
            continue
        break
    rest = "\n".join(lines[end:])
    return diagnostics, rest.lstrip("\n") if end else stderr


_HEADER: Final = re.compile(r"^(<[^>]*>|[^\s:][^:]*):(\d+:\d+(-\d+)?|\(\d+,\d+\)-\(\d+,\d+\))?:? ?"
                            r"(error|warning)|^<no location info>: (error|warning)")
_EXCERPT: Final = re.compile(r"^\s*\d*\s*\|")


def _prefix_len(full: str, rest: str) -> int:
    return len(full) - len(rest) if full.endswith(rest) else 0


# Positions under the writer statement's own file name (value_writer.EVAL_SOURCE) are in
# the user's expression from line 1 on (line 0 is the server's part): they are reported as
# GHCi reports the expression's own, <interactive>, EXPR_INDENT columns left.
# Where the server's part of a writer statement begins: line 0 of EVAL_SOURCE (a "bind"
# statement, by the server's LINE pragma), or GHCi's own numbering (a ":cmd", whose
# expression alone has a pragma).
_SERVER_PART: Final = {False: f"{EVAL_SOURCE}:0:", True: "<interactive>:"}
_SET_ERROR: Final = re.compile(r"^<no location info>: error:", re.MULTILINE)
# GHC qualifies the class when the context does not import it unqualified (no Prelude).
_MISSING_SHOW: Final = re.compile(r"No instance for \((?:GHC\.Show\.)?Show\s")
_EVAL_POSITION: Final = re.compile(
    re.escape(EVAL_SOURCE) + r":(?:(\d+):(\d+)(?:-(\d+))?|\((\d+),(\d+)\)-\((\d+),(\d+)\))"
)


def _expression_positions(text: str) -> str:
    """``text`` with the writer statement's positions as the expression's own."""
    if EVAL_SOURCE not in text:
        return text

    def place(match: re.Match[str]) -> str:
        line, column, end_column, first, start, last, end = match.groups()
        shift = EXPR_INDENT if int(line or first) >= 1 else 0

        def col(c: str) -> int:
            return max(1, int(c) - shift)

        if line is not None:
            span = f"{line}:{col(column)}" + (f"-{col(end_column)}" if end_column else "")
        else:
            span = f"({first},{col(start)})-({last},{col(end)})"
        return f"<interactive>:{span}"

    return _EVAL_POSITION.sub(place, text)


def _writer_error(stderr: str, errors: list[Diagnostic], expr_lines: int) -> CompileError:
    """The error for a writer statement (sent with its first line as line 0) that GHC
    rejected although ``:type +d`` accepted the expression.

    Errors inside the expression (a ``-Wtype-defaults`` warning made an error by
    ``-Werror``, say) are reported at the expression's own positions; an error in the
    server's part of the statement says so instead of pointing at code the user never wrote.
    """
    if all(d.file == EVAL_SOURCE and d.line >= 1 and d.end_line <= expr_lines
           for d in errors):
        placed = [
            dataclasses.replace(d, file="<interactive>", column=max(1, d.column - EXPR_INDENT),
                                end_column=max(1, d.end_column - EXPR_INDENT),
                                message=_without_writer_context(d.message))
            for d in errors
        ]
        return CompileError(
            "\n\n".join(render_diagnostic(d) for d in placed),
            details=ErrorDetails(diagnostics=tuple(_info(d) for d in placed)),
        )
    if any("Reduction stack overflow" in d.message for d in errors):
        # GHC's own limit, met by the Show or Typeable instance of a type nested some 200
        # deep: GHCi could not print such a value either.
        return CompileError(
            "the value cannot be copied out of the session: its type nests too deeply for "
            "GHC to solve its Show or Typeable constraint within -freduction-depth (GHCi "
            "could not print it either); set -freduction-depth=0 to lift the limit",
        )
    return CompileError(
        "the value cannot be copied out of the session: GHC rejected the statement the "
        "server writes it with (the expression itself type-checks; please report this "
        f"with the expression and its type):\n{stderr.strip()}",
    )


def _without_writer_context(message: str) -> str:
    """``message`` without the context lines that quote the writer statement around the
    expression (``In the first argument of ‘\\ ghcShim'x -> ...’`` and its continuation,
    up to the next ``•`` item or unindented line, such as a deferred type error's last)."""
    kept: list[str] = []
    skipping = False
    for line in message.split("\n"):
        if line.lstrip().startswith("•") or not line.startswith((" ", "\t")):
            skipping = False
        if "ghcShim'" in line:
            skipping = True
        if not skipping:
            kept.append(line)
    return "\n".join(kept).rstrip()


def refuse_flag(flag: str) -> None:
    """Refuse a flag no shim session may have (SECURITY.md), on GHCi's command line or set.

    Raises:
        GhcUsageError: the flag would take GHCi's interpreter, prompt or output from the
            server, or break the statements it runs in the session.
    """
    if _FORBIDDEN_FLAGS.match(flag):
        raise GhcUsageError(
            f"flag {flag} is not allowed in a shim session: the server needs control of "
            "GHCi's interpreter, prompt and output"
        )
    if flag in _HELPERS_NEED:
        raise GhcUsageError(
            f"flag {flag} is not supported in a shim session: the server's own statements "
            "(stdout and stdin set-up, value transfer) use fully qualified names, which "
            f"{_HELPERS_NEED[flag]} does not allow"
        )
    if flag == "-fdiagnostics-color=always":
        # Escape sequences inside GHC's headers: its errors went unrecognised, and a
        # statement that did not compile was reported as run, the error as its output.
        raise GhcUsageError(
            f"flag {flag} is not supported in a shim session: diagnostics come back "
            "structured (file, line, column, severity, message), read from GHC's plain text; "
            "colour them where they are shown"
        )
    if flag in ("-fbreak-on-exception", "-fbreak-on-error"):
        # GHCi would stop at the first exception in its debugger, whose prompt and commands
        # no client can drive: every later reply was garbled ("[<unknown>] ..." output).
        raise GhcUsageError(
            f"flag {flag} is not supported in a shim session: GHCi's debugger (breakpoints, "
            "single-stepping) is not available remotely; exceptions are reported as results"
        )


def _implicit_prelude(flags: Iterable[str]) -> bool:
    """Whether GHCi imports the Prelude implicitly after ``flags`` (in order):
    ``RebindableSyntax`` implies ``NoImplicitPrelude``; ``NoRebindableSyntax`` does not undo
    that, ``-XImplicitPrelude`` does."""
    implicit = True
    for flag in flags:
        if flag in ("-XRebindableSyntax", "-XNoImplicitPrelude"):
            implicit = False
        elif flag == "-XImplicitPrelude":
            implicit = True
    return implicit


def _has_type_variables(type_text: str) -> bool:
    # A type variable is a lower-case identifier not preceded by a module qualifier dot.
    return bool(re.search(r"(?<![\w.'])[a-z_][\w']*", _strip_strings(type_text)))


def _strip_strings(text: str) -> str:
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)


def _is_qualified(name: str) -> bool:
    return bool(re.match(r"^[A-Z][\w']*\.", name)) and not name.startswith(".")


def _occurrence(spelling: str) -> str:
    """``map`` from ``map``, ``Data.List.map`` or ``(+)``; ``+`` from ``(+)`` and ``M.+``."""
    text = spelling.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    match = re.match(r"^(?:[A-Z][\w']*\.)+(.+)$", text)
    return match.group(1) if match else text


def _context_commands(imports: list[m.ImportSpec]) -> list[str]:
    commands = [":module"]
    for spec in imports:
        if spec.kind == "module":
            commands.append(f":module + *{spec.module}")
        else:
            commands.append(render_import(spec.module, qualified=spec.qualified, as_=spec.as_,
                                          hiding=spec.hiding, names=spec.names))
    return commands


def _check_target(target: m.TargetSpec) -> None:
    if target.kind == "module" and not _MODULE.match(target.name):
        raise GhcUsageError(
            f"target ‘{target.name}’ is not a module name or a source file"
        )
    if target.kind == "file" and ("\n" in target.name or '"' in target.name):
        raise GhcUsageError(f"not a usable file name: {target.name!r}")


def _target_text(target: m.TargetSpec) -> str:
    name = target.name
    if target.kind == "file" and (" " in name or name.startswith("*")):
        name = '"' + name + '"'
    return ("" if target.allow_object_code else "*") + name

