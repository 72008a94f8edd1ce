"""Interrupts, time limits and resource limits, against a real GHCi.

An interrupt reaches running code and the session stays as it was; code that ignores it is
killed after the grace period and the session restarted. A time limit covers evaluating *and*
serialising a value (``eval`` of an infinite value ends at the limit, the interpreter is not
killed). Output beyond the per-request quota is cut with ``truncated`` set and never piles up
in the server. Memory and CPU limits kill the interpreter only; sessions are counted and
expire when idle.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import pytest

from core.client import (
    Client,
    OutputLimitError,
    Session,
    SessionDiedError,
    SessionLimitError,
    TimeoutError_,
)
from core.protocol.errors import UnknownSessionError
from tests.faults.support import (
    ServerProcess,
    configured_server,
    interpreter_pid,
    is_gone,
    stdout_of,
    vm_kib,
    wait_until,
)

pytestmark = [pytest.mark.ghc, pytest.mark.timeout(90)]

GRACE = 2.0  # SessionLimits.grace: how long interrupted code gets before GHCi is killed
UNINTERRUPTIBLE = (
    "Control.Exception.uninterruptibleMask_ (Control.Exception.evaluate (length [1 ..]))"
)
T = TypeVar("T")


class Background(Generic[T]):
    """Runs a call in a thread; ``result()`` gives its value or raises its exception."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._call = call
        self._value: T | None = None
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run)
        self.started = time.monotonic()
        self.ended = 0.0
        self.thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as exc:
            self._error = exc
        self.ended = time.monotonic()

    def result(self, timeout: float = 60.0) -> T:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the call did not return"
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value

    @property
    def elapsed(self) -> float:
        return self.ended - self.started


def _into(chunks: list[str]) -> Callable[[str, str], None]:
    return lambda stream, text: chunks.append(text)


# ---------------------------------------------------------------------- interrupts


@pytest.mark.parametrize(
    "running",
    [
        "length [1 ..]",  # compiled library code
        "let spin :: Int -> Int; spin n = spin (n + 1) in print (spin 0)",  # interpreted
        "Control.Concurrent.threadDelay 30000000",  # blocked
    ],
    ids=["compiled-loop", "interpreted-loop", "blocked"],
)
def test_interrupt_reaches_running_code(fault_session: Session, running: str) -> None:
    fault_session.exec_stmt("let kept = 11 :: Int")
    before = interpreter_pid(fault_session)
    call = Background(lambda: fault_session.exec_stmt(running))
    time.sleep(0.5)
    fault_session.interrupt()
    outcome = call.result()
    assert outcome.exception is not None
    assert outcome.exception.type == "UserInterrupt"
    assert call.elapsed < 0.5 + 1.5
    assert interpreter_pid(fault_session) == before  # no restart was needed
    assert stdout_of(fault_session, "print kept") == "11\n"


def test_code_that_ignores_interrupts_is_killed_after_the_grace_period(
    fault_session: Session,
) -> None:
    fault_session.exec_stmt("let kept = 12 :: Int")
    before = interpreter_pid(fault_session)
    call = Background(lambda: fault_session.exec_stmt(UNINTERRUPTIBLE))
    time.sleep(0.5)
    fault_session.interrupt()
    with pytest.raises(SessionDiedError, match="did not stop when interrupted") as info:
        call.result()
    assert GRACE <= call.elapsed - 0.5 < GRACE + 3
    assert "let: let kept = 12 :: Int" in info.value.replayed
    assert interpreter_pid(fault_session) != before
    assert is_gone(before)
    assert stdout_of(fault_session, "print kept") == "12\n"


def test_time_limit_kills_code_that_ignores_it(fault_session: Session) -> None:
    fault_session.exec_stmt("let kept = 13 :: Int")
    started = time.monotonic()
    with pytest.raises(SessionDiedError, match="time limit of 1 s") as info:
        fault_session.exec_stmt(UNINTERRUPTIBLE, timeout=1)
    assert 1 + GRACE <= time.monotonic() - started < 1 + GRACE + 3
    assert "let: let kept = 13 :: Int" in info.value.replayed
    assert stdout_of(fault_session, "print kept") == "13\n"


# ---------------------------------------------------------------------- time limits


