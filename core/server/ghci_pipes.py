"""GHCi's stdout and stderr, read from event-loop callbacks and cut into commands.

Responsible for: reading both pipes of one GHCi without ever blocking (a full pipe never
deadlocks GHCi or the server), finding the end of a command (GHCi's prompt, a marker the
caller chose), applying the output limit, streaming output to the caller's callbacks, and
noticing end of file. Must not: start, signal or write to the process, or interpret the
output (``GhciProcess`` and the session do).

Why callbacks and not a task that wakes per chunk: GHCi's stdout is unbuffered, so it
writes its prompt one character per ``write(2)``. A reader that resumes a coroutine for
every chunk pays a task step and two event-loop turns each time (5–13 times per ``1 + 1``,
bench/PROFILE.md F1). Here each chunk costs one short callback; the waiting command is
resumed once, when the whole marker (or end of file) has arrived. Stderr is read when its
own descriptor is ready, and drained once more when the marker arrives: GHCi writes a
command's diagnostics before it prints the prompt, so at that moment the rest of them is
already in the pipe.

The readers stay registered for the process's life (no ``epoll_ctl`` pair per command).
What arrives between commands (output of a thread the user forked, the extra prompt after
an interrupt) is kept for the next command, up to a bound; past it reading pauses and the
pipe fills, as if nobody were reading. The interpreted program's own stdout and stderr, when
they have pipes of their own, are read alike but never mixed into GHCi's (see
``GhciPipes``).
"""

from __future__ import annotations

import asyncio
import codecs
import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["CommandOutput", "GhciPipes", "OutputCallback"]

_READ_SIZE: Final = 1 << 16
# Most bytes taken from one pipe per callback (what is left runs the callback again).
_BATCH: Final = 1 << 20
# Bytes of stderr always kept, even past the output limit: the exception or diagnostics
# GHCi prints last must survive a flood of user output.
_STDERR_TAIL: Final = 64 * 1024
# Output kept while no command is collecting; past it the pipe is left to fill.
_IDLE_LIMIT: Final = 1 << 20

OutputCallback = Callable[[str], None]
# Looked up once: every command creates two decoders.
_UTF8_DECODER: Final = codecs.getincrementaldecoder("utf-8")


@dataclass(slots=True)
class CommandOutput:
    """What one command wrote: ``stdout`` and ``stderr`` are GHCi's own (with the
    interpreted program's output when it shares GHCi's pipes, see ``GhciPipes``).
    ``ended``: the pipes closed (or were closed) before the marker arrived;
    ``stderr_tail`` is then the last of stderr, for the death report."""

    stdout: str
    stderr: str
    truncated: bool = False
    stdout_bytes: int = 0
    user_stdout_bytes: int = 0  # of the interpreted program's stdout, passed on
    stderr_bytes: int = 0
    ended: bool = False
    stderr_tail: str = ""


class _Stream:
    """Non-blocking reads of one pipe."""

    __slots__ = ("eof", "fd", "watched")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.eof = False
        self.watched = False  # a reader callback is registered for it
        os.set_blocking(fd, False)

    def read(self, limit: int | None = _BATCH) -> bytes:
        # A pipe that returned less than asked for is empty: no extra read that would
        # only fail with EAGAIN. ``limit`` bounds one call: a child that writes as fast as
        # we read would otherwise keep us here and make the server hold hundreds of MB at
        # once (seen: +105 MB of server RSS while a session printed 200 MB under a 1 MB
        # output quota).
        chunks: list[bytes] = []
        size = 0
        while limit is None or size < limit:
            try:
                data = os.read(self.fd, _READ_SIZE)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                self.eof = True
                break
            if not data:
                self.eof = True
                break
            chunks.append(data)
            size += len(data)
            if len(data) < _READ_SIZE:
                break
        if len(chunks) == 1:
            return chunks[0]
        return b"".join(chunks)

    def drain(self) -> bytes:
        """Everything in the pipe now (until it would block, or end of file)."""
        chunks = []
        while not self.eof:
            data = self.read(None)
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)


