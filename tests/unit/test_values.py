"""Pure tests of ``core.protocol.values`` and ``core.server.value_writer``: no GHC needed.

Payloads are built here by an independent encoder that follows the format documented in
``core.protocol.payload`` (the real writer runs inside GHCi: tests/ghc/test_value_transfer.py).
"""

from __future__ import annotations

import contextlib
import copy
import math
import pickle
import re
import struct
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.protocol.payload import MAX_VALUE_DEPTH
from core.protocol.to_haskell import blob_variable, python_to_haskell_forms
from core.protocol.values import (
    PAYLOAD_MAGIC,
    DecodedValue,
    HsType,
    Just,
    Left,
    Nothing,
    NothingType,
    Right,
    decode_value,
    haskell_type_name,
    normalise_type_rep,
    parse_type,
    python_to_haskell,
    show_value,
)
from core.server.value_writer import candidate_types, warmup_statement, writer_statement

# ----------------------------------------------------------------------------- an encoder

# Typeable's (module, name) of each canonical constructor, as GHC 9.0.2 reports them.
TYPEABLE = {
    "Int": ("GHC.Types", "Int"), "Word": ("GHC.Types", "Word"),
    "Integer": ("GHC.Num.Integer", "Integer"), "Natural": ("GHC.Num.Natural", "Natural"),
    "Double": ("GHC.Types", "Double"), "Float": ("GHC.Types", "Float"),
    "Bool": ("GHC.Types", "Bool"), "Char": ("GHC.Types", "Char"), "[]": ("GHC.Types", "[]"),
    "()": ("GHC.Tuple", "()"), "Maybe": ("GHC.Maybe", "Maybe"),
    "Either": ("Data.Either", "Either"), "Ratio": ("GHC.Real", "Ratio"),
    "Text": ("Data.Text.Internal", "Text"), "LazyText": ("Data.Text.Internal.Lazy", "Text"),
    "ByteString": ("Data.ByteString.Internal", "ByteString"),
    "LazyByteString": ("Data.ByteString.Lazy.Internal", "ByteString"),
    "Map": ("Data.Map.Internal", "Map"), "IntMap": ("Data.IntMap.Internal", "IntMap"),
    "Set": ("Data.Set.Internal", "Set"), "IntSet": ("Data.IntSet.Internal", "IntSet"),
    **{f"Int{n}": ("GHC.Int", f"Int{n}") for n in (8, 16, 32, 64)},
    **{f"Word{n}": ("GHC.Word", f"Word{n}") for n in (8, 16, 32, 64)},
    **{"(" + "," * n + ")": ("GHC.Tuple", "(" + "," * n + ")") for n in range(1, 7)},
}
FIXED = {"Int": "q", "Int64": "q", "Word": "Q", "Word64": "Q", "Int8": "b", "Int16": "h",
         "Int32": "i", "Word8": "B", "Word16": "H", "Word32": "I", "Double": "d",
         "Float": "f"}


def T(text: str) -> HsType:
    """A canonical type from a compact spelling: 'Map Int [Char]' etc."""
    def canon(t: HsType) -> HsType:
        names = {"Text": "Text", "LText": "LazyText", "BS": "ByteString",
                 "LBS": "LazyByteString", "String": "[]"}
        if t.con == "String":
            return HsType("[]", (HsType("Char"),))
        return HsType(names.get(t.con, t.con), tuple(canon(a) for a in t.args))
    return canon(parse_type(text))


def is_fixed(t: HsType) -> bool:
    if t.con in FIXED or t.con in ("Char", "Bool", "()"):
        return True
    return t.con.startswith("(,") and all(is_fixed(a) for a in t.args)


def enc(t: HsType, v: Any, o: str, top: bool = False) -> bytes:
    con = t.con

    def count(n: int) -> bytes:
        return struct.pack(o + "q", n)

    if con in FIXED:
        return struct.pack(o + FIXED[con], v)
    if con == "Char":
        return struct.pack(o + "q", ord(v))
    if con in ("Bool", "()"):
        return bytes([1 if v is True else 0])
    if con in ("Integer", "Natural"):
        return decimal(v).encode() + b";"
    if con in ("Text", "LazyText") or (con == "[]" and t.args[0].con == "Char"):
        return bytes(v.encode("utf-8", "surrogatepass")) + b"\xff"
    if con == "ByteString":
        return count(len(v)) + bytes(v)
    if con == "LazyByteString":  # chunks of up to 3 bytes, then 0
        return b"".join(count(len(v[i:i + 3])) + bytes(v[i:i + 3])
                        for i in range(0, len(v), 3)) + count(0)
    if con == "[]":
        if top:
            return b"".join(enc(t.args[0], x, o) for x in v)
        chunks = [v[i:i + 2] for i in range(0, len(v), 2)]  # chunks of up to 2, then 0
        return b"".join(count(len(c)) + b"".join(enc(t.args[0], x, o) for x in c)
                        for c in chunks) + count(0)
    if con.startswith("(,"):
        return b"".join(enc(a, x, o) for a, x in zip(t.args, v, strict=True))
    if con == "Maybe":
        return b"N" if v is Nothing else b"J" + enc(t.args[0], v.value, o)
    if con == "Either":
        if isinstance(v, Left):
            return b"L" + enc(t.args[0], v.value, o)
        return b"R" + enc(t.args[1], v.value, o)
    if con == "Ratio":
        return enc(t.args[0], v.numerator, o) + enc(t.args[0], v.denominator, o)
    if con in ("Map", "IntMap"):
        key = t.args[0] if con == "Map" else HsType("Int")
        items = sorted(v.items())
        return count(len(items)) + b"".join(enc(key, k, o) + enc(t.args[-1], x, o)
                                            for k, x in items)
    if con in ("Set", "IntSet"):
        elem = t.args[0] if con == "Set" else HsType("Int")
        items = sorted(v)
        return count(len(items)) + b"".join(enc(elem, x, o) for x in items)
    raise AssertionError(con)