def test_time_limit_on_a_statement(fault_session: Session) -> None:
    before = interpreter_pid(fault_session)
    started = time.monotonic()
    outcome = fault_session.exec_stmt("length [1 ..]", timeout=1)
    assert time.monotonic() - started < 1 + 1.5
    assert outcome.exception is not None and outcome.exception.type == "Timeout"
    assert interpreter_pid(fault_session) == before


@pytest.mark.parametrize(
    "expr",
    [
        # Values that never get to their first element, or to the end of their count
        # (a value that streams reaches the value limit first: see below).
        "length [1 ..]",
        "filter (< 0) [1 ..]",
        "filter (== 'y') (repeat 'x')",
        "(1 :: Int, filter (< 0) [1 :: Int ..])",
        "Data.Map.fromList (zip [1 :: Int ..] (repeat (0 :: Int)))",
        "let s = Cons 1 s in s",  # no table encoding: sent as show text
    ],
)
def test_time_limit_covers_forcing_and_serialising_the_value(
    fault_session: Session, expr: str
) -> None:
    """The value is forced inside the limit, interruptibly: no restart is needed to stop it
    (it used to be forced under the file handle's lock, where async exceptions are masked,
    so the interpreter had to be killed after the grace period)."""
    fault_session.run_decls("data Stream = Cons Int Stream deriving Show")
    before = interpreter_pid(fault_session)
    started = time.monotonic()
    with pytest.raises(TimeoutError_):
        fault_session.eval(expr, timeout=1)
    assert time.monotonic() - started < 1 + 1.5
    assert interpreter_pid(fault_session) == before
    assert fault_session.eval("length \"ok\"").value == 2


def test_time_limit_of_a_remote_reference_forced_later(fault_session: Session) -> None:
    # Lazy, as GHC's compileExpr: instant. Three elements, then a search without end.
    ref = fault_session.compile_expr("[n | n <- [1 :: Int ..], n < 4 || n < 0]")
    with pytest.raises(TimeoutError_):
        fault_session.eval(ref.name, timeout=1)
    assert fault_session.eval(f"take 3 {ref.name}").value == [1, 2, 3]


def test_printing_an_infinite_value_times_out(fault_session: Session) -> None:
    received: list[int] = []
    outcome = fault_session.exec_stmt(
        "print [1 ..]", timeout=1, on_output=lambda stream, text: received.append(len(text))
    )
    assert outcome.exception is not None and outcome.exception.type == "Timeout"
    assert sum(received) > 0
    assert stdout_of(fault_session, 'putStrLn "next"') == "next\n"


# ---------------------------------------------------------------------- output quota


@pytest.fixture
def quota_session(fault_client: Client) -> Iterator[Session]:
    with fault_client.open_session(output_limit=1_000_000) as session:
        yield session


def test_stdout_beyond_the_quota_is_cut_and_flagged(quota_session: Session) -> None:
    received: list[str] = []
    outcome = quota_session.exec_stmt(
        "putStr (replicate 5000000 'x')", on_output=lambda stream, text: received.append(text)
    )
    assert outcome.truncated
    assert outcome.exception is None
    assert 900_000 <= len("".join(received).encode()) <= 1_000_000
    assert set("".join(received)) == {"x"}
    # Nothing of the flood leaks into the next request.
    assert stdout_of(quota_session, 'putStrLn "next"') == "next\n"
    assert not quota_session.exec_stmt('putStrLn "small"').truncated


def test_stderr_beyond_the_quota_keeps_the_exception(quota_session: Session) -> None:
    received: list[str] = []
    outcome = quota_session.exec_stmt(
        "System.IO.hSetBuffering System.IO.stderr (System.IO.BlockBuffering GHC.Maybe.Nothing)"
        " >> System.IO.hPutStr System.IO.stderr (replicate 5000000 'e') >> error \"boom\"",
        on_output=lambda stream, text: received.append(text),
    )
    assert outcome.truncated
    assert outcome.exception is not None
    assert outcome.exception.type == "ErrorCall"
    assert outcome.exception.message.startswith("boom")
    # The client gets at most its quota (the driver's 64 KiB stderr tail is not forwarded).
    assert len("".join(received).encode()) <= 1_000_000
    assert stdout_of(quota_session, 'putStrLn "next"') == "next\n"


