"""The server: connections, the warm pool, session ownership and request dispatch.

Responsible for: serving any number of connections (``Link``), one task per
request (sessions run in parallel; requests of one session run one at a time, in order;
``interrupt`` never queues), mapping every failure to exactly one error reply, and stopping
every GHCi it started. Must not: parse bytes (``core.protocol`` does) or GHCi output
(``session`` and its parsers do).

It is a library object first: ``Server(config)`` can be hosted by any asyncio program and
fed connections with ``serve_connection`` (asyncio streams), ``serve_stream`` (a read
coroutine) or ``open_link`` (bytes from a protocol callback); ``core.server.transport`` adds
listeners and the command line. Errors are caught in three tiers (pygls's pattern): a
``RequestError`` becomes its own code, a ``ValidationError`` while building a reply becomes
``internal`` with the problems listed, anything else becomes ``internal`` and is logged with
its traceback — the connection and the server carry on in every case.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal, assert_never

from pydantic import ValidationError

from core import __version__
from core.protocol import END_OF_STREAM, NEED_DATA, RequestRejected, ServerConnection
from core.protocol import messages as m
from core.protocol.errors import (
    ErrorDetails,
    GhcUsageError,
    InternalServerError,
    InterruptedError_,
    RequestError,
    SessionLimitError,
    UnknownSessionError,
)
from core.protocol.flags import joined_arguments
from core.protocol.framing import DEFAULT_MAX_FRAME
from core.server.eager import start_eagerly
from core.server.ghci_process import GhciConfig, GhciProcess, GhciStartError, find_ghc
from core.server.session import Emit, Session, SessionLimits, refuse_flag
from core.server.workdirs import sweep_stale

__all__ = ["Link", "Server", "ServerConfig"]

log = logging.getLogger(__name__)

# Output travels in pieces no larger than this, so one huge write never needs one huge frame.
_OUTPUT_CHUNK: Final = 256 * 1024
# How long, and up to how many bytes, streamed output waits to leave with what follows it
# (usually the request's final reply). Far below what a person or a progress bar notices.
_HOLD_SECONDS: Final = 0.005
_HOLD_BYTES: Final = 256 * 1024
# At the latest, how long after a session took the pool's GHCi a new one is started.
_REFILL_DELAY: Final = 0.25
# Address space (MB) GHC 9.0.2's ghc-iserv needs to load base and start, with its heap
# limit (tests/faults/test_crashes.py: 256 MB failed, 300 started).
_HEAP_MB_TO_START: Final = 300


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Server settings; every limit has a finite default."""

    ghc: str | None = None
    flags: tuple[str, ...] = ()
    max_sessions: int = 64
    pool_size: int = 1
    timeout: float = 120.0
    heap_mb: int | None = 2048
    cpu_seconds: int | None = None
    output_limit: int = 32 * 1024 * 1024
    # Bytes of one value sent by dyn_compile_expr; it travels in one frame, so below max_frame.
    value_limit: int = 48 * 1024 * 1024
    idle_timeout: float | None = 3600.0
    token: str | None = None
    max_frame: int = DEFAULT_MAX_FRAME
    # Each session's GHCi and interpreter share one CPU, the least used by other sessions
    # (GhciProcess.pin says why); False leaves placement to the kernel.
    pin_sessions: bool = True
    # The CPU the server itself runs on, if it keeps to one (``serve_forever`` pins the
    # command-line server there). Sessions go elsewhere while another CPU is as free: a
    # session that shares the server's CPU is woken out of its work by the server at each
    # piece of output GHCi writes (0.2 ms more per statement here, bench/PROFILE.md).
    server_cpu: int | None = None


@dataclass(slots=True)
class _Client:
    name: str
    sessions: dict[str, Session] = field(default_factory=dict)


Writer = Callable[[bytes], None]


