"""Haskell values as Python values: the classes, the payload decoder, and the way back.

Responsible for:

* the Python classes that stand for Haskell's ``Maybe`` and ``Either`` (``Just``, ``Nothing``,
  ``Left``, ``Right``);
* a small parser for GHC's rendering of types (``parse_type``), the table of Haskell types
  that cross as Python values (API.md §1.5), and ``normalise_type_rep`` for comparing types;
* ``decode_value``: the bytes a GHCi session wrote for one value (see *Payload* below) to a
  ``DecodedValue``, including GHC's exact ``show`` text, reconstructed lazily;
* ``python_to_haskell``: a Python value of the table to the text of a Haskell expression.

Must not: perform I/O, start processes, or know how the payload reaches it
(``core.server.value_writer`` writes it inside GHCi; the server moves the bytes).

Payload (format 1)
==================

The writer (``core.server.value_writer``) emits it from interpreted Haskell, using
compiled ``bytestring`` primitives for everything done per element. Numbers are in the
*interpreter's* byte order (``Data.ByteString.Builder.Prim.intHost`` and friends are the fast
primitives); the header says which order that is. "utf8" is ``stringUtf8``, which writes a
surrogate code point (a legal ``Char``) as its 3-byte form; Python reads it back with
``surrogatepass``, so a lone surrogate survives the trip. Byte ``0xFF`` never occurs in it.

::

    payload  = "HSV1"              4 bytes: magic and format version
               one                 8 bytes: the Int 1 in host order (gives the byte order;
                                   an interpreter whose Int is not 64 bits is refused)
               kind                1 byte: 'V' value | 'S' show text | 'O' opaque
               typerep             utf8 (show (Data.Typeable.typeOf x)), then 0xFF
               tree                the type, from Data.Typeable (below)
               body                depends on kind (below), up to the end of the payload
    tree     = module 0xFF name 0xFF argc tree*argc
                                   tyConModule, tyConName (utf8), argc: 8-byte count of
                                   typeRepArgs (visible arguments only, no kinds)

Kind ``'O'``: no body (the value was forced to WHNF only; no ``Show`` was available).
Kind ``'S'``: the body is utf8 ``show x`` (a type outside the table, or containing one).
Kind ``'V'``: the body is ``enc(t)`` of the value, ``t`` given by the tree:

============================  ===============================================================
``Int``, ``Int64``            8 bytes signed       ``Word``, ``Word64``   8 bytes unsigned
``IntN``, ``WordN``           N/8 bytes            ``Double``, ``Float``  IEEE binary64/32
``Char``                      8 bytes, the code point
``Bool``, ``()``              1 byte: 0 or 1; 0
``Integer``, ``Natural``      ASCII decimal, optional ``-``, then ``;``
``[Char]``, ``Text``          UTF-8 (utf8 for ``[Char]``), then 0xFF; lazy ``Text`` alike
``ByteString`` (also lazy)    8-byte length n, then n bytes
``[a]``                       8-byte count n, then n × enc(a); at the top level, when ``a``
                              has a fixed size (the rows above without a length, and tuples
                              of them), there is no count: elements run to the end
``(a, b, ...)``               enc(a) enc(b) ...
``Maybe a``                   ``N`` | ``J`` enc(a)
``Either a b``                ``L`` enc(a) | ``R`` enc(b)
``Ratio a``                   enc(a) numerator, enc(a) denominator
``Map k v``, ``IntMap v``     8-byte count n, n × (enc(k) enc(v)), keys ascending (IntMap
                              keys as ``Int``)
``Set a``, ``IntSet``         8-byte count n, n × enc(a), ascending
============================  ===============================================================

The decoder trusts nothing: every count is checked against the bytes that remain, every
tag and code point is validated, and anything unexpected raises ``ValueError``.
"""

from __future__ import annotations

import math
import re
import struct
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final, Generic, TypeVar

__all__ = [
    "PAYLOAD_MAGIC",
    "TABLE_TYPE_NAMES",
    "DecodedValue",
    "HsType",
    "Just",
    "Left",
    "Nothing",
    "NothingType",
    "Right",
    "decode_value",
    "haskell_type_name",
    "normalise_type_rep",
    "parse_type",
    "python_to_haskell",
    "show_value",
]

T_co = TypeVar("T_co", covariant=True)

PAYLOAD_MAGIC: Final = b"HSV1"


# ---------------------------------------------------------------------------------------------
# Maybe and Either


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


# ---------------------------------------------------------------------------------------------
# Types: GHC's rendering, parsed


@dataclass(frozen=True, slots=True)
class HsType:
    """A Haskell type as GHC renders it: a constructor applied to arguments.

    ``con`` is the constructor as written (``"Maybe"``, ``"M.Map"``, ``"GHC.Word.Word8"``) or
    one of the built-in spellings: ``"[]"`` (list), ``"()"``, ``"(,)"``, ``"(,,)"``, ... (tuples),
    ``"->"`` (function), ``"=>"`` (a context: args are the constraint and the type),
    ``"forall"`` (args: the body; the bound variables are not kept). A type variable is a
    ``con`` that starts with a lower-case letter or ``_``; a type-level literal keeps its
    spelling (``"3"``, ``'"sym"'``).
    """

    con: str
    args: tuple[HsType, ...] = ()

    @property
    def name(self) -> str:
        """The constructor without its module qualifier (``"Map"`` for ``"M.Map"``)."""
        return _split_qualified(self.con)[1]

    @property
    def qualifier(self) -> str:
        """The module qualifier as written (``"M"`` for ``"M.Map"``), or ``""``."""
        return _split_qualified(self.con)[0]

    @property
    def is_variable(self) -> bool:
        """True for a type variable (``a``, ``_t``)."""
        return self.con != "forall" and (self.con[:1].islower() or self.con[:1] == "_")

    @property
    def is_opaque(self) -> bool:
        """True for a type no value of which can be shown or transferred: a function, a
        constrained or ``forall`` type, or one with a type variable anywhere in it."""
        return any(t.con in ("->", "=>", "forall") or t.is_variable for t in self.walk())

    def walk(self) -> Iterator[HsType]:
        """This type and all its sub-types, depth first."""
        stack = [self]
        while stack:
            t = stack.pop()
            yield t
            stack.extend(reversed(t.args))

    def render(self, *, qualified: bool = True) -> str:
        """GHC's ``TypeRep`` style: ``Maybe (Int,[Char])``, ``Map [Char] Int``, ``Int -> Int``,
        ``(Int,(Maybe Char))`` (sic: ``show (typeOf x)`` parenthesises applied tuple parts).

        With ``qualified=False`` module qualifiers are dropped.
        """
        return _render(self, 0, qualified)


def _split_qualified(con: str) -> tuple[str, str]:
    m = _QUALIFIED_RE.fullmatch(con)
    if m is None:
        return "", con
    return m.group(1)[:-1], m.group(2)


_QUALIFIED_RE: Final = re.compile(r"((?:[A-Z][\w']*\.)+)(.+)")


def _render(t: HsType, prec: int, qualified: bool) -> str:
    # prec: 0 top, 1 function argument, 2 type-application argument.
    con = t.con if qualified else t.name
    if t.con == "[]" and len(t.args) == 1:
        return "[" + _render(t.args[0], 0, qualified) + "]"
    if _is_tuple_con(t.con) and len(t.args) == len(t.con) - 1:
        # Data.Typeable.Internal.showTypeable shows tuple components with showsPrec 10:
        # (Int,(Maybe Char)), ((Int -> Int),Char).
        return "(" + ",".join(_render(a, 2, qualified) for a in t.args) + ")"
    if t.con == "->" and len(t.args) == 2:
        text = _render(t.args[0], 1, qualified) + " -> " + _render(t.args[1], 0, qualified)
        return f"({text})" if prec > 0 else text
    if t.con == "=>" and len(t.args) == 2:
        text = _render(t.args[0], 1, qualified) + " => " + _render(t.args[1], 0, qualified)
        return f"({text})" if prec > 0 else text
    if t.con == "forall" and len(t.args) == 1:
        text = "forall. " + _render(t.args[0], 0, qualified)
        return f"({text})" if prec > 0 else text
    if not t.args:
        return con
    text = " ".join([con, *(_render(a, 2, qualified) for a in t.args)])
    return f"({text})" if prec > 1 else text


