"""The wire protocol, sans I/O: messages, frames, errors and per-connection state.

Rules of this package (enforced by ``tests/test_layering.py``):

* It performs no I/O: no sockets, subprocesses, threads, asyncio or files. It turns bytes
  into validated messages and messages into bytes, and nothing else, so that it can be tested
  byte by byte and reused by any transport.
* ``msgpack`` is imported only by ``framing``; ``pydantic`` only at the message boundary.
"""

from core.protocol.connection import (
    END_OF_STREAM,
    NEED_DATA,
    ClientConnection,
    ConnectionState,
    RequestRejected,
    ServerConnection,
    encode_message,
    token_matches,
)
from core.protocol.framing import DEFAULT_MAX_FRAME, BadFrame, FrameDecoder, encode_frame
from core.protocol.messages import OPS, PROTOCOL_VERSION, REPLY_ADAPTER, REQUEST_ADAPTER

__all__ = [
    "DEFAULT_MAX_FRAME",
    "END_OF_STREAM",
    "NEED_DATA",
    "OPS",
    "PROTOCOL_VERSION",
    "REPLY_ADAPTER",
    "REQUEST_ADAPTER",
    "BadFrame",
    "ClientConnection",
    "ConnectionState",
    "FrameDecoder",
    "RequestRejected",
    "ServerConnection",
    "encode_frame",
    "encode_message",
    "token_matches",
]
