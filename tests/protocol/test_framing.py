"""Frames fed byte by byte, split anywhere, truncated, oversized and garbled (h11's style)."""

from __future__ import annotations

import itertools

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.protocol.framing import (
    END_OF_STREAM,
    NEED_DATA,
    BadFrame,
    FrameDecoder,
    encode_frame,
)

MESSAGES: list[dict[str, object]] = [
    {"op": "hello", "id": 0, "protocol_version": 1},
    {"op": "exec_stmt", "id": 7, "session": "s", "stmt": "putStrLn \"héllo ☃\""},
    {"op": "value_result", "id": 1, "type": "[Int]", "payload": b"\x00\xff\x80"},
    {},
]


def drain(decoder: FrameDecoder) -> list[object]:
    out: list[object] = []
    while (frame := decoder.next_frame()) is not NEED_DATA and frame is not END_OF_STREAM:
        out.append(frame)
    return out


def test_encode_is_length_prefixed_msgpack() -> None:
    frame = encode_frame({"op": "x"})
    body = msgpack.packb({"op": "x"}, use_bin_type=True)
    assert frame == len(body).to_bytes(4, "big") + body


@pytest.mark.parametrize("message", MESSAGES)
def test_whole_frame(message: dict[str, object]) -> None:
    decoder = FrameDecoder()
    decoder.receive_data(encode_frame(message))
    assert drain(decoder) == [message]


def test_byte_at_a_time() -> None:
    data = b"".join(encode_frame(msg) for msg in MESSAGES)
    decoder = FrameDecoder()
    got: list[object] = []
    for i in range(len(data)):
        decoder.receive_data(data[i : i + 1])
        got += drain(decoder)
    assert got == MESSAGES
    decoder.receive_data(b"")
    assert decoder.next_frame() is END_OF_STREAM


@given(st.lists(st.integers(min_value=0, max_value=200), max_size=10))
def test_split_anywhere(cuts: list[int]) -> None:
    data = b"".join(encode_frame(msg) for msg in MESSAGES)
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    decoder = FrameDecoder()
    got: list[object] = []
    for start, end in itertools.pairwise(points):
        decoder.receive_data(data[start:end])
        got += drain(decoder)
    assert got == MESSAGES


def test_truncated_frame_at_end_of_stream_is_fatal() -> None:
    decoder = FrameDecoder()
    decoder.receive_data(encode_frame({"op": "x"})[:-1])
    assert decoder.next_frame() is NEED_DATA
    decoder.receive_data(b"")
    bad = decoder.next_frame()
    assert isinstance(bad, BadFrame) and bad.fatal
    assert decoder.next_frame() is END_OF_STREAM


def test_truncated_header_at_end_of_stream() -> None:
    decoder = FrameDecoder()
    decoder.receive_data(b"\x00\x00")
    decoder.receive_data(b"")
    bad = decoder.next_frame()
    assert isinstance(bad, BadFrame) and "ended inside a frame" in bad.reason


def test_oversized_frame_is_refused_and_skipped_without_buffering() -> None:
    decoder = FrameDecoder(max_frame=100)
    big = (1000).to_bytes(4, "big")
    decoder.receive_data(big + b"x" * 10)
    bad = decoder.next_frame()
    assert isinstance(bad, BadFrame) and not bad.fatal and "exceeds" in bad.reason
    # The rest of the refused frame arrives in pieces and is dropped as it comes.
    for _ in range(99):
        decoder.receive_data(b"y" * 10)
        assert decoder.buffered == 0
        assert decoder.next_frame() is NEED_DATA
    decoder.receive_data(encode_frame({"op": "after"}))
    assert drain(decoder) == [{"op": "after"}]


def test_oversized_frame_arriving_with_the_next_one() -> None:
    decoder = FrameDecoder(max_frame=8)
    data = (20).to_bytes(4, "big") + b"z" * 20 + encode_frame({"a": 1})
    decoder.receive_data(data)
    assert isinstance(decoder.next_frame(), BadFrame)
    assert drain(decoder) == [{"a": 1}]


def test_encode_refuses_oversized() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        encode_frame({"text": "x" * 100}, max_frame=50)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xc1", "undecodable"),  # 0xc1 is never used in msgpack
        (msgpack.packb([1, 2]), "must hold a map"),
        (msgpack.packb("text"), "must hold a map"),
        (msgpack.packb({"a": 1}) + b"\x00", "undecodable"),  # trailing bytes
    ],
)
def test_garbled_bodies_are_reported_and_the_stream_continues(body: bytes, reason: str) -> None:
    decoder = FrameDecoder()
    decoder.receive_data(len(body).to_bytes(4, "big") + body + encode_frame({"ok": True}))
    bad = decoder.next_frame()
    assert isinstance(bad, BadFrame) and reason in bad.reason and not bad.fatal
    assert drain(decoder) == [{"ok": True}]


@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    decoder = FrameDecoder(max_frame=64)
    decoder.receive_data(data)
    decoder.receive_data(b"")
    for _ in range(len(data) + 2):
        frame = decoder.next_frame()
        if frame is END_OF_STREAM:
            break
        assert frame is not NEED_DATA