def decimal(n: int) -> str:
    """str(n) without Python 3.11's 4300-digit limit."""
    if n < 0:
        return "-" + decimal(-n)
    chunks = []
    while n >= 10 ** 1000:
        n, low = divmod(n, 10 ** 1000)
        chunks.append(str(low).rjust(1000, "0"))
    return str(n) + "".join(reversed(chunks))


def tree(t: HsType, o: str) -> bytes:
    module, name = TYPEABLE[t.con]
    return (module.encode() + b"\xff" + name.encode() + b"\xff"
            + struct.pack(o + "q", len(t.args)) + b"".join(tree(a, o) for a in t.args))


def payload(t: HsType, v: Any, *, o: str = "<", type_rep: str | None = None) -> bytes:
    rep = type_rep if type_rep is not None else t.render().replace("LazyText", "Text")
    return (PAYLOAD_MAGIC + struct.pack(o + "q", 1) + b"V" + rep.encode() + b"\xff"
            + tree(t, o) + enc(t, v, o, top=True))


def raw_payload(kind: str, type_rep: str, tree_bytes: bytes, body: bytes = b"") -> bytes:
    return (PAYLOAD_MAGIC + struct.pack("<q", 1) + kind.encode() + type_rep.encode()
            + b"\xff" + tree_bytes + body)


def user_tree(name: str) -> bytes:
    return b"Ghci1\xff" + name.encode() + b"\xff" + struct.pack("<q", 0)


# ----------------------------------------------------------------------- Maybe and Either


def test_maybe_and_either_values() -> None:
    values: list[object] = [Just(1), Just(2), Left(1), Right(1), Nothing, Just(Nothing),
                            Just(Just(1)), Left(Nothing)]
    for i, a in enumerate(values):
        for j, b in enumerate(values):
            assert (a == b) == (i == j), (a, b)
    assert Just(1) == Just(1) and hash(Just((1, "a"))) == hash(Just((1, "a")))
    assert repr(Just(Nothing)) == "Just(Nothing)" and repr(Left(2)) == "Left(2)"
    assert repr(Right("x")) == "Right('x')"
    with pytest.raises(AttributeError):
        Just(1).value = 2  # type: ignore[misc]
    for value, expected in ((Just(3), "just 3"), (Left("e"), "left e"), (Right(4), "right 4"),
                            (Nothing, "nothing")):
        assert describe(value) == expected


def describe(value: object) -> str:
    match value:
        case Just(x):
            return f"just {x}"
        case Left(x):
            return f"left {x}"
        case Right(x):
            return f"right {x}"
        case NothingType():
            return "nothing"
    return "other"


def test_nothing_is_a_singleton() -> None:
    assert NothingType() is Nothing
    assert copy.copy(Nothing) is Nothing and copy.deepcopy(Nothing) is Nothing
    assert pickle.loads(pickle.dumps(Nothing)) is Nothing
    assert pickle.loads(pickle.dumps([Just(Nothing)]))[0].value is Nothing
    assert repr(Nothing) == "Nothing"
    assert {Nothing: 1}[Nothing] == 1


# ------------------------------------------------------------------------------ types


@pytest.mark.parametrize(("text", "rendered"), [
    ("Int", "Int"),
    ("[Int]", "[Int]"),
    ("Maybe (Int, [Char])", "Maybe (Int,[Char])"),
    ("Data.Map.Internal.Map [Char] [Maybe (Int, Double)]",
     "Data.Map.Internal.Map [Char] [Maybe (Int,Double)]"),
    ("M.Map String Int", "M.Map String Int"),
    ("( Maybe  ( Int ) )", "Maybe Int"),
    ("()", "()"),
    ("(Int, Maybe Char)", "(Int,(Maybe Char))"),
    ("a -> a", "a -> a"),
    ("(Int -> Int) -> [a] -> b", "(Int -> Int) -> [a] -> b"),
    ("Maybe (Int -> Int)", "Maybe (Int -> Int)"),
    ("Show a => a -> String", "a => a -> String".replace("a =>", "Show a =>")),
    ("forall a. a -> a", "forall. a -> a"),
    ("(,) Int", "(,) Int"),
    ("[] Int", "[Int]"),
    ("Proxy Symbol \"a b\"", "Proxy Symbol \"a b\""),
    ("Proxy [*] (': * Int ('[] *))", "Proxy [*] (': * Int ('[] *))"),
    ("Either a (f :+: g)", "Either a (:+: f g)"),
    ("GHC.Word.Word8", "GHC.Word.Word8"),
    ("Data.Text.Internal.Text\n  ", "Data.Text.Internal.Text"),
    ("(# Int, Int #)", "(#,#) Int Int"),
    ("Proxy (a :: k)", "Proxy a"),
])
def test_parse_type(text: str, rendered: str) -> None:
    assert parse_type(text).render() == rendered


def test_parse_type_structure() -> None:
    t = parse_type("M.Map String [Maybe (Int, Double)]")
    assert t.con == "M.Map" and t.name == "Map" and t.qualifier == "M"
    assert t.args[1] == HsType("[]", (HsType("Maybe", (HsType("(,)", (HsType("Int"),
                                                                      HsType("Double"))),)),))
    assert not t.is_opaque
    assert parse_type("Int -> Int").is_opaque
    assert parse_type("Show a => a").is_opaque
    assert parse_type("[a]").is_opaque and parse_type("[a]").args[0].is_variable
    assert not parse_type("Maybe Int").args[0].is_variable


@pytest.mark.parametrize("text", ["", "   ", "(", "Maybe (", "[Int", "Int)", "a ->", ",", "-> a"])
def test_parse_type_errors(text: str) -> None:
    with pytest.raises(ValueError, match="parse type"):
        parse_type(text)


@pytest.mark.parametrize(("text", "normal"), [
    ("String", "[Char]"),
    ("FilePath", "[Char]"),
    ("Rational", "Ratio Integer"),
    ("Data.Map.Internal.Map String  (Int)", "Map [Char] Int"),
    ("M.Map Prelude.String [GHC.Maybe.Maybe (GHC.Types.Int, Double)]",
     "Map [Char] [Maybe (Int,Double)]"),
    ("(Int, Maybe Char)", "(Int,(Maybe Char))"),
    ("Maybe (String -> Int)", "Maybe ([Char] -> Int)"),
    ("not a type (", "not a type ("),
    ("  spaced   out (  ", "spaced out ("),
])
def test_normalise_type_rep(text: str, normal: str) -> None:
    assert normalise_type_rep(text) == normal
    assert normalise_type_rep(normal) == normal


