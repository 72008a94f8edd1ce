"""Interrupts, time limits and concurrent sessions against a real GHCi."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.client import Client, Session, Target, plans
from core.client.aio import aconnect
from core.protocol import messages as m

pytestmark = pytest.mark.ghc


def test_interrupt_stops_a_runaway_statement_and_keeps_bindings(session: Session) -> None:
    session.exec_stmt("let kept = 7 :: Int")
    timer = threading.Timer(0.5, session.interrupt)
    timer.start()
    started = time.monotonic()
    outcome = session.exec_stmt("length [1..]")
    elapsed = time.monotonic() - started
    assert outcome.exception is not None and outcome.exception.type == "UserInterrupt"
    assert elapsed < 0.5 + 1.0, f"interrupt took {elapsed - 0.5:.2f}s"
    chunks: list[str] = []
    session.exec_stmt("kept + 1", on_output=lambda s, t: chunks.append(t))
    assert "".join(chunks) == "8\n"


def test_time_limit_gives_a_timeout_exception(session: Session) -> None:
    outcome = session.exec_stmt("length [1..]", timeout=0.5)
    assert outcome.exception is not None and outcome.exception.type == "Timeout"
    assert session.exec_stmt("1 + 1").exception is None


def test_sessions_run_in_parallel(shim_client: Client) -> None:
    sessions = [shim_client.open_session() for _ in range(4)]
    try:
        results: dict[int, str] = {}

        def work(i: int, s: Session) -> None:
            chunks: list[str] = []
            s.exec_stmt(f"let v = {i} :: Int")
            for _ in range(5):
                s.exec_stmt("print (v * 10)", on_output=lambda st, t: chunks.append(t))
            results[i] = "".join(chunks)

        threads = [threading.Thread(target=work, args=(i, s)) for i, s in enumerate(sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert results == {i: f"{i * 10}\n" * 5 for i in range(4)}
    finally:
        for s in sessions:
            s.close()


def test_a_slow_session_does_not_block_another(shim_client: Client) -> None:
    with shim_client.open_session() as slow, shim_client.open_session() as fast:
        thread = threading.Thread(target=slow.exec_stmt, args=("length [1..]",),
                                  kwargs={"timeout": 3})
        thread.start()
        time.sleep(0.3)
        started = time.monotonic()
        assert fast.exec_stmt("1 + 1").exception is None
        assert time.monotonic() - started < 1.5
        slow.interrupt()
        thread.join(10)


def test_sessions_with_language_flags_come_from_the_warm_pool(shim_client: Client) -> None:
    with shim_client.open_session() as plain:
        assert plain.expr_type('"x"') == "String"
    deadline = time.monotonic() + 30
    while True:  # the pool refills in the background after each open
        session = shim_client.open_session(flags=["-XOverloadedStrings"])
        if session.warm or time.monotonic() > deadline:
            break
        session.close()
        time.sleep(0.2)
    with session:
        assert session.warm
        assert session.expr_type('"x"') == "Data.String.IsString p => p"
        assert "OverloadedStrings" in session.get_flags().extensions


def _warm_session(client: Client, flags: list[str]) -> Session:
    deadline = time.monotonic() + 30
    while True:  # the pool refills in the background after each open
        session = client.open_session(flags=flags)
        if session.warm or time.monotonic() > deadline:
            return session
        session.close()
        time.sleep(0.2)


@pytest.mark.parametrize("flag", ["-XRebindableSyntax", "-XNoImplicitPrelude"])
def test_a_session_opened_without_the_implicit_prelude_is_alike_warm_or_cold(
    shim_client: Client, flag: str
) -> None:
    from core.client import CompileError

    warm = _warm_session(shim_client, [flag])
    # A heap limit other than the server's needs a GHCi started for it, with the flag on
    # its command line.
    cold = shim_client.open_session(flags=[flag], heap_mb=1536)
    with warm, cold:
        assert warm.warm and not cold.warm
        for session in (warm, cold):
            assert flag.removeprefix("-X") in session.get_flags().extensions
            # A GHCi started with the flag has no Prelude in scope; a pooled one given it
            # with :set had kept its implicit import.
            with pytest.raises(CompileError, match="not in scope: map"):
                session.expr_type("map")
            assert session.expr_type("GHC.Base.map") == "(a -> b) -> [a] -> [b]"
            # Values still cross (under RebindableSyntax the writer must not bind with the
            # user's >>=, which a GHCi started with the flag did: "Not in scope: '>>='").
            assert session.eval("GHC.Types.True").value is True
            # Show Double is an orphan of GHC.Float, which an empty context does not see:
            # the value crosses all the same, and a function as its type.
            tiny = "GHC.Float.castWord64ToDouble (GHC.Real.fromIntegral (GHC.Base.ord 'a'))"
            expected = struct.unpack("<d", struct.pack("<Q", 97))[0]
            assert session.eval(f"[{tiny}]").value == [expected]
            assert session.eval("GHC.Classes.not").type_rep == "Bool -> Bool"


def test_unknown_session_flags_are_refused(shim_client: Client) -> None:
    from core.client import GhcUsageError

    with pytest.raises(GhcUsageError, match="no-such-flag"):
        shim_client.open_session(flags=["-fno-such-flag"])


def test_code_that_catches_the_interrupt_finishes_and_binds(session: Session) -> None:
    """As with in-process GHCi: the interrupt is the code's UserInterrupt to handle (GHCi
    with an external interpreter abandons the statement when the signal reaches it too)."""
    timer = threading.Timer(0.5, session.interrupt)
    timer.start()
    started = time.monotonic()
    outcome = session.exec_stmt(
        "r <- Control.Exception.catch (Control.Concurrent.threadDelay 5000000 >> return 0) "
        "(\\e -> const (return (5 :: Int)) (e :: Control.Exception.AsyncException))")
    timer.join()
    assert time.monotonic() - started < 3
    assert outcome.exception is None and outcome.names == ("r",)
    assert session.eval("r").value == 5


def test_interrupt_while_a_value_is_forced(session: Session) -> None:
    from core.client import InterruptedError_

    session.exec_stmt("let kept = 'k'")
    timer = threading.Timer(0.5, session.interrupt)
    timer.start()
    with pytest.raises(InterruptedError_) as info:
        session.eval("filter (< 0) [1 ..] :: [Int]")  # never gets to an element
    assert info.value.exception is not None
    assert info.value.exception.type == "UserInterrupt"
    assert session.eval("kept").value == "k"


class _Request:
    """A request of ``client``'s connection sent from a thread of its own: its id is known
    as soon as it is sent, its reply (or the error it raised) once it ends."""

    def __init__(self, client: Client, build: Callable[[int], m.Request]) -> None:
        self.id = -1
        self.reply: m.Reply | None = None
        self.error: BaseException | None = None
        self._sent = threading.Event()

        def build_and_note(rid: int) -> m.Request:
            self.id = rid
            self._sent.set()
            return build(rid)

        def run() -> None:
            try:
                self.reply = client.call(plans.Plan(build_and_note, _raising))
            except BaseException as exc:  # kept for the test to inspect
                self.error = exc

        self._thread = threading.Thread(target=run)
        self._thread.start()
        assert self._sent.wait(10)

    def result(self) -> m.Reply | None:
        self._thread.join(30)
        assert not self._thread.is_alive()
        return self.reply


def _raising(reply: m.Reply) -> m.Reply:
    plans.raise_for_error(reply)
    return reply


def _statement(session: Session, stmt: str) -> Callable[[int], m.Request]:
    return lambda rid: m.ExecStmt(id=rid, session=session.id, stmt=stmt)


def _aimed_interrupt(client: Client, session: Session, request: int) -> None:
    client.call(plans.interrupt(session.id, request))


@contextlib.contextmanager
def _ctrl_c_after(seconds: float) -> Iterator[None]:
    """A KeyboardInterrupt in this (the main) thread after ``seconds``, as Ctrl-C raises."""
    def ctrl_c(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, ctrl_c)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_ctrl_c_while_waiting_stops_the_statement_in_the_session(session: Session) -> None:
    """A caller that gives up (KeyboardInterrupt) must not leave its statement running:
    the session's next request would wait behind it until its time limit."""
    session.exec_stmt("let kept = 7 :: Int")
    with _ctrl_c_after(0.5), pytest.raises(KeyboardInterrupt):
        session.exec_stmt("length [1..]", timeout=60)
    started = time.monotonic()
    chunks: list[str] = []
    outcome = session.exec_stmt("kept + 1", on_output=lambda s, t: chunks.append(t))
    assert time.monotonic() - started < 10, "the abandoned statement ran on"
    assert outcome.exception is None and "".join(chunks) == "8\n"


