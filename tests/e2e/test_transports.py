"""The server over a Unix socket and TCP, the asyncio client, and the command line."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.client import Import, RequestError, SessionDiedError, Target, aconnect, connect
from core.client.launcher import ServerProcess

pytestmark = pytest.mark.ghc

ROOT = Path(__file__).resolve().parents[2]


def start_server(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "core.server", *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the server")


def stop(proc: subprocess.Popen[bytes]) -> bytes:
    """Stop the server; returns what it wrote to stderr."""
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stderr is None:
        return b""
    with proc.stderr:
        return proc.stderr.read()


@pytest.fixture
def unix_server() -> Iterator[Path]:
    with ServerProcess("--pool", "1") as server:
        yield Path(server.path)


def test_unix_socket_server(unix_server: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert stat.S_IMODE(os.stat(unix_server).st_mode) == 0o600
    monkeypatch.setenv("GHC_SHIM_SERVER", f"unix:{unix_server}")
    with connect() as client, client.open_session() as session:
        assert client.address.kind == "unix"
        chunks: list[str] = []
        session.exec_stmt("putStrLn \"over unix\"", on_output=lambda s, t: chunks.append(t))
        assert "".join(chunks) == "over unix\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_tcp_needs_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    refused = subprocess.run(
        [sys.executable, "-m", "core.server", "--listen", f"tcp:127.0.0.1:{port}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert refused.returncode != 0 and "token" in refused.stderr
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    proc = start_server("--listen", f"tcp:127.0.0.1:{port}", "--token-file", str(token_file))
    try:
        def listening() -> bool:
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening)
        monkeypatch.setenv("GHC_SHIM_TOKEN", "wrong")
        with pytest.raises(RequestError, match="token"):
            connect(f"tcp://127.0.0.1:{port}")
        monkeypatch.setenv("GHC_SHIM_TOKEN", "s3cret-token")
        with connect(f"tcp://127.0.0.1:{port}") as client, client.open_session() as session:
            assert session.eval("6 * 7 :: Int").value == 42
    finally:
        log = stop(proc)
    assert b"s3cret-token" not in log


def test_asyncio_client_runs_sessions_concurrently() -> None:
    async def main() -> list[object]:
        client = await aconnect("embedded")
        try:
            sessions = [await client.open_session() for _ in range(3)]

            async def work(i: int) -> object:
                await sessions[i].exec_stmt(f"let v = {i} :: Int")
                return (await sessions[i].eval("v * 100")).value

            results = await asyncio.gather(*(work(i) for i in range(3)))
            for session in sessions:
                await session.close()
            return list(results)
        finally:
            await client.close()

    assert asyncio.run(main()) == [0, 100, 200]


def test_asyncio_client_binds_values() -> None:
    async def main() -> list[object]:
        client = await aconnect("embedded")
        try:
            session = await client.open_session()
            await session.bind_value("xs", list(range(50)))
            await session.bind_value("t", "h\u00e9llo \"1\"")
            values = [(await session.eval("sum xs")).value, (await session.eval("t")).value]
            await session.close()
            return values
        finally:
            await client.close()

    assert asyncio.run(main()) == [1225, 'h\u00e9llo "1"']


def test_asyncio_client_targets_loads_references_and_sessions(tmp_path: Path) -> None:
    (tmp_path / "Answer.hs").write_text("module Answer where\nanswer :: Int\nanswer = 41\n")
    target = Target("file", str(tmp_path / "Answer.hs"))
    output: list[tuple[str, str]] = []

    async def main() -> None:
        client = await aconnect("embedded")
        try:
            session = await client.open_session()
            assert [s.session for s in await client.list_sessions()] == [session.id]
            await session.set_context([Import("Data.Char", names=("toUpper",), hiding=False)])
            await session.add_target(target)
            assert await session.get_targets() == [target]
            assert (await session.load(restore_context=True)).success
            assert await session.get_context() == [
                Import("Data.Char", names=("toUpper",), hiding=False)]
            await session.set_context([Import("Answer", kind="module")])
            value = await session.eval('Debug.Trace.trace "tracing" (answer + 1)',
                                       on_output=lambda s, t: output.append((s, t)))
            assert value.value == 42
            ref = await session.compile_expr("answer * 2")
            assert (await session.eval(ref.name)).value == 82
            await session.free_refs([ref])
            freed = await session.eval(ref.name)  # GHCi cannot unbind: the name holds ()
            assert (freed.type, freed.value) == ("()", None)
            await session.remove_target(target)
            assert await session.get_targets() == []
            await session.close()
            await session.close()  # closing twice is a no-op, as in the blocking client
            assert session.closed and await client.list_sessions() == []
        finally:
            await client.close()
        assert client.closed

    asyncio.run(main())
    assert "".join(t for s, t in output if s == "stderr") == "tracing\n"


def test_cli_eval() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "compat.cli", "eval", "sum [1..100]"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "GHC_SHIM_SERVER": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "5050 :: Integer\n"
    bad = subprocess.run(
        [sys.executable, "-m", "compat.cli", "eval", "True && 'x'"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "GHC_SHIM_SERVER": ""},
    )
    assert bad.returncode == 1 and "Couldn't match" in bad.stderr


def _repl(lines: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``ghc-shim repl`` with a private server, fed ``lines``; it must exit cleanly."""
    result = subprocess.run(
        [sys.executable, "-m", "compat.cli", "repl"], input="\n".join(lines) + "\n",
        cwd=cwd, capture_output=True, text=True, timeout=120,
        env={**os.environ, "GHC_SHIM_SERVER": "", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    return result


def test_cli_repl_maps_commands_to_operations() -> None:
    result = _repl([
        "import Data.List (sort)",
        "sort [3, 1, 2]",
        ":t map",
        ":k Maybe",
        "double x = x * 2",
        "double 21",
        ":! echo owned",
        ":q",
    ])
    assert result.stdout.splitlines() == [
        "[1,2,3]", "map :: (a -> b) -> [a] -> [b]", "Maybe :: * -> *", "42",
    ]
    assert "owned" not in result.stdout and "unknown command" in result.stderr


def test_cli_repl_info_modules_loads_and_flags(tmp_path: Path) -> None:
    (tmp_path / "Twice.hs").write_text("module Twice where\ntwice :: Int -> Int\n"
                                       "twice = (* 2)\n")
    result = _repl([
        ":i Maybe",
        ":m + Data.Char",
        "toUpper 'a'",
        ":m - Data.Char",
        "toUpper 'b'",
        ":l Twice.hs",
        "twice 21",
        ":r",
        ":set -XLambdaCase",
        "(\\case { 0 -> 'z'; _ -> 'n' }) (0 :: Int)",
        ":set -fno-such-flag",
        ":q",
    ], cwd=tmp_path)
    out = result.stdout
    assert "data Maybe a = Nothing | Just a" in out
    assert out.count("'A'") == 1 and "'B'" not in out  # Data.Char left the context again
    assert "Variable not in scope: toUpper" in result.stderr
    assert "Ok, 1 module loaded.\n42\nOk, 1 module loaded.\n'z'\n" in out
    assert "Some flags have not been recognized: -fno-such-flag" in result.stderr


def test_cpu_limit_from_the_command_line() -> None:
    with ServerProcess("--pool", "0", "--cpu-seconds", "1") as server, \
            connect(server.address) as client, client.open_session() as session:
        # Without the limit this would end in a time-out exception after 60 s, not a death.
        with pytest.raises(SessionDiedError):
            session.exec_stmt("length [1..]", timeout=60)
        assert session.eval("1 + 1 :: Int").value == 2  # restarted, with the same limit


def test_time_limit_from_the_command_line() -> None:
    with ServerProcess("--pool", "0", "--timeout", "1") as server, \
            connect(server.address) as client, client.open_session() as session:
        started = time.monotonic()
        outcome = session.exec_stmt("let loop n = loop (n + 1) in loop (0 :: Int)")
        assert outcome.exception is not None and outcome.exception.type == "Timeout"
        assert time.monotonic() - started < 30
        assert session.exec_stmt("1 + 1").exception is None  # the session goes on


def _affinities(root: int) -> dict[str, set[tuple[int, ...]]]:
    """Name of each process under ``root`` -> the CPU sets of its threads."""
    from core.server.ghci_process import _process_tree

    found: dict[str, set[tuple[int, ...]]] = {}
    for pid in _process_tree(root)[1:]:
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            masks = {tuple(sorted(os.sched_getaffinity(int(tid))))
                     for tid in os.listdir(f"/proc/{pid}/task")}
        except OSError:
            continue
        found.setdefault(f"{name}:{pid}", set()).update(masks)
    return found


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to place sessions")
def test_each_session_keeps_its_ghci_and_interpreter_on_one_cpu() -> None:
    usable = sorted(os.sched_getaffinity(0))
    with ServerProcess("--pool", "0") as server, connect(server.address) as client, \
            client.open_session() as first:
        first.exec_stmt("1 + 1")  # starts the interpreter, which inherits the placement
        # The command-line server keeps to its last usable CPU, and the first session goes
        # to another one.
        server_masks = {tuple(sorted(os.sched_getaffinity(int(tid))))
                        for tid in os.listdir(f"/proc/{server.proc.pid}/task")}
        assert server_masks == {(usable[-1],)}
        assert _ghc_cpus(server.proc.pid) == [(usable[0],)]
        with client.open_session() as second, client.open_session() as third:
            for session in (second, third):
                session.exec_stmt("1 + 1")
            placed = _affinities(server.proc.pid)
            ghci = {name: masks for name, masks in placed.items()
                    if name.startswith(("ghc:", "ghc-iserv:"))}
            assert len(ghci) == 6, placed  # three sessions, each a ghc and its interpreter
            assert all(len(masks) == 1 and len(next(iter(masks))) == 1
                       for masks in ghci.values()), ghci
            # The server's CPU counts as one session: no CPU carries two more than another.
            load = dict.fromkeys(usable, 0)
            load[usable[-1]] += 1
            for (cpu,) in _ghc_cpus(server.proc.pid):
                load[cpu] += 1
            assert max(load.values()) - min(load.values()) <= 1, load
            # A session restarted after a crash keeps its CPU.
            before = _ghc_cpus(server.proc.pid)
            with pytest.raises(SessionDiedError):
                first.exec_stmt("System.Posix.Signals.raiseSignal System.Posix.Signals.sigKILL")
            assert first.exec_stmt("1 + 1").exception is None
            assert _ghc_cpus(server.proc.pid) == before


def _ghc_cpus(root: int) -> list[tuple[int, ...]]:
    return sorted(cpus for name, masks in _affinities(root).items() if name.startswith("ghc:")
                  for cpus in masks)


def _ghc_count(root: int) -> int:
    return sum(1 for name in _affinities(root) if name.startswith("ghc:"))


# The fallback delay made long, so that only the first request can start the refill.
_SLOW_REFILL_SERVER = """
import sys
from core.server import ServerConfig, parse_listen, serve_forever, server
server._REFILL_DELAY = 3600.0
sys.exit(serve_forever(ServerConfig(pool_size=1), parse_listen("unix:" + sys.argv[1])))
"""


def test_the_pool_refills_after_the_new_sessions_first_request() -> None:
    # A GHCi start competes for the CPUs with the new session's first statements, so the
    # pool is refilled once that request has finished (or a moment after the open).
    with ServerProcess(python_args=("-c", _SLOW_REFILL_SERVER)) as server, \
            connect(server.address) as client:
        deadline = time.monotonic() + 60
        while _ghc_count(server.proc.pid) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)  # the pool's first GHCi
        with client.open_session() as session:
            assert session.warm
            time.sleep(1.0)  # an immediate refill would have started GHCi by now
            assert _ghc_count(server.proc.pid) == 1  # the session's own
            assert session.exec_stmt("1 + 1").exception is None
            while _ghc_count(server.proc.pid) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert _ghc_count(server.proc.pid) == 2
