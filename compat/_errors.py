"""GHC's error taxonomy for the facade, and the one place core exceptions are translated.

Responsible for: ``SourceError`` (with ``Diagnostic`` values), ``GhcException``,
``InterpreterCrashed`` and ``HaskellException`` — the exceptions legacy code catches — and
``translated()``, which turns every ``core`` exception raised inside it into one of them
(keeping the original as ``__cause__``). Must not: talk to a session or warn; the mapping
lives only here so that ``ghc_api`` and ``dyn_compile`` cannot disagree about it.

The mapping (API.md §1.8):

=============================================  =============================================
core (``core.protocol.errors``)                facade
=============================================  =============================================
``CompileError``                               ``SourceError`` (GHC's text, diagnostics)
``SessionDiedError``                           ``InterpreterCrashed`` (``.replayed``)
``EvaluationError``, ``TimeoutError_``,        ``HaskellException`` (type, message); a time
``InterruptedError_``                          limit is ``type == "Timeout"``
``GhcUsageError`` and every other ``ShimError``  ``GhcException``
=============================================  =============================================
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from core.protocol.errors import (
    CompileError,
    DiagnosticInfo,
    EvaluationError,
    InterruptedError_,
    SessionDiedError,
    ShimError,
    TimeoutError_,
)

__all__ = [
    "Diagnostic",
    "GhcException",
    "HaskellException",
    "InterpreterCrashed",
    "SourceError",
    "translated",
]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One GHC message: 1-based positions, the end inclusive as GHC prints spans.

    ``message`` is the text without the location header; ``str(d)`` is GHC's rendering
    (``Bad.hs:4:7-18: error:`` and the indented message).
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    severity: Literal["error", "warning"]
    message: str
    code: str | None = None

    @classmethod
    def from_core(cls, d: DiagnosticInfo) -> Diagnostic:
        return cls(d.file, d.line, d.column, d.end_line, d.end_column, d.severity, d.message,
                   d.code)

    @property
    def location(self) -> str:
        """GHC's span syntax: ``f:4:7``, ``f:4:7-18`` or ``f:(4,7)-(5,3)``."""
        if self.line <= 0:
            return self.file
        if self.end_line > self.line:
            return f"{self.file}:({self.line},{self.column})-({self.end_line},{self.end_column})"
        if self.end_column > self.column:
            return f"{self.file}:{self.line}:{self.column}-{self.end_column}"
        return f"{self.file}:{self.line}:{self.column}"

    def __str__(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        body = textwrap.indent(textwrap.dedent(self.message).strip("\n"), "    ")
        return f"{self.location}: {self.severity}:{code}\n{body}"


class SourceError(Exception):
    """GHC's ``SourceError``: parse, rename or type errors of the input; nothing ran.

    ``str(e)`` is GHC's text; ``e.diagnostics`` the structured messages.
    """

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.diagnostics: list[Diagnostic] = list(diagnostics)


class GhcException(Exception):  # noqa: N818 - GHC's name
    """GHC's ``GhcException``: misuse and environment errors (no current session, bad
    target, a module that is not a home module, an unsupported operation, a lost server)."""


class InterpreterCrashed(GhcException):
    """The remote interpreter died during the call. The session was already restarted and
    its state replayed (``replayed`` says what was restored); the next call works."""

    def __init__(self, message: str, replayed: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.replayed: list[str] = list(replayed)


class HaskellException(Exception):  # noqa: N818 - the facade's GHC-style name
    """A Haskell exception, as a value (in ``Left``) and raised where GHC raises it.

    ``type`` is the exception type's name where it can be known (``"ErrorCall"``,
    ``"ArithException"``, ``"ExitCode"``, ``"UserInterrupt"``, ``"Timeout"``, ...);
    ``message`` is GHC's ``show`` text, and ``str(exc) == exc.message``. Two instances are
    equal when type and message are, so results can be compared and matched.
    """

    def __init__(self, type: str, message: str) -> None:
        super().__init__(type, message)
        self.type = type
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"HaskellException({self.type!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HaskellException):
            return NotImplemented
        return (self.type, self.message) == (other.type, other.message)

    def __hash__(self) -> int:
        return hash((self.type, self.message))


def translate(exc: ShimError) -> Exception:
    """The facade exception standing for a core exception (see the module's table)."""
    if isinstance(exc, CompileError):
        return SourceError(str(exc), (Diagnostic.from_core(d) for d in exc.diagnostics))
    if isinstance(exc, SessionDiedError):
        return InterpreterCrashed(str(exc), exc.replayed)
    if isinstance(exc, (EvaluationError, TimeoutError_, InterruptedError_)):
        info = exc.exception
        if info is not None:
            return HaskellException(info.type, info.message)
        kind = {TimeoutError_: "Timeout", InterruptedError_: "UserInterrupt"}.get(
            type(exc), "SomeException"
        )
        return HaskellException(kind, str(exc))
    return GhcException(str(exc))


class translated:  # noqa: N801 - used like a function: ``with translated():``
    """Context manager: re-raise core exceptions as the facade's (original as cause).

    A class rather than ``@contextmanager``: it wraps every facade call, and a generator
    frame per call is measurable next to a trivial ``execStmt``.
    """

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, ShimError):
            raise translate(exc) from exc
