"""Both client channels against a scripted server end (``ServerConnection`` over a socket
pair): output reaches the caller's callback in the order it was sent, whether it came as
``output`` frames, inside the final ``exec_result``, or both, and before the call returns."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable

import pytest

from core.client.channel import AsyncChannel, RawIO, SyncChannel
from core.protocol import NEED_DATA, ServerConnection
from core.protocol import messages as m
from core.protocol.errors import ConnectionLostError


def exec_requests(sock: socket.socket, conn: ServerConnection, count: int) -> list[m.ExecStmt]:
    """Answer ``hello`` and collect ``count`` ``exec_stmt`` requests (fewer if the client
    goes away)."""
    requests: list[m.ExecStmt] = []
    while len(requests) < count:
        data = sock.recv(65536)
        if not data:
            break
        conn.receive_data(data)
        while (event := conn.next_event()) is not NEED_DATA:
            if isinstance(event, m.Hello):
                sock.sendall(conn.welcome(event))
            else:
                assert isinstance(event, m.ExecStmt)
                requests.append(event)
    return requests


def serve_one_exec(sock: socket.socket) -> None:
    """Answer one ``exec_stmt`` with two output frames and two folded chunks
    (``a`` ``b`` | ``c`` ``d``)."""
    conn = ServerConnection(server_version="t", ghc_version="9.0.2")
    for request in exec_requests(sock, conn, 1):
        rid = request.id
        sock.sendall(
            conn.send(m.Output(id=rid, stream="stdout", text="a"))
            + conn.send(m.Output(id=rid, stream="stderr", text="b"))
            + conn.send(m.ExecResult(id=rid, names=["it"], output=[
                m.OutputChunk(stream="stdout", text="c"),
                m.OutputChunk(stream="stdout", text="d"),
            ]))
        )


EXPECTED = [("stdout", "a"), ("stderr", "b"), ("stdout", "c"), ("stdout", "d")]


def test_sync_channel_delivers_frames_then_folded_output_before_returning() -> None:
    ours, theirs = socket.socketpair()
    server = threading.Thread(target=serve_one_exec, args=(theirs,), daemon=True)
    server.start()
    channel = SyncChannel(RawIO(read=ours.recv, write=ours.sendall, close=ours.close))
    seen: list[tuple[str, str]] = []
    reply = channel.request(
        lambda rid: m.ExecStmt(id=rid, session="s", stmt="x"),
        lambda stream, text: seen.append((stream, text)),
    )
    assert isinstance(reply, m.ExecResult) and reply.names == ["it"]
    assert seen == EXPECTED
    channel.close()
    server.join(5)
    theirs.close()


def test_async_channel_delivers_frames_then_folded_output_before_returning() -> None:
    async def main() -> None:
        ours, theirs = socket.socketpair()
        server = threading.Thread(target=serve_one_exec, args=(theirs,), daemon=True)
        server.start()
        reader, writer = await asyncio.open_connection(sock=ours)
        channel = AsyncChannel(reader, writer)
        await channel.start()
        seen: list[tuple[str, str]] = []
        reply = await channel.request(
            lambda rid: m.ExecStmt(id=rid, session="s", stmt="x"),
            lambda stream, text: seen.append((stream, text)),
        )
        assert isinstance(reply, m.ExecResult)
        assert seen == EXPECTED
        await channel.close()
        server.join(5)
        theirs.close()

    asyncio.run(main())


def serve_in_reverse(sock: socket.socket, count: int) -> None:
    """Wait for ``count`` requests, then answer them last one first, each with an output
    frame and a folded chunk naming its statement."""
    conn = ServerConnection(server_version="t", ghc_version="9.0.2")
    waiting = exec_requests(sock, conn, count)
    for request in reversed(waiting):
        rid, text = request.id, request.stmt
        sock.sendall(
            conn.send(m.Output(id=rid, stream="stdout", text=text + "/frame"))
            + conn.send(m.ExecResult(id=rid, names=[text], output=[
                m.OutputChunk(stream="stdout", text=text + "/folded")]))
        )


def test_sync_channel_routes_concurrent_threads_replies_and_output_to_their_callers() -> None:
    count = 8
    ours, theirs = socket.socketpair()
    server = threading.Thread(target=serve_in_reverse, args=(theirs, count), daemon=True)
    server.start()
    channel = SyncChannel(RawIO(read=ours.recv, write=ours.sendall, close=ours.close))
    results: dict[str, tuple[list[str], list[tuple[str, str]]]] = {}

    def call(text: str) -> None:
        seen: list[tuple[str, str]] = []
        reply = channel.request(
            lambda rid: m.ExecStmt(id=rid, session="s", stmt=text),
            lambda stream, chunk: seen.append((stream, chunk)),
        )
        assert isinstance(reply, m.ExecResult)
        results[text] = (reply.names, seen)

    callers = [threading.Thread(target=call, args=(f"s{i}",)) for i in range(count)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(30)
    assert sorted(results) == sorted(f"s{i}" for i in range(count))
    for text, (names, seen) in results.items():
        assert names == [text]
        assert seen == [("stdout", text + "/frame"), ("stdout", text + "/folded")]
    channel.close()
    server.join(5)
    theirs.close()


def serve_with_interrupts(sock: socket.socket, seen: list[m.Request]) -> None:
    """Note every request; answer an ``exec_stmt`` only once an interrupt aimed at it came
    (with the ``UserInterrupt`` a stopped statement ends with), or at once if its statement
    is ``quick``; answer interrupts with ``done``."""
    conn = ServerConnection(server_version="t", ghc_version="9.0.2")
    while data := sock.recv(65536):
        conn.receive_data(data)
        while (event := conn.next_event()) is not NEED_DATA:
            if isinstance(event, m.Hello):
                sock.sendall(conn.welcome(event))
                continue
            assert isinstance(event, (m.ExecStmt, m.Interrupt))
            seen.append(event)
            if isinstance(event, m.ExecStmt) and event.stmt == "quick":
                sock.sendall(conn.send(m.ExecResult(id=event.id, names=["it"])))
            elif isinstance(event, m.Interrupt):
                sock.sendall(conn.send(m.Done(id=event.id)))
                assert event.request is not None
                stopped = m.ExceptionModel(type="UserInterrupt", message="user interrupt")
                sock.sendall(conn.send(m.ExecResult(id=event.request, names=[],
                                                    exception=stopped)))


class _CtrlCOnce:
    """A read that raises KeyboardInterrupt the first time it is called with ``armed`` set,
    as a blocking ``recv`` does when Ctrl-C comes (nothing is read)."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self.read = read
        self.armed = False

    def __call__(self, size: int) -> bytes:
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt
        return self.read(size)