class Server:
    """Hosts GHCi sessions for connected clients."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        self._sessions: dict[str, Session] = {}
        self._dropping: set[Session] = set()  # removed from _sessions, not yet stopped
        self._owners: dict[str, _Client] = {}
        self._pool: list[GhciProcess] = []
        self._pool_filling: asyncio.Task[None] | None = None
        self._background: set[asyncio.Future[Any]] = set()
        self._idle_task: asyncio.Task[None] | None = None
        self.ghc = ""
        self.ghc_version = ""
        self._closing = False
        self._starting = 0
        self._refill_due = False  # the pool gave a GHCi away and waits to start another
        self._cpus = _usable_cpus() if self.config.pin_sessions else []
        self._sessions_on_cpu: dict[int, int] = dict.fromkeys(self._cpus, 0)

    # ------------------------------------------------------------------ lifecycle

    @property
    def closing(self) -> bool:
        return self._closing

    async def start(self) -> None:
        """Find GHC, learn its version and start filling the warm pool.

        Raises:
            GhciStartError: GHC is not installed or does not start.
        """
        self.ghc = find_ghc(self.config.ghc)
        first = await GhciProcess.start(self._ghci_config((), cpus=self._pool_cpus()))
        self.ghc_version = first.ghc_version
        self._pool.append(first)
        self._refill_pool()
        # Directories of GHCis whose server was killed before it could remove them.
        self.track(asyncio.get_running_loop().run_in_executor(None, sweep_stale))
        if self.config.idle_timeout is not None:
            self._idle_task = asyncio.create_task(self._expire_idle())

    async def close(self) -> None:
        """Stop every session and pooled GHCi; the server serves nothing afterwards."""
        self._closing = True
        for task in (self._pool_filling, self._idle_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        sessions = list(self._sessions.values())
        self._sessions.clear()
        pool, self._pool = self._pool, []
        dropping = [s.ghci for s in self._dropping]  # being stopped by a task that may not finish
        await asyncio.gather(
            *(s.close() for s in sessions), *(g.kill() for g in pool + dropping),
            return_exceptions=True,
        )

    def track(self, task: asyncio.Future[Any]) -> None:
        """Keep a reference to a background task until it ends (asyncio keeps only weak
        ones)."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _ghci_config(self, flags: tuple[str, ...], libdir: str | None = None,
                     heap_mb: int | None = None, cwd: str | None = None,
                     cpus: frozenset[int] | None = None) -> GhciConfig:
        return GhciConfig(
            ghc=self.ghc or (self.config.ghc or "ghc"),
            flags=self.config.flags + flags,
            libdir=libdir,
            heap_mb=heap_mb if heap_mb is not None else self.config.heap_mb,
            cpu_seconds=self.config.cpu_seconds,
            cwd=cwd,
            cpus=cpus,
        )

    def _take_cpu(self) -> frozenset[int] | None:
        if len(self._cpus) < 2:
            return None
        server_cpu = self.config.server_cpu
        # The server's CPU counts as one session more, and loses ties.
        cpu = min(self._cpus, key=lambda c: (
            self._sessions_on_cpu[c] + (c == server_cpu), c == server_cpu))
        self._sessions_on_cpu[cpu] += 1
        return frozenset({cpu})

    def _pool_cpus(self) -> frozenset[int] | None:
        # A pooled GHCi is placed when a session takes it; until then it may run anywhere
        # (started with no CPU set, it would inherit a pinned server's one CPU).
        return frozenset(self._cpus) if self.config.server_cpu is not None else None

    def _release_cpu(self, cpus: frozenset[int] | None) -> None:
        for cpu in cpus or ():
            self._sessions_on_cpu[cpu] -= 1

    def _refill_pool(self) -> None:
        self._refill_due = False
        if self._closing or (self._pool_filling is not None and not self._pool_filling.done()):
            return
        self._pool_filling = asyncio.create_task(self._fill_pool())

    async def _fill_pool(self) -> None:
        while not self._closing and len(self._pool) < self.config.pool_size:
            try:
                ghci = await GhciProcess.start(self._ghci_config((), cpus=self._pool_cpus()))
            except GhciStartError:
                log.exception("could not start a GHCi for the warm pool")
                await asyncio.sleep(1.0)
                continue
            if self.closing:
                await ghci.kill()
                return
            self._pool.append(ghci)

    async def _expire_idle(self) -> None:
        assert self.config.idle_timeout is not None
        while True:
            await asyncio.sleep(min(60.0, self.config.idle_timeout / 4))
            now = time.monotonic()
            for session in list(self._sessions.values()):
                if not session.busy and now - session.last_used > self.config.idle_timeout:
                    log.info("closing idle session %s", session.id)
                    await self._drop_session(session)

    # ------------------------------------------------------------------ connections

    async def serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve one connection until the peer closes it; its sessions close with it."""
        try:
            await self.serve_stream(reader.read, writer.write, writer.is_closing)
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def serve_stream(
        self,
        read: Callable[[int], Awaitable[bytes]],
        write: Writer,
        is_closing: Callable[[], bool] = lambda: False,
    ) -> None:
        """Serve one connection given as a read coroutine and a write function."""
        link = self.open_link(write, is_closing)
        try:
            while True:
                try:
                    data = await read(1 << 16)
                except (ConnectionError, OSError):
                    data = b""
                if not link.feed(data) or not data:
                    return
        finally:
            await link.finish()

    def open_link(self, write: Writer, is_closing: Callable[[], bool] = lambda: False) -> Link:
        """A new connection whose bytes the caller feeds (``Link.feed``), for transports
        built on ``asyncio.Protocol``; ``Link.finish`` when it ends."""
        return Link(self, write, is_closing)

    def _interrupt(self, link: Link, request: m.Interrupt) -> m.Reply | RequestError:
        session = link.client.sessions.get(request.session)
        if session is None:
            return UnknownSessionError(f"no session {request.session!r} on this connection")
        target = request.request
        if target is None or target == session.request_id:
            session.interrupt(target)
        elif session.request_id is None and link.is_waiting(target, session.id):
            # It waits only for the server's own work in the session (or for the lock that
            # its predecessor has just released): for the caller it runs, so it is
            # interrupted as it starts.
            session.interrupt_when_started(target)
        else:
            # Aimed at a request queued behind another of the caller's: it never runs (or
            # it has ended, and nothing happens).
            link.cancel_waiting(target, session.id)
        return m.Done(id=request.id)

    async def _run(self, link: Link, request: m.Request) -> None:
        rid = request.id
        conn = link.conn

        def emit(stream: Literal["stdout", "stderr"], text: str) -> None:
            for start in range(0, len(text), _OUTPUT_CHUNK):
                link.output(rid, stream, text[start : start + _OUTPUT_CHUNK])

        try:
            result: m.Reply | RequestError = await self._dispatch(link.client, request, emit)
        except RequestError as exc:
            result = exc
        except asyncio.CancelledError:
            if not link.cancelled_by_interrupt(rid):
                conn.abandon(rid)
                raise
            result = InterruptedError_(
                "interrupted before it started (it waited for the session's previous request)")
        except ValidationError as exc:
            log.exception("invalid reply built for %s", request.op)
            result = InternalServerError(
                f"the server built an invalid reply for {request.op!r}",
                details=ErrorDetails(problems=tuple(str(e["msg"]) for e in exc.errors())),
            )
        except GhciStartError as exc:
            result = InternalServerError(f"GHCi could not be started: {exc}")
        except Exception as exc:
            log.exception("internal error serving %s", request.op)
            result = InternalServerError(f"internal server error: {type(exc).__name__}: {exc}")
        link.reply(rid, result)

    # ------------------------------------------------------------------ dispatch

    async def _dispatch(self, client: _Client, request: m.Request, emit: Emit) -> m.Reply:
        match request:
            case m.OpenSession():
                return await self._open_session(client, request)
            case m.CloseSession():
                session = self._session(client, request.session)
                # The reply does not wait for GHCi to exit (~50 ms): the session is gone for
                # the client at once, and server close() still stops it if this task cannot.
                self.track(asyncio.create_task(self._drop_session(session)))
                return m.Done(id=request.id)
            case m.ListSessions():
                now = time.monotonic()
                return m.SessionsResult(
                    id=request.id,
                    sessions=[
                        m.SessionInfo(session=s.id, busy=s.busy, restarts=s.restarts,
                                      age=now - s.created)
                        for s in client.sessions.values()
                    ],
                )
            case m.Hello() | m.Interrupt():
                raise GhcUsageError(f"{request.op!r} is handled by the connection")
            case _:
                session = self._session(client, request.session)
                async with session.lock:
                    if session.closed:
                        raise UnknownSessionError(f"session {session.id!r} was closed")
                    session.begin_request(request.id)
                    try:
                        return await self._session_op(session, request, emit)
                    finally:
                        session.end_request()
                        # Idle time counts from the end of a request: a request that ran
                        # longer than the idle timeout made its session expire right after
                        # it answered (last_used was set when it started).
                        session.last_used = time.monotonic()
                        if self._refill_due:
                            self._refill_pool()

    async def _session_op(self, session: Session, request: m.Request, emit: Emit) -> m.Reply:
        match request:
            case m.ExecStmt():
                return await session.exec_stmt(request, emit)
            case m.RunDecls():
                return await session.run_decls(request, emit)
            case m.DynCompileExpr():
                return await session.dyn_compile_expr(request, emit)
            case m.CompileExpr():
                return await session.compile_expr(request, emit)
            case m.FreeRefs():
                return await session.free_refs(request)
            case m.BindValue():
                return await session.bind_value(request)
            case m.ExprType():
                return await session.expr_type(request)
            case m.TypeKind():
                return await session.type_kind(request)
            case m.GetInfo():
                return await session.get_info(request)
            case m.NamesInScope():
                return await session.names_in_scope(request)
            case m.ParseName():
                return await session.parse_name(request)
            case m.GetBindings():
                return await session.get_bindings(request)
            case m.GetContext():
                return await session.get_context(request)
            case m.SetContext():
                return await session.set_context(request)
            case m.GetFlags():
                return await session.get_flags(request)
            case m.SetFlags():
                return await session.set_flags(request)
            case m.SetTargets():
                return await session.set_targets(request)
            case m.GetTargets():
                return await session.get_targets(request)
            case m.AddTarget():
                return await session.add_target(request)
            case m.RemoveTarget():
                return await session.remove_target(request)
            case m.Load():
                return await session.load(request, emit)
            case m.ModuleGraph():
                return await session.module_graph(request)
            case m.Complete():
                return await session.complete(request)
            case m.Hello() | m.OpenSession() | m.CloseSession() | m.ListSessions() | \
                    m.Interrupt():
                raise GhcUsageError(f"{request.op!r} is not a session operation")
            case _:
                assert_never(request)

    def _session(self, client: _Client, session_id: str) -> Session:
        session = client.sessions.get(session_id)
        if session is None:
            # Sessions of other clients are indistinguishable from sessions that don't exist.
            raise UnknownSessionError(f"no session {session_id!r} on this connection")
        return session

    async def _open_session(self, client: _Client, request: m.OpenSession) -> m.SessionOpened:
        if self._closing:
            raise InternalServerError("the server is shutting down")
        if len(self._sessions) + self._starting >= self.config.max_sessions:
            raise SessionLimitError(
                f"the server already runs its maximum of {self.config.max_sessions} sessions"
            )
        options = request.options
        if options.flags != (flags := joined_arguments(options.flags)):
            options = options.model_copy(update={"flags": flags})
            request = request.model_copy(update={"options": options})
        for flag in options.flags:
            if not flag.startswith("-") or any(c.isspace() for c in flag):
                raise GhcUsageError(f"not a GHC flag: {flag!r}")
            # The same rule as set_flags (SECURITY.md): on GHCi's command line, flags such as
            # -fno-external-interpreter (no interpreter rlimits, no crash isolation),
            # -ghci-script or -pgmi would take the session from the server; they were accepted.
            refuse_flag(flag)
        if options.cwd is not None and not os.path.isdir(options.cwd):
            raise GhcUsageError(f"working directory {options.cwd!r} does not exist here")
        cpus = self._take_cpu()
        try:
            return await self._start_session(client, request, cpus)
        except BaseException:
            self._release_cpu(cpus)
            raise

    async def _start_session(
        self, client: _Client, request: m.OpenSession, cpus: frozenset[int] | None
    ) -> m.SessionOpened:
        options = request.options
        config = self._ghci_config(
            tuple(options.flags), options.libdir, options.heap_mb, options.cwd, cpus
        )
        # A pooled GHCi runs with the server's defaults. Language, warning and -f flags can
        # be applied to it afterwards with :set (flags-compatible reuse); any other option
        # needs a fresh GHCi.
        settable = all(flag.startswith(("-X", "-W", "-f")) for flag in options.flags)
        warm = (
            settable
            and options.libdir is None
            and options.heap_mb in (None, self.config.heap_mb)
            and options.cwd in (None, os.getcwd())
        )
        ghci: GhciProcess | None = None
        while warm and self._pool and ghci is None:
            candidate = self._pool.pop(0)
            ghci = candidate if candidate.alive else None
        self._starting += 1
        try:
            if ghci is None:
                warm = False
                try:
                    ghci = await GhciProcess.start(config)
                except GhciStartError as exc:
                    if options.flags or options.libdir or options.heap_mb is not None:
                        # GHC refused the session's own options: the caller's mistake. That
                        # includes a heap_mb too small for ghc-iserv to load base (256 MB
                        # here), which was reported as an internal server error.
                        hint = ""
                        if options.heap_mb is not None and options.heap_mb < _HEAP_MB_TO_START:
                            hint = (f" (heap_mb={options.heap_mb} may be too small: the "
                                    f"interpreter needs about {_HEAP_MB_TO_START} MB of "
                                    "address space to start)")
                        raise GhcUsageError(f"{exc}{hint}") from exc
                    raise
        finally:
            self._starting -= 1
        if warm:
            # A GHCi start takes both CPUs for ~0.2 s: started now, it would slow the new
            # session's first statements (its set-up statement, then the user's) by a third.
            # Refill once a request of a session has finished, or after a moment.
            self._refill_due = True
            asyncio.get_running_loop().call_later(_REFILL_DELAY, self._refill_pool)
        else:
            self._refill_pool()
        if warm and cpus:
            ghci.pin(cpus)
        limits = SessionLimits(
            timeout=options.timeout or self.config.timeout,
            output_limit=options.output_limit or self.config.output_limit,
            value_limit=self.config.value_limit,
        )
        session = Session(secrets.token_urlsafe(12), ghci, config, limits)
        if warm and options.flags:
            applied = await session.adopt_flags(
                m.SetFlags(id=request.id, session=session.id, flags=list(options.flags))
            )
            if applied.unrecognized:
                await session.close()
                raise GhcUsageError("unrecognised flags: " + " ".join(applied.unrecognized))
        self._sessions[session.id] = session
        self._owners[session.id] = client
        client.sessions[session.id] = session
        return m.SessionOpened(
            id=request.id, session=session.id, ghc_version=ghci.ghc_version, warm=warm
        )

    async def _drop_session(self, session: Session) -> None:
        self._sessions.pop(session.id, None)
        owner = self._owners.pop(session.id, None)
        if owner is not None:
            owner.sessions.pop(session.id, None)
        # Until it is stopped, ``close`` must still find it: a connection that ended drops
        # its sessions in its own task, and a server closed meanwhile (then its loop ended)
        # left a busy GHCi running, no longer known to anyone.
        self._dropping.add(session)
        try:
            await session.close()
        finally:
            self._dropping.discard(session)
            if owner is not None:  # the first drop of this session
                self._release_cpu(session.config.cpus)


def _usable_cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return []


def _error_reply(rid: int, exc: RequestError) -> m.Error:
    details = exc.details
    return m.Error(
        id=rid,
        code=exc.code,
        message=exc.message,
        details=m.ErrorDetailsModel(
            diagnostics=[
                m.Diagnostic(
                    file=d.file, line=d.line, column=d.column, end_line=d.end_line,
                    end_column=d.end_column, severity=d.severity, message=d.message,
                    code=d.code,
                )
                for d in details.diagnostics
            ],
            exception=(
                m.ExceptionModel(type=details.exception.type, message=details.exception.message)
                if details.exception
                else None
            ),
            replayed=list(details.replayed),
            problems=list(details.problems),
            output=details.output,
        ),
    )


class Link:
    """One client connection: its protocol state, its sessions and its requests in flight.

    Bytes come in through ``feed`` (from a protocol callback or a read loop); each request
    becomes a task of the server, except ``hello`` and ``interrupt``, answered at once.
    Frames go out through the transport's write function. Output produced while a request
    runs is held for up to ``_HOLD_SECONDS`` or ``_HOLD_BYTES``: GHCi prints a value, then
    exchanges messages with its interpreter, then writes its prompt, so the final reply
    follows a short statement's output by a few event-loop turns. Held output of a request
    whose final reply is an ``exec_result`` rides in that reply (one frame to encode, send
    and validate instead of two); any other held output leaves as ``output`` frames, written
    with the final reply in one system call. A final reply is written at once.
    """

    def __init__(self, server: Server, write: Writer, is_closing: Callable[[], bool]) -> None:
        self.server = server
        self.conn = ServerConnection(
            server_version=__version__,
            ghc_version=server.ghc_version,
            token=server.config.token,
            max_frame=server.config.max_frame,
        )
        self.client = _Client(name=secrets.token_hex(4))
        # Requests that are waiting or running (not those answered at once): id -> its
        # session (None for connection-level ops) and its task.
        self.tasks: dict[int, tuple[str | None, asyncio.Future[None]]] = {}
        self._cancelled: set[int] = set()  # ids of waiting requests an interrupt stopped
        self._write = write
        self._is_closing = is_closing
        self._held: list[tuple[int, m.OutputChunk]] = []
        self._held_bytes = 0
        self._flush_timer: asyncio.TimerHandle | None = None

    def output(self, rid: int, stream: Literal["stdout", "stderr"], text: str) -> None:
        """Send a piece of request ``rid``'s output (held briefly, see the class)."""
        if not self.conn.is_pending(rid):
            return  # abandoned: nobody waits for it
        self._held.append((rid, m.OutputChunk(stream=stream, text=text)))
        self._held_bytes += len(text)
        if self._held_bytes >= _HOLD_BYTES:
            self._flush()
        elif self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(_HOLD_SECONDS, self._flush)

    def write_final(self, data: bytes) -> None:
        """Write a final reply now, after the output still held."""
        self._send([*self._held_frames(), data])

    def _flush(self) -> None:
        self._send(self._held_frames())

    def _held_frames(self) -> list[bytes]:
        """The held output as ``output`` frames (taken: no longer held)."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        conn = self.conn
        frames = [
            conn.send(m.Output(id=rid, stream=chunk.stream, text=chunk.text))
            for rid, chunk in self._held
            if conn.is_pending(rid)
        ]
        self._held.clear()
        self._held_bytes = 0
        return frames

    def _send(self, frames: list[bytes]) -> None:
        if frames and not self._is_closing():
            self._write(frames[0] if len(frames) == 1 else b"".join(frames))

    def reply(self, rid: int, result: m.Reply | RequestError) -> None:
        """Send the final reply of request ``rid`` (once; nothing if it was abandoned)."""
        conn = self.conn
        if not conn.is_pending(rid):
            return
        if isinstance(result, RequestError):
            result = _error_reply(rid, result)
        output = self._take_output(rid) if isinstance(result, m.ExecResult) else []
        frames = self._held_frames()  # before the final reply ends their requests
        try:
            data = conn.send(result, output=output)
        except ValueError as exc:  # larger than a frame may be
            self._send([*frames, *self._smaller_reply(rid, result, output, exc)])
            return
        self._send([*frames, data])

    def _smaller_reply(self, rid: int, result: m.Reply, output: list[m.OutputChunk],
                       exc: ValueError) -> list[bytes]:
        """The frames to send when ``result`` (with ``output``) exceeds a frame: the output
        as frames of its own, then the result, or an ``output_limit`` error if even that is
        too large."""
        conn = self.conn
        frames = [conn.send(m.Output(id=rid, stream=c.stream, text=c.text)) for c in output]
        if output:
            with contextlib.suppress(ValueError):
                return [*frames, conn.send(result)]
        return [*frames, conn.send(m.Error(id=rid, code="output_limit",
                                           message=f"reply too large to send: {exc}"))]

    def _take_output(self, rid: int) -> list[m.OutputChunk]:
        """Request ``rid``'s held output, no longer held (it rides in its final reply)."""
        if not self._held:
            return []
        mine = [chunk for held_rid, chunk in self._held if held_rid == rid]
        if mine:
            self._held = [(r, chunk) for r, chunk in self._held if r != rid]
            self._held_bytes = sum(len(chunk.text) for _, chunk in self._held)
        return mine

    def feed(self, data: bytes) -> bool:
        """Take bytes from the peer (``b""``: end of stream); False once the connection
        must close."""
        conn = self.conn
        conn.receive_data(data)
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                return True
            if event is END_OF_STREAM:
                return False
            if isinstance(event, RequestRejected):
                self.write_final(event.data)
                if event.close:
                    return False
                continue
            request: m.Request = event  # type: ignore[assignment]
            if isinstance(request, m.Hello):
                self.write_final(conn.welcome(request))
                continue
            if isinstance(request, m.Interrupt):
                # Interrupts are answered at once, never queued behind the session's lock.
                self.reply(request.id, self.server._interrupt(self, request))
                continue
            # The request runs now, up to its first wait (for a session op: until its command
            # is written to GHCi); a task carries the rest (core.server.eager says why).
            task = start_eagerly(self.server._run(self, request))
            if not task.done():
                self._track(request, task)

    def _track(self, request: m.Request, task: asyncio.Future[None]) -> None:
        rid = request.id
        self.tasks[rid] = (getattr(request, "session", None), task)
        task.add_done_callback(lambda _: self.tasks.pop(rid, None))

    def is_waiting(self, rid: int, session_id: str) -> bool:
        """Whether request ``rid`` of session ``session_id`` has not ended."""
        entry = self.tasks.get(rid)
        return entry is not None and entry[0] == session_id

    def cancel_waiting(self, rid: int, session_id: str) -> None:
        """Stop request ``rid`` of session ``session_id`` if it waits for that session (it
        then ends with an ``interrupted`` error); nothing if it has ended."""
        entry = self.tasks.get(rid)
        if entry is None or entry[0] != session_id:
            return
        self._cancelled.add(rid)
        entry[1].cancel()

    def cancelled_by_interrupt(self, rid: int) -> bool:
        """Whether request ``rid``'s cancellation was an interrupt's (asked once)."""
        if rid in self._cancelled:
            self._cancelled.discard(rid)
            return True
        return False

    async def finish(self) -> None:
        """The connection ended: stop its requests and close its sessions."""
        self._flush()
        server = self.server
        sessions = list(self.client.sessions.values())
        for session in sessions:
            session.interrupt()
        tasks = [task for _, task in self.tasks.values()]
        self._cancelled.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(
            *(server._drop_session(s) for s in list(self.client.sessions.values())),
            return_exceptions=True,
        )