def test_server_memory_stays_bounded_whatever_the_child_prints() -> None:
    server = ServerProcess()
    try:
        with server.connect() as client, client.open_session(output_limit=1_000_000) as session:
            assert session.exec_stmt("putStr (replicate 2000000 'w')").truncated  # warm-up
            before = vm_kib(server.pid, "VmHWM")
            printed = 200 * 1024 * 1024
            outcome = session.exec_stmt(
                f"Data.ByteString.Char8.putStr (Data.ByteString.Char8.replicate {printed} 'x')",
                on_output=lambda stream, text: None,
            )
            assert outcome.truncated
            growth = (vm_kib(server.pid, "VmHWM") - before) * 1024
            assert growth < printed // 10, f"server peak RSS grew by {growth >> 20} MiB"
    finally:
        server.stop()


# ---------------------------------------------------------------------- value size limit


def test_an_infinite_value_meets_the_value_limit(fault_session: Session) -> None:
    """The payload is cut at the session's value limit (48 MiB) as it is written: a clean
    error, the interpreter not killed, its heap not exhausted (it used to run out of
    memory and restart: lists were counted before being written and kept alive)."""
    before = interpreter_pid(fault_session)
    with pytest.raises(OutputLimitError, match="more than 50331648 bytes"):
        fault_session.eval("[1 :: Int ..]", timeout=60)
    assert interpreter_pid(fault_session) == before
    assert fault_session.eval("take 3 [1 :: Int ..]").value == [1, 2, 3]


def test_the_value_limit_applies_to_every_kind_of_value() -> None:
    server = configured_server(value_limit=100_000)
    try:
        with server.connect() as client, client.open_session() as session:
            session.run_decls("data S = S Int S deriving Show")
            before = interpreter_pid(session)
            for expr in ["[1 ..]", "Just (repeat 'x')", "(1 :: Int, [[1 :: Int ..]])",
                         "Data.ByteString.Lazy.Char8.cycle (Data.ByteString.Lazy.Char8.pack \"a\")",
                         "let s = S 1 s in s", "[1 :: Int .. 20000]"]:
                with pytest.raises(OutputLimitError):
                    session.eval(expr, timeout=30)
                # Seen twice: the second time through the statement for a known type.
                with pytest.raises(OutputLimitError):
                    session.eval(expr, timeout=30)
            assert interpreter_pid(session) == before
            assert session.eval("[1 :: Int .. 10000]").value == list(range(1, 10001))
    finally:
        server.stop()


# ---------------------------------------------------------------------- rlimits and counts


def test_cpu_limit_kills_the_interpreter_only() -> None:
    server = configured_server(cpu_seconds=1)
    try:
        with server.connect() as client, client.open_session() as session:
            session.exec_stmt("let kept = 14 :: Int")
            started = time.monotonic()
            with pytest.raises(SessionDiedError) as info:
                session.exec_stmt("length [1 ..]", timeout=30)
            assert time.monotonic() - started < 10
            assert "let: let kept = 14 :: Int" in info.value.replayed
            assert stdout_of(session, "print kept") == "14\n"
    finally:
        server.stop()


def test_maximum_number_of_sessions() -> None:
    server = ServerProcess("--max-sessions", "2")
    try:
        with server.connect() as first, server.connect() as second:
            one = first.open_session()
            two = second.open_session()
            for client in (first, second):
                with pytest.raises(SessionLimitError, match="maximum of 2 sessions"):
                    client.open_session()
            assert stdout_of(one, "print 1") == "1\n"  # refusing hurt no one
            two.close()
            with second.open_session() as three:
                assert stdout_of(three, "print 3") == "3\n"
    finally:
        server.stop()


def test_idle_sessions_expire() -> None:
    server = ServerProcess("--idle-timeout", "1")
    try:
        with server.connect() as client:
            idle = client.open_session()
            busy = client.open_session()
            idle_pid = interpreter_pid(idle)
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:  # used every 0.2 s: never idle for 1 s
                assert stdout_of(busy, "print 2") == "2\n"
                time.sleep(0.2)
            with pytest.raises(UnknownSessionError):
                idle.exec_stmt("print 1")
            # Idle time counts from the end of a request, not from its start.
            busy.exec_stmt("Control.Concurrent.threadDelay 2500000")
            time.sleep(0.5)
            assert stdout_of(busy, "print 2") == "2\n"
            assert [s.session for s in client.list_sessions()] == [busy.id]
            assert wait_until(lambda: is_gone(idle_pid), 5)
            assert stdout_of(busy, "print 2") == "2\n"
    finally:
        server.stop()