def test_ctrl_c_during_a_load_stops_the_load(session: Session, tmp_path: Path) -> None:
    """Any request is stopped, not only statements: here a splice that would run 60 s."""
    module = tmp_path / "SlowSplice.hs"
    module.write_text(
        "{-# LANGUAGE TemplateHaskell #-}\nmodule SlowSplice where\n"
        "import Language.Haskell.TH.Syntax (runIO, lift)\n"
        "import Control.Concurrent (threadDelay)\n"
        "slow :: Int\nslow = $(runIO (threadDelay 60000000) >> lift (1 :: Int))\n")
    session.add_target(Target("file", str(module)))
    with _ctrl_c_after(1.0), pytest.raises(KeyboardInterrupt):
        session.load(timeout=120)
    started = time.monotonic()
    assert session.exec_stmt("1 + 1").exception is None
    assert time.monotonic() - started < 30, "the abandoned load ran on"
    assert session.module_graph() == ()


def test_ctrl_c_of_an_asyncio_caller_stops_the_statement() -> None:
    """The asyncio flavour: a request whose task is cancelled (``asyncio.wait_for``)."""

    async def main() -> tuple[float, object]:
        client = await aconnect("embedded")
        try:
            session = await client.open_session()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(session.exec_stmt("length [1..]", timeout=60), 0.5)
            started = time.monotonic()
            value = (await session.eval("6 * 7 :: Int")).value
            return time.monotonic() - started, value
        finally:
            await client.close()

    elapsed, value = asyncio.run(main())
    assert value == 42
    assert elapsed < 10, "the cancelled statement ran on"


