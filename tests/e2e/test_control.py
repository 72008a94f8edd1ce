"""Interrupts, time limits and concurrent sessions against a real GHCi."""

from __future__ import annotations

import struct
import threading
import time

import pytest

from core.client import Client, Session

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
