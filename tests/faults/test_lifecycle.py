"""Many clients at once, clients that vanish, servers that stop: no reply lost or mixed up,
no GHCi process left behind.

Processes are followed through /proc: the server's descendants (each session's ``ghc`` and
its ``ghc-iserv``) are recorded while they run and must all be gone after their session,
their client or their server is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.client import (
    Client,
    ConnectionLostError,
    Session,
    SessionDiedError,
    aconnect,
    connect,
)
from core.client.aio import AsyncSession
from core.protocol import messages as m
from core.protocol.framing import encode_frame
from core.server import Server, ServerConfig
from tests.faults.support import (
    ROOT,
    Proc,
    ServerProcess,
    all_procs,
    descendants,
    ghc_procs,
    interpreter_pid,
    is_alive,
    kill_leftovers,
    read_proc,
    stdout_of,
    survivors,
    wait_until,
)

pytestmark = [pytest.mark.ghc, pytest.mark.timeout(120)]

ROUNDS = 6
UNINTERRUPTIBLE = (
    "Control.Exception.uninterruptibleMask_ (Control.Exception.evaluate (length [1 ..]))"
)


def _expected(index: int) -> int:
    return 1000 * index + 7


def _work_sync(session: Session, index: int, errors: list[str]) -> None:
    value = _expected(index)
    try:
        session.exec_stmt(f"let v = {value} :: Int")
        for round_ in range(ROUNDS):
            printed = stdout_of(session, f"print (v + {round_})")
            if printed != f"{value + round_}\n":
                errors.append(f"session {index} round {round_}: printed {printed!r}")
            got = session.eval(f"v * {round_ + 2}").value
            if got != value * (round_ + 2):
                errors.append(f"session {index} round {round_}: eval gave {got!r}")
            if session.expr_type(f"v + {round_}") != "Int":
                errors.append(f"session {index} round {round_}: wrong type")
    except Exception as exc:
        errors.append(f"session {index}: {type(exc).__name__}: {exc}")


def _collector(chunks: list[str]) -> Callable[[str, str], None]:
    return lambda stream, text: chunks.append(text)


async def _work_async(session: AsyncSession, index: int, errors: list[str]) -> None:
    value = _expected(index)
    await session.exec_stmt(f"let v = {value} :: Int")
    for round_ in range(ROUNDS):
        chunks: list[str] = []
        await session.exec_stmt(f"print (v + {round_})", on_output=_collector(chunks))
        if "".join(chunks) != f"{value + round_}\n":
            errors.append(f"async session {index} round {round_}: printed {chunks!r}")
        got = (await session.eval(f"v * {round_ + 2}")).value
        if got != value * (round_ + 2):
            errors.append(f"async session {index} round {round_}: eval gave {got!r}")


def test_sixteen_sessions_from_several_clients_get_their_own_replies(
    fault_server: ServerProcess,
) -> None:
    """Three blocking clients (one thread per session) and one asyncio client, 4 sessions
    each, all interleaving requests: every answer must be the one for its own session."""
    errors: list[str] = []
    clients = [fault_server.connect() for _ in range(3)]
    try:
        sessions: list[tuple[int, Session]] = []
        lock = threading.Lock()

        def open_one(index: int) -> None:
            session = clients[index % 3].open_session()
            with lock:
                sessions.append((index, session))

        openers = [threading.Thread(target=open_one, args=(i,)) for i in range(12)]
        for thread in openers:
            thread.start()
        for thread in openers:
            thread.join(90)
        assert len(sessions) == 12

        async def async_client() -> None:
            client = await aconnect(fault_server.address)
            try:
                mine = await asyncio.gather(*(client.open_session() for _ in range(4)))
                await asyncio.gather(
                    *(_work_async(s, 12 + i, errors) for i, s in enumerate(mine))
                )
            finally:
                await client.close()

        def run_async() -> None:
            try:
                asyncio.run(async_client())
            except Exception as exc:
                errors.append(f"async client: {type(exc).__name__}: {exc}")

        workers = [threading.Thread(target=_work_sync, args=(s, i, errors)) for i, s in sessions]
        workers.append(threading.Thread(target=run_async))
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join(100)
        assert not any(t.is_alive() for t in workers), "a worker hung"
        assert errors == []
        assert sum(len(c.list_sessions()) for c in clients) == 12
    finally:
        for client in clients:
            client.close()


CLIENT_SCRIPT = """
import sys
from core.client import connect
client = connect(sys.argv[1])
session = client.open_session()
chunks = []
session.exec_stmt("System.Posix.Process.getProcessID >>= System.IO.print",
                  on_output=lambda stream, text: chunks.append(text))