class _Collection:
    """One command's output while it arrives.

    Feeding never raises: an output callback that fails is not called again, the output is
    still collected up to the marker (so that the next command starts in step), and
    ``error`` holds the failure for the waiting command to raise.
    """

    __slots__ = (
        "_dropped_err", "_err_dec", "_err_parts", "_err_tail", "_held", "_limit", "_marker",
        "_on_stderr", "_on_stdout", "_on_user_stdout", "_out_dec", "_out_parts", "_used",
        "_user_err_dec",
        "_user_out_dec", "error", "future", "on_user_stderr", "result",
    )

    def __init__(
        self,
        marker: bytes,
        on_stdout: OutputCallback | None,
        on_stderr: OutputCallback | None,
        output_limit: int | None,
        future: asyncio.Future[bool],
        on_user_stderr: OutputCallback | None = None,
        on_user_stdout: OutputCallback | None = None,
    ) -> None:
        self._marker = marker
        self._on_stdout = on_stdout
        # The program's stdout goes with GHCi's unless it has a callback of its own.
        self._on_user_stdout = on_user_stdout if on_user_stdout is not None else on_stdout
        self._on_stderr = on_stderr
        self.on_user_stderr = on_user_stderr
        self._user_out_dec = _UTF8_DECODER("replace")
        self._user_err_dec = _UTF8_DECODER("replace")
        self._limit = output_limit if output_limit is not None else 1 << 62
        self._used = 0
        self._out_dec = _UTF8_DECODER("replace")
        self._err_dec = _UTF8_DECODER("replace")
        self._out_parts: list[str] = []
        self._err_parts: list[str] = []
        self._err_tail = bytearray()  # the last of all stderr (for a death report)
        self._dropped_err = bytearray()  # the last of the stderr the output limit dropped
        self._held = b""  # stdout that could be the start of a marker split across reads
        self.error: Exception | None = None
        self.future = future
        self.result = CommandOutput("", "")

    @property
    def held(self) -> bytes:
        return self._held

    @property
    def wants_user_stdout(self) -> bool:
        return self._on_user_stdout is not None

    def _admit(self, data: bytes) -> bytes:
        """What of ``data`` the output limit lets through (the rest is dropped)."""
        if self._used + len(data) > self._limit:
            self.result.truncated = True
            data = data[: max(0, self._limit - self._used)]
        self._used += len(data)
        return data

    def feed_user_out(self, data: bytes) -> None:
        """The interpreted program's stdout: passed on, never part of GHCi's answer."""
        data = self._admit(data)
        if data:
            self.result.user_stdout_bytes += len(data)
            self._deliver(self._on_user_stdout, self._user_out_dec.decode(data))

    def feed_user_err(self, data: bytes) -> None:
        """The interpreted program's stderr: passed on, never parsed as GHC's report (its
        last part is kept for a death report: the interpreter's runtime writes there)."""
        _keep_last(self._err_tail, data)
        data = self._admit(data)
        if data:
            self._deliver(self.on_user_stderr, self._user_err_dec.decode(data))

    def feed_out(self, data: bytes) -> bytes | None:
        """Take stdout; return what follows the marker once it has arrived, else None."""
        pending = self._held + data if self._held else data
        index = pending.find(self._marker)
        if index >= 0:
            self._held = b""
            self._take_out(pending[:index])
            return pending[index + len(self._marker) :]
        # Hold back only what could be the start of the marker, so that output is passed
        # on as soon as it arrives (not held until enough further bytes have come).
        cut = len(pending) - _marker_prefix_at_end(pending, self._marker)
        if cut:
            self._take_out(pending[:cut])
        self._held = pending[cut:]
        return None

    def _take_out(self, data: bytes) -> None:
        if not data:
            return
        self.result.stdout_bytes += len(data)
        text = self._out_dec.decode(self._admit(data))
        self._out_parts.append(text)
        self._deliver(self._on_stdout, text)

    def feed_err(self, data: bytes) -> None:
        if not data:
            return
        result = self.result
        result.stderr_bytes += len(data)
        _keep_last(self._err_tail, data)
        if self._dropped_err or self._used + len(data) > self._limit:
            # Once a chunk was dropped, every later one is too, even one that would still
            # fit: kept, it would come before the text it followed (GHCi's exception report
            # split across reads lost its call stack that way, and with it its type).
            result.truncated = True
            _keep_last(self._dropped_err, data)
            return
        self._used += len(data)
        text = self._err_dec.decode(data)
        self._err_parts.append(text)
        self._deliver(self._on_stderr, text)

    def _deliver(self, callback: OutputCallback | None, text: str) -> None:
        if callback is None or not text:
            return
        try:
            callback(text)
        except Exception as exc:
            if self.error is None:
                self.error = exc
            self._on_stdout = self._on_stderr = self.on_user_stderr = None
            self._on_user_stdout = None

    def finish(self, *, ended: bool) -> CommandOutput:
        result = self.result
        if ended and self._held:
            # No marker will complete it: it was output after all.
            held, self._held = self._held, b""
            self._take_out(held)
        self._out_parts.append(self._out_dec.decode(b"", final=True))
        self._err_parts.append(self._err_dec.decode(b"", final=True))
        result.stdout = "".join(self._out_parts)
        result.stderr = "".join(self._err_parts)
        if self._dropped_err:
            # The last part of stderr (where GHCi reports the exception) must survive a
            # flood of output that used up the limit.
            result.stderr += self._dropped_err.decode("utf-8", "replace")
        result.ended = ended
        if ended:
            result.stderr_tail = self._err_tail.decode("utf-8", "replace")
        return result


