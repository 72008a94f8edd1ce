"""String-valued GHC types of the facade: ``Name``, ``ModuleName``, ``Type``, ``Kind``,
``TypeRep``.

Responsible for: small ``str`` subclasses, so that legacy code that compares, prints, joins or
formats these values keeps working while annotations say what each string means. Must not:
talk to a session or warn (they are values, not calls).
"""

from __future__ import annotations

__all__ = ["Kind", "ModuleName", "Name", "Type", "TypeRep"]


class ModuleName(str):
    """GHC's ``ModuleName`` (``mkModuleName "Data.List"``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ModuleName({str(self)!r})"


class Type(str):
    """A type as GHCi renders it (``"(a -> b) -> [a] -> [b]"``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Type({str(self)!r})"


class Kind(str):
    """A kind as GHCi renders it (``"* -> *"``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Kind({str(self)!r})"


class TypeRep(str):
    """``show (typeRep x)``: ``"[Char]"`` (never ``"String"``), ``"Maybe (Int,[Char])"``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"TypeRep({str(self)!r})"


class Name(str):
    """GHC's ``Name``: the occurrence name (``"x"``, ``"map"``, ``"+"``) plus ``.module``.

    Compares equal to the plain string (``names == ["it"]``), whatever the module. A
    ``str`` subclass cannot have non-empty ``__slots__``, hence the instance dict.
    """

    _module: str | None

    def __new__(cls, occ: str, module: str | None = None) -> Name:
        self = super().__new__(cls, occ)
        self._module = module
        return self

    @property
    def module(self) -> str | None:
        """The defining module where known (``"GHC.Base"``); None for prompt bindings."""
        return self._module

    def __repr__(self) -> str:
        if self._module is None:
            return f"Name({str(self)!r})"
        return f"Name({str(self)!r}, module={self._module!r})"

    def __reduce__(self) -> tuple[type[Name], tuple[str, str | None]]:
        return (Name, (str(self), self._module))
