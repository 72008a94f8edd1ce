"""Value objects the explicit client returns (frozen dataclasses; no pydantic here).

Responsible for: the shapes callers see — outcomes of statements, values, types, names,
imports, targets, load results — and the lazy decoding of transferred values. Must not:
perform I/O (a ``RemoteValue`` frees itself through a callback its session gives it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from core.protocol.errors import DiagnosticInfo, ExceptionInfo
from core.protocol.values import DecodedValue, decode_value

__all__ = [
    "BindingInfo",
    "ExecOutcome",
    "Flags",
    "Import",
    "InfoItem",
    "LoadOutcome",
    "ModuleSummary",
    "NameRef",
    "RemoteValue",
    "SessionSummary",
    "Target",
    "TypeAndKind",
    "Value",
]


@dataclass(frozen=True, slots=True)
class ExecOutcome:
    """What a statement did: the names it bound, or the Haskell exception it threw."""

    names: tuple[str, ...]
    exception: ExceptionInfo | None = None
    allocation: int = 0
    truncated: bool = False
    warnings: tuple[DiagnosticInfo, ...] = ()

    @property
    def ok(self) -> bool:
        return self.exception is None


@dataclass(frozen=True)
class Value:
    """A fully evaluated value copied out of the session.

    ``type`` is GHCi's rendering of the expression's type (``:type +d``); ``type_rep`` is
    ``show (typeOf x)`` (``[Char]``, never ``String``). ``value`` is the Python value for types
    of the API's table, else None; ``show`` is GHC's ``show`` text when the type has Show.
    """

    type: str
    payload: bytes = field(repr=False)

    @cached_property
    def decoded(self) -> DecodedValue:
        return decode_value(self.payload)

    @property
    def value(self) -> object:
        return self.decoded.value

    @property
    def show(self) -> str | None:
        return self.decoded.show

    @property
    def type_rep(self) -> str:
        return self.decoded.type_rep


@dataclass(eq=False)
class RemoteValue:
    """A value kept in the session, named ``name`` there (usable in later statements).

    Freed by ``free()``, when garbage-collected (batched into the session's next request,
    as GHC batches ``ForeignRef`` frees), or when the session closes.
    """

    name: str
    type: str
    _release: Callable[[str], None] | None = field(default=None, repr=False)

    def free(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release(self.name)

    def __del__(self) -> None:
        release = self._release
        if release is not None:
            self._release = None
            release(self.name)


@dataclass(frozen=True, slots=True)
class TypeAndKind:
    type: str
    kind: str


@dataclass(frozen=True, slots=True)
class InfoItem:
    text: str
    thing: str
    defined_in: str | None
    fixity: str | None
    instances: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NameRef:
    name: str
    module: str | None = None


@dataclass(frozen=True, slots=True)
class BindingInfo:
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class Import:
    """One interactive import: ``import ...`` (``kind="decl"``) or ``*Module``."""

    module: str
    kind: Literal["decl", "module"] = "decl"
    qualified: bool = False
    as_: str | None = None
    hiding: bool | None = None
    names: tuple[str, ...] = ()
    implicit: bool = False


@dataclass(frozen=True, slots=True)
class Target:
    kind: Literal["module", "file"]
    name: str
    allow_object_code: bool = True


@dataclass(frozen=True, slots=True)
class Flags:
    extensions: tuple[str, ...]
    flags: tuple[str, ...]
    unrecognized: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModuleSummary:
    name: str
    file: str
    interpreted: bool


@dataclass(frozen=True, slots=True)
class LoadOutcome:
    success: bool
    diagnostics: tuple[DiagnosticInfo, ...]
    modules: tuple[ModuleSummary, ...]


@dataclass(frozen=True, slots=True)
class SessionSummary:
    session: str
    busy: bool
    restarts: int
    age: float
