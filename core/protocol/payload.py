"""The value payload: its format, and ``decode_value`` from its bytes to a ``DecodedValue``.

Responsible for: the one description of the payload format (below; every other module points
here), ``PAYLOAD_MAGIC``, ``DecodedValue`` (one value that came out of a GHCi session, with
GHC's exact ``show`` text reconstructed lazily) and ``decode_value``, including how
``Data.Typeable`` names the table types in the various GHC and library versions.

Must not: perform I/O, start processes, or know how the payload reaches it
(``core.server.value_writer`` writes it inside GHCi; the server moves the bytes); render
``show`` text itself (``core.protocol.show`` does).

Payload (format 2)
==================

The writer (``core.server.value_writer``) emits it from interpreted Haskell, using
compiled ``bytestring`` primitives for everything done per element. Numbers are in the
*interpreter's* byte order (``Data.ByteString.Builder.Prim.intHost`` and friends are the fast
primitives); the header says which order that is. "utf8" is ``stringUtf8``, which writes a
surrogate code point (a legal ``Char``) as its 3-byte form; Python reads it back with
``surrogatepass``, so a lone surrogate survives the trip. Byte ``0xFF`` never occurs in it.

::

    payload  = "HSV2"              4 bytes: magic and format version
               one                 8 bytes: the Int 1 in host order (gives the byte order;
                                   an interpreter whose Int is not 64 bits is refused)
               kind                1 byte: 'V' value | 'S' show text | 'O' opaque
               typerep             utf8 (show (Data.Typeable.typeOf x)), then 0xFF
               tree                the type, from Data.Typeable (below)
               body                depends on kind (below), up to the end of the payload
    tree     = module 0xFF name 0xFF argc tree*argc
                                   tyConModule, tyConName (utf8), argc: 8-byte count of
                                   typeRepArgs (visible arguments only, no kinds)

A fourth kind, ``'M'`` (a miss: no typerep, no tree, no body), is written only by the
server's shorter statement for a type it has seen before (``value_writer.
known_type_statement``) when the value turns out to have another type; the server then
writes the value the usual way, so ``'M'`` never reaches ``decode_value``.

Kind ``'O'``: no body (the value was forced to WHNF only; no ``Show`` was available).
Kind ``'V'`` is written only for types that nest at most ``MAX_VALUE_DEPTH`` (48) deep;
a deeper one is sent as kind ``'S'``. The tree has no depth limit (at most 10,000 nodes).
Kind ``'S'``: the body is utf8 ``show x`` (a type outside the table, or containing one).
Kind ``'V'``: the body is ``enc(t)`` of the value, ``t`` given by the tree:

============================  ===============================================================
``Int``, ``Int64``            8 bytes signed       ``Word``, ``Word64``   8 bytes unsigned
``IntN``, ``WordN``           N/8 bytes            ``Double``, ``Float``  IEEE binary64/32
``Char``                      8 bytes, the code point
``Bool``, ``()``              1 byte: 0 or 1; 0
``Integer``, ``Natural``      ASCII decimal, optional ``-``, then ``;``
``[Char]``, ``Text``          UTF-8 (utf8 for ``[Char]``), then 0xFF; lazy ``Text`` alike
``ByteString``                8-byte length n, then n bytes
lazy ``ByteString``           chunks: 8-byte length n > 0, then n bytes; then a length 0
``[a]``                       chunks: 8-byte count n > 0, then n × enc(a); then a count 0.
                              At the top level, no counts: elements run to the end
``(a, b, ...)``               enc(a) enc(b) ...
``Maybe a``                   ``N`` | ``J`` enc(a)
``Either a b``                ``L`` enc(a) | ``R`` enc(b)
``Ratio a``                   enc(a) numerator, enc(a) denominator
``Map k v``, ``IntMap v``     8-byte count n, n × (enc(k) enc(v)), keys ascending (IntMap
                              keys as ``Int``)
``Set a``, ``IntSet``         8-byte count n, n × enc(a), ascending
============================  ===============================================================

Nothing is counted before it is written (Map, Set and strict ``ByteString`` know their
size): the writer streams, and a value that never ends is cut by the server's byte limit.
Format 1 (``HSV1``) counted lists and lazy ``ByteString`` first and had counts on top-level
lists of variable-size elements.

The decoder trusts nothing: every count is checked against the bytes that remain, every
tag and code point is validated, and anything unexpected raises ``ValueError``.
"""

from __future__ import annotations

import re
import struct
import sys
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final

from core.protocol.haskell_types import HsType, is_tuple_con
from core.protocol.show import show_value
from core.protocol.type_table import MAX_TUPLE, TABLE_ARITY
from core.protocol.value_classes import Just, Left, Nothing, Right

__all__ = ["MAX_VALUE_DEPTH", "PAYLOAD_MAGIC", "DecodedValue", "decode_value", "value_header"]

PAYLOAD_MAGIC: Final = b"HSV2"
# Kind 'V' is written only for types nesting at most this deep (``[[Int]]``: 3); a deeper
# value of table types is sent as show text, so decoding never recurses deeper than this.
MAX_VALUE_DEPTH: Final = 48


