"""Per-connection protocol state for each side, without I/O (h11's ``Connection`` shape).

Responsible for: the handshake, request ids in flight, the rule "zero or more ``output``
messages, then exactly one final reply per request", and turning every malformed frame or
invalid message into an error reply that names the problem. Must not: perform I/O, run
operations, or know about sessions — the server decides what a request *does*.

Theory of operation: the I/O layer feeds bytes with ``receive_data`` and drains
``next_event`` until ``NEED_DATA``; it turns the messages it wants to send into bytes with
``send``. On the server side a bad frame never raises: it yields a ``RequestRejected`` event
carrying the encoded error reply, and the connection stays usable unless ``close`` is set
(a stream that ended mid-frame, a failed handshake). On the client side a bad reply raises
``RemoteProtocolError``: the server is broken and nothing it sends later can be trusted.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

from pydantic import BaseModel, ValidationError

from core.protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from core.protocol.framing import (
    DEFAULT_MAX_FRAME,
    END_OF_STREAM,
    NEED_DATA,
    BadFrame,
    FrameDecoder,
    encode_frame,
)
from core.protocol.messages import (
    OPS,
    PROTOCOL_VERSION,
    REPLY_ADAPTER,
    REQUEST_ADAPTER,
    Error,
    ErrorDetailsModel,
    ExecResult,
    Hello,
    Output,
    OutputChunk,
    Reply,
    Request,
    Welcome,
)

__all__ = [
    "END_OF_STREAM",
    "NEED_DATA",
    "ClientConnection",
    "ConnectionState",
    "RequestRejected",
    "ServerConnection",
    "encode_message",
    "token_matches",
]

_KNOWN_OPS: Final = frozenset(OPS) | {"hello"}


class ConnectionState(Enum):
    AWAIT_HELLO = "await_hello"
    READY = "ready"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class RequestRejected:
    """A frame that is not an acceptable request.

    ``data`` is the encoded ``error`` reply to write back; when ``close`` is set the
    connection cannot continue and must be closed after writing it.
    """

    error: Error
    data: bytes
    close: bool = False


def encode_message(message: Request | Reply, *, max_frame: int = DEFAULT_MAX_FRAME) -> bytes:
    """Encode any message model as one frame (wire names, msgpack-native values)."""
    return encode_frame(_wire_fields(message), max_frame=max_frame)


def _encode_with_output(
    reply: ExecResult, output: Sequence[OutputChunk], max_frame: int
) -> bytes:
    fields = _wire_fields(reply)
    own = fields["output"]
    assert isinstance(own, list)
    chunks = [_wire_fields(chunk) for chunk in output]
    return encode_frame({**fields, "output": [*own, *chunks]}, max_frame=max_frame)


def _wire_fields(model: BaseModel) -> dict[str, object]:
    """The model's wire map: its own field map where that is one, else ``model_dump``."""
    fields = _wire_map(model)
    return fields if fields is not None else model.model_dump(by_alias=True)


_SCALARS: Final = frozenset({str, int, float, bool, bytes, type(None)})
_RENAMED: dict[type[BaseModel], bool] = {}


def _wire_map(model: BaseModel) -> dict[str, object] | None:
    """``model.model_dump(by_alias=True)`` built from the models' own field maps, or None
    when a field is renamed on the wire (an alias) or holds something else than scalars,
    lists of scalars and (lists of) such models.

    Why: every message of a call's hot path (a request, its final reply) is of that kind,
    and ``model_dump`` cost 2-3x the encoding itself once the caches had gone cold during
    GHCi's work.
    """
    cls = type(model)
    renamed = _RENAMED.get(cls)
    if renamed is None:
        renamed = _RENAMED[cls] = any(
            f.alias is not None and f.alias != name for name, f in cls.model_fields.items()
        )
    if renamed:
        return None
    fields: dict[str, object] = model.__dict__
    out = fields
    for name, value in fields.items():
        kind = type(value)
        if kind in _SCALARS:
            continue
        converted: object
        if kind is list:
            items: list[object] = value  # type: ignore[assignment]
            if all(type(item) in _SCALARS for item in items):
                continue
            maps = [_wire_map(item) if isinstance(item, BaseModel) else None for item in items]
            if None in maps:
                return None
            converted = maps
        elif isinstance(value, BaseModel):
            converted = _wire_map(value)
            if converted is None:
                return None
        else:
            return None
        if out is fields:
            out = dict(fields)  # never change the model's own map
        out[name] = converted
    return out


