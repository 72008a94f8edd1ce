"""``Dynamic`` and ``HValue`` without a shared heap: the emulation that changes meaning.

In-process GHC returns a ``Dynamic`` that *points into* the interpreter's heap; under Remote
GHCi ``dynCompileExpr`` "cannot work" (GHC's Note [Remote GHCi]). This module gives legacy
code the two honest replacements (API.md §1.5):

* ``dynCompileExpr`` / ``toDyn``: the value is evaluated **fully** in the session and copied
  out (``Dynamic.value``: Python values per the table of API.md; ``Dynamic.show``: GHC's
  ``show`` text; ``dynTypeRep``: GHC's ``TypeRep`` rendering). Laziness is gone: an exception
  inside the value is raised by ``dynCompileExpr`` itself, as ``HaskellException``.
* ``compileExpr``: the value stays **in the session** and ``HValue`` is a reference to it
  (``.name`` is usable in later statements), freed by ``.free()``, by garbage collection or
  when the session ends.

``fromDynamic`` takes, instead of a ``Typeable`` type, either a Haskell type string (compared
after normalising spaces, qualifiers and ``String``) or a Python type or typing form
(``int``, ``list[int]``, ``dict[str, int]``, ``Just[int]``, ``Left[str] | Right[int]``).

Responsible for: those semantics, on top of ``core.client.Session.eval`` /
``compile_expr`` / ``bind_value``. Must not: talk to the server other than through the
current ``core.client.Session``, or decode payloads itself (``core.protocol.values`` does).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Final, TypeVar, overload

from typing_extensions import deprecated

from compat._errors import GhcException, translated
from compat._names import Name, TypeRep
from compat._session import current, output_router
from compat._warnings import ChangedWarning, MovedWarning, legacy
from core.client import RemoteValue, Session, Value
from core.protocol.values import (
    HsType,
    Just,
    Left,
    Nothing,
    NothingType,
    Right,
    normalise_type_rep,
    parse_type,
    python_to_haskell,
)

__all__ = [
    "Dynamic",
    "HValue",
    "Just",
    "Left",
    "Nothing",
    "NothingType",
    "Right",
    "TypeRep",
    "bindValue",
    "compileExpr",
    "dynCompileExpr",
    "dynTypeRep",
    "fromDyn",
    "fromDynamic",
    "toDyn",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Dynamic:
    """A value copied out of a session, with its type (GHC's ``Dynamic``, serialized).

    ``value`` is the Python value (None when the type is outside API.md's table — then
    ``show`` still has GHC's text); ``show`` is GHC's ``show`` text (None without a ``Show``
    instance); ``typeRep`` GHC's ``TypeRep`` rendering. ``repr(d)`` is GHC's ``<<Int>>``.
    """

    raw: Value = field(repr=False)

    @property
    def typeRep(self) -> TypeRep:
        return TypeRep(self.raw.type_rep)

    @property
    def value(self) -> object:
        return self.raw.value

    @property
    def show(self) -> str | None:
        return self.raw.show

    def __repr__(self) -> str:
        return f"<<{self.raw.type_rep}>>"


@dataclass(frozen=True, eq=False)
class HValue:
    """A value kept in the remote session (GHC's ``ForeignHValue``).

    ``name`` is bound in the session (``execStmt(f"print ({h.name} 3)")``) and stays valid
    across ``load``; ``typeRep`` is GHCi's rendering of its type. Freed by ``free()``, when
    this object is garbage-collected, or when the session closes.
    """

    ref: RemoteValue = field(repr=False)
    session: Session = field(repr=False)

    @property
    def name(self) -> Name:
        return Name(self.ref.name)

    @property
    def typeRep(self) -> TypeRep:
        return TypeRep(self.ref.type)

    def toDynamic(self) -> Dynamic:
        """Force the value fully and copy it out.

        Raises:
            HaskellException: evaluating it threw (or ran out of time).
            SourceError: its type is polymorphic (cannot be serialized).
        """
        with translated():
            return Dynamic(self.session.eval(self.ref.name, on_output=output_router(None, None)))

    def free(self) -> None:
        """Release the remote value now (idempotent)."""
        self.ref.free()

    def __repr__(self) -> str:
        return f"HValue({self.ref.name!r} :: {self.ref.type})"


@deprecated(
    "dynCompileExpr is deprecated: use core.client.Session.eval instead "
    "(migration_guide.md#dyncompileexpr)",
    category=ChangedWarning,
)
@legacy(ChangedWarning)
def dynCompileExpr(expr: str) -> Dynamic:
    """Type-check ``expr`` with GHCi's defaulting, evaluate it fully, copy it out.

    Output the evaluation prints goes to ``sys.stdout``/``sys.stderr``.

    Raises:
        SourceError: it does not type-check, or its type stays polymorphic (``"id"``).
        HaskellException: evaluating it threw (``type == "Timeout"`` for a time limit).
        InterpreterCrashed: the interpreter died (session restarted and replayed).
        GhcException: the value is larger than the session's value limit (48 MiB
            serialized), an infinite list say; the session is unchanged.
    """
    session = current()
    with translated():
        return Dynamic(session.eval(expr, on_output=output_router(None, None)))


@deprecated(
    "dynTypeRep is deprecated: use core.client.Value.type_rep instead "
    "(migration_guide.md#dyntyperep)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def dynTypeRep(d: Dynamic) -> TypeRep:
    """The ``TypeRep`` of the value (``"[Char]"``, ``"Maybe (Int,[Char])"``)."""
    return d.typeRep


@overload
def fromDynamic(d: Dynamic, target: type[T]) -> T | None: ...
@overload
def fromDynamic(d: Dynamic, target: object) -> object: ...
@deprecated(
    "fromDynamic is deprecated: use core.client.Value.value instead "
    "(migration_guide.md#fromdynamic)",
    category=ChangedWarning,
)
@legacy(ChangedWarning)
def fromDynamic(d: Dynamic, target: object) -> object:
    """The value if its Haskell type corresponds to ``target``, else None.

    ``target`` is a Haskell type string (``"Int"``, ``"String"`` = ``"[Char]"``, compared after
    normalising) or a Python type/typing form (``int``, ``list[int]``, ``dict[str, int]``,
    ``tuple[int, str]``, ``Just[int]``, ``Left[str] | Right[int]``, ``object`` for anything).
    A matching value of a type outside API.md's table gives None too (its ``d.show`` remains).
    """
    return d.value if _corresponds_to(d, target) else None


@overload
def fromDyn(d: Dynamic, default: NothingType) -> Just[object] | NothingType: ...
@overload
def fromDyn(d: Dynamic, default: T) -> T: ...
@deprecated(
    "fromDyn is deprecated: use core.client.Value.value instead "
    "(migration_guide.md#fromdyn)",
    category=ChangedWarning,
)
@legacy(ChangedWarning)
def fromDyn(d: Dynamic, default: object) -> object:
    """The value if its Haskell type corresponds to ``type(default)``, else ``default``.

    ``fromDyn(d, 0)`` accepts any integral type, ``fromDyn(d, "")`` ``[Char]``/``Text``/
    ``Char``, ``fromDyn(d, [])`` any list, ``fromDyn(d, Nothing)`` any ``Maybe``.
    """
    return d.value if _corresponds_to(d, type(default)) else default


@deprecated(
    "toDyn is deprecated: use core.client.Session.eval instead "
    "(migration_guide.md#todyn)",
    category=ChangedWarning,
)
@legacy(ChangedWarning)
def toDyn(value: object, haskell_type: str | None = None) -> Dynamic:
    """A ``Dynamic`` for a Python value of API.md's table, made by the session (so its
    ``typeRep`` and ``show`` are GHC's). ``haskell_type`` picks the representation where the
    value does not say (``toDyn(3, "Int")``; the default for ``int`` is ``Integer``).

    Raises:
        GhcException: the value has no Haskell counterpart or does not fit ``haskell_type``.
    """
    session = current()
    expr = _haskell_expr(value, haskell_type)
    with translated():
        return Dynamic(session.eval(expr))


@deprecated(
    "bindValue is deprecated: use core.client.Session.bind_value instead "
    "(migration_guide.md#bindvalue)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def bindValue(name: str, value: object, haskell_type: str | None = None) -> Name:
    """Bind ``name`` in the session to a copy of a Python value of API.md's table.

    Raises:
        GhcException: not a variable name, or a value without Haskell counterpart.
        SourceError: the binding does not compile (e.g. a clash with the context).
    """
    session = current()
    try:
        with translated():
            return Name(session.bind_value(name, value, haskell_type))
    except ValueError as exc:  # from python_to_haskell, before any round trip
        raise GhcException(str(exc)) from exc


@deprecated(
    "compileExpr is deprecated: use core.client.Session.compile_expr instead "
    "(migration_guide.md#compileexpr)",
    category=ChangedWarning,
)
@legacy(ChangedWarning)
def compileExpr(expr: str) -> HValue:
    """Compile ``expr`` and keep its (unevaluated) value in the session.

    Raises:
        SourceError: it does not compile.
    """
    session = current()
    with translated():
        return HValue(session.compile_expr(expr), session)


# ---------------------------------------------------------------------- helpers


def _haskell_expr(value: object, haskell_type: str | None) -> str:
    try:
        return python_to_haskell(value, haskell_type)[0]
    except ValueError as exc:
        raise GhcException(str(exc)) from exc


_INTEGRAL: Final = frozenset(
    ["Int", "Integer", "Word", "Natural", "Int8", "Int16", "Int32", "Int64", "Word8",
     "Word16", "Word32", "Word64"]
)


def _corresponds_to(d: Dynamic, target: object) -> bool:
    if isinstance(target, str):
        return normalise_type_rep(target) == normalise_type_rep(d.raw.type_rep)
    try:
        hs = parse_type(d.raw.type_rep)
    except ValueError:
        return False
    return _corresponds(hs, target)


def _is_union(target: object) -> bool:
    return isinstance(target, types.UnionType) or typing.get_origin(target) is typing.Union


def _corresponds(t: HsType, target: object) -> bool:
    """Whether values of Haskell type ``t`` arrive as instances of Python form ``target``."""
    if target is object or target is typing.Any:
        return True
    if _is_union(target):
        return _corresponds_union(t, typing.get_args(target))
    origin = typing.get_origin(target)
    base = origin if origin is not None else target
    args = typing.get_args(target)
    name, targs = t.name, t.args
    if base is None or base is types.NoneType:
        return t.con == "()"
    if base is bool:
        return name == "Bool"
    if base is int:
        return name in _INTEGRAL
    if base is float:
        return name in ("Double", "Float")
    if base is str:
        return name in ("Char", "Text") or (t.con == "[]" and _is_char_list(t))
    if base is bytes:
        return name == "ByteString"
    if base is Fraction:
        return name == "Ratio"
    if base is list:
        return (t.con == "[]" and len(targs) == 1 and not _is_char_list(t)
                and (not args or _corresponds(targs[0], args[0])))
    if base is tuple:
        if not t.con.startswith("(,"):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_corresponds(a, args[0]) for a in targs)
        return not args or (len(args) == len(targs)
                            and all(map(_corresponds, targs, args)))
    if base is dict:
        if name == "Map" and len(targs) == 2:
            keys, values = targs
        elif name == "IntMap" and len(targs) == 1:
            keys, values = HsType("Int"), targs[0]
        else:
            return False
        return not args or (_corresponds(keys, args[0]) and _corresponds(values, args[1]))
    if base in (frozenset, set, AbstractSet):
        if name == "Set" and len(targs) == 1:
            elem = targs[0]
        elif name == "IntSet":
            elem = HsType("Int")
        else:
            return False
        return not args or _corresponds(elem, args[0])
    if base is Just or base is NothingType:
        return name == "Maybe" and (not args or _corresponds(targs[0], args[0]))
    if base is Left or base is Right:
        if name != "Either" or len(targs) != 2:
            return False
        side = targs[0] if base is Left else targs[1]
        return not args or _corresponds(side, args[0])
    return False


def _corresponds_union(t: HsType, members: tuple[object, ...]) -> bool:
    # ``Just[int] | NothingType`` and ``Left[str] | Right[int]`` describe one Haskell type
    # together: every side that a member constrains must match. Other unions: any member.
    def origin(m: object) -> object:
        o = typing.get_origin(m)
        return o if o is not None else m

    if t.name == "Maybe" and any(origin(m) in (Just, NothingType) for m in members):
        justs = [m for m in members if origin(m) is Just]
        return not justs or any(_corresponds(t, m) for m in justs)
    if t.name == "Either" and any(origin(m) in (Left, Right) for m in members):
        lefts = [m for m in members if origin(m) is Left]
        rights = [m for m in members if origin(m) is Right]
        return ((not lefts or any(_corresponds(t, m) for m in lefts))
                and (not rights or any(_corresponds(t, m) for m in rights)))
    return any(_corresponds(t, m) for m in members)


def _is_char_list(t: HsType) -> bool:
    return t.con == "[]" and len(t.args) == 1 and t.args[0].name == "Char"

