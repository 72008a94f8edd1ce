"""Both client channels against a scripted server end (``ServerConnection`` over a socket
pair): output reaches the caller's callback in the order it was sent, whether it came as
``output`` frames, inside the final ``exec_result``, or both, and before the call returns."""

from __future__ import annotations

import asyncio
import socket
import threading

from core.client.channel import AsyncChannel, RawIO, SyncChannel
from core.protocol import NEED_DATA, ServerConnection
from core.protocol import messages as m


def serve_one_exec(sock: socket.socket) -> None:
    """Answer ``hello``, then one ``exec_stmt`` with two output frames and two folded
    chunks (``a`` ``b`` | ``c`` ``d``)."""
    conn = ServerConnection(server_version="t", ghc_version="9.0.2")
    answered = 0
    while answered < 2:
        data = sock.recv(65536)
        if not data:
            return
        conn.receive_data(data)
        while (event := conn.next_event()) is not NEED_DATA:
            if isinstance(event, m.Hello):
                sock.sendall(conn.welcome(event))
            else:
                assert isinstance(event, m.ExecStmt)
                rid = event.id
                sock.sendall(
                    conn.send(m.Output(id=rid, stream="stdout", text="a"))
                    + conn.send(m.Output(id=rid, stream="stderr", text="b"))
                    + conn.send(m.ExecResult(id=rid, names=["it"], output=[
                        m.OutputChunk(stream="stdout", text="c"),
                        m.OutputChunk(stream="stdout", text="d"),
                    ]))
                )
            answered += 1


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