def token_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time token comparison; no expected token means no authentication."""
    if expected is None:
        return True
    if given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(part) for part in err["loc"])
        out.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    return out


class ServerConnection:
    """The server's end of one connection."""

    def __init__(
        self,
        *,
        server_version: str,
        ghc_version: str,
        token: str | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
        authenticate: Callable[[str | None], bool] | None = None,
    ) -> None:
        self.server_version = server_version
        self.ghc_version = ghc_version
        self.max_frame = max_frame
        self.state = ConnectionState.AWAIT_HELLO
        self._decoder = FrameDecoder(max_frame=max_frame)
        self._pending: set[int] = set()
        self._authenticate = authenticate or (lambda given: token_matches(token, given))

    @property
    def pending(self) -> frozenset[int]:
        """Ids of requests that have not had their final reply yet."""
        return frozenset(self._pending)

    def is_pending(self, request_id: int) -> bool:
        """Whether ``request_id`` still waits for its final reply (no copy of the set)."""
        return request_id in self._pending

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the peer; ``b""`` means the peer closed its side."""
        self._decoder.receive_data(data)

    def next_event(self) -> Request | RequestRejected | object:
        """The next request, a ``RequestRejected``, ``NEED_DATA`` or ``END_OF_STREAM``."""
        frame = self._decoder.next_frame()
        if frame is NEED_DATA:
            return NEED_DATA
        if frame is END_OF_STREAM:
            self.state = ConnectionState.CLOSED
            return END_OF_STREAM
        if isinstance(frame, BadFrame):
            return self._reject(None, "invalid_frame", frame.reason, close=frame.fatal)
        assert isinstance(frame, dict)
        raw_id = frame.get("id")
        request_id = raw_id if type(raw_id) is int and 0 <= raw_id < 2**63 else None
        op = frame.get("op")
        if not isinstance(op, str):
            return self._reject(request_id, "invalid_message", "a message needs a string 'op'")
        if op not in _KNOWN_OPS:
            return self._reject(request_id, "unknown_op", f"unknown operation {op!r}")
        try:
            request = REQUEST_ADAPTER.validate_python(frame)
        except ValidationError as exc:
            return self._reject(
                request_id, "invalid_message", f"invalid {op!r} message", problems=_problems(exc)
            )
        return self._accept(request)

    def _accept(self, request: Request) -> Request | RequestRejected:
        if self.state is ConnectionState.CLOSED:
            return self._reject(request.id, "shutting_down", "the connection is closed")
        if isinstance(request, Hello):
            if self.state is ConnectionState.READY:
                return self._reject(request.id, "invalid_message", "hello was already received")
            if request.protocol_version != PROTOCOL_VERSION:
                return self._reject(
                    request.id,
                    "version_mismatch",
                    f"server speaks protocol {PROTOCOL_VERSION}, "
                    f"client sent {request.protocol_version}",
                    close=True,
                )
            if not self._authenticate(request.token):
                return self._reject(request.id, "unauthorized", "bad or missing token", close=True)
        elif self.state is ConnectionState.AWAIT_HELLO:
            return self._reject(request.id, "handshake_required", "send 'hello' first")
        if request.id in self._pending:
            return self._reject(
                None, "busy", f"request id {request.id} is already in flight on this connection"
            )
        self._pending.add(request.id)
        return request

    def _reject(
        self,
        request_id: int | None,
        code: ErrorCode,
        message: str,
        *,
        close: bool = False,
        problems: list[str] | None = None,
    ) -> RequestRejected:
        error = Error(
            id=request_id,
            code=code,
            message=message,
            details=ErrorDetailsModel(problems=problems or []),
        )
        if close:
            self.state = ConnectionState.CLOSED
        return RequestRejected(error, encode_message(error, max_frame=self.max_frame), close)

    def welcome(self, hello: Hello) -> bytes:
        """Accept the handshake: the ``welcome`` reply for ``hello``."""
        return self.send(
            Welcome(
                id=hello.id,
                protocol_version=PROTOCOL_VERSION,
                server_version=self.server_version,
                ghc_version=self.ghc_version,
                ops=list(OPS),
                max_frame=self.max_frame,
            )
        )

    def send(self, reply: Reply, *, output: Sequence[OutputChunk] = ()) -> bytes:
        """Encode a reply, enforcing one final reply per request.

        ``output``: for an ``exec_result``, output of its request to carry after its own
        (encoded into the frame, not copied into the model: a copy cost more than the rest
        of the reply on the request's critical path).

        Raises:
            LocalProtocolError: the reply is for no request in flight, or a second final reply.
            ValueError: the encoded reply exceeds ``max_frame``; the request stays in flight.
        """
        if isinstance(reply, Error) and reply.id is None:
            return encode_message(reply, max_frame=self.max_frame)
        assert reply.id is not None
        if reply.id not in self._pending:
            raise LocalProtocolError(f"reply {reply.op!r} for request {reply.id} not in flight")
        # Encoded first: a reply too large for a frame (ValueError) leaves the request in
        # flight, so that the caller can still answer it with something smaller.
        if output:
            if not isinstance(reply, ExecResult):
                raise LocalProtocolError(f"a {reply.op!r} reply cannot carry output")
            data = _encode_with_output(reply, output, self.max_frame)
        else:
            data = encode_message(reply, max_frame=self.max_frame)
        if isinstance(reply, Welcome):
            self.state = ConnectionState.READY
        if not isinstance(reply, Output):
            self._pending.discard(reply.id)
        return data

    def abandon(self, request_id: int) -> None:
        """Forget a request whose reply cannot be sent (the I/O layer failed to write)."""
        self._pending.discard(request_id)


class ClientConnection:
    """The client's end of one connection."""

    def __init__(self, *, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self.state = ConnectionState.AWAIT_HELLO
        self._decoder = FrameDecoder(max_frame=max_frame)
        self._pending: set[int] = set()
        self._hello_sent = False

    @property
    def pending(self) -> frozenset[int]:
        return frozenset(self._pending)

    def send(self, request: Request) -> bytes:
        """Encode a request.

        Raises:
            LocalProtocolError: not ``hello`` first, a repeated ``hello``, or an id in flight.
        """
        if isinstance(request, Hello):
            if self._hello_sent:
                raise LocalProtocolError("hello was already sent")
            self._hello_sent = True
        elif not self._hello_sent:
            raise LocalProtocolError("send hello first")
        if request.id in self._pending:
            raise LocalProtocolError(f"request id {request.id} is already in flight")
        data = encode_message(request, max_frame=self.max_frame)
        self._pending.add(request.id)
        return data

    def receive_data(self, data: bytes) -> None:
        self._decoder.receive_data(data)

    def next_event(self) -> Reply | object:
        """The next reply, ``NEED_DATA`` or ``END_OF_STREAM``.

        Raises:
            RemoteProtocolError: the server sent bytes or a message the protocol forbids.
        """
        frame = self._decoder.next_frame()
        if frame is NEED_DATA:
            return NEED_DATA
        if frame is END_OF_STREAM:
            self.state = ConnectionState.CLOSED
            return END_OF_STREAM
        if isinstance(frame, BadFrame):
            raise RemoteProtocolError(frame.reason, code="invalid_frame")
        try:
            reply = REPLY_ADAPTER.validate_python(frame)
        except ValidationError as exc:
            raise RemoteProtocolError(
                "invalid reply: " + "; ".join(_problems(exc)), code="invalid_message"
            ) from None
        match reply:
            case Error(id=None):
                return reply
            case Welcome():
                self.state = ConnectionState.READY
            case _:
                pass
        if reply.id not in self._pending:
            raise RemoteProtocolError(f"reply {reply.op!r} for unknown request {reply.id}")
        if not isinstance(reply, Output):
            self._pending.discard(reply.id)
        return reply

