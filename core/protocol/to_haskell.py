"""Python values of the table types to the text of Haskell expressions (``python_to_haskell``).

Responsible for: inferring or checking the Haskell type of a Python value (API.md §1.5) and
writing an expression for it that means the same in any GHCi scope and under any extensions
(fully qualified names, no numeric or string literals, a type annotation); for
``bind_value``, also a form with string literals, and the long texts both read as blobs
(``python_to_haskell_forms``).

Must not: evaluate anything, decode payloads (``core.protocol.payload``), or perform I/O.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final

from core.protocol.haskell_types import HsType, is_tuple_con, parse_type
from core.protocol.show import sorted_for_show
from core.protocol.type_table import (
    INTEGRAL_TYPE_NAMES,
    MAX_TUPLE,
    TABLE_ARITY,
    TYPE_SYNONYMS,
    haskell_type_name,
)
from core.protocol.value_classes import Just, Left, Nothing, Right

__all__ = [
    "HaskellForms",
    "blob_variable",
    "char_list",
    "haskell_string_literal",
    "python_to_haskell",
    "python_to_haskell_forms",
]


_BOUNDS: Final = {
    "Int": (-(1 << 63), (1 << 63) - 1), "Int64": (-(1 << 63), (1 << 63) - 1),
    "Int8": (-(1 << 7), (1 << 7) - 1), "Int16": (-(1 << 15), (1 << 15) - 1),
    "Int32": (-(1 << 31), (1 << 31) - 1),
    "Word": (0, (1 << 64) - 1), "Word64": (0, (1 << 64) - 1), "Word8": (0, 255),
    "Word16": (0, (1 << 16) - 1), "Word32": (0, (1 << 32) - 1),
}
_UNKNOWN: Final = HsType("?")

# TypeRep names of the canonical constructors, for rendering the type of a Python value.
_TYPEREP_NAMES: Final = {"LazyText": "Text", "LazyByteString": "ByteString"}


def _render_typerep(t: HsType) -> str:
    def rename(n: HsType) -> HsType:
        return HsType(_TYPEREP_NAMES.get(n.con, n.con), tuple(rename(a) for a in n.args))
    return rename(t).render()


def _resolve_written(t: HsType) -> HsType:
    """A type as a user writes it (``String``, ``Data.Text.Text``, ``M.Map k v``) to its
    canonical table form; ``Text``/``ByteString`` without a telling qualifier are strict.

    Raises:
        ValueError: a constructor outside the table.
    """
    name, qual = t.name, t.qualifier
    args = tuple(_resolve_written(a) for a in t.args)
    if not args and name in TYPE_SYNONYMS:
        return TYPE_SYNONYMS[name]
    if name in ("Text", "ByteString"):
        lazy = "Lazy" in qual
        return HsType(("Lazy" if lazy else "") + name, args)
    canonical = name if name in TABLE_ARITY else {"List": "[]", "Rational": "Ratio"}.get(name, "")
    if not canonical or TABLE_ARITY[canonical] != len(args):
        raise ValueError(f"type {t.render()} is not a supported type of the value table "
                         "(API.md §1.5)")
    return HsType(canonical, args)


def python_to_haskell(value: object, haskell_type: str | None = None, *,
                      literals: bool = False) -> tuple[str, str]:
    """A Python value of the table as (Haskell expression, its type in TypeRep rendering).

    The expression uses only fully qualified names, char literals, ``:`` and tuple syntax —
    no numeric or string literals, no list syntax — so it means the same under
    ``NoImplicitPrelude``, ``RebindableSyntax``, ``OverloadedStrings`` and
    ``OverloadedLists`` in any import context; it carries a type
    annotation, so no defaulting is involved. ``literals=True`` writes strings (and the
    offsets of integer lists) as string literals instead of lists of ``Char`` literals, which
    GHCi compiles in next to no time instead of ~60 us a character: for sessions without
    ``RebindableSyntax`` only. Without ``haskell_type``: ``int`` → ``Integer``,
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
    target = _target(value, haskell_type)
    return _annotated(value, target, _Form(literals)), _render_typerep(target)


