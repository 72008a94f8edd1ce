"""Error codes of the wire protocol and the exception tree built on them.

Responsible for: the closed set of error codes, the structured details an error carries, the
exception classes raised on either side, and the one table that maps codes to classes in both
directions (``to_wire`` / ``from_wire``). Must not: perform I/O or know about GHCi processes.

The tree::

    ShimError                          base of everything raised on purpose
    ├── ProtocolError (abstract)       bytes or messages are wrong (h11's split)
    │   ├── LocalProtocolError         *we* tried to send something illegal
    │   └── RemoteProtocolError        the *peer* sent something illegal
    ├── RequestError                   the server answered a request with an error reply
    │   ├── CompileError               parse/rename/type errors; ``.diagnostics``
    │   ├── EvaluationError            Haskell code threw while a value was computed; ``.exception``
    │   ├── InterruptedError_          the request was interrupted
    │   ├── TimeoutError_              the request's time limit ran out
    │   ├── SessionDiedError           GHCi died; the session was restarted; ``.replayed``
    │   ├── GhcUsageError              misuse / environment errors (GHC's GhcException)
    │   ├── SessionLimitError, UnknownSessionError, UnauthorizedError, ...
    │   └── InternalServerError        a bug in the server; the server keeps running
    └── ConnectionLostError            the transport to the server broke
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

__all__ = [
    "ERROR_CODES",
    "CompileError",
    "ConnectionLostError",
    "DiagnosticInfo",
    "ErrorCode",
    "ErrorDetails",
    "EvaluationError",
    "ExceptionInfo",
    "GhcUsageError",
    "InternalServerError",
    "InterruptedError_",
    "InvalidMessageError",
    "LocalProtocolError",
    "OutputLimitError",
    "ProtocolError",
    "RemoteProtocolError",
    "RequestError",
    "SessionDiedError",
    "SessionLimitError",
    "ShimError",
    "TimeoutError_",
    "UnauthorizedError",
    "UnknownOpError",
    "UnknownSessionError",
    "UnsupportedError",
    "VersionMismatchError",
    "error_class",
]

ErrorCode = Literal[
    "invalid_frame",  # the bytes are not a frame (oversized, undecodable msgpack, not a map)
    "invalid_message",  # a frame that does not validate as any message
    "unknown_op",  # a well-formed map whose ``op`` names no operation
    "handshake_required",  # a request before ``hello``
    "version_mismatch",  # the peer speaks another protocol version
    "unauthorized",  # bad or missing token
    "unknown_session",  # no such session for this client
    "session_limit",  # the server refuses another session
    "busy",  # a request id is already in flight on this connection
    "compile_error",  # GHC's SourceError: parse, rename or type errors; diagnostics
    "evaluation_error",  # Haskell code threw while a value was forced; exception details
    "interrupted",  # the request was interrupted
    "timeout",  # the request's time limit ran out
    "session_died",  # GHCi died during the request; restarted and replayed
    "ghc_error",  # GHC's GhcException: misuse, not a home module, bad target, ...
    "output_limit",  # a value too large to send
    "unsupported",  # a valid request this server cannot serve
    "shutting_down",  # the server is stopping
    "internal",  # a bug in the server; it keeps serving
]

ERROR_CODES: Final[tuple[ErrorCode, ...]] = get_args(ErrorCode)


@dataclass(frozen=True, slots=True)
class DiagnosticInfo:
    """One GHC diagnostic (1-based positions; the end is inclusive, as GHC prints spans)."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    severity: Literal["error", "warning"]
    message: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class ExceptionInfo:
    """A Haskell exception: its type name (where it can be known) and GHC's ``show`` text."""

    type: str
    message: str


@dataclass(frozen=True, slots=True)
class ErrorDetails:
    """Structured details of an error reply; every field is optional."""

    diagnostics: tuple[DiagnosticInfo, ...] = ()
    exception: ExceptionInfo | None = None
    replayed: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    output: str = ""


class ShimError(Exception):
    """Base of every exception the shim raises on purpose."""


class ProtocolError(ShimError):
    """Bytes or messages that break the protocol. Abstract: raise a subclass."""

    code: ErrorCode = "invalid_message"

    def __init__(self, message: str, *, code: ErrorCode | None = None) -> None:
        if type(self) is ProtocolError:
            raise TypeError("tried to instantiate the abstract ProtocolError")
        super().__init__(message)
        if code is not None:
            self.code = code


class LocalProtocolError(ProtocolError):
    """We tried to send something the protocol forbids (a bug on our side)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol forbids."""


class ConnectionLostError(ShimError):
    """The transport to the server broke (EOF, broken pipe, reset)."""


class RequestError(ShimError):
    """The server answered a request with an error reply.

    ``str(exc)`` is the human message; ``code`` is the wire code; ``details`` the structured rest.
    """

    code: ErrorCode = "internal"

    def __init__(
        self,
        message: str,
        *,
        details: ErrorDetails | None = None,
        request_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details if details is not None else ErrorDetails()
        self.request_id = request_id

    @property
    def diagnostics(self) -> tuple[DiagnosticInfo, ...]:
        return self.details.diagnostics

    @property
    def exception(self) -> ExceptionInfo | None:
        return self.details.exception

    @property
    def replayed(self) -> tuple[str, ...]:
        return self.details.replayed


class InvalidMessageError(RequestError):
    code = "invalid_message"


class UnknownOpError(RequestError):
    code = "unknown_op"


class VersionMismatchError(RequestError):
    code = "version_mismatch"


class UnauthorizedError(RequestError):
    code = "unauthorized"


class UnknownSessionError(RequestError):
    code = "unknown_session"


class SessionLimitError(RequestError):
    code = "session_limit"


class CompileError(RequestError):
    code = "compile_error"


class EvaluationError(RequestError):
    code = "evaluation_error"


class InterruptedError_(RequestError):  # noqa: N801, N818 - the builtin is an OSError
    code = "interrupted"


class TimeoutError_(RequestError, TimeoutError):  # noqa: N801, N818 - also the builtin
    code = "timeout"


class SessionDiedError(RequestError):
    code = "session_died"


class GhcUsageError(RequestError):
    code = "ghc_error"


class OutputLimitError(RequestError):
    code = "output_limit"


class UnsupportedError(RequestError):
    code = "unsupported"


class InternalServerError(RequestError):
    code = "internal"


# The one table from wire codes to classes. Codes that only ever describe a broken
# connection still map to a RequestError subclass so that a client can raise *something*
# precise for every code it receives (tests check the table covers ERROR_CODES exactly).
_CLASSES: Final[dict[ErrorCode, type[RequestError]]] = {
    "invalid_frame": InvalidMessageError,
    "invalid_message": InvalidMessageError,
    "unknown_op": UnknownOpError,
    "handshake_required": InvalidMessageError,
    "version_mismatch": VersionMismatchError,
    "unauthorized": UnauthorizedError,
    "unknown_session": UnknownSessionError,
    "session_limit": SessionLimitError,
    "busy": InvalidMessageError,
    "compile_error": CompileError,
    "evaluation_error": EvaluationError,
    "interrupted": InterruptedError_,
    "timeout": TimeoutError_,
    "session_died": SessionDiedError,
    "ghc_error": GhcUsageError,
    "output_limit": OutputLimitError,
    "unsupported": UnsupportedError,
    "shutting_down": InternalServerError,
    "internal": InternalServerError,
}


def error_class(code: ErrorCode) -> type[RequestError]:
    """The exception class a client raises for an error reply with ``code``."""
    return _CLASSES[code]

