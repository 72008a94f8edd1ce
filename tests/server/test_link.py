"""``Link``, one connection's writer and reader, without GHC: the server is never started.

The write function is a recorder, so every assertion is about system calls the transport
would make: how many, and with which bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

import pytest

import core.server.server as server_module
from core.protocol import messages as m
from core.protocol.connection import encode_message
from core.protocol.framing import END_OF_STREAM, NEED_DATA, FrameDecoder
from core.server.server import Link, Server, ServerConfig

PAST_HOLD: Final = server_module._HOLD_SECONDS * 4


class Recorder:
    def __init__(self) -> None:
        self.calls: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(data)

    def is_closing(self) -> bool:
        return self.closing


def with_link(test: Callable[[Link, Recorder], Awaitable[None]]) -> None:
    """Run ``test`` in a fresh event loop with a link of a server that was never started."""

    async def main() -> None:
        recorder = Recorder()
        link = Server(ServerConfig()).open_link(recorder.write, recorder.is_closing)
        try:
            await test(link, recorder)
        finally:
            await link.finish()

    asyncio.run(main())


def frames(data: bytes) -> list[dict[object, object]]:
    decoder = FrameDecoder()
    decoder.receive_data(data)
    out: list[dict[object, object]] = []
    while (frame := decoder.next_frame()) is not NEED_DATA:
        assert isinstance(frame, dict), frame
        out.append(frame)
    decoder.receive_data(b"")
    assert decoder.next_frame() is END_OF_STREAM  # nothing left over
    return out


def hello_frame(rid: int = 1, version: int = m.PROTOCOL_VERSION) -> bytes:
    return encode_message(m.Hello(id=rid, protocol_version=version, client="test"))


# ---------------------------------------------------------------------- writing


def in_flight(link: Link, *rids: int) -> None:
    """Make ``rids`` requests in flight on the link's connection, without running them."""
    conn = link.conn
    conn.receive_data(hello_frame(rid=0))
    hello = conn.next_event()
    assert isinstance(hello, m.Hello)
    conn.welcome(hello)
    for rid in rids:
        conn.receive_data(encode_message(m.ExecStmt(id=rid, session="s", stmt="1")))
        assert isinstance(conn.next_event(), m.ExecStmt)


def written(rec: Recorder) -> list[list[dict[object, object]]]:
    """The frames of each write."""
    return [frames(call) for call in rec.calls]


def chunk(stream: str, text: str) -> dict[str, str]:
    return {"stream": stream, "text": text}


def test_held_output_rides_in_the_exec_result_one_write_one_frame() -> None:
    async def test(link: Link, rec: Recorder) -> None:
        in_flight(link, 1)
        link.output(1, "stdout", "a")
        link.output(1, "stderr", "b")
        assert rec.calls == []
        link.reply(1, m.ExecResult(id=1, names=["it"]))
        ((result,),) = written(rec)
        assert result["op"] == "exec_result" and result["id"] == 1
        assert result["output"] == [chunk("stdout", "a"), chunk("stderr", "b")]
        await asyncio.sleep(PAST_HOLD)  # the hold timer was cancelled: nothing more
        assert len(rec.calls) == 1

    with_link(test)


def test_other_requests_output_leaves_as_frames_before_the_final_reply() -> None:
    async def test(link: Link, rec: Recorder) -> None:
        in_flight(link, 1, 2)
        link.output(1, "stdout", "a")
        link.output(2, "stdout", "b")
        link.output(1, "stdout", "c")
        link.reply(1, m.ExecResult(id=1, names=[]))
        ((other, result),) = written(rec)
        assert other == {"op": "output", "id": 2, "stream": "stdout", "text": "b"}
        assert result["id"] == 1
        assert result["output"] == [chunk("stdout", "a"), chunk("stdout", "c")]

    with_link(test)


def test_output_before_another_kind_of_final_reply_leaves_as_frames_in_one_write() -> None:
    async def test(link: Link, rec: Recorder) -> None:
        in_flight(link, 1)
        link.output(1, "stdout", "a")
        link.reply(1, m.DeclsResult(id=1, names=["f"]))
        ((out, result),) = written(rec)
        assert out == {"op": "output", "id": 1, "stream": "stdout", "text": "a"}
        assert result["op"] == "decls_result"

    with_link(test)


def test_held_output_is_written_after_the_hold_time() -> None:
    async def test(link: Link, rec: Recorder) -> None:
        in_flight(link, 1)
        link.output(1, "stdout", "a")
        assert rec.calls == []  # not before the loop has run
        await asyncio.sleep(0)
        assert rec.calls == []  # nor after one turn: it waits for the hold time
        link.output(1, "stdout", "b")
        await asyncio.sleep(PAST_HOLD)
        assert [[f["text"] for f in call] for call in written(rec)] == [["a", "b"]]
        link.output(1, "stdout", "c")  # a new hold starts
        await asyncio.sleep(PAST_HOLD)
        assert [[f["text"] for f in call] for call in written(rec)] == [["a", "b"], ["c"]]
        link.reply(1, m.ExecResult(id=1, names=[]))
        assert written(rec)[-1][0]["output"] == []  # everything had left already

    with_link(test)