def _is_tuple_con(con: str) -> bool:
    return len(con) >= 3 and con[0] == "(" and con[-1] == ")" and set(con[1:-1]) == {","}


_TOKEN_RE: Final = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<arrow>->|→)
  | (?P<darrow>=>|⇒)
  | (?P<dcolon>::)
  | (?P<forall>forall\b|∀)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<name>'?(?:[A-Z][\w']*\.)*[\w][\w']*\#*|'\[\]|'\(,*\))
  | (?P<punct>\(\#|\#\)|'?[(\[]|[)\],.])
  | (?P<op>'?(?:[A-Z][\w']*\.)*[!#$%&*+/<=>?@\\^|~:-]+)
    """,
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise ValueError(f"cannot parse type {text!r}: unexpected {text[pos:pos + 10]!r}")
        kind = m.lastgroup
        assert kind is not None
        if kind != "space":
            value = m.group()
            if kind == "punct":
                # A promoted list or tuple ('[Int], '(a, b)) parses like the unpromoted one.
                value = value.lstrip("'")
            elif value == "*":
                kind = "name"  # the kind of types, as TypeRep shows it (Proxy * Int)
            tokens.append((kind, value))
        pos = m.end()
    return tokens


class _TypeParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def error(self, what: str) -> ValueError:
        return ValueError(f"cannot parse type {self.text!r}: {what}")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise self.error("unexpected end")
        self.pos += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok[1] != value:
            raise self.error(f"expected {value!r}, found {tok[1]!r}")

    def parse(self) -> HsType:
        t = self.type_()
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return t

    def type_(self) -> HsType:
        tok = self.peek()
        if tok is not None and tok[0] == "forall":
            self.take()
            while (nxt := self.peek()) is not None and nxt[1] != ".":
                self.take()
            self.expect(".")
            return HsType("forall", (self.type_(),))
        left = self.optype()
        tok = self.peek()
        if tok is not None and tok[0] == "arrow":
            self.take()
            return HsType("->", (left, self.type_()))
        if tok is not None and tok[0] == "darrow":
            self.take()
            return HsType("=>", (left, self.type_()))
        return left

    def optype(self) -> HsType:
        # Infix type operators (a :+: b, a ~ b): kept as an application of the operator.
        left = self.btype()
        tok = self.peek()
        if tok is not None and tok[0] == "op":
            self.take()
            return HsType(tok[1], (left, self.optype()))
        return left

    def btype(self) -> HsType:
        head = self.atype()
        args: list[HsType] = []
        while (tok := self.peek()) is not None and (
            tok[0] in ("name", "string") or tok[1] in ("(", "[", "(#")
        ):
            args.append(self.atype())
        if not args:
            return head
        return HsType(head.con, head.args + tuple(args))

    def atype(self) -> HsType:
        kind, value = self.take()
        if kind in ("name", "string", "op"):
            # An operator here heads a prefix application, as TypeRep shows promoted
            # constructors: (': * Int ('[] *)).
            return HsType(value)
        if value == "[":
            if (tok := self.peek()) is not None and tok[1] == "]":
                self.take()
                return HsType("[]")
            inner = self.type_()
            self.expect("]")
            return HsType("[]", (inner,))
        if value in ("(", "(#"):
            close = ")" if value == "(" else "#)"
            tok = self.peek()
            if tok is not None and tok[1] == close:
                self.take()
                return HsType("()" if value == "(" else "(##)")
            if tok is not None and tok[1] == "," and value == "(":
                commas = 0
                while (tok := self.peek()) is not None and tok[1] == ",":
                    self.take()
                    commas += 1
                self.expect(")")
                return HsType("(" + "," * commas + ")")
            after = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else None
            if (tok is not None and tok[0] in ("arrow", "op") and value == "("
                    and after is not None and after[1] == ")"):
                self.take()
                self.take()
                return HsType("->" if tok[0] == "arrow" else tok[1])
            items = [self.type_()]
            while (tok := self.peek()) is not None and tok[1] in (",", "::"):
                self.take()
                if tok[1] == "::":  # a kind signature: keep the type, drop the kind
                    self.type_()
                    continue
                items.append(self.type_())
            self.expect(close)
            if value == "(#":
                return HsType("(#" + "," * (len(items) - 1) + "#)", tuple(items))
            if len(items) == 1:
                return items[0]
            return HsType("(" + "," * (len(items) - 1) + ")", tuple(items))
        raise self.error(f"unexpected {value!r}")


def parse_type(text: str) -> HsType:
    """Parse a type as GHCi renders it (``:type``, ``show (typeOf x)``).

    Handles applications, ``[a]``, tuples, ``()``, parentheses, qualified and unqualified
    names, type-level literals, infix operators, and recognises function arrows, contexts
    and ``forall`` (kept as ``->``/``=>``/``forall`` nodes: see ``HsType.is_opaque``).
    Synonyms are not expanded here (``String`` stays ``String``).

    Raises:
        ValueError: the text is not a type.
    """
    if not text.strip():
        raise ValueError("cannot parse type: empty text")
    return _TypeParser(text).parse()


# ---------------------------------------------------------------------------------------------
# The table of API.md §1.5, in canonical form
#
# A *canonical* type is an ``HsType`` whose constructors are the keys below (plus "[]", "()"
# and the tuple constructors): that is how both the writer and the decoder name table types.

_SCALARS: Final = (
    "Int", "Word", "Int8", "Int16", "Int32", "Int64", "Word8", "Word16", "Word32", "Word64",
    "Integer", "Natural", "Double", "Float", "Bool", "Char",
    "Text", "LazyText", "ByteString", "LazyByteString", "IntSet",
)
_UNARY: Final = ("[]", "Maybe", "Ratio", "Set", "IntMap")
_BINARY: Final = ("Either", "Map")
_MAX_TUPLE: Final = 7

#: Canonical constructor names of the table types (tuples: ``"(,)"`` up to 7 components).
TABLE_TYPE_NAMES: Final = frozenset(
    [*_SCALARS, *_UNARY, *_BINARY, "()"] + ["(" + "," * n + ")" for n in range(1, _MAX_TUPLE)]
)

# The fully qualified Haskell name of each canonical constructor, usable from any GHCi scope
# thanks to -fimplicit-import-qualified (GHCi's default).
_HASKELL_NAMES: Final = {
    "Int": "GHC.Types.Int", "Word": "GHC.Types.Word",
    "Int8": "GHC.Int.Int8", "Int16": "GHC.Int.Int16", "Int32": "GHC.Int.Int32",
    "Int64": "GHC.Int.Int64",
    "Word8": "GHC.Word.Word8", "Word16": "GHC.Word.Word16", "Word32": "GHC.Word.Word32",
    "Word64": "GHC.Word.Word64",
    "Integer": "GHC.Num.Integer.Integer", "Natural": "Numeric.Natural.Natural",
    "Double": "GHC.Types.Double", "Float": "GHC.Types.Float", "Bool": "GHC.Types.Bool",
    "Char": "GHC.Types.Char",
    "Text": "Data.Text.Internal.Text", "LazyText": "Data.Text.Internal.Lazy.Text",
    "ByteString": "Data.ByteString.Internal.ByteString",
    "LazyByteString": "Data.ByteString.Lazy.Internal.ByteString",
    "IntSet": "Data.IntSet.Internal.IntSet", "Maybe": "GHC.Maybe.Maybe",
    "Ratio": "GHC.Real.Ratio", "Set": "Data.Set.Internal.Set",
    "IntMap": "Data.IntMap.Internal.IntMap", "Either": "Data.Either.Either",
    "Map": "Data.Map.Internal.Map",
}

# How Data.Typeable names them (tyConModule, tyConName) in GHC 9.0, with the homes other GHC
# and library versions use, so that a newer interpreter still decodes.
_TYPEABLE_NAMES: Final = {
    ("GHC.Types", "Int"): "Int", ("GHC.Types", "Word"): "Word",
    **{("GHC.Int", f"Int{n}"): f"Int{n}" for n in (8, 16, 32, 64)},
    **{("GHC.Word", f"Word{n}"): f"Word{n}" for n in (8, 16, 32, 64)},
    ("GHC.Num.Integer", "Integer"): "Integer", ("GHC.Integer.Type", "Integer"): "Integer",
    ("GHC.Num.Natural", "Natural"): "Natural", ("GHC.Natural", "Natural"): "Natural",
    ("GHC.Types", "Double"): "Double", ("GHC.Types", "Float"): "Float",
    ("GHC.Types", "Bool"): "Bool", ("GHC.Types", "Char"): "Char",
    ("Data.Text.Internal", "Text"): "Text", ("Data.Text.Internal.Lazy", "Text"): "LazyText",
    ("Data.ByteString.Internal", "ByteString"): "ByteString",
    ("Data.ByteString.Internal.Type", "ByteString"): "ByteString",
    ("Data.ByteString.Lazy.Internal", "ByteString"): "LazyByteString",
    ("Data.IntSet.Internal", "IntSet"): "IntSet",
    ("GHC.Maybe", "Maybe"): "Maybe", ("GHC.Base", "Maybe"): "Maybe",
    ("GHC.Real", "Ratio"): "Ratio", ("Data.Set.Internal", "Set"): "Set",
    ("Data.IntMap.Internal", "IntMap"): "IntMap", ("Data.Either", "Either"): "Either",
    ("Data.Map.Internal", "Map"): "Map",
    ("GHC.Types", "[]"): "[]", ("GHC.Types", "List"): "[]",
    ("GHC.Tuple", "()"): "()", ("GHC.Tuple", "Unit"): "()", ("GHC.Tuple.Prim", "Unit"): "()",
    **{("GHC.Tuple", "(" + "," * n + ")"): "(" + "," * n + ")" for n in range(1, _MAX_TUPLE)},
    **{("GHC.Tuple.Prim", f"Tuple{n + 1}"): "(" + "," * n + ")" for n in range(1, _MAX_TUPLE)},
}

_ARITY: Final = {
    **{k: 0 for k in _SCALARS}, **{k: 1 for k in _UNARY}, **{k: 2 for k in _BINARY}, "()": 0,
    **{"(" + "," * n + ")": n + 1 for n in range(1, _MAX_TUPLE)},
}


def _check_canonical(t: HsType) -> bool:
    return all(_ARITY.get(n.con, -1) == len(n.args) for n in t.walk())


def haskell_type_name(t: HsType) -> str:
    """The fully qualified Haskell text of a canonical table type (``[GHC.Types.Int]``).

    Raises:
        ValueError: ``t`` is not a canonical table type.
    """
    if not _check_canonical(t):
        raise ValueError(f"not a table type: {t.render()}")
    return _qualified_text(t, 0)


def _qualified_text(t: HsType, prec: int) -> str:
    if t.con == "[]":
        return "[" + _qualified_text(t.args[0], 0) + "]"
    if t.con == "()":
        return "()"
    if _is_tuple_con(t.con):
        return "(" + ", ".join(_qualified_text(a, 0) for a in t.args) + ")"
    name = _HASKELL_NAMES[t.con]
    if not t.args:
        return name
    text = " ".join([name, *(_qualified_text(a, 1) for a in t.args)])
    return f"({text})" if prec > 0 else text


# TypeRep names of the canonical constructors, for rendering the type of a Python value.
_TYPEREP_NAMES: Final = {"LazyText": "Text", "LazyByteString": "ByteString"}


def _render_typerep(t: HsType) -> str:
    def rename(n: HsType) -> HsType:
        return HsType(_TYPEREP_NAMES.get(n.con, n.con), tuple(rename(a) for a in n.args))
    return rename(t).render()


def normalise_type_rep(text: str) -> str:
    """A canonical spelling of a type, for comparing types written in different ways.

    Module qualifiers are dropped, ``String``/``FilePath`` become ``[Char]``, ``Rational``
    becomes ``Ratio Integer``, spaces and redundant parentheses are normalised — so
    ``normalise_type_rep("Data.Map.Internal.Map String  (Int)") == "Map [Char] Int"``, which
    is also how GHC's ``TypeRep`` renders it. Text that does not parse as a type is returned
    with its white space collapsed.
    """
    try:
        t = parse_type(text)
    except ValueError:
        return " ".join(text.split())
    return _expand_synonyms(t).render(qualified=False)


_SYNONYMS: Final = {
    "String": HsType("[]", (HsType("Char"),)),
    "FilePath": HsType("[]", (HsType("Char"),)),
    "Rational": HsType("Ratio", (HsType("Integer"),)),
}


def _expand_synonyms(t: HsType) -> HsType:
    args = tuple(_expand_synonyms(a) for a in t.args)
    if not args and t.name in _SYNONYMS and t.qualifier in ("", "Prelude", "GHC.Base",
                                                             "GHC.Real", "System.IO",
                                                             "GHC.IO"):
        return _SYNONYMS[t.name]
    return HsType(t.con, args)


def _from_typeable(tree: _Tree) -> HsType | None:
    """The canonical type of a Typeable tree, or None when it is not all table types."""
    key = _TYPEABLE_NAMES.get((tree.module, tree.name))
    if key is None or _ARITY[key] != len(tree.args):
        return None
    args: list[HsType] = []
    for a in tree.args:
        c = _from_typeable(a)
        if c is None:
            return None
        args.append(c)
    return HsType(key, tuple(args))


# ---------------------------------------------------------------------------------------------
# Decoding


@dataclass(frozen=True, slots=True)
class _Tree:
    module: str
    name: str
    args: tuple[_Tree, ...]


class _LazyShow:
    """Renders GHC's ``show`` text of a decoded payload on first use."""

    __slots__ = ("_ctype", "_order", "_payload", "_start")

    def __init__(self, payload: bytes, start: int, ctype: HsType, order: str) -> None:
        self._payload = payload
        self._start = start
        self._ctype = ctype
        self._order = order

    def __call__(self) -> str:
        # A second, order-preserving decode: Set and Map keep GHC's (ascending) order, which
        # frozenset and hashed keys would lose.
        ordered = _decode_body(self._payload, self._start, self._ctype, self._order,
                               ordered=True)
        return show_value(ordered, self._ctype)


@dataclass(frozen=True, slots=True, eq=False, init=False)
class DecodedValue:
    """One value that came out of a GHCi session.

    ``type_rep`` is GHC's ``show (typeOf x)``; ``value`` the Python value (``None`` when the
    type is not in the table, see API.md §1.5); ``show`` GHC's ``show`` text (``None`` without
    a ``Show`` instance); ``has_show`` whether ``show`` is available. For table types
    ``show`` is rebuilt on first access, exactly as GHC prints it (until then the payload is
    kept, since a Set's or Map's order is GHC's, not Python's).

    ``DecodedValue(type_rep, value, show, has_show)``: ``show`` may also be a function that
    computes the text on first access; ``has_show`` defaults to ``show is not None``.
    Equality compares all four; the hash fails when ``value`` is unhashable (a list).
    """

    type_rep: str
    value: object
    has_show: bool
    _show: str | Callable[[], str] | None

    def __init__(self, type_rep: str, value: object, show: str | Callable[[], str] | None,
                 has_show: bool | None = None) -> None:
        object.__setattr__(self, "type_rep", type_rep)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "has_show", show is not None if has_show is None else has_show)
        object.__setattr__(self, "_show", show)

    @property
    def show(self) -> str | None:
        s = self._show
        if callable(s):
            s = s()
            # Frozen, but a cache of a pure function of the fields is not a visible change.
            object.__setattr__(self, "_show", s)
        return s

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DecodedValue):
            return NotImplemented
        return (self.type_rep, self.has_show, self.value, self.show) == (
            other.type_rep, other.has_show, other.value, other.show)

    def __hash__(self) -> int:
        return hash((self.type_rep, self.has_show, self.value, self.show))

    def __repr__(self) -> str:
        return (f"DecodedValue(type_rep={self.type_rep!r}, value={self.value!r}, "
                f"has_show={self.has_show!r})")


_MAX_TREE_DEPTH: Final = 64
_MAX_TREE_NODES: Final = 10_000
_TERMINATOR: Final = b"\xff"
_SEMICOLON: Final = b";"


class _Reader:
    """A cursor over ``data[pos:end]`` (the whole payload: no copies of what is left)."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data = data
        self.pos = pos
        self.end = end

    def take(self, n: int) -> int:
        """Advance by ``n`` bytes; return where they start."""
        start = self.pos
        if n < 0 or start + n > self.end:
            raise ValueError(f"payload truncated: need {n} bytes at offset {start}, "
                             f"{self.end - start} left")
        self.pos = start + n
        return start

    def byte(self) -> int:
        return self.data[self.take(1)]

    def until(self, terminator: bytes) -> bytes:
        """The bytes up to (not including) ``terminator``; consumes the terminator."""
        start = self.pos
        idx = self.data.find(terminator, start, self.end)
        if idx < 0:
            raise ValueError(f"payload truncated: no terminator {terminator!r} after "
                             f"offset {start}")
        self.pos = idx + 1
        return self.data[start:idx]


def _utf8(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise ValueError(f"payload {what} is not UTF-8: {exc}") from None


def _read_int(r: _Reader, order: str) -> int:
    start = r.take(8)
    return int.from_bytes(r.data[start:start + 8], "little" if order == "<" else "big",
                          signed=True)


@dataclass(frozen=True, slots=True)
class _Header:
    order: str
    kind: str
    type_rep: str
    tree: _Tree
    body_start: int


def _read_header(data: bytes) -> _Header:
    if len(data) < 13 or data[:4] != PAYLOAD_MAGIC:
        raise ValueError("not a value payload (bad magic; expected format HSV1)")
    one = data[4:12]
    if one == b"\x01" + b"\x00" * 7:
        order = "<"
    elif one == b"\x00" * 7 + b"\x01":
        order = ">"
    else:
        raise ValueError("value payload from an interpreter whose Int is not 64 bits")
    kind = chr(data[12])
    if kind not in "VSO":
        raise ValueError(f"value payload of unknown kind {kind!r}")
    r = _Reader(data, 13, len(data))
    type_rep = _utf8(r.until(_TERMINATOR), "type")
    # The tree's counts are written in host order like everything else.
    tree = _read_tree(r, order)
    return _Header(order, kind, type_rep, tree, r.pos)


def _read_tree(r: _Reader, order: str) -> _Tree:
    budget = [_MAX_TREE_NODES]

    def go(depth: int) -> _Tree:
        if depth > _MAX_TREE_DEPTH:
            raise ValueError("payload type is nested too deeply")
        budget[0] -= 1
        if budget[0] < 0:
            raise ValueError("payload type is too large")
        module = _utf8(r.until(_TERMINATOR), "type module")
        name = _utf8(r.until(_TERMINATOR), "type name")
        argc = _read_int(r, order)
        if not 0 <= argc <= 64:
            raise ValueError(f"payload type has a bad argument count ({argc})")
        return _Tree(module, name, tuple(go(depth + 1) for _ in range(argc)))

    return go(0)


def decode_value(payload: bytes) -> DecodedValue:
    """Decode the bytes a writer statement produced (format: see the module docstring).

    Raises:
        ValueError: the payload is malformed, truncated, has trailing bytes, or its body does
            not fit its type. Nothing else escapes (no recursion or memory blow-up: counts
            are checked against the bytes present before anything is allocated).
    """
    data = payload if type(payload) is bytes else bytes(payload)
    try:
        header = _read_header(data)
        start = header.body_start
        if header.kind == "O":
            if len(data) > start:
                raise ValueError("opaque value payload has a body")
            return DecodedValue(header.type_rep, None, None, False)
        if header.kind == "S":
            return DecodedValue(header.type_rep, None, _utf8(data[start:], "show text"), True)
        ctype = _from_typeable(header.tree)
        if ctype is None:
            raise ValueError(f"value payload of a type outside the table: {header.type_rep}")
        value = _decode_body(data, start, ctype, header.order, ordered=False)
        return DecodedValue(header.type_rep, value, _LazyShow(data, start, ctype, header.order),
                            True)
    except RecursionError:
        raise ValueError("value payload is nested too deeply") from None
    except (struct.error, OverflowError, MemoryError) as exc:
        raise ValueError(f"malformed value payload: {exc}") from None


def _to_char(n: int) -> str:
    if not 0 <= n <= 0x10FFFF:
        raise ValueError(f"payload has an invalid Char code point {n}")
    return chr(n)


def _to_bool(n: int) -> bool:
    if n not in (0, 1):
        raise ValueError(f"payload has an invalid Bool byte {n}")
    return n == 1


def _to_unit(n: int) -> None:
    if n != 0:
        raise ValueError(f"payload has an invalid () byte {n}")


# Fixed-size types: struct code, and a converter from the unpacked number (None: as is).
_FIXED: Final[dict[str, tuple[str, Callable[[Any], object] | None]]] = {
    "Int": ("q", None), "Int64": ("q", None), "Word": ("Q", None), "Word64": ("Q", None),
    "Int8": ("b", None), "Int16": ("h", None), "Int32": ("i", None),
    "Word8": ("B", None), "Word16": ("H", None), "Word32": ("I", None),
    "Double": ("d", None), "Float": ("f", None),
    "Char": ("q", _to_char), "Bool": ("B", _to_bool), "()": ("B", _to_unit),
}


def _fixed_fields(t: HsType) -> list[tuple[str, Callable[[Any], object] | None]] | None:
    """The flat struct fields of a fixed-size type, or None when its size varies."""
    if t.con in _FIXED:
        return [_FIXED[t.con]]
    if _is_tuple_con(t.con):
        fields: list[tuple[str, Callable[[Any], object] | None]] = []
        for a in t.args:
            sub = _fixed_fields(a)
            if sub is None:
                return None
            fields += sub
        return fields
    return None


def _min_size(t: HsType) -> int:
    """A lower bound on the encoded size of a value of ``t`` (always >= 1)."""
    fields = _fixed_fields(t)
    if fields is not None:
        return max(1, struct.calcsize("<" + "".join(f for f, _ in fields)))
    if t.con in ("Integer", "Natural"):
        return 2
    if t.con in ("Text", "LazyText") or (t.con == "[]" and t.args[0].con == "Char"):
        return 1
    if t.con in ("Maybe", "Either"):
        return 1
    if _is_tuple_con(t.con):
        return max(1, sum(_min_size(a) for a in t.args))
    if t.con == "Ratio":
        return 2 * _min_size(t.args[0])
    return 8  # counted things: lists, maps, sets, byte strings


def _assembler(t: HsType) -> Callable[[Sequence[Any]], object]:
    """Build a value of fixed-size type ``t`` from its flat unpacked fields."""
    fields = _fixed_fields(t)
    assert fields is not None
    if len(fields) == 1 and not _is_tuple_con(t.con):
        conv = fields[0][1]
        if conv is None:
            return lambda fs: fs[0]
        return lambda fs: conv(fs[0])

    # Nested tuples: a plan of (start, sub-assembler) per component.
    plan: list[tuple[int, int, Callable[[Sequence[Any]], object]]] = []
    offset = 0
    for a in t.args:
        n = len(_fixed_fields(a) or [])
        plan.append((offset, offset + n, _assembler(a)))
        offset += n
    if all(not _is_tuple_con(a.con) and _FIXED[a.con][1] is None for a in t.args):
        return tuple
    return lambda fs: tuple(sub(fs[lo:hi]) for lo, hi, sub in plan)


# array.array reads a packed run at C speed when its item size is the standard one.
_ARRAY_CODES: Final = frozenset(
    code for code in "bBhHiIqQfd" if array(code).itemsize == struct.calcsize("<" + code))


def _fixed_sequence(raw: memoryview, t: HsType, order: str) -> list[Any]:
    """All elements of a packed run of fixed-size ``t`` values."""
    fields = _fixed_fields(t)
    assert fields is not None
    fmt = order + "".join(f for f, _ in fields)
    size = struct.calcsize(fmt)
    if len(raw) % size:
        raise ValueError(f"payload list of {t.render()} has {len(raw)} bytes, "
                         f"not a multiple of {size}")
    if len(fields) == 1 and fields[0][0] in _ARRAY_CODES:
        arr = array(fields[0][0])
        arr.frombytes(raw)
        if (order == "<") != (sys.byteorder == "little"):
            arr.byteswap()
        items: list[Any] = arr.tolist()
        conv = fields[0][1]
        return items if conv is None else [conv(x) for x in items]
    assemble = _assembler(t)
    it = struct.iter_unpack(fmt, raw)
    if assemble is tuple:
        return list(it)
    return [assemble(fs) for fs in it]


_DECIMAL_RE: Final = re.compile(rb"-?[0-9]+")


def _decimal(text: bytes, natural: bool) -> int:
    if _DECIMAL_RE.fullmatch(text) is None or (natural and text.startswith(b"-")):
        raise ValueError(f"payload has a malformed integer {text[:40]!r}")
    return _parse_decimal(text.decode("ascii"))


def _parse_decimal(s: str) -> int:
    # Python 3.11 refuses int(s) beyond 4300 digits (CVE-2020-10735 guard); split huge
    # numbers instead of changing the interpreter-wide limit.
    if len(s) <= 4000:
        return int(s)
    if s[0] == "-":
        return -_parse_decimal(s[1:])
    half = len(s) // 2
    low_digits = len(s) - half
    return _parse_decimal(s[:half]) * _pow10(low_digits) + _parse_decimal(s[half:])


def _pow10(n: int) -> int:
    result: int = 10 ** n
    return result


_DECIMAL_LIMIT: Final = 10 ** 4000


def _to_decimal(n: int) -> str:
    if -_DECIMAL_LIMIT < n < _DECIMAL_LIMIT:
        return str(n)
    if n < 0:
        return "-" + _to_decimal(-n)
    k = 4000
    while 10 ** (2 * k) <= n:
        k *= 2
    high, low = divmod(n, 10 ** k)
    return _to_decimal(high) + _to_decimal(low).rjust(k, "0")


def _freeze(v: object) -> object:
    """A hashable stand-in for a Map key / Set element that Python cannot hash."""
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return tuple((k, _freeze(x)) for k, x in v.items())
    if isinstance(v, Just):
        return Just(_freeze(v.value))
    if isinstance(v, Left):
        return Left(_freeze(v.value))
    if isinstance(v, Right):
        return Right(_freeze(v.value))
    return v


def _needs_freeze(t: HsType) -> bool:
    return any(n.con in ("[]", "Map", "IntMap") and not (n.con == "[]" and
                                                         n.args[0].con == "Char")
               for n in t.walk())


Decoder = Callable[[_Reader], object]


def _decoder(t: HsType, order: str, ordered: bool) -> Decoder:
    """A function reading one ``enc(t)`` from a reader (``ordered``: Sets and Maps as lists)."""
    con = t.con
    fields = _fixed_fields(t)
    if fields is not None:
        st = struct.Struct(order + "".join(f for f, _ in fields))
        assemble = _assembler(t)
        size = st.size

        def fixed(r: _Reader) -> object:
            return assemble(st.unpack_from(r.data, r.take(size)))
        return fixed
    if con in ("Integer", "Natural"):
        natural = con == "Natural"
        return lambda r: _decimal(r.until(_SEMICOLON), natural)
    if con in ("Text", "LazyText"):
        return lambda r: _utf8(r.until(_TERMINATOR), "text")
    if con in ("ByteString", "LazyByteString"):
        def bytestring(r: _Reader) -> object:
            n = _read_int(r, order)
            start = r.take(n)
            return r.data[start:start + n]
        return bytestring
    if con == "[]":
        elem = t.args[0]
        if elem.con == "Char":
            return lambda r: _utf8(r.until(_TERMINATOR), "string")
        return _counted(elem, order, ordered, lambda items: items)
    if con == "Maybe":
        inner = _decoder(t.args[0], order, ordered)

        def maybe(r: _Reader) -> object:
            tag = r.byte()
            if tag == ord("N"):
                return Nothing
            if tag == ord("J"):
                return Just(inner(r))
            raise ValueError(f"payload has an invalid Maybe tag {tag}")
        return maybe
    if con == "Either":
        left, right = (_decoder(a, order, ordered) for a in t.args)

        def either(r: _Reader) -> object:
            tag = r.byte()
            if tag == ord("L"):
                return Left(left(r))
            if tag == ord("R"):
                return Right(right(r))
            raise ValueError(f"payload has an invalid Either tag {tag}")
        return either
    if _is_tuple_con(con):
        parts = [_decoder(a, order, ordered) for a in t.args]
        return lambda r: tuple(p(r) for p in parts)
    if con == "Ratio":
        part = _decoder(t.args[0], order, ordered)

        def ratio(r: _Reader) -> object:
            num, den = part(r), part(r)
            assert isinstance(num, int) and isinstance(den, int)
            if den == 0:
                raise ValueError("payload has a Ratio with denominator 0")
            return Fraction(num, den)
        return ratio
    if con in ("Map", "IntMap"):
        key_t = HsType("Int") if con == "IntMap" else t.args[0]
        pair = HsType("(,)", (key_t, t.args[-1]))
        if ordered:
            return _counted(pair, order, ordered, lambda items: items)
        if _needs_freeze(key_t):
            return _counted(pair, order, ordered,
                            lambda items: {_freeze(k): v for k, v in items})
        return _counted(pair, order, ordered, dict)
    if con in ("Set", "IntSet"):
        elem = HsType("Int") if con == "IntSet" else t.args[0]
        if ordered:
            return _counted(elem, order, ordered, lambda items: items)
        if _needs_freeze(elem):
            return _counted(elem, order, ordered, lambda items: frozenset(map(_freeze, items)))
        return _counted(elem, order, ordered, frozenset)
    raise ValueError(f"payload of unsupported type {t.render()}")  # pragma: no cover


def _counted(elem: HsType, order: str, ordered: bool,
             build: Callable[[list[Any]], object]) -> Decoder:
    """A decoder for an 8-byte count followed by that many ``enc(elem)``."""
    min_size = _min_size(elem)
    fixed = _fixed_fields(elem) is not None
    size = struct.calcsize("<" + "".join(f for f, _ in _fixed_fields(elem) or []))
    inner = None if fixed else _decoder(elem, order, ordered)

    def counted(r: _Reader) -> object:
        n = _read_int(r, order)
        if n < 0 or n * min_size > r.end - r.pos:
            raise ValueError(f"payload count {n} does not fit the {r.end - r.pos} bytes left")
        if inner is None:
            start = r.take(n * size)
            raw = memoryview(r.data)[start:start + n * size]
            return build(_fixed_sequence(raw, elem, order))
        return build([inner(r) for _ in range(n)])
    return counted


def _decode_body(payload: bytes, start: int, t: HsType, order: str, *,
                 ordered: bool) -> object:
    if t.con == "[]" and t.args[0].con != "Char" and _fixed_fields(t.args[0]) is not None:
        # Top-level list of fixed-size elements: no count, they run to the end.
        return _fixed_sequence(memoryview(payload)[start:], t.args[0], order)
    r = _Reader(payload, start, len(payload))
    value = _decoder(t, order, ordered)(r)
    if r.pos != r.end:
        raise ValueError(f"value payload has {r.end - r.pos} trailing bytes")
    return value


# ---------------------------------------------------------------------------------------------
# GHC's show, for table types


def show_value(value: object, t: HsType, prec: int = 0) -> str:
    """GHC's ``showsPrec prec`` text of ``value``, a Python value of canonical table type
    ``t`` (Sets and Maps may also be given as lists / lists of pairs in GHC's order).

    Raises:
        ValueError: the value does not fit the type.
    """
    try:
        return _shows(value, t, prec)
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"value does not fit type {t.render()}: {exc}") from None


def _paren(cond: bool, text: str) -> str:
    return f"({text})" if cond else text


_INT_CONS: Final = frozenset(
    ["Int", "Word", "Int8", "Int16", "Int32", "Int64", "Word8", "Word16", "Word32", "Word64",
     "Integer", "Natural"])


def _shows(v: object, t: HsType, p: int) -> str:
    con = t.con
    if con in _INT_CONS:
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"expected int, got {type(v).__name__}")
        return _paren(p > 6 and v < 0, _to_decimal(v))
    if con == "Double":
        assert isinstance(v, float)
        return _show_float(v, p, double=True)
    if con == "Float":
        assert isinstance(v, float)
        return _show_float(v, p, double=False)
    if con == "Bool":
        if not isinstance(v, bool):
            raise TypeError("expected bool")
        return "True" if v else "False"
    if con == "()":
        if v is not None:
            raise TypeError("expected None")
        return "()"
    if con == "Char":
        assert isinstance(v, str) and len(v) == 1
        return "'\\''" if v == "'" else "'" + _show_lit_string(v, in_char=True) + "'"
    if con in ("Text", "LazyText"):
        assert isinstance(v, str)
        return '"' + _show_lit_string(v) + '"'
    if con in ("ByteString", "LazyByteString"):
        assert isinstance(v, (bytes, bytearray))
        return '"' + _show_lit_string(bytes(v).decode("latin-1")) + '"'
    if con == "[]":
        elem = t.args[0]
        if elem.con == "Char":
            if not isinstance(v, str):
                raise TypeError("expected str")
            return '"' + _show_lit_string(v) + '"'
        return _show_list(_as_list(v), elem)
    if _is_tuple_con(con):
        assert isinstance(v, tuple) and len(v) == len(t.args)
        return "(" + ",".join(_shows(x, a, 0) for x, a in zip(v, t.args, strict=True)) + ")"
    if con == "Maybe":
        if v is Nothing:
            return "Nothing"
        if not isinstance(v, Just):
            raise TypeError("expected Just or Nothing")
        return _paren(p > 10, "Just " + _shows(v.value, t.args[0], 11))
    if con == "Either":
        if isinstance(v, Left):
            return _paren(p > 10, "Left " + _shows(v.value, t.args[0], 11))
        if isinstance(v, Right):
            return _paren(p > 10, "Right " + _shows(v.value, t.args[1], 11))
        raise TypeError("expected Left or Right")
    if con == "Ratio":
        assert isinstance(v, Fraction)
        # GHC.Real: showsPrec p (x :% y) = showParen (p > 7) $ showsPrec 8 x . " % " . ...
        return _paren(p > 7, _shows(v.numerator, t.args[0], 8) + " % "
                      + _shows(v.denominator, t.args[0], 8))
    if con in ("Map", "IntMap"):
        key_t = HsType("Int") if con == "IntMap" else t.args[0]
        items = list(v.items()) if isinstance(v, dict) else _as_list(v)
        pair = HsType("(,)", (key_t, t.args[-1]))
        return _paren(p > 10, "fromList " + _show_list(items, pair))
    if con in ("Set", "IntSet"):
        elem = HsType("Int") if con == "IntSet" else t.args[0]
        items = _as_list(v)
        if isinstance(v, (set, frozenset)):
            items = _sorted_for_show(items)
        return _paren(p > 10, "fromList " + _show_list(items, elem))
    raise TypeError(f"not a table type: {t.render()}")


def _as_list(v: object) -> list[Any]:
    if isinstance(v, (list, tuple)):
        return list(v)
    if isinstance(v, (set, frozenset)):
        return list(v)
    raise TypeError(f"expected a sequence, got {type(v).__name__}")


def _sorted_for_show(items: list[Any]) -> list[Any]:
    # A Python set has no order; GHC shows a Set ascending. Python's order agrees with
    # Haskell's Ord for the table's scalars and sequences; anything else keeps set order.
    try:
        return sorted(items)
    except TypeError:
        return items


def _show_list(items: list[Any], elem: HsType) -> str:
    if elem.con == "Char":
        # showList for Char is a string literal (show (Data.Set.fromList "ab") is
        # fromList "ab").
        return '"' + _show_lit_string("".join(items)) + '"'
    if elem.con in _INT_CONS and all(type(x) is int for x in items):
        # showList for integral types: no parentheses around negatives inside brackets.
        return "[" + ",".join(map(_to_decimal, items)) + "]"
    return "[" + ",".join(_shows(x, elem, 0) for x in items) + "]"


# showLitChar's table of control-character names (GHC.Show.asciiTab).
_ASCII_NAMES: Final = (
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
    "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB",
    "ESC", "FS", "GS", "RS", "US", "SP",
)
_CHAR_ESCAPES: Final = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
    "\v": "\\v", "\\": "\\\\", "\x7f": "\\DEL",
}
_NEEDS_ESCAPE_RE: Final = re.compile(r'[^\x20-\x7e]|["\\]')


def _show_lit_string(s: str, *, in_char: bool = False) -> str:
    """GHC.Show.showLitString (``in_char``: showLitChar of one Char, where '"' is plain)."""
    if _NEEDS_ESCAPE_RE.search(s) is None:
        return s

    def escape(m: re.Match[str]) -> str:
        c = m.group()
        o = ord(c)
        nxt = m.string[m.end():m.end() + 1]
        if c == '"':
            return '"' if in_char else '\\"'
        if o > 0x7F:
            # A numeric escape followed by a digit gets "\&" (protectEsc isDigit).
            return f"\\{o}" + ("\\&" if nxt.isascii() and nxt.isdigit() else "")
        if c in _CHAR_ESCAPES:
            return _CHAR_ESCAPES[c]
        if c == "\x0e":
            # "\SO" followed by 'H' would read back as "\SOH" (protectEsc (== 'H')).
            return "\\SO" + ("\\&" if nxt == "H" else "")
        return "\\" + _ASCII_NAMES[o]

    return _NEEDS_ESCAPE_RE.sub(escape, s)


def _show_float(x: float, p: int, *, double: bool) -> str:
    # GHC.Float: showSignedFloat (parentheses when p > 6 and x < 0 or -0.0) over
    # formatRealFloat FFGeneric Nothing, whose digits come from floatToDigits 10.
    if x != x:
        return "NaN"
    if x in (math.inf, -math.inf):
        return _paren(p > 6, "-Infinity") if x < 0 else "Infinity"
    negative = x < 0 or (x == 0 and math.copysign(1.0, x) < 0)
    ds, e = _float_digits(-x if negative else x, double=double)
    if e < 0 or e > 7:  # FFExponent
        if ds == "0":
            text = "0.0e0"
        elif len(ds) == 1:
            text = f"{ds}.0e{e - 1}"
        else:
            text = f"{ds[0]}.{ds[1:]}e{e - 1}"
    elif e <= 0:  # FFFixed, below 1
        text = "0." + "0" * -e + ds
    else:
        if len(ds) < e:
            ds += "0" * (e - len(ds))
        text = ds[:e] + "." + (ds[e:] or "0")
    if negative:
        return f"(-{text})" if p > 6 else "-" + text
    return text


_F64: Final = struct.Struct("<d")
_U64: Final = struct.Struct("<Q")
_F32: Final = struct.Struct("<f")
_U32: Final = struct.Struct("<I")
_MIN_NORMAL: Final = 2.2250738585072014e-308


def _decompose(x: float, *, double: bool) -> tuple[int, int]:
    """(f, e) with x == f * 2**e, as GHC's floatToDigits has them after its denormal fix-up:
    f has the full precision except for denormals, whose exponent is the minimum."""
    if double:
        bits = _U64.unpack(_F64.pack(x))[0]
        exp, frac = (bits >> 52) & 0x7FF, bits & ((1 << 52) - 1)
        return (frac, -1074) if exp == 0 else (frac | (1 << 52), exp - 1075)
    bits = _U32.unpack(_F32.pack(x))[0]
    exp, frac = (bits >> 23) & 0xFF, bits & ((1 << 23) - 1)
    return (frac, -149) if exp == 0 else (frac | (1 << 23), exp - 150)


def _float_digits(x: float, *, double: bool) -> tuple[str, int]:
    """GHC.Float.floatToDigits 10 for a non-negative finite x: digits d1..dn and exponent
    e with x ~ 0.d1..dn * 10**e (the shortest digits that read back as x, with GHC's rule
    that a rounding boundary itself is never used)."""
    if not double:
        x = _F32.unpack(_F32.pack(x))[0]
    if x == 0:
        return "0", 0
    if double:
        fast = _repr_digits(x)
        if fast is not None:
            return fast
    return _burger_dybvig(*_decompose(x, double=double), precision=53 if double else 24,
                          min_exp=-1074 if double else -149)


def _repr_digits(x: float) -> tuple[str, int] | None:
    # Python's repr also gives the shortest digits that read back as x, but it differs from
    # GHC in two corners, which are detected exactly here (None: use the full algorithm):
    # * a tie between two nearest candidates: repr rounds half to even, GHC up
    #   (1110976277310404.25 is "...404.2" in Python, "...404.3" in GHC);
    # * a rounding boundary: repr may use one that round-half-even maps back to x (even
    #   mantissa), GHC never does (show (1.0e23 :: Double) == "9.999999999999999e22").
    # Both need x or the boundary to end exactly one decimal place after repr's last
    # digit, which the cheap tests below rule out for almost every number.
    mant, _, exp = repr(x).partition("e")
    whole, _, frac = mant.partition(".")
    if frac == "0":
        frac = ""
    digits = (whole + frac).lstrip("0")
    q = (int(exp) if exp else 0) - len(frac)  # the power of ten of the last digit
    stripped = digits.rstrip("0")
    q += len(digits) - len(stripped)
    digits = stripped
    num, den = x.as_integer_ratio()
    x_places = den.bit_length() - 1  # decimal places of x's exact expansion
    if (q <= 0 and x_places == 1 - q) or (q >= 1 and x_places == 0):
        distance = abs(Fraction(num, den) - int(digits) * Fraction(10) ** q)
        if distance * 2 == Fraction(10) ** q:
            return None
    e = math.frexp(x)[1] - 53 if x >= _MIN_NORMAL else -1074
    if (e <= 1 and -q in (1 - e, 2 - e)) or (e >= 1 and q >= 0):
        f, e = _decompose(x, double=True)
        if f % 2 == 0:
            decimal = int(digits) * Fraction(10) ** q
            high = Fraction(2 * f + 1) * Fraction(2) ** (e - 1)
            low = (Fraction(4 * f - 1) * Fraction(2) ** (e - 2) if f == 1 << 52 and e > -1074
                   else Fraction(2 * f - 1) * Fraction(2) ** (e - 1))
            if decimal in (low, high):
                return None
    return digits, len(digits) + q


def _burger_dybvig(f: int, e: int, *, precision: int, min_exp: int) -> tuple[str, int]:
    # The free-format algorithm of Burger & Dybvig as GHC.Float.floatToDigits runs it:
    # r/s is the value, m_up/m_dn the distances to the rounding boundaries (both excluded).
    p = precision
    if e >= 0:
        be = 1 << e
        if f == 1 << (p - 1):
            r, s, m_up, m_dn = f * be * 4, 4, be * 2, be
        else:
            r, s, m_up, m_dn = f * be * 2, 2, be, be
    elif e > min_exp and f == 1 << (p - 1):
        r, s, m_up, m_dn = f * 4, (1 << (-e + 1)) * 2, 2, 1
    else:
        r, s, m_up, m_dn = f * 2, (1 << -e) * 2, 1, 1
    # k: GHC's estimate from log10 2 ~ 8651/28738 (quot truncates), then the fix-up.
    lx = f.bit_length() - 1 + e
    k1 = int(lx * 8651 / 28738) if lx >= 0 else -((-lx * 8651) // 28738)
    k = k1 + 1 if lx >= 0 else k1
    while True:
        if k >= 0:
            if r + m_up <= 10 ** k * s:
                break
        elif 10 ** (-k) * (r + m_up) <= s:
            break
        k += 1
    if k >= 0:
        s *= 10 ** k
    else:
        scale = 10 ** (-k)
        r, m_up, m_dn = r * scale, m_up * scale, m_dn * scale
    digits: list[int] = []
    while True:
        d, r = divmod(r * 10, s)
        m_up *= 10
        m_dn *= 10
        low, high = r < m_dn, r + m_up > s
        if low and not high:
            digits.append(d)
            break
        if high and not low:
            digits.append(d + 1)
            break
        if low and high:
            digits.append(d if r * 2 < s else d + 1)
            break
        digits.append(d)
    return "".join(map(str, digits)), k


# ---------------------------------------------------------------------------------------------
# Python -> Haskell


_BOUNDS: Final = {
    "Int": (-(1 << 63), (1 << 63) - 1), "Int64": (-(1 << 63), (1 << 63) - 1),
    "Int8": (-(1 << 7), (1 << 7) - 1), "Int16": (-(1 << 15), (1 << 15) - 1),
    "Int32": (-(1 << 31), (1 << 31) - 1),
    "Word": (0, (1 << 64) - 1), "Word64": (0, (1 << 64) - 1), "Word8": (0, 255),
    "Word16": (0, (1 << 16) - 1), "Word32": (0, (1 << 32) - 1),
}
_UNKNOWN: Final = HsType("?")


def _resolve_written(t: HsType) -> HsType:
    """A type as a user writes it (``String``, ``Data.Text.Text``, ``M.Map k v``) to its
    canonical table form; ``Text``/``ByteString`` without a telling qualifier are strict.

    Raises:
        ValueError: a constructor outside the table.
    """
    name, qual = t.name, t.qualifier
    args = tuple(_resolve_written(a) for a in t.args)
    if not args and name in _SYNONYMS:
        return _SYNONYMS[name]
    if name in ("Text", "ByteString"):
        lazy = "Lazy" in qual
        return HsType(("Lazy" if lazy else "") + name, args)
    canonical = name if name in _ARITY else {"List": "[]", "Rational": "Ratio"}.get(name, "")
    if not canonical or _ARITY[canonical] != len(args):
        raise ValueError(f"type {t.render()} is not a supported type of the value table "
                         "(API.md §1.5)")
    return HsType(canonical, args)


def python_to_haskell(value: object, haskell_type: str | None = None) -> tuple[str, str]:
    """A Python value of the table as (Haskell expression, its type in TypeRep rendering).

    The expression uses only fully qualified names, char literals and list/tuple syntax —
    no numeric or string literals — so it means the same under ``NoImplicitPrelude``,
    ``RebindableSyntax`` and ``OverloadedStrings`` in any import context; it carries a type
    annotation, so no defaulting is involved. Without ``haskell_type``: ``int`` → ``Integer``,
    ``bool`` → ``Bool``, ``float`` → ``Double``, ``str`` → ``[Char]``, ``bytes`` → strict
    ``ByteString``, ``None`` → ``()``, ``list`` → list (element types unified: ``[1, 2.5]``
    is ``[Double]``), ``tuple`` → tuple, ``Just``/``Nothing``/``Left``/``Right``,
    ``dict`` → ``Map``, ``set``/``frozenset`` → ``Set``, ``Fraction`` → ``Rational``.
    ``haskell_type`` (e.g. ``"Int"``, ``"[Word8]"``, ``"Data.Text.Text"``, ``"Maybe Char"``)
    chooses the representation; it is required where the value does not say (empty
    containers, ``Nothing``, one side of an ``Either``).

    Raises:
        ValueError: the value (or part of it) is not in the table, does not fit
            ``haskell_type`` (out of range, wrong shape), or its type is not determined.
    """
    if haskell_type is not None:
        target = _resolve_written(parse_type(haskell_type))
    else:
        target = _infer(value)
    if any(n is _UNKNOWN or n.con == "?" for n in target.walk()):
        raise ValueError(f"the Haskell type of {_short_repr(value)} is not determined "
                         f"({_render_typerep(target)}); pass haskell_type")
    expr = _expr(value, target)
    return f"({expr} :: {haskell_type_name(target)})", _render_typerep(target)


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _infer(v: object) -> HsType:
    if isinstance(v, bool):
        return HsType("Bool")
    if isinstance(v, int):
        return HsType("Integer")
    if isinstance(v, float):
        return HsType("Double")
    if isinstance(v, str):
        return HsType("[]", (HsType("Char"),))
    if isinstance(v, (bytes, bytearray)):
        return HsType("ByteString")
    if v is None:
        return HsType("()")
    if isinstance(v, Fraction):
        return HsType("Ratio", (HsType("Integer"),))
    if isinstance(v, list):
        return HsType("[]", (_unify_all((_infer(x) for x in v), v),))
    if isinstance(v, tuple):
        if not 2 <= len(v) <= _MAX_TUPLE:
            raise ValueError(f"tuples of 2 to {_MAX_TUPLE} components only, not {len(v)}")
        return HsType("(" + "," * (len(v) - 1) + ")", tuple(_infer(x) for x in v))
    if v is Nothing:
        return HsType("Maybe", (_UNKNOWN,))
    if isinstance(v, Just):
        return HsType("Maybe", (_infer(v.value),))
    if isinstance(v, Left):
        return HsType("Either", (_infer(v.value), _UNKNOWN))
    if isinstance(v, Right):
        return HsType("Either", (_UNKNOWN, _infer(v.value)))
    if isinstance(v, dict):
        return HsType("Map", (_unify_all((_infer(k) for k in v), v),
                              _unify_all((_infer(x) for x in v.values()), v)))
    if isinstance(v, (set, frozenset)):
        return HsType("Set", (_unify_all((_infer(x) for x in v), v),))
    raise ValueError(f"{type(v).__name__} values have no Haskell counterpart "
                     f"(API.md §1.5): {_short_repr(v)}")


def _unify_all(types: Iterable[HsType], where: object) -> HsType:
    result = _UNKNOWN
    for t in types:
        unified = _unify(result, t)
        if unified is None:
            raise ValueError(f"elements of {_short_repr(where)} have different Haskell types: "
                             f"{_render_typerep(result)} and {_render_typerep(t)}")
        result = unified
    return result


def _unify(a: HsType, b: HsType) -> HsType | None:
    if a.con == "?":
        return b
    if b.con == "?":
        return a
    if {a.con, b.con} == {"Integer", "Double"}:
        return HsType("Double")  # [1, 2.5]: the literal 1 is a Double in Haskell too
    if {a.con, b.con} == {"Integer", "Ratio"}:
        return a if a.con == "Ratio" else b
    if a.con != b.con or len(a.args) != len(b.args):
        return None
    args = []
    for x, y in zip(a.args, b.args, strict=True):
        u = _unify(x, y)
        if u is None:
            return None
        args.append(u)
    return HsType(a.con, tuple(args))


def _char_literal(c: str) -> str:
    # A Char literal is never overloaded or rebound, whatever the extensions.
    if c.isascii() and c.isprintable() and c not in "'\\":
        return f"'{c}'"
    return f"'\\{ord(c)}'"


def _char_list(s: str) -> str:
    return "[" + ",".join(map(_char_literal, s)) + "]"


_TO_INTEGER: Final = "GHC.Real.toInteger (GHC.Base.ord {})"
_LIMB: Final = 20  # bits per Char-encoded limb: every value is a code point (< 0x110000)


def _integer_expr(n: int) -> str:
    """An Integer-typed expression for ``n`` built from Char literals (a numeric literal would
    call whatever ``fromInteger`` is in scope under RebindableSyntax)."""
    if n < 0:
        return f"(GHC.Num.negate {_integer_expr(-n)})"
    if n < 0x110000:
        return "(" + _TO_INTEGER.format(_char_literal(chr(n))) + ")"
    limbs = []
    while n:
        limbs.append(n & ((1 << _LIMB) - 1))
        n >>= _LIMB
    chars = _char_list("".join(chr(x) for x in reversed(limbs)))
    return ("(GHC.List.foldl (\\ghcShim'a ghcShim'c -> ghcShim'a GHC.Num.* "
            + _TO_INTEGER.format(_char_literal(chr(1 << _LIMB)))
            + " GHC.Num.+ " + _TO_INTEGER.format("ghcShim'c") + ") "
            + "(" + _TO_INTEGER.format(_char_literal("\0")) + ") " + chars + ")")


def _float32_bits(x: float) -> int:
    try:
        return int(struct.unpack("<I", struct.pack("<f", x))[0])
    except OverflowError:
        # Rounds to infinity in binary32, as the literal would in Haskell.
        return 0x7F800000 | (0x80000000 if x < 0 else 0)


def _expr(v: object, t: HsType) -> str:
    con = t.con
    if con in _INT_CONS:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{_short_repr(v)} is not an integer for {con}")
        if con in _BOUNDS:
            lo, hi = _BOUNDS[con]
            if not lo <= v <= hi:
                raise ValueError(f"{v} is out of range for {con} ({lo}..{hi})")
        if con == "Natural" and v < 0:
            raise ValueError(f"{v} is negative: not a Natural")
        return f"(GHC.Num.fromInteger {_integer_expr(v)})"
    if con in ("Double", "Float"):
        if isinstance(v, bool) or not isinstance(v, (int, float, Fraction)):
            raise ValueError(f"{_short_repr(v)} is not a number for {con}")
        try:
            x = float(v)
        except OverflowError:
            raise ValueError(f"{_short_repr(v)} is too large for {con}") from None
        if con == "Double":
            bits = struct.unpack("<Q", struct.pack("<d", x))[0]
            return f"(GHC.Float.castWord64ToDouble (GHC.Num.fromInteger {_integer_expr(bits)}))"
        return (f"(GHC.Float.castWord32ToFloat (GHC.Num.fromInteger "
                f"{_integer_expr(_float32_bits(x))}))")
    if con == "Bool":
        if not isinstance(v, bool):
            raise ValueError(f"{_short_repr(v)} is not a bool")
        return "GHC.Types.True" if v else "GHC.Types.False"
    if con == "()":
        if v is not None:
            raise ValueError(f"{_short_repr(v)} is not None, for ()")
        return "()"
    if con == "Char":
        if not isinstance(v, str) or len(v) != 1:
            raise ValueError(f"{_short_repr(v)} is not a one-character str, for Char")
        return _char_literal(v)
    if con in ("Text", "LazyText"):
        if not isinstance(v, str):
            raise ValueError(f"{_short_repr(v)} is not a str, for Text")
        if any(0xD800 <= ord(c) <= 0xDFFF for c in v):
            raise ValueError("Text cannot hold a surrogate code point (Data.Text.pack would "
                             "replace it); use [Char]")
        module = "Data.Text.Lazy" if con == "LazyText" else "Data.Text"
        return f"({module}.pack {_char_list(v)})"
    if con in ("ByteString", "LazyByteString"):
        if not isinstance(v, (bytes, bytearray)):
            raise ValueError(f"{_short_repr(v)} is not bytes, for ByteString")
        module = "Data.ByteString.Lazy.Char8" if con == "LazyByteString" else \
            "Data.ByteString.Char8"
        return f"({module}.pack {_char_list(bytes(v).decode('latin-1'))})"
    if con == "[]":
        elem = t.args[0]
        if elem.con == "Char":
            if not isinstance(v, str):
                raise ValueError(f"{_short_repr(v)} is not a str, for [Char]")
            return _char_list(v)
        if isinstance(v, (bytes, bytearray)) and elem.con == "Word8":
            v = list(v)
        if not isinstance(v, (list, tuple)):
            raise ValueError(f"{_short_repr(v)} is not a list, for {_render_typerep(t)}")
        return "[" + ",".join(_expr(x, elem) for x in v) + "]"
    if _is_tuple_con(con):
        if not isinstance(v, tuple) or len(v) != len(t.args):
            raise ValueError(f"{_short_repr(v)} is not a {len(t.args)}-tuple")
        return "(" + ",".join(_expr(x, a) for x, a in zip(v, t.args, strict=True)) + ")"
    if con == "Maybe":
        if v is Nothing:
            return "GHC.Maybe.Nothing"
        if isinstance(v, Just):
            return f"(GHC.Maybe.Just {_expr(v.value, t.args[0])})"
        raise ValueError(f"{_short_repr(v)} is not Just(...) or Nothing")
    if con == "Either":
        if isinstance(v, Left):
            return f"(Data.Either.Left {_expr(v.value, t.args[0])})"
        if isinstance(v, Right):
            return f"(Data.Either.Right {_expr(v.value, t.args[1])})"
        raise ValueError(f"{_short_repr(v)} is not Left(...) or Right(...)")
    if con == "Ratio":
        if isinstance(v, bool) or not isinstance(v, (int, Fraction)):
            raise ValueError(f"{_short_repr(v)} is not a Fraction, for Ratio")
        q = Fraction(v)
        return (f"({_expr(q.numerator, t.args[0])} GHC.Real.% "
                f"{_expr(q.denominator, t.args[0])})")
    if con in ("Map", "IntMap"):
        if not isinstance(v, dict):
            raise ValueError(f"{_short_repr(v)} is not a dict, for {con}")
        key_t = HsType("Int") if con == "IntMap" else t.args[0]
        module = "Data.IntMap.Internal" if con == "IntMap" else "Data.Map.Internal"
        pairs = ",".join(f"({_expr(k, key_t)},{_expr(x, t.args[-1])})"
                         for k, x in _stable_items(v))
        return f"({module}.fromList [{pairs}])"
    if con in ("Set", "IntSet"):
        if not isinstance(v, (set, frozenset)):
            raise ValueError(f"{_short_repr(v)} is not a set, for {con}")
        elem = HsType("Int") if con == "IntSet" else t.args[0]
        module = "Data.IntSet.Internal" if con == "IntSet" else "Data.Set.Internal"
        items = _sorted_for_show(list(v))
        return f"({module}.fromList [{','.join(_expr(x, elem) for x in items)}])"
    raise ValueError(f"type {t.render()} is not in the value table")  # pragma: no cover


def _stable_items(d: dict[Any, Any]) -> list[tuple[Any, Any]]:
    try:
        return sorted(d.items(), key=lambda kv: kv[0])
    except TypeError:
        return list(d.items())
