"""Values out of (and into) a real GHCi 9.0.2: the writer statement, the payload, the decoder.

Each case runs ``:type +d`` in a real session, the statement of
``core.server.value_writer.writer_statement``, decodes the file with
``core.protocol.values.decode_value``, and checks the Python value and the ``show`` text
against what GHCi itself prints for ``show (expr)``.
"""

from __future__ import annotations

import math
import os
import selectors
import subprocess
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.protocol.values import (
    DecodedValue,
    HsType,
    Just,
    Left,
    Nothing,
    Right,
    decode_value,
    haskell_type_name,
    python_to_haskell,
)
from core.server.value_writer import (
    known_type_statement,
    seen_type,
    warmup_statement,
    writer_statement,
)

pytestmark = pytest.mark.ghc

MARKER = "\x01GHCSHIM-TEST-PROMPT\x02"


class GhciError(Exception):
    pass


class Ghci:
    """A raw GHCi over pipes: commands in, (stdout, stderr) of each command out.

    Both pipes are read with a selector until the prompt (a marker) arrives on stdout; GHCi
    writes a command's stderr before the next prompt, so a final non-blocking read of
    stderr collects all of it and nothing can deadlock on a full pipe.
    """

    def __init__(self, *flags: str) -> None:
        env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="dumb")
        env.pop("GHC_ENVIRONMENT", None)
        self.proc = subprocess.Popen(
            ["ghc", "--interactive", "-ignore-dot-ghci", *flags],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            start_new_session=True,
        )
        assert self.proc.stdout and self.proc.stderr and self.proc.stdin
        os.set_blocking(self.proc.stdout.fileno(), False)
        os.set_blocking(self.proc.stderr.fileno(), False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ, "out")
        self.sel.register(self.proc.stderr, selectors.EVENT_READ, "err")
        self._send(f':set prompt-cont ""\n:set prompt "{MARKER}"\n')
        self._collect()

    def _send(self, text: str) -> None:
        assert self.proc.stdin
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def _collect(self, timeout: float = 60) -> tuple[str, str]:
        out: list[bytes] = []
        err: list[bytes] = []
        marker = MARKER.encode()
        deadline = time.monotonic() + timeout
        tail = b""
        while True:
            if time.monotonic() > deadline:
                raise GhciError(f"timeout; got {b''.join(out)[-500:]!r}")
            for key, _ in self.sel.select(0.5):
                data = os.read(key.fileobj.fileno(), 1 << 16)  # type: ignore[union-attr]
                if not data:
                    raise GhciError(f"GHCi exited: {b''.join(err)[-2000:]!r}")
                (out if key.data == "out" else err).append(data)
                if key.data == "out":
                    tail = (tail + data)[-len(marker) * 2:]
            if marker in tail:
                break
        while True:
            assert self.proc.stderr
            try:
                data = os.read(self.proc.stderr.fileno(), 1 << 16)
            except BlockingIOError:
                break
            if not data:
                break
            err.append(data)
        text = b"".join(out).decode("utf-8", "surrogateescape")
        return text.replace(MARKER, ""), b"".join(err).decode("utf-8", "surrogateescape")

    def run(self, command: str) -> tuple[str, str]:
        if "\n" in command:
            command = ":{\n" + command + "\n:}"
        self._send(command + "\n")
        return self._collect()

    def ok(self, command: str) -> str:
        out, err = self.run(command)
        if "error" in err or "Exception" in err:
            raise GhciError(f"{command[:300]!r} failed:\n{err}")
        return out

    def type_of(self, expr: str) -> str:
        indented = "\n".join("        " + line for line in expr.splitlines())
        out = self.ok(f":type +d (\n{indented}\n  )")
        return _type_part(out)

    def close(self) -> None:
        try:
            self._send(":quit\n")
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            self.sel.close()
            for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    pipe.close()


def _type_part(output: str) -> str:
    """The type in GHCi's ``expr :: type`` (long ones: ``expr`` then ``  :: type`` lines).

    Good enough for the expressions of these tests (no ``::`` inside the printed type).
    """
    lines = output.rstrip("\n").split("\n")
    for i, line in enumerate(lines[1:], 1):
        if line.lstrip().startswith(":: "):
            return " ".join(" ".join(lines[i:]).split())[3:]
    _, sep, tail = output.rpartition(" :: ")
    assert sep, output
    return " ".join(tail.split())


@pytest.fixture(scope="module")
def ghci() -> Iterator[Ghci]:
    g = Ghci()
    yield g
    g.close()


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("values")