def test_held_output_reaching_the_bound_is_written_at_once() -> None:
    limit = server_module._HOLD_BYTES

    async def test(link: Link, rec: Recorder) -> None:
        in_flight(link, 1)
        link.output(1, "stdout", "x" * (limit - 1))
        assert rec.calls == []
        link.output(1, "stdout", "y")
        assert [len(call) for call in written(rec)] == [2]
        await asyncio.sleep(PAST_HOLD)
        assert len(rec.calls) == 1  # the hold timer went with the flush

    with_link(test)


def test_output_of_a_request_no_longer_in_flight_is_dropped() -> None:
    async def test(link: Link, rec: Recorder) -> None:
        in_flight(link, 1)
        link.conn.abandon(1)
        link.output(1, "stdout", "lost")
        await asyncio.sleep(PAST_HOLD)
        assert rec.calls == []

    with_link(test)


@pytest.mark.parametrize(
    ("names", "final_op"),
    [
        (["it"], "exec_result"),  # the result fits once its output goes as frames
        (["x" * 400], "error"),  # it does not fit even alone: output_limit, after the output
    ],
)
def test_folded_output_too_large_for_a_frame_leaves_as_frames(
    names: list[str], final_op: str
) -> None:
    async def test(link: Link, rec: Recorder) -> None:
        in_flight(link, 1)
        link.conn.max_frame = 300
        link.output(1, "stdout", "a" * 200)
        link.output(1, "stdout", "b" * 200)
        link.reply(1, m.ExecResult(id=1, names=names))
        ((first, second, final),) = written(rec)
        assert first["text"] == "a" * 200 and second["text"] == "b" * 200
        assert final["op"] == final_op
        assert final.get("output", []) == [] and final.get("code", "output_limit") == "output_limit"
        assert not link.conn.is_pending(1)

    with_link(test)


def test_nothing_is_written_while_the_transport_is_closing() -> None:
    async def test(link: Link, rec: Recorder) -> None:
        in_flight(link, 1, 2)
        rec.closing = True
        link.output(1, "stdout", "a")
        await asyncio.sleep(PAST_HOLD)
        link.output(1, "stdout", "b")
        link.reply(1, m.ExecResult(id=1, names=[]))
        assert rec.calls == []
        # What was dropped stays dropped.
        rec.closing = False
        link.reply(2, m.Done(id=2))
        assert written(rec) == [[{"op": "done", "id": 2}]]

    with_link(test)


def test_a_final_frame_alone_is_written_at_once() -> None:
    async def test(link: Link, rec: Recorder) -> None:
        link.write_final(b"final")
        assert rec.calls == [b"final"]

    with_link(test)


# ---------------------------------------------------------------------- reading


def test_hello_fed_one_byte_at_a_time_is_welcomed_once() -> None:
    data = hello_frame(rid=7)

    async def test(link: Link, rec: Recorder) -> None:
        for i in range(len(data)):
            assert link.feed(data[i : i + 1]) is True
            if i < len(data) - 1:
                assert rec.calls == [], i
        assert len(rec.calls) == 1
        (welcome,) = frames(rec.calls[0])
        reply = m.REPLY_ADAPTER.validate_python(welcome)
        assert isinstance(reply, m.Welcome)
        assert reply.id == 7
        assert reply.protocol_version == m.PROTOCOL_VERSION
        assert reply.ops == list(m.OPS)

        # Garbage after it: a frame whose body is not msgpack. The connection goes on.
        garbage = b"\x00\x00\x00\x01\xc1"
        for i in range(len(garbage)):
            assert link.feed(garbage[i : i + 1]) is True
        assert len(rec.calls) == 2
        (error,) = frames(rec.calls[1])
        assert error["op"] == "error" and error["code"] == "invalid_frame"
        assert error["id"] is None

        assert link.feed(b"") is False
        assert len(rec.calls) == 2

    with_link(test)


def test_a_request_before_hello_is_refused() -> None:
    async def test(link: Link, rec: Recorder) -> None:
        request = encode_message(m.Interrupt(id=3, session="s"))
        assert link.feed(request) is True
        (error,) = frames(b"".join(rec.calls))
        assert error["code"] == "handshake_required" and error["id"] == 3

    with_link(test)


def test_a_wrong_protocol_version_closes_the_connection() -> None:
    async def test(link: Link, rec: Recorder) -> None:
        assert link.feed(hello_frame(version=m.PROTOCOL_VERSION + 1)) is False
        (error,) = frames(b"".join(rec.calls))
        assert error["code"] == "version_mismatch" and error["id"] == 1

    with_link(test)


def test_end_of_stream() -> None:
    async def test(link: Link, rec: Recorder) -> None:
        assert link.feed(b"") is False
        assert rec.calls == []

    with_link(test)


def test_end_of_stream_inside_a_frame_is_reported() -> None:
    async def test(link: Link, rec: Recorder) -> None:
        assert link.feed(hello_frame()[:-1]) is True
        assert rec.calls == []
        assert link.feed(b"") is False
        (error,) = frames(b"".join(rec.calls))
        assert error["code"] == "invalid_frame"

    with_link(test)
