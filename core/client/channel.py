"""Request/reply channels over one connection: a blocking one and an asyncio one.

Responsible for: sending requests, routing each reply to the request it answers (by id),
delivering ``output`` messages to that request's callback in order, and turning a broken
transport into ``ConnectionLostError`` for every request in flight. Must not: interpret
replies (``session`` does) or know how the server was reached (``launcher`` does).

The blocking channel has no reader thread: the caller that waits reads, and replies for
other threads' requests are parked in their mailboxes (so a single-threaded caller pays no
thread hand-off per call). Output callbacks run in whichever thread is reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from pydantic import ValidationError

from core.protocol import END_OF_STREAM, NEED_DATA, ClientConnection
from core.protocol import messages as m
from core.protocol.errors import (
    ConnectionLostError,
    GhcUsageError,
    RemoteProtocolError,
)

__all__ = ["AsyncChannel", "OutputHandler", "RawIO", "SyncChannel"]

OutputHandler = Callable[[str, str], None]
_READ: Final = 1 << 16


def _invalid_arguments(exc: ValidationError) -> GhcUsageError:
    """The error for arguments that make no valid request (``line=0``, ``output_limit=10``):
    raised before anything is sent."""
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors(include_url=False, include_input=False)]
    return GhcUsageError("invalid arguments: " + "; ".join(problems))


@dataclass(slots=True)
class RawIO:
    """Blocking byte I/O of one connection: file descriptors or a socket."""

    read: Callable[[int], bytes]
    write: Callable[[bytes], None]
    close: Callable[[], None]


def _stoppable_session(request: m.Request) -> str | None:
    """The session whose lock ``request`` takes, if any: the one an abandoned request must
    be stopped in (an interrupt or a close ends by itself)."""
    if isinstance(request, (m.Interrupt, m.CloseSession)):
        return None
    session = getattr(request, "session", None)
    return session if isinstance(session, str) else None


def _interrupt_of(request: m.Request, rid: int) -> m.Interrupt | None:
    """The interrupt that stops ``request`` (sent as ``rid``) wherever it is, if it needs one."""
    session = _stoppable_session(request)
    if session is None:
        return None
    return m.Interrupt(id=rid, session=session, request=request.id)


@dataclass(slots=True)
class _Waiter:
    on_output: OutputHandler | None
    session: str | None = None  # the session the request runs in (set as it is sent)
    final: m.Reply | None = None
    done: bool = False
    error: BaseException | None = None
    buffered: list[m.Output | m.OutputChunk] = field(default_factory=list)


class SyncChannel:
    """A thread-safe blocking channel."""

    def __init__(self, io: RawIO, *, client_name: str = "", token: str | None = None) -> None:
        self._io = io
        self._conn = ClientConnection()
        self._ids = itertools.count(1)
        self._send_lock = threading.Lock()
        self._read_lock = threading.Lock()
        # The condition's own lock, taken directly where nobody needs waking: ``with`` on a
        # Condition and ``notify_all`` are Python-level code, run several times a call.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._sleepers = 0  # threads waiting on the condition for a reader to finish
        self._waiters: dict[int, _Waiter] = {}
        self._broken: BaseException | None = None
        welcome = self.request(
            lambda rid: m.Hello(id=rid, protocol_version=m.PROTOCOL_VERSION,
                                client=client_name, token=token),
            None,
        )
        assert isinstance(welcome, (m.Welcome, m.Error))
        self.welcome = welcome

    def next_id(self) -> int:
        return next(self._ids)

    def request(
        self, build: Callable[[int], m.Request], on_output: OutputHandler | None
    ) -> m.Reply:
        """Send the request ``build(id)`` and block until its final reply.

        Raises:
            ConnectionLostError: the connection broke before the final reply.
        """
        rid = self.next_id()
        waiter = _Waiter(on_output)
        with self._lock:
            if self._broken is not None:
                raise ConnectionLostError(f"connection to the server is closed: {self._broken}")
            self._waiters[rid] = waiter
        try:
            with self._send_lock:
                try:
                    request = build(rid)
                except ValidationError as exc:
                    raise _invalid_arguments(exc) from None
                waiter.session = _stoppable_session(request)
                self._write(self._conn.send(request))
            return self._wait(rid, waiter)
        except KeyboardInterrupt:
            # The caller gives up (Ctrl-C): the request must not go on running in the
            # session, or the session's next request would wait behind it until its time
            # limit. Stop exactly this one (an interrupt aimed at it), then re-raise.
            if waiter.session is not None:
                self.stop(request)
            raise
        finally:
            with self._lock:
                self._waiters.pop(rid, None)

    def _write(self, data: bytes) -> None:
        """Write one whole frame (the send lock is held)."""
        try:
            self._io.write(data)
        except OSError as exc:
            self._break(exc)
        except BaseException as exc:
            # Interrupted part-way (KeyboardInterrupt): the stream may now hold part of a
            # frame, after which the server cannot find the next one. The connection is
            # closed rather than left to be misread.
            self._break(ConnectionLostError(
                f"the connection was closed: sending a request was interrupted "
                f"({type(exc).__name__}), which may have left part of a frame on it"))
            with contextlib.suppress(OSError):
                self._io.close()
            raise

    def stop(self, request: m.Request) -> None:
        """Stop ``request`` (sent, its reply no longer awaited) in its session: interrupt it
        if it runs; if it still waits for the session, it never runs."""
        with self._send_lock:
            if self._broken is not None:
                return
            interrupt = _interrupt_of(request, self.next_id())
            if interrupt is not None:
                # Its reply (``done``) arrives with no waiter and is dropped, as is the
                # abandoned request's own final reply.
                self._write(self._conn.send(interrupt))

    def oldest_in_flight(self, session: str) -> int | None:
        """The id of the oldest request awaited in ``session`` (the one running there, when
        they come from this connection), or None."""
        with self._lock:
            for rid, waiter in self._waiters.items():
                if waiter.session == session and not waiter.done:
                    return rid
        return None

    def _wait(self, rid: int, waiter: _Waiter) -> m.Reply:
        while True:
            with self._lock:
                outputs, waiter.buffered = waiter.buffered, []
                done = waiter.done
                if not outputs and not done and not self._read_lock.acquire(blocking=False):
                    self._sleepers += 1
                    self._cond.wait(0.05)
                    self._sleepers -= 1
                    continue
            if outputs:
                # Delivered in the waiting thread, in order, with no lock held (a callback
                # may itself use the client).
                if waiter.on_output is not None:
                    for out in outputs:
                        waiter.on_output(out.stream, out.text)
                if not done:
                    continue
            if done:
                with self._lock:
                    if waiter.buffered:
                        continue
                if waiter.error is not None:
                    raise ConnectionLostError(str(waiter.error)) from waiter.error
                assert waiter.final is not None
                return waiter.final
            try:
                self._read_once()
            finally:
                self._read_lock.release()
                with self._lock:  # a waiter counts itself under this lock: no lost wake-up
                    if self._sleepers:
                        self._cond.notify_all()

    def _read_once(self) -> None:
        try:
            data = self._io.read(_READ)
        except OSError as exc:
            self._break(exc)
            return
        self._conn.receive_data(data)
        try:
            while True:
                event = self._conn.next_event()
                if event is NEED_DATA:
                    break
                if event is END_OF_STREAM:
                    self._break(EOFError("the server closed the connection"))
                    return
                self._route(event)  # type: ignore[arg-type]
        except RemoteProtocolError as exc:
            self._break(exc)

    def _route(self, reply: m.Reply) -> None:
        with self._lock:
            if reply.id is None:
                return  # a connection-level complaint about a frame we sent: nothing waits
            waiter = self._waiters.get(reply.id)
            if waiter is None:
                return
            if isinstance(reply, m.Output):
                waiter.buffered.append(reply)
                return
            if isinstance(reply, m.ExecResult) and reply.output:
                waiter.buffered.extend(reply.output)  # delivered before the result
            waiter.final = reply
            waiter.done = True
            if self._sleepers:
                self._cond.notify_all()

    def _break(self, exc: BaseException) -> None:
        with self._lock:
            if self._broken is None:
                self._broken = exc
            for waiter in self._waiters.values():
                if not waiter.done:
                    waiter.error = exc
                    waiter.done = True
            self._cond.notify_all()

    @property
    def broken(self) -> bool:
        return self._broken is not None

    def close(self) -> None:
        self._break(EOFError("the client closed the connection"))
        self._io.close()


class AsyncChannel:
    """An asyncio channel; a reader task routes replies to futures."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._conn = ClientConnection()
        self._ids = itertools.count(1)
        self._waiters: dict[int, tuple[asyncio.Future[m.Reply], OutputHandler | None]] = {}
        self._sessions: dict[int, str | None] = {}  # sent requests: id -> session it runs in
        self._broken: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self.welcome: m.Reply | None = None

    async def start(self, *, client_name: str = "", token: str | None = None) -> m.Reply:
        self._task = asyncio.create_task(self._read_loop())
        self.welcome = await self.request(
            lambda rid: m.Hello(id=rid, protocol_version=m.PROTOCOL_VERSION,
                                client=client_name, token=token),
            None,
        )
        return self.welcome

    async def request(
        self, build: Callable[[int], m.Request], on_output: OutputHandler | None
    ) -> m.Reply:
        if self._broken is not None:
            raise ConnectionLostError(f"connection to the server is closed: {self._broken}")
        rid = next(self._ids)
        future: asyncio.Future[m.Reply] = asyncio.get_running_loop().create_future()
        self._waiters[rid] = (future, on_output)
        try:
            try:
                request = build(rid)
            except ValidationError as exc:
                raise _invalid_arguments(exc) from None
            self._writer.write(self._conn.send(request))  # the whole frame, at once
            self._sessions[rid] = _stoppable_session(request)
            await self._writer.drain()
            return await future
        except asyncio.CancelledError:
            # The caller gave up (a cancelled task, ``asyncio.wait_for``): stop the request
            # in its session, or the session's next request would wait behind it.
            if self._sessions.get(rid) is not None:
                self.stop(request)
            raise
        except (ConnectionError, OSError) as exc:
            raise ConnectionLostError(str(exc)) from exc
        finally:
            self._waiters.pop(rid, None)
            self._sessions.pop(rid, None)

    def stop(self, request: m.Request) -> None:
        """Stop ``request`` (sent, its reply no longer awaited) in its session."""
        if self._broken is not None or self._writer.is_closing():
            return
        interrupt = _interrupt_of(request, next(self._ids))
        if interrupt is not None:
            self._writer.write(self._conn.send(interrupt))

    def oldest_in_flight(self, session: str) -> int | None:
        """The id of the oldest request awaited in ``session``, or None."""
        for rid, in_session in self._sessions.items():
            if in_session == session and not self._waiters[rid][0].done():
                return rid
        return None

    async def _read_loop(self) -> None:
        error: BaseException = EOFError("the server closed the connection")
        try:
            while True:
                data = await self._reader.read(_READ)
                self._conn.receive_data(data)
                while True:
                    event = self._conn.next_event()
                    if event is NEED_DATA:
                        break
                    if event is END_OF_STREAM:
                        return
                    self._route(event)  # type: ignore[arg-type]
                if not data:
                    return
        except (RemoteProtocolError, ConnectionError, OSError) as exc:
            error = exc
        finally:
            self._broken = error
            for future, _ in self._waiters.values():
                if not future.done():
                    future.set_exception(ConnectionLostError(str(error)))

    def _route(self, reply: m.Reply) -> None:
        if reply.id is None:
            return  # a connection-level complaint: nothing waits for it
        entry = self._waiters.get(reply.id)
        if entry is None:
            return
        future, on_output = entry
        if isinstance(reply, m.Output):
            if on_output is not None:
                on_output(reply.stream, reply.text)
            return
        if isinstance(reply, m.ExecResult) and on_output is not None:
            for chunk in reply.output:
                on_output(chunk.stream, chunk.text)
        if not future.done():
            future.set_result(reply)

    @property
    def broken(self) -> bool:
        return self._broken is not None

    async def close(self) -> None:
        self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


def fd_io(read_fd: int, write_fd: int, on_close: Callable[[], None]) -> RawIO:
    """RawIO over two pipe file descriptors."""

    def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view) :]

    def close() -> None:
        for fd in {read_fd, write_fd}:
            with contextlib.suppress(OSError):
                os.close(fd)
        on_close()

    return RawIO(read=lambda n: os.read(read_fd, n), write=write, close=close)