def transfer(g: Ghci, expr: str, out: Path, *, form: str = "bind",
             type_text: str | None = None) -> DecodedValue:
    """dyn_compile_expr as the server will do it: :type +d, the statement, decode.

    Retries with opaque=True when the statement does not compile (no Show instance).
    """
    if type_text is None:
        type_text = g.type_of(expr)
    if out.exists():
        out.unlink()
    # As the server: literals wherever `_ <-` can be used (no RebindableSyntax).
    literals = form == "bind"
    stmt = writer_statement(expr, type_text, str(out), form=form,  # type: ignore[arg-type]
                            literals=literals)
    _, err = g.run(stmt)
    opaque = "error" in err and "No instance for" in err
    if opaque:
        stmt = writer_statement(expr, type_text, str(out), opaque=True,
                                form=form, literals=literals)  # type: ignore[arg-type]
        _, err = g.run(stmt)
    if err.strip():
        raise GhciError(f"writer statement failed for {expr!r}:\n{err}")
    payload = out.read_bytes()
    if literals:
        check_known_type_statement(g, expr, type_text, out, payload)
    return decode_value(payload)


def check_known_type_statement(g: Ghci, expr: str, type_text: str, out: Path,
                               payload: bytes) -> None:
    """The server's shorter statement for a type seen before writes the same bytes."""
    seen = seen_type(type_text, payload)
    if seen is None:
        assert payload[12:13] == b"V"  # only a table type with several readings is not kept
        return
    out.unlink()
    _, err = g.run(known_type_statement(expr, seen, str(out)))
    if err.strip():
        raise GhciError(f"known-type statement failed for {expr!r}:\n{err}")
    assert out.read_bytes() == payload


def ghc_show(g: Ghci, expr: str) -> str:
    out = g.ok(f"System.IO.putStr (GHC.Show.show (\n{expr}\n  ))")
    return out