def test_an_interrupt_aimed_at_a_finished_request_leaves_the_next_one_alone(
    shim_client: Client, session: Session
) -> None:
    first = _Request(shim_client, _statement(session, "1 + 1"))
    assert isinstance(first.result(), m.ExecResult)
    second = _Request(shim_client, _statement(
        session, "Control.Concurrent.threadDelay 1000000 >> return (5 :: Int)"))
    time.sleep(0.4)
    _aimed_interrupt(shim_client, session, first.id)  # late: `first` has ended
    reply = second.result()
    assert isinstance(reply, m.ExecResult) and reply.exception is None, reply
    # The same interrupt aimed at the running request stops it.
    third = _Request(shim_client, _statement(session, "length [1..]"))
    time.sleep(0.4)
    _aimed_interrupt(shim_client, session, third.id)
    reply = third.result()
    assert isinstance(reply, m.ExecResult) and reply.exception is not None
    assert reply.exception.type == "UserInterrupt"


def test_an_interrupt_aimed_at_a_waiting_request_means_it_never_runs(
    shim_client: Client, session: Session
) -> None:
    from core.client import InterruptedError_

    running = _Request(shim_client, _statement(
        session, "Control.Concurrent.threadDelay 1000000 >> return (5 :: Int)"))
    time.sleep(0.2)
    waiting = _Request(shim_client, _statement(session, "let ranAfterAll = True"))
    time.sleep(0.2)
    _aimed_interrupt(shim_client, session, waiting.id)
    assert waiting.result() is None and isinstance(waiting.error, InterruptedError_)
    assert "before it started" in str(waiting.error)
    reply = running.result()  # the running request was not the one aimed at
    assert isinstance(reply, m.ExecResult) and reply.exception is None, reply
    from core.client import CompileError

    with pytest.raises(CompileError, match="ranAfterAll"):
        session.exec_stmt("ranAfterAll")
    assert session.exec_stmt("1 + 1").exception is None