def _keep_last(buffer: bytearray, data: bytes) -> None:
    buffer.extend(data)
    if len(buffer) > _STDERR_TAIL:
        del buffer[: len(buffer) - _STDERR_TAIL]


def _marker_prefix_at_end(data: bytes, marker: bytes) -> int:
    """Length of the longest proper prefix of ``marker`` that ``data`` ends with."""
    first = marker[:1]
    index = data.find(first, max(0, len(data) - len(marker) + 1))
    while index >= 0:
        if marker.startswith(data[index:]):
            return len(data) - index
        index = data.find(first, index + 1)
    return 0


class GhciPipes:
    """The output pipes of one GHCi; one command collects at a time.

    ``user_stdout_fd``/``user_stderr_fd``: pipes of the interpreted program's own stdout and
    stderr, when it does not share GHCi's. Their output goes to the command's callbacks
    (``on_stdout``, ``on_user_stderr``) and never into GHCi's answer or report: a thread of
    the user's printing between commands cannot corrupt the next ``:type`` answer, nor user
    text on stderr pass for a GHC error. A command without the callback leaves it for the
    next one that has it. GHCi flushes the program's handles before it prints its prompt,
    so when the marker arrives the program's output of the command is in those pipes.
    """

    def __init__(self, stdout_fd: int, stderr_fd: int, user_stdout_fd: int | None = None,
                 user_stderr_fd: int | None = None) -> None:
        self._out = _Stream(stdout_fd)
        self._err = _Stream(stderr_fd)
        self._user_out = _Stream(user_stdout_fd) if user_stdout_fd is not None else None
        self._user_err = _Stream(user_stderr_fd) if user_stderr_fd is not None else None
        self._idle_out = bytearray()
        self._idle_err = bytearray()
        self._idle_user_out = bytearray()
        self._idle_user_err = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._current: _Collection | None = None
        self._closed = False

    @property
    def stdout_eof(self) -> bool:
        return self._out.eof

    @property
    def idle(self) -> bool:
        """No command is collecting its output."""
        return self._current is None

    async def collect(
        self,
        marker: bytes,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
        output_limit: int | None = None,
        on_user_stderr: OutputCallback | None = None,
        on_user_stdout: OutputCallback | None = None,
    ) -> CommandOutput:
        """Wait for everything up to ``marker`` on stdout; the output callbacks run as it
        arrives (the program's stdout to ``on_stdout`` too, unless ``on_user_stdout``).
        Returns with ``ended`` set if the pipes closed first. The first exception raised by
        a callback is raised here once the marker has arrived (so the next command starts
        in step); the callbacks are not called after it."""
        assert self._current is None, "one command collects at a time"
        loop = asyncio.get_running_loop()
        current = _Collection(marker, on_stdout, on_stderr, output_limit, loop.create_future(),
                              on_user_stderr, on_user_stdout)
        if self._closed:
            return current.finish(ended=True)
        self._current = current
        try:
            self._pass_user_output(current)
            if self._idle_err:
                data = bytes(self._idle_err)
                self._idle_err.clear()
                current.feed_err(data)
            if self._idle_out:
                data = bytes(self._idle_out)
                self._idle_out.clear()
                self._take_stdout(current, data)
            if not current.future.done():
                if self._out.eof:
                    self._end(current)
                else:
                    self._watch(loop)
            ended = await current.future
        except BaseException:
            if self._current is current:  # cancelled while waiting
                self._current = None
                # A possible start of the marker stays for whoever reads next.
                self._idle_out[:0] = current.held
            raise
        output = current.finish(ended=ended)
        if current.error is not None:
            raise current.error
        return output

    def _pass_user_output(self, current: _Collection) -> None:
        """Give ``current`` the program's output kept so far, if it takes it."""
        if self._idle_user_out and current.wants_user_stdout:
            data = bytes(self._idle_user_out)
            self._idle_user_out.clear()
            current.feed_user_out(data)
        if self._idle_user_err and current.on_user_stderr is not None:
            data = bytes(self._idle_user_err)
            self._idle_user_err.clear()
            current.feed_user_err(data)

    def _user_ready(self, stream: _Stream, idle: bytearray) -> None:
        data = stream.read()
        if stream.eof:
            self._unwatch(stream)
        self._take_user(stream, idle, data)

    def _take_user(self, stream: _Stream, idle: bytearray, data: bytes) -> None:
        if not data:
            return
        current = self._current
        if current is not None and stream is self._user_out and current.wants_user_stdout:
            current.feed_user_out(data)
        elif current is not None and stream is self._user_err and \
                current.on_user_stderr is not None:
            current.feed_user_err(data)
        else:
            idle += data
            if len(idle) >= _IDLE_LIMIT:
                self._unwatch(stream)

    def _drain_user(self) -> None:
        for stream, idle in ((self._user_out, self._idle_user_out),
                             (self._user_err, self._idle_user_err)):
            # Not one paused at the idle bound: the pipe holds the rest.
            if stream is not None and stream.watched:
                self._take_user(stream, idle, stream.drain())

    def discard_available(self) -> None:
        """Drop whatever GHCi has written so far (before a resync)."""
        self._out.drain()
        self._err.drain()
        self._idle_out.clear()
        self._idle_err.clear()

    def read_stderr_now(self) -> bytes:
        """What is in the stderr pipe now (for a start-up failure report)."""
        return bytes(self._idle_err) + self._err.drain()

    def close(self) -> None:
        """Stop reading for good (before the pipes are closed); a collecting command
        returns with ``ended`` set."""
        self._closed = True
        self._unwatch(self._out)
        self._unwatch(self._err)
        for stream in (self._user_out, self._user_err):
            if stream is not None:
                self._unwatch(stream)
        current, self._current = self._current, None
        if current is not None and not current.future.done():
            current.future.set_result(True)

    # ------------------------------------------------------------------ callbacks

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is not loop:
            # A process outlives one event loop only in tests that run several loops in
            # turn; the old loop's registrations went with it.
            self._loop = loop
            for stream in (self._out, self._err, self._user_out, self._user_err):
                if stream is not None:
                    stream.watched = False
        for stream, ready in ((self._out, self._stdout_ready), (self._err, self._stderr_ready)):
            if not stream.watched and not stream.eof:
                loop.add_reader(stream.fd, ready)
                stream.watched = True
        for stream, idle in ((self._user_out, self._idle_user_out),
                             (self._user_err, self._idle_user_err)):
            if stream is not None and not stream.watched and not stream.eof and \
                    len(idle) < _IDLE_LIMIT:
                loop.add_reader(stream.fd, self._user_ready, stream, idle)
                stream.watched = True

    def _unwatch(self, stream: _Stream) -> None:
        if stream.watched and self._loop is not None:
            stream.watched = False
            if not self._loop.is_closed():
                self._loop.remove_reader(stream.fd)

    def _read_idle(self, stream: _Stream, idle: bytearray) -> bytes | None:
        """Read ``stream``; what arrives while no command collects is kept in ``idle``
        (None is returned then). Past ``_IDLE_LIMIT`` reading pauses until a collect."""
        data = stream.read()
        if stream.eof:
            self._unwatch(stream)
        if self._current is not None:
            return data
        idle += data
        if len(idle) >= _IDLE_LIMIT:
            self._unwatch(stream)
        return None

    def _stdout_ready(self) -> None:
        current = self._current
        data = self._read_idle(self._out, self._idle_out)
        if current is None or data is None:
            return
        if data:
            self._take_stdout(current, data)
        if self._out.eof and self._current is current:
            self._end(current)

    def _stderr_ready(self) -> None:
        current = self._current
        data = self._read_idle(self._err, self._idle_err)
        if current is not None and data:
            current.feed_err(data)

    def _take_stdout(self, current: _Collection, data: bytes) -> None:
        rest = current.feed_out(data)
        if rest is None:
            return
        self._idle_out += rest
        # Everything GHCi wrote to stderr for this command precedes the prompt, and so does
        # what the program wrote (GHCi flushes its handles first).
        current.feed_err(bytes(self._idle_err) + self._err.drain())
        self._idle_err.clear()
        self._drain_user()
        self._current = None
        current.future.set_result(False)

    def _end(self, current: _Collection) -> None:
        current.feed_err(self._err.drain())
        self._drain_user()
        self._current = None
        current.future.set_result(True)