def same(a: object, b: object) -> bool:
    """Equality that treats NaN as equal to NaN and tells -0.0 from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple))
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (Just, Left, Right)):
        return same(a.value, b.value)  # type: ignore[attr-defined]
    return a == b


# (expression, its value in Python, the TypeRep GHC shows)
TABLE = [
    ("42 :: Int", 42, "Int"),
    ("minBound :: Int", -(2 ** 63), "Int"),
    ("1 + 1", 2, "Integer"),
    ("2 ^ 200 - 3 ^ 100", 2 ** 200 - 3 ** 100, "Integer"),
    ("negate (7 ^ 5000)", -(7 ** 5000), "Integer"),
    ("maxBound :: Word", 2 ** 64 - 1, "Word"),
    ("(-128 :: Data.Int.Int8, 32767 :: Data.Int.Int16, -5 :: Data.Int.Int32, "
     "minBound :: Data.Int.Int64)", (-128, 32767, -5, -(2 ** 63)),
     "(Int8,Int16,Int32,Int64)"),
    ("(255 :: Data.Word.Word8, 65535 :: Data.Word.Word16, maxBound :: Data.Word.Word32, "
     "maxBound :: Data.Word.Word64)", (255, 65535, 2 ** 32 - 1, 2 ** 64 - 1),
     "(Word8,Word16,Word32,Word64)"),
    ("10 ^ 30 :: Numeric.Natural.Natural", 10 ** 30, "Natural"),
    ("[0.1, -0.0, 1/0, -1/0, 1e23, 5e-324, 1e7, 12345.678] :: [Double]",
     [0.1, -0.0, math.inf, -math.inf, 1e23, 5e-324, 1e7, 12345.678], "[Double]"),
    ("0/0 :: Double", math.nan, "Double"),
    ("(0.1 :: Float, 16777217 :: Float, 1/0 :: Float)",
     (0.10000000149011612, 16777216.0, math.inf), "(Float,Float,Float)"),
    ("(True, False)", (True, False), "(Bool,Bool)"),
    ("'x'", "x", "Char"),
    ("'\\55296'", "\ud800", "Char"),
    ("\"h\\233llo \\1234\\&5 \\SO\\&H \\DEL \\\"q\\\" \\\\ \\n\\t\\128512\"",
     "h\xe9llo \u04d25 \x0eH \x7f \"q\" \\ \n\t\U0001f600", "[Char]"),
    ("['a', '\\55296', '\\56320', 'b']", "a\ud800\udc00b", "[Char]"),
    ("Data.Text.pack \"t\\233xt \\128512\"", "t\xe9xt \U0001f600", "Text"),
    ("Data.Text.Lazy.pack \"lazy\"", "lazy", "Text"),
    ("Data.ByteString.pack [0, 255, 34, 92, 10]", b"\x00\xff\"\\\n", "ByteString"),
    ("Data.ByteString.Lazy.pack [1, 2, 200]", b"\x01\x02\xc8", "ByteString"),
    ("()", None, "()"),
    ("[(), ()]", [None, None], "[()]"),
    ("[[1, 2], [], [-3]] :: [[Int]]", [[1, 2], [], [-3]], "[[Int]]"),
    ("(1 :: Int, 'a', \"b\", 2.5 :: Double, True, (), Just 'c')",
     (1, "a", "b", 2.5, True, None, Just("c")), "(Int,Char,[Char],Double,Bool,(),(Maybe Char))"),
    ("[Just (-3), Nothing] :: [Maybe Int]", [Just(-3), Nothing], "[Maybe Int]"),
    ("Just (Just Nothing) :: Maybe (Maybe (Maybe Int))", Just(Just(Nothing)),
     "Maybe (Maybe (Maybe Int))"),
    ("[Left 1, Right \"r\"] :: [Either Int String]", [Left(1), Right("r")],
     "[Either Int [Char]]"),
    ("Data.Map.fromList [(\"a\", [Just (1, 2.5)]), (\"b\", [])] "
     ":: Data.Map.Map String [Maybe (Int, Double)]",
     {"a": [Just((1, 2.5))], "b": []}, "Map [Char] [Maybe (Int,Double)]"),
    ("Data.Map.fromList [(i, -i) | i <- [1..5]] :: Data.Map.Map Int Int",
     {i: -i for i in range(1, 6)}, "Map Int Int"),
    ("Data.Map.fromList [([1,2], 'x')] :: Data.Map.Map [Int] Char", {(1, 2): "x"},
     "Map [Int] Char"),
    ("Data.IntMap.fromList [(3, \"c\"), (-1, \"m\")]", {-1: "m", 3: "c"}, "IntMap [Char]"),
    ("Data.Set.fromList \"hello\"", frozenset("helo"), "Set Char"),
    ("Data.Set.fromList [Data.Set.fromList [1 :: Int], Data.Set.empty]",
     frozenset({frozenset({1}), frozenset()}), "Set (Set Int)"),
    ("Data.IntSet.fromList [5, -2, 9]", frozenset({5, -2, 9}), "IntSet"),
    ("3 Data.Ratio.% (-4) :: Rational", Fraction(-3, 4), "Ratio Integer"),
    ("[1 Data.Ratio.% 3, 5] :: [Data.Ratio.Ratio Int]", [Fraction(1, 3), Fraction(5)],
     "[Ratio Int]"),
    ("(Data.Text.pack \"k\", Data.ByteString.Char8.pack \"v\")", ("k", b"v"),
     "(Text,ByteString)"),
    ("Just (Left (2, [Data.Text.pack \"x\"])) :: Maybe (Either (Int, [Data.Text.Text]) ())",
     Just(Left((2, ["x"]))), "Maybe (Either (Int,[Text]) ())"),
    ("((1,2,3),(4,5,6,7)) :: ((Int,Int,Int),(Int,Int,Int,Int))", ((1, 2, 3), (4, 5, 6, 7)),
     "((Int,Int,Int),(Int,Int,Int,Int))"),
    ("[(1, 'a', True)] :: [(Int, Char, Bool)]", [(1, "a", True)], "[(Int,Char,Bool)]"),
    # Lists below the top level and lazy ByteStrings cross in chunks (4096 elements).
    ("Just [1 .. 10000] :: Maybe [Int]", Just(list(range(1, 10001))), "Maybe [Int]"),
    ("[[1 .. 4097], [], [5]] :: [[Integer]]", [list(range(1, 4098)), [], [5]], "[[Integer]]"),
    ("(Data.ByteString.Lazy.fromChunks [Data.ByteString.pack [1, 2], Data.ByteString.pack [3]],"
     " Data.ByteString.Lazy.empty)", (b"\x01\x02\x03", b""), "(ByteString,ByteString)"),
]


@pytest.mark.parametrize(("expr", "expected", "type_rep"), TABLE, ids=[t[0][:40] for t in TABLE])
def test_table_row(ghci: Ghci, out_dir: Path, expr: str, expected: object,
                   type_rep: str) -> None:
    d = transfer(ghci, expr, out_dir / "v")
    assert d.type_rep == type_rep
    assert same(d.value, expected), (d.value, expected)
    assert d.has_show
    # Text's Show instance is an orphan in Data.Text: GHCi can only show it when imported.
    if "Text" in type_rep:
        ghci.ok("import qualified Data.Text")
        ghci.ok("import qualified Data.Text.Lazy")
    assert d.show == ghc_show(ghci, expr)


def test_it_and_bindings_untouched(ghci: Ghci, out_dir: Path) -> None:
    ghci.ok("'z'")
    before = ghci.ok(":show bindings")
    transfer(ghci, "[1, 2, 3] :: [Int]", out_dir / "it")
    transfer(ghci, "Data.Map.fromList [(1, \"x\")]", out_dir / "it")
    transfer(ghci, "id :: Int -> Int", out_dir / "it")
    assert ghci.ok("it") == "'z'\n"
    assert ghci.ok(":show bindings") == before


def test_warmup_makes_transfers_invisible_to_info(out_dir: Path) -> None:
    """GHCi lists instances in interface-load order; after the warm-up statement, value
    transfers load nothing new, so :info prints the same with or without them."""
    outputs = []
    for transfers in (False, True):
        g = Ghci()
        try:
            _, err = g.run(warmup_statement(str(out_dir / "warm")))
            assert not err
            if transfers:
                for expr in ["[1, 2] :: [Int]", "Data.Text.pack \"x\"", "Just (Left 'c')",
                             "Data.Map.fromList [(1 :: Int, [True])]",
                             "3 :: Numeric.Natural.Natural",
                             "(1 :: Data.Int.Int8, Data.ByteString.Lazy.pack [1])"]:
                    transfer(g, expr, out_dir / "w")
            for imp in ["Data.ByteString", "Data.Map", "Data.Text", "Data.Typeable", "Data.Int"]:
                g.ok(f"import qualified {imp}")
            outputs.append([g.ok(f":info {name}") for name in (
                "Show", "Eq", "Ord", "Monoid", "Data.ByteString.ByteString", "Data.Int.Int8",
                "Data.Map.Map", "Data.Text.Text", "Bounded")])
        finally:
            g.close()
    assert outputs[0] == outputs[1]


def test_layout_comments_and_operators(ghci: Ghci, out_dir: Path) -> None:
    d = transfer(ghci, "do\n  let y = 20 -- a comment\n  y + 1 :: Int -- trailing comment",
                 out_dir / "l")
    assert d.value == 21
    d = transfer(ghci, "let f = (+ 1)\n    g = (* 2)\nin (f . g) 5 :: Int", out_dir / "l")
    assert d.value == 11
    d = transfer(ghci, "(\\x -> x) {- block\ncomment -} 3 :: Int\n-- last line comment",
                 out_dir / "l")
    assert d.value == 3


def test_user_types_are_shown(ghci: Ghci, out_dir: Path) -> None:
    ghci.ok("data T = A | B Int deriving Show")
    for expr in ["B (-3)", "Just (B 2)", "[A, B 1]", "(A, 'x')",
                 "Data.Map.fromList [(1 :: Int, B 4)]"]:
        d = transfer(ghci, expr, out_dir / "t")
        assert d.value is None
        assert d.has_show
        assert d.show == ghc_show(ghci, expr)


def test_user_type_named_like_a_table_type(ghci: Ghci, out_dir: Path) -> None:
    # The writer guesses Data.Map from the name; the cast at run time says otherwise.
    ghci.ok("data Map = Map Int deriving Show")
    d = transfer(ghci, "Map 3", out_dir / "m")
    assert (d.value, d.show, d.type_rep) == (None, "Map 3", "Map")
    ghci.ok("type Pair = (Int, Int)")
    d = transfer(ghci, "(1, 2) :: Pair", out_dir / "m")
    assert d.show == "(1,2)"  # a synonym the writer cannot expand: show text only


def test_function_is_opaque(ghci: Ghci, out_dir: Path) -> None:
    d = transfer(ghci, "id :: Int -> Int", out_dir / "f")
    assert (d.type_rep, d.value, d.show, d.has_show) == ("Int -> Int", None, None, False)
    d = transfer(ghci, "Just (not)", out_dir / "f")
    assert (d.type_rep, d.value, d.show) == ("Maybe (Bool -> Bool)", None, None)


def test_evaluation_error_surfaces(ghci: Ghci, out_dir: Path) -> None:
    stmt = writer_statement("[1, error \"boom\"] :: [Int]", "[Int]", str(out_dir / "e"))
    _, err = ghci.run(stmt)
    assert "*** Exception: boom" in err
    stmt = writer_statement("1 `div` 0 :: Int", "Int", str(out_dir / "e"), opaque=True)
    _, err = ghci.run(stmt)
    assert "divide by zero" in err


@pytest.mark.parametrize("expr", [
    "[1 :: Int ..]", "[1 ..]", "Just [1 ..]", "repeat 'x'", "(1 :: Int, [1 :: Int ..])",
    "Data.ByteString.Lazy.cycle (Data.ByteString.Lazy.pack [1, 2])", "map show [1 ..]",
    "let s = S (1 :: Int) s in s",  # no table type: its show text is cut instead
])
def test_an_infinite_value_is_cut_at_the_byte_limit(ghci: Ghci, out_dir: Path,
                                                    expr: str) -> None:
    """Nothing is counted before it is written, so the writer streams and stops at the
    limit (lists used to be counted first: an infinite one filled the heap)."""
    ghci.ok("data S = S Int S deriving Show")
    out = out_dir / "inf"
    type_text = ghci.type_of(expr)
    for literals in (True, False):
        _, err = ghci.run(writer_statement(expr, type_text, str(out), literals=literals,
                                           byte_limit=100_001))
        assert err == ""
        assert out.stat().st_size == 100_001
    seen = seen_type(type_text, out.read_bytes())
    if seen is not None:
        _, err = ghci.run(known_type_statement(expr, seen, str(out), byte_limit=3_000))
        assert err == "" and out.stat().st_size == 3_000


def test_large_byte_limits_are_written_without_literals(ghci: Ghci, out_dir: Path) -> None:
    out = out_dir / "lim"
    ghci.ok(writer_statement("[1 :: Int .. 3]", "[Int]", str(out)))
    whole = out.read_bytes()
    for limit in (0, 1, 80, 0xFFFFF, 0x100000, 0x100001, 48 * 1024 * 1024 + 1, (1 << 40) - 1):
        _, err = ghci.run(writer_statement("[1 :: Int .. 3]", "[Int]", str(out),
                                           byte_limit=limit))
        assert err == ""
        assert out.read_bytes() == whole[:limit]
    with pytest.raises(ValueError, match="out of range"):
        writer_statement("x", "Int", "/o", byte_limit=1 << 41)


@pytest.mark.parametrize("expr", ["[1 .. 5000000] :: [Int]", "Just [1 .. 3000000 :: Integer]",
                                  "(Data.Text.pack \"x\", [1 .. 5000000 :: Int])"])
def test_the_value_streams_in_constant_memory(out_dir: Path, expr: str) -> None:
    """GHCi holds a statement's action while it runs; the value is made inside it, so what
    has been written can be collected (a 40 MB [Int] used to keep 200 MB alive)."""
    g = Ghci("+RTS", "-M120m", "-RTS")
    try:
        out = out_dir / "big"
        _, err = g.run(writer_statement(expr, g.type_of(expr), str(out), literals=True))
        assert err == ""
        assert out.stat().st_size > 16_000_000
    finally:
        g.close()


def test_out_paths_may_hold_any_character(ghci: Ghci, out_dir: Path) -> None:
    # Escapes in both spellings of the path: Char list and string literal ("\233\&1": a
    # digit right after a numeric escape must not extend it).
    odd = out_dir / 'd\u00e91"\\2 \u20ac3'
    odd.mkdir()
    out = odd / "v.bin"
    for literals in (False, True):
        _, err = ghci.run(writer_statement("[1, 2] :: [Int]", "[Int]", str(out),
                                           literals=literals))
        assert err == ""
        payload = out.read_bytes()
        assert decode_value(payload).value == [1, 2]
        out.unlink()
    seen = seen_type("[Int]", payload)
    assert seen is not None and seen.kind == "V"
    _, err = ghci.run(known_type_statement("[3] :: [Int]", seen, str(out)))
    assert err == ""
    assert decode_value(out.read_bytes()).value == [3]


def test_text_without_import(out_dir: Path) -> None:
    # Show Text is an orphan instance: not visible unless Data.Text is imported. The value
    # still crosses (no Show needed for table types), and show is rebuilt in Python.
    g = Ghci()
    try:
        d = transfer(g, "Data.Text.pack \"a\\\"b\"", out_dir / "t")
        assert (d.value, d.show, d.type_rep) == ("a\"b", '"a\\"b"', "Text")
        d = transfer(g, "Just [Data.Text.Lazy.pack \"z\"]", out_dir / "t")
        assert (d.value, d.show) == (Just(["z"]), 'Just ["z"]')
    finally:
        g.close()


@pytest.mark.parametrize("setup", [
    [":set -XNoImplicitPrelude"],
    [":set -XOverloadedStrings"],
    ["import Prelude", ":set -XRebindableSyntax"],
    ["import qualified Prelude as P", ":set -XRebindableSyntax -XOverloadedStrings"],
], ids=["NoImplicitPrelude", "OverloadedStrings", "RebindableSyntax",
        "RebindableSyntax+OverloadedStrings"])
def test_extensions(out_dir: Path, setup: list[str]) -> None:
    g = Ghci()
    try:
        for cmd in setup:
            g.ok(cmd)
        rebindable = any("RebindableSyntax" in c for c in setup)
        prelude_in_scope = "import Prelude" in setup
        # Under RebindableSyntax "_ <- e" uses the >>= in scope: fine with Prelude imported,
        # impossible without; the ":cmd" form needs none.
        forms = ["bind", "cmd"] if prelude_in_scope or not rebindable else ["cmd"]
        for form in forms:
            d = transfer(g, "GHC.Base.map GHC.Base.id [GHC.Base.ord 'a', GHC.Base.ord 'b']",
                         out_dir / "x", form=form)
            assert d.value == [97, 98]
            d = transfer(g, "Data.Map.fromList [(GHC.Base.ord 'a', ['q'])]", out_dir / "x",
                         form=form)
            assert (d.value, d.show) == ({97: "q"}, 'fromList [(97,"q")]')
        # What toDyn/bindValue send: literal-free, so it means the same in this session.
        value = {"k\u00e9": [Just(-1.5), Nothing], "": []}
        expr, type_rep = python_to_haskell(value)
        g.ok(f"let ghcShimTestValue = {expr}")
        d = transfer(g, "ghcShimTestValue", out_dir / "x", form=forms[-1])
        assert (d.value, d.type_rep) == (value, type_rep)
        expr, _ = python_to_haskell((2 ** 70, Fraction(-1, 3), b"\x00\xff", "\ud800", True),
                                    "(Integer, Rational, ByteString, String, Bool)")
        d = transfer(g, expr, out_dir / "x", form=forms[-1])
        assert d.value == (2 ** 70, Fraction(-1, 3), b"\x00\xff", "\ud800", True)
        wide = [(-1) ** i * 10 ** 12 * i for i in range(10)]  # long lists: limbs, bits
        for long_value, type_text in ((wide, "[Int]"), ([x / 7 for x in wide], "[Double]")):
            expr, _ = python_to_haskell(long_value, type_text)
            assert transfer(g, expr, out_dir / "x", form=forms[-1]).value == long_value
        if not rebindable:  # string literals mean what they say: what the server sends here
            for literal_value in (value, [10 ** 6 + i for i in range(20)], "\u00e9t\u00e9 1\n\"2"):
                fast, _ = python_to_haskell(literal_value, literals=True)
                g.ok(f"let ghcShimTestFast = {fast}")
                d = transfer(g, "ghcShimTestFast", out_dir / "x")
                assert d.value == literal_value, (d.value, literal_value)
        if "-XOverloadedStrings" in " ".join(setup) and not rebindable:
            d = transfer(g, '"abc"', out_dir / "x")
            assert (d.value, d.type_rep) == ("abc", "[Char]")
        if prelude_in_scope or not rebindable:
            g.ok("'z'")
            transfer(g, "GHC.Base.id 'q'", out_dir / "x", form=forms[-1])
            assert g.ok("it") == "'z'\n"
    finally:
        g.close()


def test_large_values_are_fast(ghci: Ghci, out_dir: Path) -> None:
    """10^6 Ints: writer + decode vs. GHCi printing the list (DESIGN.md target: <= 0.1x).

    Printing 10^6 Ints takes GHCi seconds; to keep this suite short, the printing time is
    measured on 10^5 and scaled (it is linear). The benchmark measures the real thing.
    """
    ghci.ok("let xs = [1 .. 1000000] :: [Int]")
    ghci.ok("length xs")  # build the list once: both measurements reuse it
    start = time.perf_counter()
    d = transfer(ghci, "xs", out_dir / "big", type_text="[Int]")
    ours = time.perf_counter() - start
    assert d.value == list(range(1, 1_000_001))
    start = time.perf_counter()
    out, _ = ghci.run("take 100000 xs")
    printing = (time.perf_counter() - start) * 10
    assert len(out) > 500_000
    print(f"\n[Int] 10^6: writer+decode {ours * 1000:.0f} ms, "
          f"GHCi print ~{printing * 1000:.0f} ms (10 x 10^5)")
    assert ours < 0.25 * printing  # the benchmark holds the 0.1x target; this guards regressions
    checks: list[tuple[str, Callable[[Any], bool]]] = [
        ("[fromIntegral i / 7 | i <- [1 .. 1000000 :: Int]] :: [Double]",
         lambda v: len(v) == 1_000_000 and v[6] == 1.0),
        ("replicate 1000000 'x'", lambda v: v == "x" * 1_000_000),
        ("Data.Map.fromList [(i, i * 2) | i <- [1 .. 100000 :: Int]]",
         lambda v: len(v) == 100_000 and v[7] == 14),
    ]
    for expr, check in checks:
        start = time.perf_counter()
        d = transfer(ghci, expr, out_dir / "big")
        took = time.perf_counter() - start
        assert check(d.value)
        print(f"{expr[:50]}: {took * 1000:.0f} ms")
        assert took < 2.0


# ---------------------------------------------------------------------------- round trips

_INT_TYPES = {"Int": (-(2 ** 63), 2 ** 63 - 1), "Word8": (0, 255),
              "Int16": (-(2 ** 15), 2 ** 15 - 1), "Integer": (-(10 ** 30), 10 ** 30)}
Typed = tuple[HsType, Any]


def _tagged(t: HsType, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Typed]:
    return values.map(lambda v: (t, v))


def _scalar() -> st.SearchStrategy[Typed]:
    return st.one_of(
        *(_tagged(HsType(name), st.integers(lo, hi)) for name, (lo, hi) in _INT_TYPES.items()),
        _tagged(HsType("Double"), st.floats()),
        _tagged(HsType("Float"), st.floats(width=32)),
        _tagged(HsType("Bool"), st.booleans()),
        _tagged(HsType("Char"), st.characters()),
        _tagged(HsType("[]", (HsType("Char"),)), st.text(max_size=8)),
        _tagged(HsType("ByteString"), st.binary(max_size=6)),
        _tagged(HsType("Ratio", (HsType("Integer"),)), st.fractions()),
        _tagged(HsType("()"), st.none()),
    )


def _list_of(tv: Typed) -> st.SearchStrategy[Typed]:
    t, v = tv
    items = st.lists(st.just(v), max_size=3)
    if t.con == "Char":
        return _tagged(HsType("[]", (t,)), items.map("".join))
    return _tagged(HsType("[]", (t,)), items)


def _pair(p: tuple[Typed, Typed]) -> Typed:
    return HsType("(,)", (p[0][0], p[1][0])), (p[0][1], p[1][1])


def _extend(children: st.SearchStrategy[Typed]) -> st.SearchStrategy[Typed]:
    return st.one_of(
        children.flatmap(_list_of),
        st.tuples(children, children).map(_pair),
        children.map(lambda tv: (HsType("Maybe", (tv[0],)), Just(tv[1]))),
        children.map(lambda tv: (HsType("Either", (tv[0], HsType("Bool"))), Left(tv[1]))),
        children.map(lambda tv: (HsType("Map", (HsType("Int"), tv[0])), {7: tv[1], -1: tv[1]})),
    )


VALUES = st.recursive(_scalar(), _extend, max_leaves=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUES)
def test_python_round_trip(ghci: Ghci, out_dir: Path, tv: Typed) -> None:
    """A Python value -> python_to_haskell -> GHCi -> writer -> decode: the same value, and
    GHC's own show of the expression."""
    t, value = tv
    expr, type_rep = python_to_haskell(value, t.render())
    d = transfer(ghci, expr, out_dir / "rt", type_text=haskell_type_name(t))
    assert d.type_rep == type_rep
    assert same(d.value, value), (d.value, value)
    assert d.show == ghc_show(ghci, expr)
    # The same value written with string literals (what sessions without RebindableSyntax get).
    fast, _ = python_to_haskell(value, t.render(), literals=True)
    d = transfer(ghci, fast, out_dir / "rt", type_text=haskell_type_name(t))
    assert same(d.value, value), (d.value, value)


