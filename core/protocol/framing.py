"""Length-prefixed msgpack frames, without I/O.

Responsible for: turning one message map into bytes (a 4-byte big-endian length, then one
msgpack map) and turning a byte stream, fed in pieces of any size, back into maps. Must not:
validate message shapes (``messages`` does), perform I/O, or buffer without bound — a frame
above ``max_frame`` is refused and its bytes are skipped as they arrive, so the stream stays
usable after it.

The decoder follows h11's shape: ``receive_data(bytes)`` then ``next_frame()`` until it
answers ``NEED_DATA``; ``receive_data(b"")`` means end of input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import msgpack

__all__ = [
    "DEFAULT_MAX_FRAME",
    "END_OF_STREAM",
    "HEADER_SIZE",
    "NEED_DATA",
    "BadFrame",
    "FrameDecoder",
    "encode_frame",
]

HEADER_SIZE: Final = 4
# Values cross as whole frames (a 10^6-element list is ~9 MB); 64 MiB leaves room while
# bounding what one peer can make the other hold.
DEFAULT_MAX_FRAME: Final = 64 * 1024 * 1024


class _Sentinel:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA: Final = _Sentinel("NEED_DATA")
END_OF_STREAM: Final = _Sentinel("END_OF_STREAM")


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A frame that could not be decoded; the stream continues after it.

    ``fatal`` is set when the stream itself cannot continue (it ended inside a frame).
    """

    reason: str
    fatal: bool = False


def encode_frame(message: dict[str, object], *, max_frame: int = DEFAULT_MAX_FRAME) -> bytes:
    """Encode one message map as a frame.

    Raises:
        ValueError: the encoded body is larger than ``max_frame`` (nothing is produced).
        TypeError: the map holds a value msgpack cannot encode.
    """
    body: bytes = msgpack.packb(message, use_bin_type=True)
    if len(body) > max_frame:
        raise ValueError(f"frame of {len(body)} bytes exceeds the maximum of {max_frame}")
    return len(body).to_bytes(HEADER_SIZE, "big") + body


class FrameDecoder:
    """Incremental decoder of frames from a byte stream."""

    def __init__(self, *, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._skip = 0  # bytes of a refused frame still to discard
        self._eof = False

    @property
    def buffered(self) -> int:
        """How many received bytes are held, waiting to complete a frame."""
        return len(self._buffer)

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the stream; ``b""`` signals the end of the stream."""
        if not data:
            self._eof = True
            return
        if self._eof:
            raise RuntimeError("receive_data after end of stream")
        if self._skip:
            dropped = min(self._skip, len(data))
            self._skip -= dropped
            data = data[dropped:]
        self._buffer += data

    def next_frame(self) -> dict[object, object] | BadFrame | _Sentinel:
        """The next decoded map, a ``BadFrame``, ``NEED_DATA`` or ``END_OF_STREAM``."""
        if self._skip:
            return self._end_or_need()
        if len(self._buffer) < HEADER_SIZE:
            return self._end_or_need()
        size = int.from_bytes(self._buffer[:HEADER_SIZE], "big")
        if size > self.max_frame:
            # Refuse without buffering: drop what we hold of it and skip the rest as it comes.
            held = len(self._buffer) - HEADER_SIZE
            dropped = min(held, size)
            del self._buffer[: HEADER_SIZE + dropped]
            self._skip = size - dropped
            return BadFrame(f"frame of {size} bytes exceeds the maximum of {self.max_frame}")
        if len(self._buffer) < HEADER_SIZE + size:
            return self._end_or_need()
        body = bytes(self._buffer[HEADER_SIZE : HEADER_SIZE + size])
        del self._buffer[: HEADER_SIZE + size]
        try:
            decoded = msgpack.unpackb(body, raw=False, strict_map_key=False)
        except Exception as exc:  # msgpack raises several unrelated exception types
            return BadFrame(f"undecodable msgpack body: {exc}")
        if not isinstance(decoded, dict):
            return BadFrame(f"a frame must hold a map, not {type(decoded).__name__}")
        return decoded

    def _end_or_need(self) -> _Sentinel | BadFrame:
        if not self._eof:
            return NEED_DATA
        if self._buffer or self._skip:
            self._buffer.clear()
            self._skip = 0
            return BadFrame("stream ended inside a frame", fatal=True)
        return END_OF_STREAM