print("".join(chunks).strip(), flush=True)
session.exec_stmt("length [1 ..]")
"""


def test_a_client_killed_mid_request_takes_its_session_with_it(
    fault_server: ServerProcess,
) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", CLIENT_SCRIPT, fault_server.address],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert child.stdout is not None
        iserv = read_proc(int(child.stdout.readline()))
        assert iserv is not None and iserv.comm.startswith("ghc")
        ghc = read_proc(iserv.ppid)
        assert ghc is not None and ghc.ppid == fault_server.pid
        time.sleep(0.5)  # the long request is running
        assert is_alive(iserv)
        child.kill()
        child.wait(10)
        assert survivors([iserv, ghc], timeout=10) == []
        with fault_server.connect() as client, client.open_session() as session:
            assert stdout_of(session, "print 5") == "5\n"  # the server carries on
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


@contextlib.contextmanager
def _busy_server() -> Iterator[ServerProcess]:
    """A server with three sessions: one computing, one sleeping, one idle."""
    server = ServerProcess()
    clients: list[Client] = []
    try:
        for stmt in ("length [1 ..]", "Control.Concurrent.threadDelay 60000000", None):
            clients.append(server.connect())
            session = clients[-1].open_session()
            if stmt is not None:
                threading.Thread(target=_swallow, args=(session, stmt), daemon=True).start()
        time.sleep(0.5)  # the statements are running
        yield server
    finally:
        for client in clients:
            client.close()
        server.stop()


def _swallow(session: Session, stmt: str) -> None:
    with contextlib.suppress(ConnectionLostError, SessionDiedError):
        session.exec_stmt(stmt)


def test_server_shutdown_leaves_no_ghci_behind() -> None:
    with _busy_server() as server:
        children = ghc_procs(server.children())
        try:
            assert len(children) >= 6, children  # ghc + ghc-iserv per session
            server.proc.send_signal(signal.SIGTERM)
            assert server.proc.wait(20) == 0
            assert survivors(children, timeout=5) == []
            assert not os.path.exists(server.path)  # the socket is removed too
        finally:
            kill_leftovers(children)  # a failure must not leak them


def test_a_killed_server_leaves_no_ghci_behind() -> None:
    """SIGKILL gives the server no chance to clean up: each ghc dies with it through
    PR_SET_PDEATHSIG, each ghc-iserv (a busy one never reads its closed pipe) with its ghc."""
    with _busy_server() as server:
        children = ghc_procs(server.children())
        try:
            assert len([p for p in children if p.comm == "ghc-iserv"]) >= 3, children
            server.proc.kill()
            server.proc.wait(10)
            assert survivors(children, timeout=5) == []
        finally:
            kill_leftovers(children)  # a failure must not leak them


def _workdirs(procs: list[Proc]) -> set[Path]:
    """The directories of the GHCis among ``procs`` (``-pgmi DIR/iserv`` on ghc's command
    line)."""
    found = set()
    for proc in ghc_procs(procs):
        with contextlib.suppress(OSError):
            args = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
            if b"-pgmi" in args:
                found.add(Path(os.fsdecode(args[args.index(b"-pgmi") + 1])).parent)
    return found


def test_the_next_server_removes_what_a_killed_one_left(session: Session) -> None:
    """A killed server cannot remove its GHCis' directories; once they are gone, their
    directories are unlocked and the next server's sweep removes them (the directory of a
    live session, ``session``'s, stays)."""
    with _busy_server() as server:
        children = server.children()
        left = _workdirs(children)
        try:
            assert len(left) >= 3, left
            server.proc.kill()
            server.proc.wait(10)
            assert survivors(ghc_procs(children), timeout=5) == []
        finally:
            kill_leftovers(children)
    assert all(d.exists() for d in left)
    live = _workdirs(all_procs())
    assert live
    for directory in left | live:  # old enough for the sweep, as after a minute
        os.utime(directory, (time.time() - 3600,) * 2)
    after = ServerProcess()
    try:
        assert wait_until(lambda: not any(d.exists() for d in left), timeout=10), left
        assert all(d.exists() for d in live)
        assert session.eval("1 + 1 :: Int").value == 2
    finally:
        after.stop()