@pytest.mark.parametrize(("text", "expected"), [
    ("[Int]", ["[Int]"]),
    ("String", ["[Char]"]),
    ("FilePath", ["[Char]"]),
    ("Rational", ["Ratio Integer"]),
    ("M.Map String [Maybe (Int, Double)]", ["Map [Char] [Maybe (Int,Double)]"]),
    ("Data.Text.Internal.Text", ["Text"]),
    ("Data.Text.Internal.Lazy.Text", ["LazyText"]),
    ("Text", ["Text", "LazyText"]),
    ("BL.ByteString", ["ByteString", "LazyByteString"]),
    ("Data.ByteString.Lazy.Internal.ByteString", ["LazyByteString"]),
    ("(Text, ByteString)", ["(Text,ByteString)", "(Text,LazyByteString)",
                            "(LazyText,ByteString)", "(LazyText,LazyByteString)"]),
    ("Maybe T", []),
    ("T", []),
    ("Int -> Int", []),
    ("Maybe a", []),
    ("Map Int", []),
    ("(Int, Int, Int, Int, Int, Int, Int, Int)", []),
])
def test_candidate_types(text: str, expected: list[str]) -> None:
    assert [c.render() for c in candidate_types(parse_type(text))] == expected


def test_candidates_are_bounded() -> None:
    many = "(" + ", ".join(["Text"] * 6) + ")"
    assert len(candidate_types(parse_type(many))) == 8


def test_haskell_type_name() -> None:
    assert haskell_type_name(T("Map String [Maybe (Int, Double)]")) == (
        "Data.Map.Internal.Map [GHC.Types.Char] "
        "[GHC.Maybe.Maybe (GHC.Types.Int, GHC.Types.Double)]")
    assert haskell_type_name(T("Ratio Integer")) == "GHC.Real.Ratio GHC.Num.Integer.Integer"
    with pytest.raises(ValueError, match="not a table type"):
        haskell_type_name(HsType("T"))
    with pytest.raises(ValueError):
        haskell_type_name(HsType("Maybe"))


# ------------------------------------------------------------------------------ decoding

CASES: list[tuple[str, Any, str]] = [
    ("Int", -5, "-5"),
    ("Integer", 2 ** 100, str(2 ** 100)),
    ("Integer", -(10 ** 5000) + 1, "-" + "9" * 5000),  # beyond int('...')'s 4300 digits
    ("Word", 2 ** 64 - 1, "18446744073709551615"),
    ("Natural", 7, "7"),
    ("(Int8,Int16,Int32,Int64)", (-128, -1, 2 ** 31 - 1, -(2 ** 63)),
     f"(-128,-1,2147483647,{-(2 ** 63)})"),
    ("(Word8,Word16,Word32,Word64)", (255, 65535, 2 ** 32 - 1, 0),
     "(255,65535,4294967295,0)"),
    ("Double", 0.1, "0.1"),
    ("Double", -0.0, "-0.0"),
    ("Double", 1e23, "9.999999999999999e22"),
    ("Double", 1e7, "1.0e7"),
    ("Double", 1e-2, "1.0e-2"),
    ("Double", 5e-324, "5.0e-324"),
    ("Double", 123456.789, "123456.789"),
    ("Double", math.inf, "Infinity"),
    ("Double", -math.inf, "-Infinity"),
    ("Float", 0.10000000149011612, "0.1"),
    ("Float", 16777216.0, "1.6777216e7"),
    ("Bool", True, "True"),
    ("()", None, "()"),
    ("Char", "'", "'\\''"),
    ("Char", '"', "'\"'"),
    ("Char", "\x0e", "'\\SO'"),
    ("Char", "\ud800", "'\\55296'"),
    ("String", "", '""'),
    ("String", "h\u00e9\u04d25\x0eH\x01\x7f\"'\\\n\t\x00\U0001f600",
     '"h\\233\\1234\\&5\\SO\\&H\\SOH\\DEL\\"\'\\\\\\n\\t\\NUL\\128512"'),
    ("String", "a\ud800b\udc00", '"a\\55296b\\56320"'),
    ("Text", "t\u00e9xt", '"t\\233xt"'),
    ("LText", "lazy", '"lazy"'),
    ("BS", b"\x00\xff\"a", '"\\NUL\\255\\"a"'),
    ("LBS", b"", '""'),
    ("[Int]", [1, -2, 3], "[1,-2,3]"),
    ("[Int]", [], "[]"),
    ("[Double]", [1.5, -0.0, math.inf], "[1.5,-0.0,Infinity]"),
    ("[()]", [None, None], "[(),()]"),
    ("[Bool]", [True, False], "[True,False]"),
    ("[Char]", "ab", '"ab"'),
    ("[[Int]]", [[1], [], [2, 3]], "[[1],[],[2,3]]"),
    ("[String]", ["a", "", "\u00e9"], '["a","","\\233"]'),
    ("[(Int,Char,Bool)]", [(1, "x", True)], "[(1,'x',True)]"),
    ("(Int,(Double,Char))", (1, (2.5, "c")), "(1,(2.5,'c'))"),
    ("Maybe Int", Just(-3), "Just (-3)"),
    ("Maybe Int", Nothing, "Nothing"),
    ("Maybe (Maybe Double)", Just(Just(-0.5)), "Just (Just (-0.5))"),
    ("Maybe Double", Just(-math.inf), "Just (-Infinity)"),
    ("[Maybe Integer]", [Just(1), Nothing], "[Just 1,Nothing]"),
    ("Either Int String", Left(-1), "Left (-1)"),
    ("Either Int String", Right("r"), 'Right "r"'),
    ("Ratio Integer", Fraction(-3, 4), "(-3) % 4"),
    ("Maybe (Ratio Int)", Just(Fraction(1, 2)), "Just (1 % 2)"),
    ("[Ratio Integer]", [Fraction(5)], "[5 % 1]"),
    ("Map String Int", {"a": 1, "b": -2}, 'fromList [("a",1),("b",-2)]'),
    ("Map Int Int", {}, "fromList []"),
    ("Maybe (Map Int Char)", Just({1: "x"}), "Just (fromList [(1,'x')])"),
    ("Map String [Maybe (Int,Double)]", {"a": [Just((1, 2.5))]},
     'fromList [("a",[Just (1,2.5)])]'),
    ("IntMap String", {-1: "m", 3: "c"}, 'fromList [(-1,"m"),(3,"c")]'),
    ("Set Char", frozenset("hello"), 'fromList "ehlo"'),
    ("Set Int", frozenset({3, -1}), "fromList [-1,3]"),
    ("IntSet", frozenset({5, -2}), "fromList [-2,5]"),
    ("Set (Set Int)", frozenset({frozenset({1}), frozenset()}),
     "fromList [fromList [],fromList [1]]"),
    ("Either (Maybe Int) ()", Right(None), "Right ()"),
]


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize(("ty", "value", "shown"), CASES,
                         ids=[f"{c[0]}:{c[2][:20]}" for c in CASES])