@dataclass(frozen=True, slots=True)
class HaskellForms:
    """One value written for ``bind_value``: ``expr`` literal-free, ``expr_literals`` with
    string literals, both reading ``blobs[i]`` (long texts, sent apart) as the variable
    ``blob_variable(i)``; ``type`` in TypeRep rendering."""

    expr: str
    expr_literals: str
    type: str
    blobs: tuple[str, ...]


def python_to_haskell_forms(value: object, haskell_type: str | None = None) -> HaskellForms:
    """``python_to_haskell`` both ways at once, long texts as blobs. The type is worked out
    once (inferring it is most of the cost: ~0.25 s for 10^5 elements).

    Raises:
        ValueError: as ``python_to_haskell``.
    """
    target = _target(value, haskell_type)
    blobs = _Blobs()
    free = _annotated(value, target, _Form(False, blobs))
    with_literals = _annotated(value, target, _Form(True, blobs))
    return HaskellForms(free, with_literals, _render_typerep(target), tuple(blobs.texts))


def _target(value: object, haskell_type: str | None) -> HsType:
    if haskell_type is not None:
        target = _resolve_written(parse_type(haskell_type))
    else:
        target = _infer(value)
    if any(n is _UNKNOWN or n.con == "?" for n in target.walk()):
        raise ValueError(f"the Haskell type of {_short_repr(value)} is not determined "
                         f"({_render_typerep(target)}); pass haskell_type")
    return target


def _annotated(value: object, target: HsType, form: _Form) -> str:
    return f"({_expr(value, target, form)} :: {haskell_type_name(target)})"


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
        if not 2 <= len(v) <= MAX_TUPLE:
            raise ValueError(f"tuples of 2 to {MAX_TUPLE} components only, not {len(v)}")
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


def char_list(s: str) -> str:
    """``s`` as Char literals joined by ``:`` (no string literal, no list syntax)."""
    return _cons_list(map(_char_literal, s))


def _cons_list(items: Iterable[str]) -> str:
    """A list expression without list syntax, which ``RebindableSyntax`` with
    ``OverloadedLists`` gives to the ``fromListN`` in scope (``[]`` too)."""
    return "(" + "".join(item + " : " for item in items) + "GHC.Base.mempty)"


def haskell_string_literal(text: str) -> str:
    """``text`` as a Haskell string literal (printable ASCII as is, the rest as decimal
    escapes). GHCi compiles one in next to no time, where a list of ``Char`` literals costs
    ~25-60 us per character; it means what it says unless ``RebindableSyntax`` and
    ``OverloadedStrings`` are both on (under ``OverloadedStrings`` alone a literal whose type
    is fixed to ``String`` is a String)."""
    def escape(match: re.Match[str]) -> str:
        end = match.end()
        # "\1" then "2" would read as "\12".
        return f"\\{ord(match[0])}" + ("\\&" if end < len(text) and text[end].isdigit() else "")

    return '"' + _ESCAPED.sub(escape, text) + '"'


# What a string literal cannot hold as it is: all but printable ASCII, and the quote and
# backslash.
_ESCAPED: Final = re.compile(r'[^\x20-\x7e]|["\\]')


class _Blobs:
    """The long texts of one value, each once, in the order its expressions first use them."""

    __slots__ = ("index", "texts")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.index: dict[str, int] = {}

    def variable(self, text: str) -> str:
        number = self.index.get(text)
        if number is None:
            number = self.index[text] = len(self.texts)
            self.texts.append(text)
        return blob_variable(number)