def test_the_embedded_server_stops_with_its_client() -> None:
    before = {(p.pid, p.start) for p in descendants(os.getpid())}
    client = connect("embedded")
    session = client.open_session()
    threading.Thread(target=_swallow, args=(session, "length [1 ..]"), daemon=True).start()
    time.sleep(0.5)
    mine = [p for p in descendants(os.getpid()) if (p.pid, p.start) not in before]
    try:
        assert len(ghc_procs(mine)) >= 2, mine
        client.close()
        assert survivors(mine, timeout=15) == []
    finally:
        client.close()
        kill_leftovers(mine)


_FACADE_PROGRAM = """
import sys, warnings
warnings.simplefilter("ignore")
from compat import ghc_api as GHC

def body():
    GHC.execStmt("let x = 1", GHC.execOptions)
    print("ready", flush=True)
    sys.stdin.readline()

GHC.runGhc(None, body)
"""


def test_the_facades_private_server_stops_when_the_program_exits() -> None:
    """Legacy code closes nothing: the server runGhc started goes with the program."""
    mine: list[Proc] = []
    with subprocess.Popen([sys.executable, "-c", _FACADE_PROGRAM], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT))) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            assert child.stdout.readline() == "ready\n"
            mine = descendants(child.pid)
            assert len(ghc_procs(mine)) >= 2, mine
            child.stdin.write("\n")
            child.stdin.flush()
            assert child.wait(timeout=60) == 0
            assert survivors(mine, timeout=15) == []
        finally:
            child.kill()
            kill_leftovers(mine)


def test_closing_the_server_waits_for_sessions_being_dropped() -> None:
    """A connection that ends drops its sessions in its own task; ``Server.close`` right
    after it must still leave them stopped: an embedding program may exit at once."""

    async def scenario() -> list[Proc]:
        server = Server(ServerConfig(pool_size=0))
        await server.start()
        inbox: asyncio.Queue[bytes] = asyncio.Queue()
        sent = bytearray()
        opened = asyncio.Event()

        async def read(_: int) -> bytes:
            return await inbox.get()

        def write(data: bytes) -> None:
            sent.extend(data)
            if b"session_opened" in sent:
                opened.set()

        task = asyncio.create_task(server.serve_stream(read, write))
        hello = {"op": "hello", "id": 1, "protocol_version": m.PROTOCOL_VERSION}
        inbox.put_nowait(encode_frame(hello))
        inbox.put_nowait(encode_frame({"op": "open_session", "id": 2}))
        await asyncio.wait_for(opened.wait(), 60)
        sid = next(iter(server._sessions))
        stmt = {"op": "exec_stmt", "id": 3, "session": sid, "stmt": UNINTERRUPTIBLE}
        inbox.put_nowait(encode_frame(stmt))  # it ignores SIGINT and :quit
        await asyncio.sleep(1.0)
        # This process's own GHCi children (not those of the server processes it started).
        mine = [p for p in ghc_procs(descendants(os.getpid())) if p.ppid == os.getpid()]
        procs = mine + [d for p in mine for d in descendants(p.pid)]
        inbox.put_nowait(b"")  # the client goes away: its session is being dropped ...
        await asyncio.sleep(0.05)
        await server.close()  # ... while the server closes
        task.cancel()
        return procs

    procs = asyncio.run(scenario())
    try:
        assert len(procs) >= 2, procs
        assert [p for p in procs if is_alive(p)] == [], procs
    finally:
        kill_leftovers(procs)


def test_no_pool_or_session_ghci_outlives_a_closed_client(
    fault_server: ServerProcess,
) -> None:
    with fault_server.connect() as client:
        session = client.open_session()
        iserv = read_proc(interpreter_pid(session))
        assert iserv is not None
        ghc = read_proc(iserv.ppid)
        assert ghc is not None
    assert survivors([iserv, ghc], timeout=10) == []