def test_decode(ty: str, value: Any, shown: str, order: str) -> None:
    t = T(ty)
    d = decode_value(payload(t, value, o=order))
    assert d.has_show
    assert same(d.value, value), (d.value, value)
    assert d.show == shown
    assert show_value(value, t) == shown


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (Just, Left, Right)):
        return same(a.value, b.value)
    return bool(a == b)


def test_decoded_types_and_shapes() -> None:
    d = decode_value(payload(T("[Int]"), list(range(1000))))
    assert d.type_rep == "[Int]" and d.value == list(range(1000))
    assert all(type(x) is int for x in d.value)
    d = decode_value(payload(T("Float"), 0.1, type_rep="Float"))
    assert d.value == struct.unpack("<f", struct.pack("<f", 0.1))[0]  # exact binary32
    d = decode_value(payload(T("Double"), math.nan))
    assert isinstance(d.value, float) and math.isnan(d.value) and d.show == "NaN"
    d = decode_value(payload(T("Map [Int] Char"), {(1, 2): "x"}))
    assert d.value == {(1, 2): "x"}  # an unhashable list key arrives as a tuple
    assert d.show == "fromList [([1,2],'x')]"
    d = decode_value(payload(T("Set (Map Int Int)"), [{1: 2}]))
    assert d.value == frozenset({((1, 2),)})
    d = decode_value(payload(T("Map (Maybe [Int]) ()"), {Just((1,)): None}))
    assert d.value == {Just((1,)): None}


def test_decoded_value_object() -> None:
    d = decode_value(payload(T("[Int]"), [1, 2]))
    assert repr(d) == "DecodedValue(type_rep='[Int]', value=[1, 2], has_show=True)"
    assert d == DecodedValue("[Int]", [1, 2], "[1,2]", True)
    assert d == DecodedValue("[Int]", [1, 2], lambda: "[1,2]")
    assert d != DecodedValue("[Int]", [1, 2], "[1, 2]", True)
    assert DecodedValue("F", None, None).has_show is False
    assert d.show is d.show  # computed once
    e = decode_value(payload(T("(Int,Char)"), (1, "a")))
    assert hash(e) == hash(DecodedValue("(Int,Char)", (1, "a"), "(1,'a')", True))
    with pytest.raises(AttributeError):
        d.value = 3  # type: ignore[misc]


def test_show_and_opaque_payloads() -> None:
    d = decode_value(raw_payload("S", "T", user_tree("T"), "B (-3) \u00e9".encode()))
    assert (d.type_rep, d.value, d.show, d.has_show) == ("T", None, "B (-3) \u00e9", True)
    d = decode_value(raw_payload("O", "Int -> Int", b"GHC.Prim\xffFUN\xff"
                                 + struct.pack("<q", 2) + tree(T("Int"), "<") * 2))
    assert (d.type_rep, d.value, d.show, d.has_show) == ("Int -> Int", None, None, False)
    d = decode_value(raw_payload("S", "[Char]", tree(T("String"), "<"), b'"x"'))
    assert (d.value, d.show) == (None, '"x"')


def test_bytearray_and_memoryview_payloads() -> None:
    p = payload(T("Maybe Int"), Just(1))
    assert decode_value(bytearray(p)).value == Just(1)  # type: ignore[arg-type]
    assert decode_value(memoryview(p)).value == Just(1)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ malformed input

GOOD = payload(T("Map String [Maybe (Int,Double)]"), {"a": [Just((1, 2.5)), Nothing]})


@pytest.mark.parametrize("cut", range(len(GOOD)))
def test_every_truncation_is_a_value_error(cut: int) -> None:
    with pytest.raises(ValueError):
        decode_value(GOOD[:cut])