@pytest.mark.parametrize(("value", "type_text"), [
    (list(range(-5, 20)), "[Int]"),
    ([-(1 << 63), -(1 << 63) + 7] * 5, "[Int]"),  # a base that needs limbs, then offsets
    ([(1 << 64) - 1 - i for i in range(10)], "[Word]"),
    ([0xD7FF + i for i in range(10)], "[Int]"),  # offsets in the surrogate range
    ([0, 0x10FFFF] * 4, "[Integer]"),  # the widest span one Char holds
    ([0, 0x110000] * 4, "[Integer]"),  # one more: limbs
    ([10 ** 30 + i for i in range(9)], "[Integer]"),
    (bytes(range(256)), "[Word8]"),
    ({i * 3 for i in range(50)}, "Data.IntSet.Internal.IntSet"),
    ({i: -i for i in range(40)}, "Map Int Int"),
    ({i: str(i) for i in range(12)}, "Map Int String"),
    ([[i] * 9 for i in range(9)], "[[Int]]"),
])
def test_integer_lists_written_one_char_per_element(
    ghci: Ghci, out_dir: Path, value: object, type_text: str
) -> None:
    expr, _ = python_to_haskell(value, type_text)
    d = transfer(ghci, expr, out_dir / "cl")
    expected = (list(value) if isinstance(value, bytes)
                else frozenset(value) if isinstance(value, set) else value)
    assert same(d.value, expected), (d.value, expected)


