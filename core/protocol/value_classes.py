"""The Python classes that stand for Haskell's ``Maybe`` and ``Either`` values.

Responsible for: ``Just``, ``Nothing`` (the one instance of ``NothingType``), ``Left`` and
``Right``, as the payload decoder produces them and ``python_to_haskell`` accepts them.

Must not: know about types, payloads or ``show`` text (``core.protocol.haskell_types``,
``core.protocol.payload``, ``core.protocol.show``), or perform I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Generic, TypeVar

__all__ = ["Just", "Left", "Nothing", "NothingType", "Right"]

T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, slots=True)
class Just(Generic[T_co]):
    """Haskell's ``Just x``. ``Just(Nothing)`` and ``Just(Just(1))`` stay distinct."""

    value: T_co

    def __repr__(self) -> str:
        return f"Just({self.value!r})"


class NothingType:
    """The type of ``Nothing``; there is exactly one instance (compare with ``is``).

    Use ``case NothingType():`` in a ``match`` (a bare ``case Nothing:`` would bind a name).
    """

    __slots__ = ()
    _instance: NothingType | None = None

    def __new__(cls) -> NothingType:
        # Unpickling and copying call the class again; they must get the singleton back.
        if NothingType._instance is None:
            NothingType._instance = object.__new__(cls)
        return NothingType._instance

    def __repr__(self) -> str:
        return "Nothing"

    def __reduce__(self) -> str:
        # Pickled by name, so unpickling yields this module's singleton.
        return "Nothing"

    def __copy__(self) -> NothingType:
        return self

    def __deepcopy__(self, memo: object) -> NothingType:
        return self


Nothing: Final = NothingType()


@dataclass(frozen=True, slots=True)
class Left(Generic[T_co]):
    """Haskell's ``Left x`` (also the failure side of ``ExecComplete.execResult``)."""

    value: T_co

    def __repr__(self) -> str:
        return f"Left({self.value!r})"


@dataclass(frozen=True, slots=True)
class Right(Generic[T_co]):
    """Haskell's ``Right x``."""

    value: T_co

    def __repr__(self) -> str:
        return f"Right({self.value!r})"