# ---------------------------------------------------------------------------------------------
# The payload's type tree, to a canonical type (core.protocol.type_table)

# How Data.Typeable names the canonical constructors (tyConModule, tyConName) in GHC 9.0, with
# the homes other GHC and library versions use, so that a newer interpreter still decodes.
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
    **{("GHC.Tuple", "(" + "," * n + ")"): "(" + "," * n + ")" for n in range(1, MAX_TUPLE)},
    **{("GHC.Tuple.Prim", f"Tuple{n + 1}"): "(" + "," * n + ")" for n in range(1, MAX_TUPLE)},
}


def _from_typeable(tree: _Tree) -> HsType | None:
    """The canonical type of a Typeable tree, or None when it is not all table types."""
    key = _TYPEABLE_NAMES.get((tree.module, tree.name))
    if key is None or TABLE_ARITY[key] != len(tree.args):
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
        raise ValueError("not a value payload (bad magic; expected format HSV2)")
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
    """The type tree, read without recursion (a type may nest deeper than Python's stack
    allows; only a table type's value is decoded recursively, and the writer sends those
    only up to ``MAX_VALUE_DEPTH``)."""
    budget = _MAX_TREE_NODES
    # Each entry: a node read but not finished (module, name, args still to read, args read).
    pending: list[tuple[str, str, int, list[_Tree]]] = []
    while True:
        budget -= 1
        if budget < 0:
            raise ValueError("payload type is too large")
        module = _utf8(r.until(_TERMINATOR), "type module")
        name = _utf8(r.until(_TERMINATOR), "type name")
        argc = _read_int(r, order)
        if not 0 <= argc <= 64:
            raise ValueError(f"payload type has a bad argument count ({argc})")
        if argc:
            pending.append((module, name, argc, []))
            continue
        node = _Tree(module, name, ())
        while pending:  # finish every node whose last argument this was
            module, name, argc, args = pending[-1]
            args.append(node)
            if len(args) < argc:
                break
            pending.pop()
            node = _Tree(module, name, tuple(args))
        else:
            return node


def value_header(payload: bytes) -> tuple[str, int]:
    """The payload's kind (``'V'``, ``'S'`` or ``'O'``) and where its body starts: the bytes
    from offset 13 up to there are its typerep and tree.

    Raises:
        ValueError: the header is malformed or truncated.
    """
    try:
        header = _read_header(payload)
    except RecursionError:
        raise ValueError("value payload is nested too deeply") from None
    return header.kind, header.body_start


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
    if is_tuple_con(t.con):
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
    if is_tuple_con(t.con):
        return max(1, sum(_min_size(a) for a in t.args))
    if t.con == "Ratio":
        return 2 * _min_size(t.args[0])
    return 8  # counted things: lists, maps, sets, byte strings


def _assembler(t: HsType) -> Callable[[Sequence[Any]], object]:
    """Build a value of fixed-size type ``t`` from its flat unpacked fields."""
    fields = _fixed_fields(t)
    assert fields is not None
    if len(fields) == 1 and not is_tuple_con(t.con):
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
    if all(not is_tuple_con(a.con) and _FIXED[a.con][1] is None for a in t.args):
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
    if con == "ByteString":
        def bytestring(r: _Reader) -> object:
            n = _read_int(r, order)
            start = r.take(n)
            return r.data[start:start + n]
        return bytestring
    if con == "LazyByteString":
        def lazy_bytestring(r: _Reader) -> object:
            chunks: list[bytes] = []
            while n := _read_int(r, order):
                start = r.take(n)
                chunks.append(r.data[start:start + n])
            return b"".join(chunks)
        return lazy_bytestring
    if con == "[]":
        elem = t.args[0]
        if elem.con == "Char":
            return lambda r: _utf8(r.until(_TERMINATOR), "string")
        return _chunked(elem, order, ordered)
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
    if is_tuple_con(con):
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


def _chunked(elem: HsType, order: str, ordered: bool) -> Decoder:
    """A decoder for chunks of ``enc(elem)`` (an 8-byte count, then that many), up to a zero
    count."""
    counted = _counted(elem, order, ordered, lambda items: items)

    def chunked(r: _Reader) -> object:
        items = counted(r)
        assert isinstance(items, list)
        if items:  # most lists fit one chunk: no copy then
            while chunk := counted(r):
                assert isinstance(chunk, list)
                items += chunk
        return items
    return chunked


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
    if t.con == "[]" and t.args[0].con != "Char":
        # A top-level list has no counts: its elements run to the end.
        if _fixed_fields(t.args[0]) is not None:
            return _fixed_sequence(memoryview(payload)[start:], t.args[0], order)
        element = _decoder(t.args[0], order, ordered)
        r = _Reader(payload, start, len(payload))
        items: list[object] = []
        while r.pos < r.end:
            items.append(element(r))
        return items
    r = _Reader(payload, start, len(payload))
    value = _decoder(t, order, ordered)(r)
    if r.pos != r.end:
        raise ValueError(f"value payload has {r.end - r.pos} trailing bytes")
    return value
