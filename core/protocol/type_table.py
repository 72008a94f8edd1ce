"""The table of Haskell types that cross as Python values (API.md §1.5), in canonical form.

A *canonical* type is an ``HsType`` whose constructors are the keys of ``TABLE_ARITY`` (plus
"[]", "()" and the tuple constructors): that is how both the writer and the decoder name
table types.

Responsible for: the table's canonical constructor names and arities (``TABLE_TYPE_NAMES``,
``TABLE_ARITY``), their fully qualified Haskell names (``haskell_type_name``), the synonyms
users write for them (``TYPE_SYNONYMS``), and ``normalise_type_rep`` for comparing types
written in different ways.

Must not: parse type text itself (``core.protocol.haskell_types`` does), decode payloads or
build values, or perform I/O.
"""

from __future__ import annotations

from typing import Final

from core.protocol.haskell_types import HsType, is_tuple_con, parse_type

__all__ = [
    "INTEGRAL_TYPE_NAMES",
    "MAX_TUPLE",
    "TABLE_ARITY",
    "TABLE_TYPE_NAMES",
    "TYPE_SYNONYMS",
    "haskell_type_name",
    "normalise_type_rep",
]

_SCALARS: Final = (
    "Int", "Word", "Int8", "Int16", "Int32", "Int64", "Word8", "Word16", "Word32", "Word64",
    "Integer", "Natural", "Double", "Float", "Bool", "Char",
    "Text", "LazyText", "ByteString", "LazyByteString", "IntSet",
)
_UNARY: Final = ("[]", "Maybe", "Ratio", "Set", "IntMap")
_BINARY: Final = ("Either", "Map")
#: The most components a table tuple has.
MAX_TUPLE: Final = 7

#: Canonical constructor names of the table types (tuples: ``"(,)"`` up to 7 components).
TABLE_TYPE_NAMES: Final = frozenset(
    [*_SCALARS, *_UNARY, *_BINARY, "()"] + ["(" + "," * n + ")" for n in range(1, MAX_TUPLE)]
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

#: The number of type arguments of each canonical constructor.
TABLE_ARITY: Final = {
    **{k: 0 for k in _SCALARS}, **{k: 1 for k in _UNARY}, **{k: 2 for k in _BINARY}, "()": 0,
    **{"(" + "," * n + ")": n + 1 for n in range(1, MAX_TUPLE)},
}


def _check_canonical(t: HsType) -> bool:
    return all(TABLE_ARITY.get(n.con, -1) == len(n.args) for n in t.walk())


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
    if is_tuple_con(t.con):
        return "(" + ", ".join(_qualified_text(a, 0) for a in t.args) + ")"
    name = _HASKELL_NAMES[t.con]
    if not t.args:
        return name
    text = " ".join([name, *(_qualified_text(a, 1) for a in t.args)])
    return f"({text})" if prec > 0 else text


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


#: The synonyms of table types that users write, expanded.
TYPE_SYNONYMS: Final = {
    "String": HsType("[]", (HsType("Char"),)),
    "FilePath": HsType("[]", (HsType("Char"),)),
    "Rational": HsType("Ratio", (HsType("Integer"),)),
}


def _expand_synonyms(t: HsType) -> HsType:
    args = tuple(_expand_synonyms(a) for a in t.args)
    if not args and t.name in TYPE_SYNONYMS and t.qualifier in ("", "Prelude", "GHC.Base",
                                                                 "GHC.Real", "System.IO",
                                                                 "GHC.IO"):
        return TYPE_SYNONYMS[t.name]
    return HsType(t.con, args)


#: The integral canonical constructors (shown and written as Python ints).
INTEGRAL_TYPE_NAMES: Final = frozenset(
    ["Int", "Word", "Int8", "Int16", "Int32", "Int64", "Word8", "Word16", "Word32", "Word64",
     "Integer", "Natural"])
