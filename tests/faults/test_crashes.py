"""Crash isolation: a session whose GHCi dies is restarted with its state replayed.

Each test builds some state, makes the interpreter die in one of the ways user code (or the
outside world) can, and checks what SECURITY.md promises: the request in flight ends with
``session_died`` (``SessionDiedError``, ``.replayed`` listing what was restored), the next call
sees the user's earlier definitions, side-effecting statements were not run again, and other
sessions did not notice.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from core.client import (
    Client,
    CompileError,
    EvaluationError,
    GhcUsageError,
    Import,
    Session,
    SessionDiedError,
    Target,
)
from tests.faults.support import ServerProcess, interpreter_pid, is_gone, stdout_of

pytestmark = [pytest.mark.ghc, pytest.mark.timeout(90)]

SEGFAULT = "Foreign.Storable.peek Foreign.Ptr.nullPtr :: IO Int"


def _haskell_string(text: str) -> str:
    return json.dumps(text)  # ASCII paths: a JSON string is a Haskell string literal


def _build_state(session: Session, effects: Path) -> None:
    """A declaration, a pure let, a side effect (appends a line) and a side-effecting bind."""
    session.run_decls("twice :: Int -> Int\ntwice n = n * 2")
    session.exec_stmt("let kept = twice 21")
    session.exec_stmt(f'appendFile {_haskell_string(str(effects))} "ran\\n"')
    session.exec_stmt("effectful <- return (kept + 1)")


def _check_state_back(session: Session, effects: Path, died: SessionDiedError) -> None:
    assert "declarations: twice :: Int -> Int twice n = n * 2" in died.replayed
    assert "let: let kept = twice 21" in died.replayed
    assert any("effectful <- return" in p for p in died.details.problems), died.details
    assert stdout_of(session, "print (kept, twice 5)") == "(42,10)\n"
    # The side effect happened once: the statement was not re-run by the replay.
    assert effects.read_text() == "ran\n"
    # Neither was the side-effecting bind (so its name is gone, as the error says).
    with pytest.raises(CompileError, match="effectful"):
        session.exec_stmt("print effectful")


CRASHES = {
    "segfault-peek-null": SEGFAULT,
    "segfault-unsafeCoerce": (
        "Data.IORef.readIORef (Unsafe.Coerce.unsafeCoerce (Foreign.Ptr.nullPtr :: "
        "Foreign.Ptr.Ptr ()) :: Data.IORef.IORef Int)"
    ),
    "exitImmediately": "System.Posix.Process.exitImmediately (System.Exit.ExitFailure 3)",
    "raise-SIGKILL": "System.Posix.Signals.raiseSignal System.Posix.Signals.sigKILL",
}


@pytest.mark.parametrize("crash", list(CRASHES.values()), ids=list(CRASHES))
def test_a_dying_interpreter_is_restarted_with_its_state(
    fault_session: Session, tmp_path: Path, crash: str
) -> None:
    effects = tmp_path / "effects.txt"
    _build_state(fault_session, effects)
    before = interpreter_pid(fault_session)
    started = time.monotonic()
    with pytest.raises(SessionDiedError, match="restarted") as info:
        fault_session.exec_stmt(crash)
    assert time.monotonic() - started < 20
    assert interpreter_pid(fault_session) != before
    assert is_gone(before)
    _check_state_back(fault_session, effects, info.value)


def test_ffi_exit_that_really_exits(fault_session: Session, tmp_path: Path) -> None:
    effects = tmp_path / "effects.txt"
    _build_state(fault_session, effects)
    assert fault_session.run_decls('foreign import ccall "exit" c_exit :: Int -> IO ()') == [
        "c_exit"
    ]
    with pytest.raises(SessionDiedError) as info:
        fault_session.exec_stmt("c_exit 3")
    _check_state_back(fault_session, effects, info.value)
    # The foreign import is a declaration too: replayed, so it is still there.
    assert fault_session.expr_type("c_exit") == "Int -> IO ()"


def test_exit_with_is_an_exception_not_a_crash(fault_session: Session) -> None:
    before = interpreter_pid(fault_session)
    outcome = fault_session.exec_stmt("System.Exit.exitWith (System.Exit.ExitFailure 2)")
    assert outcome.exception is not None and outcome.exception.type == "ExitCode"
    assert interpreter_pid(fault_session) == before


def test_everything_in_the_journal_is_replayed(fault_session: Session, tmp_path: Path) -> None:
    """Flags, loaded targets, the import context, declarations and lets, in order."""
    module = tmp_path / "FaultMod.hs"
    module.write_text("module FaultMod (triple) where\n\ntriple :: Int -> Int\ntriple = (* 3)\n")
    session = fault_session
    session.set_flags(["-XLambdaCase"])
    session.set_targets([Target("file", str(module))])
    assert session.load().success
    session.set_context([Import("FaultMod"), Import("Data.Char", hiding=False, names=("toUpper",))])
    session.run_decls('classify :: Int -> String\nclassify = \\case { 0 -> "zero"; _ -> "other" }')
    session.exec_stmt("let base = triple 14")
    with pytest.raises(SessionDiedError) as info:
        session.exec_stmt(SEGFAULT)
    replayed = info.value.replayed
    assert replayed[0] == "flags -XLambdaCase"
    assert any(r.startswith("load ") and "FaultMod.hs" in r for r in replayed), replayed
    assert "import context" in replayed
    assert any(r.startswith("declarations: classify") for r in replayed), replayed
    assert "let: let base = triple 14" in replayed
    assert not info.value.details.problems
    assert stdout_of(session, 'print (classify 0, base, map toUpper "ok")') == '("zero",42,"OK")\n'
    assert [m.name for m in session.module_graph()] == ["FaultMod"]
    assert [i.module for i in session.get_context()] == ["FaultMod", "Data.Char"]
    assert "LambdaCase" in session.get_flags().extensions


def test_bound_values_read_from_files_come_back_after_a_crash(fault_session: Session) -> None:
    """A long value's texts travel as files that its binding reads once and removes: the
    replay writes them again for the new interpreter, used or not before the crash."""
    numbers = [(-1) ** i * (10 ** 15 + i * 104729) for i in range(5000)]
    words = [f"w\u00f6rd{i}" for i in range(3000)]
    session = fault_session
    session.bind_value("used", numbers, "[Int]")
    session.bind_value("unused", words)
    assert session.eval("sum used").value == sum(numbers)
    with pytest.raises(SessionDiedError) as info:
        session.exec_stmt(SEGFAULT)
    assert info.value.replayed == ("let used", "let unused")
    assert not info.value.details.problems
    assert session.eval("used").value == numbers
    assert session.eval("unused").value == words


def test_replay_keeps_the_context_each_statement_was_compiled_in(
    fault_session: Session, tmp_path: Path
) -> None:
    session = fault_session
    effects = tmp_path / "effects.txt"
    session.set_context([Import("Prelude"), Import("Data.Map", qualified=True, as_="M")])
    session.exec_stmt("let m = M.fromList [(1 :: Int, 'a')]")
    session.set_context([Import("Prelude")])
    # An expression with a let in it runs an effect: never re-run.
    session.exec_stmt(f'let n = 1 :: Int in appendFile "{effects}" "ran\\n"')
    with pytest.raises(SessionDiedError) as info:
        session.exec_stmt(SEGFAULT)
    assert not info.value.details.problems
    assert session.eval("Data.Map.size m").value == 1
    assert [i.module for i in session.get_context()] == ["Prelude"]
    assert effects.read_text() == "ran\n"


def test_other_sessions_do_not_notice(fault_server: ServerProcess, tmp_path: Path) -> None:
    with fault_server.connect() as first, fault_server.connect() as second:
        victim = first.open_session()
        neighbour_same_client = first.open_session()
        neighbour = second.open_session()
        neighbour.exec_stmt("let mine = 1234 :: Int")
        neighbour_same_client.exec_stmt("let alsoMine = 99 :: Int")
        pids = (interpreter_pid(neighbour), interpreter_pid(neighbour_same_client))
        done = threading.Event()
        answers: list[str] = []

        def keep_asking() -> None:
            while not done.is_set():
                answers.append(stdout_of(neighbour, "print mine"))

        asker = threading.Thread(target=keep_asking)
        asker.start()
        try:
            for crash in (SEGFAULT, "System.Posix.Process.exitImmediately System.Exit.ExitSuccess"):
                with pytest.raises(SessionDiedError):
                    victim.exec_stmt(crash)
        finally:
            done.set()
            asker.join(30)
        assert answers and set(answers) == {"1234\n"}
        assert stdout_of(neighbour_same_client, "print alsoMine") == "99\n"
        assert (interpreter_pid(neighbour), interpreter_pid(neighbour_same_client)) == pids
        assert all(s.restarts == 0 for s in second.list_sessions())


def test_killed_from_outside_while_running(fault_session: Session, tmp_path: Path) -> None:
    effects = tmp_path / "effects.txt"
    _build_state(fault_session, effects)
    group = os.getpgid(interpreter_pid(fault_session))
    killer = threading.Timer(0.7, os.killpg, args=(group, signal.SIGKILL))
    killer.start()
    started = time.monotonic()
    with pytest.raises(SessionDiedError, match="SIGKILL") as info:
        fault_session.exec_stmt("Control.Concurrent.threadDelay 30000000")
    killer.join()
    assert time.monotonic() - started < 10
    _check_state_back(fault_session, effects, info.value)


def test_killed_from_outside_while_idle(fault_session: Session, tmp_path: Path) -> None:
    effects = tmp_path / "effects.txt"
    _build_state(fault_session, effects)
    group = os.getpgid(interpreter_pid(fault_session))
    os.killpg(group, signal.SIGKILL)
    # The death is noticed by the next request, which did not run: session_died says so.
    with pytest.raises(SessionDiedError) as info:
        fault_session.exec_stmt(f'appendFile {_haskell_string(str(effects))} "again\\n"')
    _check_state_back(fault_session, effects, info.value)


def test_interpreter_killed_alone(fault_session: Session, tmp_path: Path) -> None:
    """Only ghc-iserv dies (e.g. the OOM killer picked it): GHC 9.0.2 then exits too."""
    effects = tmp_path / "effects.txt"
    _build_state(fault_session, effects)
    os.kill(interpreter_pid(fault_session), signal.SIGKILL)
    with pytest.raises(SessionDiedError) as info:
        fault_session.exec_stmt("print 1")
    _check_state_back(fault_session, effects, info.value)


MEMORY_BOMBS = {
    "at-once": "Data.ByteString.length (Data.ByteString.Char8.replicate (3072 * 1024 * 1024) 'x')",
    # Keeps the whole list alive while it grows.
    "gradual": "let xs = [1 ..] :: [Integer] in print (toInteger (length xs) + last xs)",
    # GHC's default stack limit (-K) is 80% of physical memory: the stack grows until the
    # heap limit stops it.
    "deep-recursion": (
        "let go :: Integer -> Integer; go 0 = 0; go n = 1 + go (n - 1) in print (go (10 ^ 9))"
    ),
    "deep-foldr": "print (foldr (+) 0 [1 .. 10 ^ 9 :: Integer])",
}


@pytest.mark.parametrize("bomb", list(MEMORY_BOMBS.values()), ids=list(MEMORY_BOMBS))
def test_a_memory_bomb_is_a_heap_overflow_of_its_statement(
    fault_session: Session, tmp_path: Path, bomb: str
) -> None:
    """The interpreter's heap is limited below its address space (GHC's -M), so a program
    that outgrows it gets GHC's HeapOverflow exception and the session keeps everything,
    the side-effecting bind too (at the address-space limit alone the interpreter died and
    the session was restarted)."""
    effects = tmp_path / "effects.txt"
    _build_state(fault_session, effects)
    before = interpreter_pid(fault_session)
    started = time.monotonic()
    outcome = fault_session.exec_stmt(bomb, timeout=90)
    assert time.monotonic() - started < 60
    assert outcome.exception is not None
    assert (outcome.exception.type, outcome.exception.message) == ("AsyncException",
                                                                   "heap overflow")
    assert interpreter_pid(fault_session) == before
    assert stdout_of(fault_session, "print (kept, twice 5, effectful)") == "(42,10,43)\n"
    assert effects.read_text() == "ran\n"
    with pytest.raises(EvaluationError, match="heap overflow"):
        fault_session.eval("let xs = [1 ..] :: [Integer] in (length xs, xs)", timeout=90)
    assert stdout_of(fault_session, "print kept") == "42\n"


def test_heap_limit_is_configurable_per_session(fault_client: Client) -> None:
    big = "Data.ByteString.length (Data.ByteString.Char8.replicate (600 * 1024 * 1024) 'x')"
    # 512 MB of address space, ~200 MB of heap: the 600 MB value cannot fit.
    with fault_client.open_session(heap_mb=512) as small:
        small.exec_stmt("let survivor = 5 :: Int")
        outcome = small.exec_stmt(big)
        assert outcome.exception is not None and outcome.exception.message == "heap overflow"
        assert stdout_of(small, "print survivor") == "5\n"
        # Deep recursions end the same way; a deep but bounded one is fine.
        for deep in MEMORY_BOMBS["deep-recursion"], MEMORY_BOMBS["deep-foldr"]:
            outcome = small.exec_stmt(deep, timeout=60)
            assert outcome.exception is not None
            assert outcome.exception.message == "heap overflow"
            assert stdout_of(small, "print survivor") == "5\n"
        assert stdout_of(small, "print (foldr (+) 0 [1 .. 10 ^ 5 :: Integer])") == "5000050000\n"
    with fault_client.open_session() as default:  # 2048 MB: the same value fits
        assert stdout_of(default, f"print ({big})") == f"{600 * 1024 * 1024}\n"


@pytest.mark.parametrize("heap_mb", [448, 576, 640, 800])
def test_sessions_start_under_any_reasonable_heap_limit(fault_client: Client, heap_mb: int) -> None:
    # GHC's runtime reserves 2/3 of the address-space limit for its heap at start; glibc's
    # per-thread malloc arenas (64 MB each) took what was left, and base failed to load:
    # 640 and 800 MB never started, 576 two times in three, 448 now and then.
    with fault_client.open_session(heap_mb=heap_mb) as session:
        assert stdout_of(session, "print (sum [1 .. 100 :: Int])") == "5050\n"


@pytest.mark.parametrize("handle", ["stdout", "stderr"])
def test_closing_its_own_handle(fault_session: Session, handle: str) -> None:
    """The interpreter's handles are its own, but GHC 9.0.2 flushes them after every statement
    and panics when one is closed ("hFlush: illegal operation"): a restart, then output works."""
    fault_session.exec_stmt("let kept = 3 :: Int")
    with pytest.raises(SessionDiedError, match="handle is closed"):
        fault_session.exec_stmt(f"System.IO.hClose System.IO.{handle}")
    chunks: list[tuple[str, str]] = []
    outcome = fault_session.exec_stmt(
        f'System.IO.hPutStrLn System.IO.{handle} "after" >> print kept',
        on_output=lambda stream, text: chunks.append((stream, text)),
    )
    assert outcome.exception is None
    assert "".join(t for s, t in chunks if s == handle).startswith("after\n")
    assert "".join(t for s, t in chunks if s == "stdout").endswith("3\n")


def test_closing_stdin_is_harmless(fault_session: Session) -> None:
    before = interpreter_pid(fault_session)
    assert fault_session.exec_stmt("System.IO.hClose System.IO.stdin").exception is None
    # The next statement given stdin text reads it: the server reopens the handle.
    chunks: list[str] = []
    outcome = fault_session.exec_stmt("getLine", stdin="text\n",
                                      on_output=lambda _s, t: chunks.append(t))
    assert outcome.exception is None and "".join(chunks) == '"text"\n'
    assert interpreter_pid(fault_session) == before


def test_getline_without_input_never_blocks(fault_session: Session) -> None:
    started = time.monotonic()
    outcome = fault_session.exec_stmt("getLine", timeout=30)
    assert time.monotonic() - started < 5
    assert outcome.exception is not None
    assert outcome.exception.type == "IOException"
    assert "end of file" in outcome.exception.message
    chunks: list[str] = []
    outcome = fault_session.exec_stmt(
        "getLine >>= putStrLn . reverse >> getLine", stdin="olleh\n", timeout=30,
        on_output=lambda stream, text: chunks.append(text),
    )
    assert "".join(chunks) == "hello\n"  # the given line was read, then end of file
    assert outcome.exception is not None and "end of file" in outcome.exception.message


def test_a_heap_limit_too_small_to_start_is_the_callers_error(fault_client: Client) -> None:
    # ghc-iserv needs about 300 MB of address space to load base (GHC 9.0.2, static iserv).
    with pytest.raises(GhcUsageError, match="GHCi did not start") as info:
        fault_client.open_session(heap_mb=64)
    assert "heap_mb=64 may be too small" in str(info.value)
    with fault_client.open_session() as session:  # and the server carries on
        assert stdout_of(session, "print 1") == "1\n"