@pytest.mark.parametrize(("data", "message"), [
    (b"", "magic"),
    (b"XXXX" + b"\x01" + b"\0" * 20, "magic"),
    (PAYLOAD_MAGIC + b"\x02" + b"\0" * 7 + b"V", "64 bits"),
    (PAYLOAD_MAGIC + struct.pack("<q", 1) + b"Z" + b"Int\xff", "kind"),
    (payload(T("Int"), 1) + b"\0", "trailing"),
    (payload(T("[Int]"), [1])[:-1], "multiple of 8"),
    (raw_payload("V", "Int", tree(T("Int"), "<")[:-8] + struct.pack("<q", 99)), "argument count"),
    (raw_payload("V", "T", user_tree("T"), b"x"), "outside the table"),
    (raw_payload("V", "Maybe Int", tree(T("Maybe Int"), "<"), b"X"), "Maybe tag"),
    (raw_payload("V", "Either () ()", tree(T("Either () ()"), "<"), b"Q"), "Either tag"),
    (raw_payload("V", "Bool", tree(T("Bool"), "<"), b"\x02"), "Bool"),
    (raw_payload("V", "()", tree(T("()"), "<"), b"\x01"), "()"),
    (raw_payload("V", "Char", tree(T("Char"), "<"), struct.pack("<q", 0x110000)), "code point"),
    (raw_payload("V", "[[Int]]", tree(T("[[Int]]"), "<"), struct.pack("<q", 2 ** 60)), "count"),
    (raw_payload("V", "[[Int]]", tree(T("[[Int]]"), "<"), struct.pack("<q", -1)), "count"),
    (raw_payload("V", "Integer", tree(T("Integer"), "<"), b"12a;"), "integer"),
    (raw_payload("V", "Natural", tree(T("Natural"), "<"), b"-1;"), "integer"),
    (raw_payload("V", "Ratio Int", tree(T("Ratio Int"), "<"), struct.pack("<qq", 1, 0)),
     "denominator"),
    (raw_payload("V", "String", tree(T("String"), "<"), b"\xc3\x28\xff"), "UTF-8"),
    (raw_payload("V", "ByteString", tree(T("BS"), "<"), struct.pack("<q", 5) + b"ab"),
     "truncated"),
    (PAYLOAD_MAGIC + struct.pack("<q", 1) + b"V\xc3\x28\xff", "UTF-8"),
    (raw_payload("O", "Int", tree(T("Int"), "<"), b"x"), "body"),
])
def test_malformed_payloads(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        decode_value(data)


def deep_list_tree(depth: int) -> bytes:
    """The tree of [[...[Int]...]], ``depth`` lists deep, written without recursion."""
    return (b"GHC.Types\xff[]\xff" + struct.pack("<q", 1)) * depth + tree(T("Int"), "<")


def test_deep_trees_are_read_without_recursion() -> None:
    """GHC lets a type nest deeper than Python's stack (with -freduction-depth=0): its show
    text still arrives; only a value of table types is decoded recursively, and the writer
    sends those only up to MAX_VALUE_DEPTH."""
    decoded = decode_value(raw_payload("S", "[[deep]]", deep_list_tree(5000), b"[[1]]"))
    assert (decoded.type_rep, decoded.value, decoded.show) == ("[[deep]]", None, "[[1]]")
    with pytest.raises(ValueError, match="deeply"):
        decode_value(raw_payload("V", "[[deep]]", deep_list_tree(5000), b"\0" * 8))
    shallow = deep_list_tree(MAX_VALUE_DEPTH - 1)  # with Int: MAX_VALUE_DEPTH levels
    # The top-level list has no counts; each list below it one chunk of one, then a 0.
    body = (struct.pack("<q", 1) * (MAX_VALUE_DEPTH - 2) + struct.pack("<q", 7)
            + struct.pack("<q", 0) * (MAX_VALUE_DEPTH - 2))
    value: object = decode_value(raw_payload("V", "x", shallow, body)).value
    for _ in range(MAX_VALUE_DEPTH - 1):
        assert isinstance(value, list) and len(value) == 1
        value = value[0]
    assert value == 7


def test_large_and_wide_trees_are_refused() -> None:
    with pytest.raises(ValueError, match="too large"):
        decode_value(raw_payload("S", "x", deep_list_tree(20_000), b"x"))
    node = b"M\xffN\xff" + struct.pack("<q", 60)
    with pytest.raises(ValueError):
        decode_value(raw_payload("V", "x", node * 200))


def test_types_nesting_deeper_than_values_are_decoded_go_as_show_text() -> None:
    assert candidate_types(T("[" * (MAX_VALUE_DEPTH - 1) + "Int" + "]" * (MAX_VALUE_DEPTH - 1)))
    assert candidate_types(T("[" * MAX_VALUE_DEPTH + "Int" + "]" * MAX_VALUE_DEPTH)) == []
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_type("Maybe (" * 2000 + "Int" + ")" * 2000)


@settings(max_examples=300)
@given(st.binary(max_size=80))
def test_random_bytes_never_escape_value_error(data: bytes) -> None:
    for candidate in (data, PAYLOAD_MAGIC + struct.pack("<q", 1) + b"V" + data,
                      GOOD[:40] + data):
        with contextlib.suppress(ValueError):
            decode_value(candidate)


@settings(max_examples=200)
@given(st.integers(0, len(GOOD) - 1), st.integers(0, 255))
def test_flipped_bytes_never_escape_value_error(pos: int, byte: int) -> None:
    data = bytearray(GOOD)
    data[pos] = byte
    with contextlib.suppress(ValueError):
        decode_value(bytes(data))


# ---------------------------------------------------------- round trips through the format

SCALARS: list[tuple[str, st.SearchStrategy[Any]]] = [
    ("Int", st.integers(-(2 ** 63), 2 ** 63 - 1)),
    ("Word8", st.integers(0, 255)),
    ("Int16", st.integers(-(2 ** 15), 2 ** 15 - 1)),
    ("Integer", st.integers()),
    ("Natural", st.integers(min_value=0)),
    ("Double", st.floats()),
    ("Float", st.floats(width=32)),
    ("Bool", st.booleans()),
    ("Char", st.characters()),
    ("String", st.text(max_size=6)),
    ("Text", st.text(st.characters(blacklist_categories=["Cs"]), max_size=6)),
    ("BS", st.binary(max_size=6)),
    ("()", st.none()),
    ("Ratio Integer", st.fractions()),
]


def typed_values() -> st.SearchStrategy[tuple[HsType, Any]]:
    base = st.sampled_from(SCALARS).flatmap(
        lambda p: p[1].map(lambda v, p=p: (T(p[0]), v)))

    def extend(children: st.SearchStrategy[tuple[HsType, Any]]
               ) -> st.SearchStrategy[tuple[HsType, Any]]:
        def lists(tv: tuple[HsType, Any]) -> st.SearchStrategy[tuple[HsType, Any]]:
            t, v = tv
            if t.con == "Char":
                return st.lists(st.just(v), max_size=3).map(
                    lambda xs: (HsType("[]", (t,)), "".join(xs)))
            return st.lists(st.just(v), max_size=3).map(lambda xs: (HsType("[]", (t,)), xs))

        return st.one_of(
            children.flatmap(lists),
            st.tuples(children, children).map(
                lambda p: (HsType("(,)", (p[0][0], p[1][0])), (p[0][1], p[1][1]))),
            children.map(lambda tv: (HsType("Maybe", (tv[0],)), Just(tv[1]))),
            children.map(lambda tv: (HsType("Maybe", (tv[0],)), Nothing)),
            children.map(lambda tv: (HsType("Either", (tv[0], tv[0])), Right(tv[1]))),
            children.map(lambda tv: (HsType("Map", (HsType("Int"), tv[0])), {1: tv[1]})),
        )

    return st.recursive(base, extend, max_leaves=5)


@settings(max_examples=300)
@given(typed_values(), st.sampled_from("<>"))
def test_format_round_trip(tv: tuple[HsType, Any], order: str) -> None:
    t, value = tv
    d = decode_value(payload(t, value, o=order))
    assert same(d.value, value)
    assert d.show == show_value(value, t)


@settings(max_examples=300)
@given(typed_values())
def test_python_to_haskell_accepts_every_table_value(tv: tuple[HsType, Any]) -> None:
    t, value = tv
    spelled = t.render().replace("LazyText", "Data.Text.Lazy.Text")
    expr, type_rep = python_to_haskell(value, spelled)
    assert type_rep == normalise_type_rep(type_rep)
    assert_literal_free(expr)


# ------------------------------------------------------------------------- show emulation


@pytest.mark.parametrize(("x", "text"), [
    (0.0, "0.0"), (-0.0, "-0.0"), (1.0, "1.0"), (0.1, "0.1"), (100.0, "100.0"),
    (1e7, "1.0e7"), (9999999.0, "9999999.0"), (12345678.9, "1.23456789e7"),
    (0.01, "1.0e-2"), (0.1234, "0.1234"), (1e-3, "1.0e-3"), (1e23, "9.999999999999999e22"),
    (1e22, "1.0e22"), (5e-324, "5.0e-324"), (1.7976931348623157e308, "1.7976931348623157e308"),
    (1110976277310404.25, "1.1109762773104043e15"), (2.0 ** 60, "1.152921504606847e18"),
    (math.nan, "NaN"), (-math.nan, "NaN"),
])
def test_show_double(x: float, text: str) -> None:
    assert show_value(x, HsType("Double")) == text


@pytest.mark.parametrize(("x", "text"), [
    (0.1, "0.1"), (16777216.0, "1.6777216e7"), (3.4028234663852886e38, "3.4028235e38"),
    (1.401298464324817e-45, "1.0e-45"), (1 / 3, "0.33333334"),
])
def test_show_float(x: float, text: str) -> None:
    assert show_value(x, HsType("Float")) == text


def test_show_precedence() -> None:
    assert show_value(-3, HsType("Int"), 11) == "(-3)"
    assert show_value(-3, HsType("Int"), 6) == "-3"
    assert show_value(-0.0, HsType("Double"), 7) == "(-0.0)"
    assert show_value(math.nan, HsType("Double"), 11) == "NaN"
    assert show_value(Fraction(1, 2), T("Ratio Int"), 8) == "(1 % 2)"
    assert show_value(Just(1), T("Maybe Int"), 11) == "(Just 1)"
    assert show_value({1: 2}, T("Map Int Int"), 11) == "(fromList [(1,2)])"
    assert show_value([(-1, -2)], T("[(Int,Int)]")) == "[(-1,-2)]"
    assert show_value(Left(Just(-1)), T("Either (Maybe Int) ()")) == "Left (Just (-1))"


def test_show_value_errors() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        show_value("x", HsType("Int"))
    with pytest.raises(ValueError, match="does not fit"):
        show_value(3, T("Maybe Int"))


# ---------------------------------------------------------------------- Python -> Haskell

NUMERIC_OR_STRING_LITERAL = re.compile(r"""(?<![\w'.\\])\d|"|'\\?.{0,7}'""")


def assert_literal_free(expr: str) -> None:
    """Only Char literals: no numeric literal (RebindableSyntax would call the fromInteger
    in scope), no string literal (OverloadedStrings) and no list syntax before the type
    annotation (with OverloadedLists, RebindableSyntax would call the fromListN in scope)."""
    without_chars = re.sub(r"'(?:\\\d+|[^'\\])'", "", expr)
    assert '"' not in without_chars, expr
    assert re.search(r"(?<![\w'])\d", without_chars) is None, expr
    assert "[" not in without_chars.rpartition(" :: ")[0], expr


@pytest.mark.parametrize(("value", "type_rep"), [
    (3, "Integer"),
    (-(2 ** 100), "Integer"),
    (True, "Bool"),
    (1.5, "Double"),
    (math.nan, "Double"),
    ("x", "[Char]"),
    ("", "[Char]"),
    (b"\x00\xff", "ByteString"),
    (None, "()"),
    ([1, 2.5], "[Double]"),
    ([[], [1]], "[[Integer]]"),
    ((1, "a", None), "(Integer,[Char],())"),
    (Just(Nothing), "Maybe (Maybe ())".replace("()", "()")),
    ([Left(1), Right("r")], "[Either Integer [Char]]"),
    ({"k": [Just(1)]}, "Map [Char] [Maybe Integer]"),
    (frozenset({1, 2}), "Set Integer"),
    ({Fraction(1, 2)}, "Set (Ratio Integer)"),
    ([Fraction(1, 2), 3], "[Ratio Integer]"),
])
def test_python_to_haskell_inference(value: object, type_rep: str) -> None:
    if value == Just(Nothing):
        with pytest.raises(ValueError, match="not determined"):
            python_to_haskell(value)
        return
    expr, rep = python_to_haskell(value)
    assert rep == type_rep
    assert expr.startswith("(") and expr.endswith(")")
    assert_literal_free(expr)


@pytest.mark.parametrize(("value", "haskell_type", "type_rep", "fragment"), [
    (3, "Int", "Int", ":: GHC.Types.Int)"),
    (255, "GHC.Word.Word8", "Word8", ":: GHC.Word.Word8)"),
    (b"ab", "[Word8]", "[Word8]", ":: [GHC.Word.Word8])"),
    ("a", "Char", "Char", "('a' :: GHC.Types.Char)"),
    ("txt", "Data.Text.Text", "Text", "Data.Text.pack"),
    ("txt", "TL.Text".replace("TL.", "Data.Text.Lazy."), "Text", "Data.Text.Lazy.pack"),
    (b"b", "Data.ByteString.Lazy.ByteString", "ByteString", "Data.ByteString.Lazy.Char8.pack"),
    ([], "[Int]", "[Int]", "((GHC.Base.mempty) :: [GHC.Types.Int])"),
    (Nothing, "Maybe Int", "Maybe Int", "GHC.Maybe.Nothing"),
    (Left(1), "Either Int Bool", "Either Int Bool", "Data.Either.Left"),
    ({}, "Map String Int", "Map [Char] Int",
     "Data.Map.Internal.fromList (GHC.List.zip (GHC.Base.mempty) (GHC.Base.mempty))"),
    ({1: "a"}, "IntMap String", "IntMap [Char]", "Data.IntMap.Internal.fromList"),
    (set(), "IntSet", "IntSet", "Data.IntSet.Internal.fromList (GHC.Base.mempty)"),
    (Fraction(-1, 3), "Rational", "Ratio Integer", "GHC.Real.%"),
    (2, "Rational", "Ratio Integer", "GHC.Real.%"),
    (0.1, "Float", "Float", "GHC.Float.castWord32ToFloat"),
    (1e300, "Float", "Float", "castWord32ToFloat"),
    (3, "Double", "Double", "castWord64ToDouble"),
    (10 ** 30, "Natural", "Natural", "GHC.List.foldl"),
])
def test_python_to_haskell_with_type(value: object, haskell_type: str, type_rep: str,
                                     fragment: str) -> None:
    expr, rep = python_to_haskell(value, haskell_type)
    assert rep == type_rep
    assert fragment in expr
    assert_literal_free(expr)


@pytest.mark.parametrize(("value", "haskell_type", "message"), [
    ([], None, "not determined"),
    (Nothing, None, "not determined"),
    (Left(1), None, "not determined"),
    ({}, None, "not determined"),
    ([1, "a"], None, "different Haskell types"),
    (object(), None, "no Haskell counterpart"),
    (1j, None, "no Haskell counterpart"),
    ((1,), None, "tuples of 2 to 7"),
    (tuple(range(8)), None, "tuples of 2 to 7"),
    (256, "Word8", "out of range"),
    (-1, "Natural", "negative"),
    (2 ** 63, "Int", "out of range"),
    (True, "Int", "not an integer"),
    ("ab", "Char", "one-character"),
    ("\ud800", "Text", "surrogate"),
    (3, "T", "not a supported type"),
    (3, "Maybe", "not a supported type"),
    ([1], "Int", "not an integer"),
    ((1, 2), "(Int, Int, Int)", "3-tuple"),
    (10 ** 400, "Double", "too large"),
    ("x", "Int ->", "parse type"),
])
def test_python_to_haskell_errors(value: object, haskell_type: str | None,
                                  message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        python_to_haskell(value, haskell_type)


def test_python_to_haskell_with_string_literals() -> None:
    plain, type_rep = python_to_haskell(["ab", "\u00e91"])
    fast, fast_rep = python_to_haskell(["ab", "\u00e91"], literals=True)
    assert type_rep == fast_rep == "[[Char]]"
    assert "('a' : 'b' : GHC.Base.mempty)" in plain and '"ab"' not in plain
    assert '"ab"' in fast and '"\\233\\&1"' in fast  # no "\2331"
    ints, _ = python_to_haskell(list(range(100, 120)), literals=True)
    assert "GHC.Base.map" in ints and '"\\0\\1\\2' in ints
    text, _ = python_to_haskell("q\"\\", "Data.Text.Text", literals=True)
    assert 'Data.Text.pack "q\\34\\92"' in text
    forms = python_to_haskell_forms(["ab", "\u00e91"])
    assert (forms.expr, forms.expr_literals, forms.type, forms.blobs) == (
        plain, fast, type_rep, ())


def test_long_texts_leave_the_expressions_as_blobs() -> None:
    big = [10 ** 12 + i * 7919 for i in range(1000)]  # a span beyond one code point
    forms = python_to_haskell_forms(big, "[Int]")
    text = " ".join(map(str, big))
    # Both forms read the one blob, as the bytes readInteger takes apart: no String between.
    assert forms.blobs == (text,)
    for expr in (forms.expr, forms.expr_literals):
        assert "Data.ByteString.Char8.readInteger" in expr and blob_variable(0) in expr
        assert "Data.ByteString.Char8.pack" not in expr and str(big[5]) not in expr
    # Short texts stay in the expressions; literal-free, a shorter text is worth a blob
    # (Char literals cost GHCi 25-60 us each, a string literal's characters ~0.65 us).
    small = python_to_haskell_forms("x" * 200)
    assert small.blobs == ("x" * 200,)
    assert '"' + "x" * 200 + '"' in small.expr_literals
    assert blob_variable(0) in small.expr and "Data.Text.Encoding.decodeUtf8" in small.expr
    assert python_to_haskell_forms("x" * 100).blobs == ()
    # One blob per distinct text, shared (a list this short is written element by element).
    assert python_to_haskell_forms(["y" * 5000, "y" * 5000], "[Data.Text.Text]").blobs == (
        "y" * 5000,)
    # Text and ASCII ByteString values are the blob itself, decoded at most.
    text_form = python_to_haskell_forms("é" * 5000, "Data.Text.Text")
    assert f"(Data.Text.Encoding.decodeUtf8 {blob_variable(0)})" in text_form.expr_literals
    bytes_form = python_to_haskell_forms(b"z" * 5000)
    assert f"({blob_variable(0)} :: " in bytes_form.expr_literals
    lazy = python_to_haskell_forms(b"\xff" * 5000, "Data.ByteString.Lazy.ByteString")
    assert "Data.ByteString.Lazy.Char8.pack (Data.Text.unpack" in lazy.expr_literals


def test_a_text_with_a_lone_surrogate_is_never_a_blob() -> None:
    forms = python_to_haskell_forms("a\ud800" * 3000)
    assert forms.blobs == ()
    assert "\\55296" in forms.expr_literals
    # Offsets of 55,296 and more are surrogates: a long list of them goes as decimal text.
    numbers = list(range(60_000))
    forms = python_to_haskell_forms(numbers, "[Int]")
    assert forms.blobs == (" ".join(map(str, numbers)),)
    assert "readInteger" in forms.expr and "readInteger" in forms.expr_literals
    assert python_to_haskell_forms(list(range(50_000)), "[Int]").blobs == (
        "".join(map(chr, range(50_000))),)


def test_python_to_haskell_exact_numbers() -> None:
    expr, _ = python_to_haskell(-0.0)
    bits = struct.unpack("<Q", struct.pack("<d", -0.0))[0]
    assert bits == 1 << 63 and "castWord64ToDouble" in expr
    big, _ = python_to_haskell(2 ** 200 + 12345)
    assert big.count("'") > 10 and "GHC.List.foldl" in big


# --------------------------------------------------------------------------- the writer


@pytest.mark.parametrize(("type_text", "opaque"), [
    ("[Int]", False), ("Int", False), ("Maybe (Int, [Char])", False),
    ("Data.Map.Internal.Map [Char] [Maybe (Int, Double)]", False), ("T", False),
    ("Text", False), ("Int -> Int", True), ("Rational", False),
    ("(Int, Char, Bool, (), Double, Float, Word8)", False), ("Data.IntSet.Internal.IntSet", False),
    ("Either Integer Numeric.Natural.Natural", False), ("Set (Maybe BL.ByteString)", False),
])
def test_writer_statement_is_literal_free(type_text: str, opaque: bool) -> None:
    stmt = writer_statement("xs", type_text, "/tmp/o\u00e9ut 'x'.bin", opaque=opaque)
    assert stmt.startswith("_ <- ")
    head, _, tail = stmt.partition("((\n")
    assert tail == f"        xs\n  ) :: {type_text}))"
    assert head.endswith(r"(\() -> ")  # the value is made when the action runs
    assert "\n" not in head  # the expression's line i is the statement's line i
    assert_literal_free(head)
    # No do or if (RebindableSyntax rebinds them); case is never rebound.
    assert re.search(r"\bdo\b|\bif\b|\blet\b", head) is None
    # Every name is qualified, except the statement's own lambda variables.
    names = set(re.findall(r"(?<![\w'.])([a-z_][\w']*)", re.sub(r"'(?:\\\d+|[^'\\])'", "",
                                                                 head)))
    own = {"ghcShim'" + s for s in ["x", "i", "h", "f", "go", "t", *map(str, range(100))]}
    assert names <= {"_", "case", "of"} | own, names
    assert "ghcShim'x" in head


def test_writer_statement_variants() -> None:
    normal = writer_statement("x", "[Int]", "/o")
    assert "primMapListFixed Data.ByteString.Builder.Prim.intHost" in normal
    assert "Data.Typeable.cast ghcShim'x :: GHC.Maybe.Maybe ([GHC.Types.Int])" in normal
    assert "GHC.Show.show ghcShim'x" in normal  # the fallback when the cast fails
    opaque = writer_statement("x", "[Int]", "/o", opaque=True)
    assert "GHC.Show.show ghcShim'x" not in opaque and "cast" not in opaque
    assert "GHC.Base.seq ghcShim'x" in opaque
    text = writer_statement("x", "Maybe Text", "/o")
    assert "GHC.Show.show ghcShim'x" not in text  # Show Text may not be visible
    assert text.count("Data.Typeable.cast") == 2  # strict, then lazy
    shown = writer_statement("x", "T", "/o")
    assert "cast" not in shown and "GHC.Show.show ghcShim'x" in shown
    cmd = writer_statement("x -- c\n  + 1", "Maybe  Int", "/o", form="cmd")
    assert cmd.startswith(":cmd ")
    # A :cmd's expression carries its own LINE pragma (one before the block would hide it).
    assert cmd.endswith('((\n{-# LINE 1 "<ghc-shim-eval>" #-}\n        x -- c\n          + 1\n'
                        "  ) :: Maybe Int))")
    assert "GHC.Base.return GHC.Base.mempty" in cmd
    assert writer_statement("x", "not a type (", "/o").count("cast") == 0


def test_writer_statement_errors() -> None:
    with pytest.raises(ValueError, match="out_path"):
        writer_statement("x", "Int", "")
    with pytest.raises(ValueError, match="blank"):
        writer_statement("  \n", "Int", "/o")


def test_writer_keeps_tabs_and_blank_lines() -> None:
    stmt = writer_statement("do\n\tlet y = 1\n\n\ty", "Int", "/o")
    assert stmt.endswith("((\n        do\n        \tlet y = 1\n\n        \ty\n  ) :: Int))")
    unannotated = writer_statement("do\n\tlet y = 1\n\n\ty", "Int", "/o", annotate=False)
    assert unannotated.endswith(" (\n        do\n        \tlet y = 1\n\n        \ty\n  ))")


def test_warmup_statement() -> None:
    stmt = warmup_statement("/w")
    head, _, _ = stmt.partition("(\n")
    assert_literal_free(head)
    for helper in ("Data.Text.Encoding.encodeUtf8", "Data.Text.Lazy.Encoding.encodeUtf8",
                   "Data.ByteString.Lazy.toChunks", "Data.Map.Internal.foldMapWithKey",
                   "GHC.List.splitAt", "Data.ByteString.Lazy.take",
                   "Data.IntMap.Internal.foldMapWithKey", "Data.Bool.bool", "Data.Either.either",
                   "GHC.Real.numerator", "GHC.Real.toInteger", "Data.Foldable.foldMap",
                   "GHC.Base.flip GHC.Base.seq", "floatHost", "doubleHost",
                   "Data.IntSet.Internal.toAscList", "Data.Set.Internal.size"):
        assert helper in stmt, helper
    assert warmup_statement("/w", form="cmd").startswith(":cmd ")


def test_writer_only_splits_lines_at_newlines() -> None:
    stmt = writer_statement('"a\u2028b\x0cc"', "String", "/o")
    assert stmt.endswith('((\n        "a\u2028b\x0cc"\n  ) :: String))')