_SPECIAL_DOUBLES = [math.nan, -0.0, 0.0, math.inf, -math.inf, 5e-324, 1.7976931348623157e308,
                    0.1, -2.5]
_AWKWARD_STRINGS = ["", "\0", "\u00e9t\u00e9", '"q"', "\\", "\ud800", "1\n2", "\u0101" + "9",
                    "x" * 300]


@pytest.mark.parametrize(("value", "type_text"), [
    ([(-1) ** i * (7 ** i) % (1 << 63) for i in range(40)] + [-(1 << 63), (1 << 63) - 1],
     "[Int]"),
    ([(-1) ** i * 10 ** (i + 20) for i in range(12)], "[Integer]"),
    ([10 ** 5000, 0, -1] * 3, "[Integer]"),  # past Python's str() digit limit
    ([(1 << 64) - 1, 0] * 5, "[Word64]"),
    ([-128, 127, 0] * 4, "[Int8]"),
    ([2 ** 70, 0] * 5, "[Numeric.Natural.Natural]"),
    (_SPECIAL_DOUBLES * 2, "[Double]"),
    ([0.5, 3.4028234663852886e38, math.nan, -0.0, 1.401298464324817e-45, math.inf,  # exact
      -math.inf, 0.10000000149011612] * 2, "[Float]"),
    ([True, False, False, True] * 3, "[Bool]"),
    (_AWKWARD_STRINGS, "[String]"),
    ([s for s in _AWKWARD_STRINGS if s != "\ud800"], "[Data.Text.Text]"),
    ([s for s in _AWKWARD_STRINGS if s != "\ud800"], "[Data.Text.Lazy.Text]"),
    ([bytes(range(i, 256, 7)) for i in range(9)] + [b""], "[Data.ByteString.ByteString]"),
    ([bytes([i, 0, 255]) for i in range(9)], "[Data.ByteString.Lazy.ByteString]"),
    ([(i * 10 ** 12, str(i), i % 2 == 0) for i in range(10)], "[(Int, String, Bool)]"),
    ({i: chr(0x41 + i) for i in range(8)} | {99: "\ud800", 100: '"'}, "Map Int Char"),
    ([(i, -i, i, 10 ** 20 * i, i, float(i), "x") for i in range(8)],
     "[(Int, Int8, Word, Integer, Int, Double, String)]"),
    ({str(i) * i: -(10 ** 12) * i for i in range(10)}, "Map String Int"),
    ({float(i) / 3 for i in range(10)}, "Data.Set.Internal.Set Double"),
    ([[10 ** 15 * i] * 9 for i in range(9)], "[[Int]]"),
    ([Just(10 ** 15), Nothing] * 5, "[Maybe Int]"),
])
def test_long_lists_round_trip(ghci: Ghci, out_dir: Path, value: object, type_text: str
                               ) -> None:
    """Lists long enough to be written as a few large parts (GHCi compiles a list literal
    element by element): the same value in both forms."""
    for literals in (False, True):
        expr, _ = python_to_haskell(value, type_text, literals=literals)
        d = transfer(ghci, expr, out_dir / "long")
        expected = frozenset(value) if isinstance(value, set) else value
        assert same(d.value, expected), (literals, d.value, expected)