# ---------------------------------------------------------------------- interrupt races


def test_interrupts_during_a_restart_do_not_reach_the_replay(fault_session: Session) -> None:
    """Interrupts keep coming while the session dies and is replayed: they must not reach the
    new GHCi (its SIGINT broke the replay: lets silently missing, or a second kill)."""
    for n in range(8):
        fault_session.exec_stmt(f"let kept{n} = {n} :: Int")
    # The fatal statement must reach exitImmediately before the first interrupt lands (the
    # server holds a SIGINT back 50 ms after a command is written): load the interfaces it
    # needs now, or compiling it in a fresh session can take longer than that and the storm
    # interrupts the compilation instead (a UserInterrupt outcome, no death).
    fault_session.exec_stmt(
        "Control.Exception.uninterruptibleMask_ (System.Posix.Process.getProcessID"
        " >>= \\_ -> Control.Exception.evaluate (System.Exit.ExitFailure 1) >> return ())"
    )
    stop = threading.Event()

    def storm() -> None:
        while not stop.is_set():
            fault_session.interrupt()
            time.sleep(0.003)

    stormer = threading.Thread(target=storm)
    stormer.start()
    try:
        with pytest.raises(SessionDiedError) as info:
            fault_session.exec_stmt(
                "Control.Exception.uninterruptibleMask_ (System.Posix.Process.exitImmediately"
                " (System.Exit.ExitFailure 1))"
            )
    finally:
        stop.set()
        stormer.join()
    assert len(info.value.replayed) == 8 and not info.value.details.problems, info.value
    assert stdout_of(fault_session, "print (sum [" + ", ".join(
        f"kept{n}" for n in range(8)) + "])") == "28\n"


def test_a_time_limit_running_out_during_the_restart(fault_session: Session) -> None:
    """GHCi dies shortly before the request's time limit; the limit must not fire into the
    replay that follows (a SIGINT to the new GHCi, then its kill after the grace period)."""
    count = 40  # a replay of about a second: the limit runs out while it goes on
    for n in range(count):
        fault_session.run_decls(f"data T{n} = A{n} | B{n} Int deriving (Show, Eq, Ord)")
    group = os.getpgid(interpreter_pid(fault_session))
    killer = threading.Timer(0.7, os.killpg, args=(group, signal.SIGKILL))
    killer.start()
    try:
        with pytest.raises(SessionDiedError, match="SIGKILL") as info:
            fault_session.exec_stmt("Control.Concurrent.threadDelay 10000000", timeout=1.0)
    finally:
        killer.join()
    assert len(info.value.replayed) == count and not info.value.details.problems, info.value
    time.sleep(GRACE + 0.5)  # a kill armed by a stray interrupt would have struck by now
    every = " + ".join(f"length (show (B{n} {n}))" for n in range(count))  # all still there
    expected = sum(len(f"B{n} {n}") for n in range(count))
    assert stdout_of(fault_session, f"print ({every})") == f"{expected}\n"


def test_a_storm_of_interrupts_never_mixes_up_replies(fault_server: ServerProcess) -> None:
    """A client interrupting its own session hundreds of times a second: every statement
    still ends with its own output, an interrupt or a restart -- never another statement's
    output, a lost line or lost state -- and other sessions do not notice."""
    with fault_server.connect() as client, fault_server.connect() as other_client:
        session = client.open_session()
        other = other_client.open_session()
        session.exec_stmt("let base = 100 :: Int")
        other.exec_stmt("let mine = 5 :: Int")
        stop = threading.Event()

        def storm() -> None:
            while not stop.is_set():
                session.interrupt()
                time.sleep(0.002)

        stormer = threading.Thread(target=storm)
        stormer.start()
        problems: list[object] = []
        try:
            for i in range(80):
                chunks: list[str] = []
                try:
                    outcome = session.exec_stmt(f"print (base + {i})", on_output=_into(chunks))
                except SessionDiedError:
                    continue
                if outcome.exception is not None:
                    if outcome.exception.type != "UserInterrupt":
                        problems.append((i, outcome.exception))
                elif "".join(chunks) != f"{100 + i}\n":
                    problems.append((i, chunks))
                if i % 20 == 0:
                    assert stdout_of(other, "print mine") == "5\n"
        finally:
            stop.set()
            stormer.join()
        assert problems == []
        assert stdout_of(session, "print base") == "100\n"