class _Form:
    """How the parts of one expression are written: with string literals or without
    (``literals``), and whether long texts may leave the expression as blobs."""

    __slots__ = ("blobs", "literals")

    def __init__(self, literals: bool, blobs: _Blobs | None = None) -> None:
        self.literals = literals
        self.blobs = blobs  # shared by the forms of one value; None: no blobs

    def _blob_sized(self, s: str) -> bool:
        return self.blobs is not None and len(s) >= (
            _BLOB_MIN_LITERAL if self.literals else _BLOB_MIN_CHARS)

    def as_blob(self, s: str) -> bool:
        """Whether ``s`` is long enough to be a blob (and can be one: UTF-8 cannot carry
        a lone surrogate, which a Haskell Char can be)."""
        return self._blob_sized(s) and _SURROGATE.search(s) is None

    def blob_refused(self, s: str) -> bool:
        """Whether ``s`` would be a blob but for a lone surrogate in it."""
        return self._blob_sized(s) and _SURROGATE.search(s) is not None

    def chars(self, s: str) -> str:
        """A ``[Char]`` expression for ``s``: a blob decoded, a string literal or a list of
        Char literals, whichever this form allows and GHCi compiles fastest."""
        if self.blobs is not None and self.as_blob(s):
            return f"(Data.Text.unpack (Data.Text.Encoding.decodeUtf8 {self.blobs.variable(s)}))"
        return haskell_string_literal(s) if self.literals else char_list(s)

    def packed(self, con: str, s: str) -> str:
        """A ``con`` (``Text``, ``ByteString``, lazy or strict) of the characters ``s``. A blob
        becomes one without a ``[Char]`` in between: the characters of a long text as a list
        take ~40 bytes each, and packing holds them all (10^6 numbers as decimal text
        overflowed a session's heap)."""
        if self.blobs is not None and self.as_blob(s):
            blob = self.blobs.variable(s)
            if con in ("Text", "LazyText"):
                text = f"(Data.Text.Encoding.decodeUtf8 {blob})"
                return text if con == "Text" else f"(Data.Text.Lazy.fromStrict {text})"
            if s.isascii():  # the file's bytes are the ByteString's
                return blob if con == "ByteString" else f"(Data.ByteString.Lazy.fromStrict {blob})"
        return f"({_PACK[con]} {self.chars(s)})"


def blob_variable(index: int) -> str:
    """The variable an expression reads blob ``index`` from (``bind_value.blobs``)."""
    return f"ghcShim'blob{index}"


# A blob is the text of a string part of an expression sent apart from it: the server
# writes it to a file that the expression reads when the value is used, instead of GHCi
# lexing it (~0.65 us a character in a string literal, 25-60 us as Char literals). Reading
# a blob costs GHCi a few ms of compiling, so only long texts become blobs.
_BLOB_MIN_LITERAL: Final = 4096
_BLOB_MIN_CHARS: Final = 128
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


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
    chars = char_list("".join(chr(x) for x in reversed(limbs)))
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