def test_long_lists_compile_in_time_independent_of_length() -> None:
    """The string-literal form of a long list has a fixed number of parts: no element
    becomes an expression of its own."""
    wide = [(-1) ** i * 10 ** 12 * i for i in range(2000)]
    for value, type_text in [(wide, "[Int]"), ([float(i) for i in wide], "[Double]"),
                             ([str(i) for i in wide], "[String]"),
                             ([i % 3 == 0 for i in range(2000)], "[Bool]"),
                             ([(i, str(i)) for i in wide], "[(Int, String)]")]:
        expr, _ = python_to_haskell(value, type_text, literals=True)
        assert expr.count('"') <= 8 and expr.count(",") < 10, (type_text, expr[:300])


def test_doubles_show_like_ghc(ghci: Ghci, out_dir: Path) -> None:
    """Thousands of awkward doubles and floats at once: the show emulation against GHC's."""
    mix = ("(\\y -> y `Data.Bits.xor` (y `Data.Bits.shiftR` 29)) "
           "(i * 11400714819323198485 + 7)")
    doubles = (
        f"[GHC.Float.castWord64ToDouble ({mix}) | i <- [1 .. 4000 :: Data.Word.Word64]]"
        " ++ [2 ^^ k | k <- [-1074, -1071 .. 1023 :: Int]]"
        " ++ [1e23, 9007199254740993, 5e-324, 2.2250738585072014e-308, 0.1, 1/3, 100,"
        " 1110976277310404.25, 4167997398751.15625, 123456789012345678, 1e7, 9999999]"
        " ++ [fromIntegral (i * 7919 `mod` 1000003) / 2 ^ (i `mod` 40) | i <- [1 .. 2000 :: Int]]"
        " :: [Double]"
    )
    floats = (
        f"[GHC.Float.castWord32ToFloat (fromIntegral ({mix}))"
        " | i <- [1 .. 3000 :: Data.Word.Word64]]"
        " ++ [2 ^^ k | k <- [-149 .. 127 :: Int]] ++ [0.1, 16777217, 3.4028235e38, 1e-45]"
        " :: [Float]"
    )
    for expr, type_text in ((doubles, "[Double]"), (floats, "[Float]")):
        d = transfer(ghci, expr, out_dir / "dbl", type_text=type_text)
        assert isinstance(d.value, list) and len(d.value) > 3000
        assert d.show == ghc_show(ghci, expr)
