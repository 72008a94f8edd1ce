"""``exec_stmt``, ``exec_result`` and its output chunks as msgspec structs of the same shape as
the shim's pydantic messages (strict, no unknown fields): ``bench.floor``'s compiled-codec
relay. Imported only when msgspec is installed."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["ExecResult", "ExecStmt", "OutputChunk", "decode_reply", "decode_request", "encode"]


class ExecStmt(msgspec.Struct, tag_field="op", tag="exec_stmt", forbid_unknown_fields=True):
    id: int
    session: str
    stmt: str
    source_file: str = "<interactive>"
    line: int = 1
    timeout: float | None = None
    stdin: str | None = None


class OutputChunk(msgspec.Struct, forbid_unknown_fields=True):
    stream: Literal["stdout", "stderr"]
    text: str


class ExecResult(msgspec.Struct, tag_field="op", tag="exec_result", forbid_unknown_fields=True):
    id: int
    names: list[str]
    allocation: int = 0
    exception: None = None
    truncated: bool = False
    warnings: list[dict[str, object]] = []
    output: list[OutputChunk] = []


_ENCODER = msgspec.msgpack.Encoder()
decode_request = msgspec.msgpack.Decoder(ExecStmt).decode
decode_reply = msgspec.msgpack.Decoder(ExecResult).decode


def encode(message: ExecStmt | ExecResult) -> bytes:
    """One length-prefixed frame, as the shim frames its messages."""
    body = _ENCODER.encode(message)
    return len(body).to_bytes(4, "big") + body