def _checked_integral(v: object, con: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{_short_repr(v)} is not an integer for {con}")
    if con in _BOUNDS:
        lo, hi = _BOUNDS[con]
        if not lo <= v <= hi:
            raise ValueError(f"{v} is out of range for {con} ({lo}..{hi})")
    if con == "Natural" and v < 0:
        raise ValueError(f"{v} is negative: not a Natural")
    return v


# GHCi compiles every element of a list literal on its own: ~50-100 us for a constructor, a
# string literal or a Char literal, ~1.2 ms for an integer beyond a code point built from
# limbs (10^4 random Ints took 19 s). A list this long or longer is written instead as a
# few large parts that compiled library code takes apart when the value is used: a string
# literal costs GHCi ~0.65 us per character of source. Literal-free (no string literals),
# integers become one list of Char literals (offsets, or limbs), floats their bits, and
# tuples columns; other lists stay element by element.
_COMPACT_MIN: Final = 8
_ZIP: Final = {2: "GHC.List.zip", 3: "GHC.List.zip3", 4: "Data.List.zip4",
               5: "Data.List.zip5", 6: "Data.List.zip6", 7: "Data.List.zip7"}
# Decimal text read back by bytestring's (compiled) readInteger; Python refuses str() of an
# int with more than 4300 digits, so such a list is written element by element.
_READ_INTEGERS: Final = ("(GHC.Base.map GHC.Num.fromInteger (Data.List.unfoldr "
                         "(Data.ByteString.Char8.readInteger GHC.Base.. "
                         "Data.ByteString.Char8.dropSpace) {}))")
# Literal-free, integers of any span as one list of Chars: per integer a head, twice its
# number of 20-bit limbs plus one if negative, then its limbs, most significant first (~3
# Chars for an Int of 30 bits instead of one expression of ~15 nodes). No pattern on list
# syntax: under OverloadedLists that would call the toList in scope.
_DECODE_LIMBS: Final = (
    "(GHC.Base.map GHC.Num.fromInteger (Data.List.unfoldr (\\ghcShim'l -> GHC.Base.fmap "
    "(\\(ghcShim'h, ghcShim'r) -> let {{ ghcShim'p = GHC.List.splitAt (GHC.Base.ord ghcShim'h "
    "`GHC.Real.quot` GHC.Base.ord '\\2') ghcShim'r; ghcShim'm = GHC.List.foldl "
    "(\\ghcShim'a ghcShim'c -> ghcShim'a GHC.Num.* {base} GHC.Num.+ {limb}) ({zero}) "
    "(Data.Tuple.fst ghcShim'p) }} in (Data.Bool.bool ghcShim'm (GHC.Num.negate ghcShim'm) "
    "(GHC.Real.odd (GHC.Base.ord ghcShim'h)), Data.Tuple.snd ghcShim'p)) "
    "(Data.List.uncons ghcShim'l)) {chars}))"
)
# Pieces of one string literal, cut by a list of lengths.
_SPLIT_BY_LENGTHS: Final = ("(GHC.Base.map {} (Data.Tuple.snd (Data.Traversable.mapAccumL "
                            "(\\ghcShim's ghcShim'n -> Data.Tuple.swap "
                            "(GHC.List.splitAt ghcShim'n ghcShim's)) {} {})))")
# A string-like value from its characters (a ByteString's as Latin-1).
_PACK: Final = {"Text": "Data.Text.pack", "LazyText": "Data.Text.Lazy.pack",
                "ByteString": "Data.ByteString.Char8.pack",
                "LazyByteString": "Data.ByteString.Lazy.Char8.pack"}
_STRING_LIKE: Final = tuple(_PACK)


def _list_expr(items: list[Any] | tuple[Any, ...], elem: HsType, form: _Form) -> str:
    """A ``[elem]`` expression for ``items``."""
    if len(items) >= _COMPACT_MIN:
        expr = _long_list_expr(items, elem, form)
        if expr is not None:
            return expr
    return _cons_list(_expr(x, elem, form) for x in items)


def _long_list_expr(items: list[Any] | tuple[Any, ...], elem: HsType,
                    form: _Form) -> str | None:
    """``items`` in a form that GHCi compiles in time independent of their number, or None
    where there is none for ``elem`` (or, without literals, none literal-free: a text in
    one piece needs a string literal or a blob)."""
    con = elem.con
    if con in INTEGRAL_TYPE_NAMES:
        return _integral_list(items, con, form)
    if con in ("Double", "Float"):
        # The bits, as _expr writes one number: NaN payloads and -0.0 cross exactly.
        bits = [_float_bits(x, con) for x in items]
        cast, word = (("GHC.Float.castWord64ToDouble", "Word64") if con == "Double"
                      else ("GHC.Float.castWord32ToFloat", "Word32"))
        return f"(GHC.Base.map {cast} {_list_expr(bits, HsType(word), form)})"
    if is_tuple_con(con) and len(elem.args) in _ZIP:
        rows = [_checked_tuple(x, len(elem.args)) for x in items]
        columns = [_list_expr([row[i] for row in rows], arg, form)
                   for i, arg in enumerate(elem.args)]
        return f"({_ZIP[len(elem.args)]} {' '.join(columns)})"
    if con == "Char":  # a column of Chars (in tuples, as map values): one string
        text = "".join(_checked_char(x) for x in items)
        return form.chars(text) if form.literals or form.as_blob(text) else None
    if con == "Bool":
        flags = "".join("1" if _checked_bool(x) else "0" for x in items)
        if not (form.literals or form.as_blob(flags)):
            return None
        return f"(GHC.Base.map (GHC.Classes.== '1') {form.chars(flags)})"
    if (con == "[]" and elem.args[0].con == "Char") or con in _STRING_LIKE:
        pieces = [_string_text(x, elem) for x in items]
        text = "".join(pieces)
        if not (form.literals or form.as_blob(text)):
            return None
        lengths = _list_expr([len(piece) for piece in pieces], HsType("Int"), form)
        return _SPLIT_BY_LENGTHS.format(_PACK.get(con, "GHC.Base.id"), form.chars(text),
                                        lengths)
    return None


def _integral_list(items: list[Any] | tuple[Any, ...], con: str, form: _Form) -> str | None:
    values = [_checked_integral(x, con) for x in items]
    base = min(values)
    offset_text = ("".join(chr(x - base) for x in values)
                   if max(values) - base < 0x110000 else None)
    # One Char per element, its offset from the smallest; but not as a text too long for a
    # literal that cannot be a blob either (offsets of 55,296 or more include surrogates):
    # then decimal text, as for a wider span.
    if offset_text is not None and not form.blob_refused(offset_text):
        offsets = form.chars(offset_text)
        # Not ghcShim'c: _integer_expr's own lambda (a base of 2^20 or more) uses it,
        # and -Wname-shadowing (an error under -Werror) would fire inside this one.
        offset = _TO_INTEGER.format("ghcShim'o")
        return ("(GHC.Base.map (\\ghcShim'o -> GHC.Num.fromInteger ("
                f"{_integer_expr(base)} GHC.Num.+ {offset})) {offsets})")
    try:
        text: str | None = " ".join(map(str, values))
    except ValueError:  # an int beyond Python's str() digit limit
        text = None
    if text is not None and (form.literals or form.as_blob(text)):
        return _READ_INTEGERS.format(form.packed("ByteString", text))
    if form.literals:
        return None  # element by element
    return _DECODE_LIMBS.format(
        base=_TO_INTEGER.format(_char_literal(chr(1 << _LIMB))),
        limb=_TO_INTEGER.format("ghcShim'c"), zero=_TO_INTEGER.format(_char_literal("\0")),
        chars=char_list("".join(map(_limb_chars, values))))


def _limb_chars(n: int) -> str:
    magnitude = abs(n)
    limbs = []
    while magnitude:
        limbs.append(chr(magnitude & ((1 << _LIMB) - 1)))
        magnitude >>= _LIMB
    return chr(2 * len(limbs) + (n < 0)) + "".join(reversed(limbs))


def _checked_char(v: object) -> str:
    if not isinstance(v, str) or len(v) != 1:
        raise ValueError(f"{_short_repr(v)} is not a one-character str, for Char")
    return v


def _checked_bool(v: object) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"{_short_repr(v)} is not a bool")
    return v