def test_sync_channel_stops_a_request_its_caller_gave_up() -> None:
    ours, theirs = socket.socketpair()
    seen: list[m.Request] = []
    server = threading.Thread(target=serve_with_interrupts, args=(theirs, seen), daemon=True)
    server.start()
    read = _CtrlCOnce(ours.recv)
    channel = SyncChannel(RawIO(read=read, write=ours.sendall, close=ours.close))
    read.armed = True
    with pytest.raises(KeyboardInterrupt):
        channel.request(lambda rid: m.ExecStmt(id=rid, session="s", stmt="long"), None)
    # An interrupt aimed at exactly that request went out; the connection goes on, and the
    # abandoned request's late reply (and the interrupt's) reach nobody.
    reply = channel.request(lambda rid: m.ExecStmt(id=rid, session="s", stmt="quick"), None)
    assert isinstance(reply, m.ExecResult) and reply.exception is None
    long, interrupt, quick = seen
    assert isinstance(long, m.ExecStmt) and isinstance(interrupt, m.Interrupt)
    assert (interrupt.session, interrupt.request) == ("s", long.id)
    assert isinstance(quick, m.ExecStmt) and quick.stmt == "quick"
    assert channel.oldest_in_flight("s") is None
    channel.close()
    server.join(5)
    theirs.close()


def test_sync_channel_closes_a_connection_whose_frame_was_cut_by_ctrl_c() -> None:
    ours, theirs = socket.socketpair()
    server = threading.Thread(target=serve_with_interrupts, args=(theirs, []), daemon=True)
    server.start()
    channel = SyncChannel(RawIO(read=ours.recv, write=ours.sendall, close=ours.close))

    def half_a_frame(data: bytes) -> None:
        ours.sendall(data[: len(data) // 2])
        raise KeyboardInterrupt

    channel._io.write = half_a_frame
    with pytest.raises(KeyboardInterrupt):
        channel.request(lambda rid: m.ExecStmt(id=rid, session="s", stmt="quick"), None)
    assert channel.broken
    with pytest.raises(ConnectionLostError, match="part of a frame"):
        channel.request(lambda rid: m.ExecStmt(id=rid, session="s", stmt="quick"), None)
    server.join(5)
    theirs.close()


def test_async_channel_stops_a_request_whose_task_was_cancelled() -> None:
    async def main() -> list[m.Request]:
        ours, theirs = socket.socketpair()
        seen: list[m.Request] = []
        server = threading.Thread(target=serve_with_interrupts, args=(theirs, seen),
                                  daemon=True)
        server.start()
        reader, writer = await asyncio.open_connection(sock=ours)
        channel = AsyncChannel(reader, writer)
        await channel.start()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(channel.request(
                lambda rid: m.ExecStmt(id=rid, session="s", stmt="long"), None), 0.2)
        reply = await channel.request(
            lambda rid: m.ExecStmt(id=rid, session="s", stmt="quick"), None)
        assert isinstance(reply, m.ExecResult) and reply.exception is None
        assert channel.oldest_in_flight("s") is None
        await channel.close()
        server.join(5)
        theirs.close()
        return seen

    long, interrupt, quick = asyncio.run(main())
    assert isinstance(long, m.ExecStmt) and isinstance(interrupt, m.Interrupt)
    assert (interrupt.session, interrupt.request) == ("s", long.id)
    assert isinstance(quick, m.ExecStmt) and quick.stmt == "quick"