def _checked_tuple(v: object, arity: int) -> tuple[Any, ...]:
    if not isinstance(v, tuple) or len(v) != arity:
        raise ValueError(f"{_short_repr(v)} is not a {arity}-tuple")
    return v


def _float_bits(v: object, con: str) -> int:
    """The bits of ``v`` as a ``Double`` or ``Float`` (binary32 rounded as a literal would)."""
    if isinstance(v, bool) or not isinstance(v, (int, float, Fraction)):
        raise ValueError(f"{_short_repr(v)} is not a number for {con}")
    try:
        x = float(v)
    except OverflowError:
        raise ValueError(f"{_short_repr(v)} is too large for {con}") from None
    if con == "Double":
        return int(struct.unpack("<Q", struct.pack("<d", x))[0])
    return _float32_bits(x)


def _string_text(v: object, t: HsType) -> str:
    """The characters of one ``[Char]``, ``Text`` or ``ByteString`` value (bytes as
    Latin-1), checked as ``_expr`` checks them."""
    con = t.con
    if con in ("ByteString", "LazyByteString"):
        if not isinstance(v, (bytes, bytearray)):
            raise ValueError(f"{_short_repr(v)} is not bytes, for ByteString")
        return bytes(v).decode("latin-1")
    if not isinstance(v, str):
        raise ValueError(f"{_short_repr(v)} is not a str, for "
                         f"{'Text' if con in _STRING_LIKE else '[Char]'}")
    if con in _STRING_LIKE and any(0xD800 <= ord(c) <= 0xDFFF for c in v):
        raise ValueError("Text cannot hold a surrogate code point (Data.Text.pack would "
                         "replace it); use [Char]")
    return v


def _expr(v: object, t: HsType, form: _Form) -> str:
    con = t.con
    if con in INTEGRAL_TYPE_NAMES:
        return f"(GHC.Num.fromInteger {_integer_expr(_checked_integral(v, con))})"
    if con == "Double":
        return (f"(GHC.Float.castWord64ToDouble (GHC.Num.fromInteger "
                f"{_integer_expr(_float_bits(v, con))}))")
    if con == "Float":
        return (f"(GHC.Float.castWord32ToFloat (GHC.Num.fromInteger "
                f"{_integer_expr(_float_bits(v, con))}))")
    if con == "Bool":
        return "GHC.Types.True" if _checked_bool(v) else "GHC.Types.False"
    if con == "()":
        if v is not None:
            raise ValueError(f"{_short_repr(v)} is not None, for ()")
        return "()"
    if con == "Char":
        return _char_literal(_checked_char(v))
    if con in _PACK:
        return form.packed(con, _string_text(v, t))
    if con == "[]":
        elem = t.args[0]
        if elem.con == "Char":
            if not isinstance(v, str):
                raise ValueError(f"{_short_repr(v)} is not a str, for [Char]")
            return form.chars(v)
        if isinstance(v, (bytes, bytearray)) and elem.con == "Word8":
            v = list(v)
        if not isinstance(v, (list, tuple)):
            raise ValueError(f"{_short_repr(v)} is not a list, for {_render_typerep(t)}")
        return _list_expr(v, elem, form)
    if is_tuple_con(con):
        fields = zip(_checked_tuple(v, len(t.args)), t.args, strict=True)
        return "(" + ",".join(_expr(x, a, form) for x, a in fields) + ")"
    if con == "Maybe":
        if v is Nothing:
            return "GHC.Maybe.Nothing"
        if isinstance(v, Just):
            return f"(GHC.Maybe.Just {_expr(v.value, t.args[0], form)})"
        raise ValueError(f"{_short_repr(v)} is not Just(...) or Nothing")
    if con == "Either":
        if isinstance(v, Left):
            return f"(Data.Either.Left {_expr(v.value, t.args[0], form)})"
        if isinstance(v, Right):
            return f"(Data.Either.Right {_expr(v.value, t.args[1], form)})"
        raise ValueError(f"{_short_repr(v)} is not Left(...) or Right(...)")
    if con == "Ratio":
        if isinstance(v, bool) or not isinstance(v, (int, Fraction)):
            raise ValueError(f"{_short_repr(v)} is not a Fraction, for Ratio")
        q = Fraction(v)
        return (f"({_expr(q.numerator, t.args[0], form)} GHC.Real.% "
                f"{_expr(q.denominator, t.args[0], form)})")
    if con in ("Map", "IntMap"):
        if not isinstance(v, dict):
            raise ValueError(f"{_short_repr(v)} is not a dict, for {con}")
        key_t = HsType("Int") if con == "IntMap" else t.args[0]
        module = "Data.IntMap.Internal" if con == "IntMap" else "Data.Map.Internal"
        items = _stable_items(v)
        keys = _list_expr([k for k, _ in items], key_t, form)
        values = _list_expr([x for _, x in items], t.args[-1], form)
        return f"({module}.fromList (GHC.List.zip {keys} {values}))"
    if con in ("Set", "IntSet"):
        if not isinstance(v, (set, frozenset)):
            raise ValueError(f"{_short_repr(v)} is not a set, for {con}")
        elem = HsType("Int") if con == "IntSet" else t.args[0]
        module = "Data.IntSet.Internal" if con == "IntSet" else "Data.Set.Internal"
        return f"({module}.fromList {_list_expr(sorted_for_show(list(v)), elem, form)})"
    raise ValueError(f"type {t.render()} is not in the value table")  # pragma: no cover


def _stable_items(d: dict[Any, Any]) -> list[tuple[Any, Any]]:
    try:
        return sorted(d.items(), key=lambda kv: kv[0])
    except TypeError:
        return list(d.items())
