"""Values, references, modules, names and completion through the whole stack."""

from __future__ import annotations

import gc
import math
import os
import tempfile
import textwrap
from fractions import Fraction
from pathlib import Path

import pytest

from core.client import (
    Client,
    CompileError,
    EvaluationError,
    Import,
    OutputLimitError,
    Session,
    Target,
    TimeoutError_,
)
from core.protocol.values import Just, Left, Nothing, Right

pytestmark = pytest.mark.ghc


@pytest.mark.parametrize(
    ("expr", "value", "type_rep"),
    [
        ("1 + 1", 2, "Integer"),
        ("2 ^ 100", 2**100, "Integer"),
        ("[1, 2, 3] :: [Int]", [1, 2, 3], "[Int]"),
        ('"héllo ☃"', "héllo ☃", "[Char]"),
        ("(True, 'x', ())", (True, "x", None), "(Bool,Char,())"),
        ("Just (Just 3) :: Maybe (Maybe Int)", Just(Just(3)), "Maybe (Maybe Int)"),
        ("Nothing :: Maybe Int", Nothing, "Maybe Int"),
        ("[Left 1, Right 'a'] :: [Either Int Char]", [Left(1), Right("a")],
         "[Either Int Char]"),
        ('Data.Map.fromList [("a", [Just (1, 2.5)])] :: '
         "Data.Map.Map String [Maybe (Int, Double)]",
         {"a": [Just((1, 2.5))]}, "Map [Char] [Maybe (Int,Double)]"),
        ("Data.Set.fromList \"hello\"", frozenset("helo"), "Set Char"),
        ("3 / 4 :: Rational", Fraction(3, 4), "Ratio Integer"),
        ("Data.ByteString.Char8.pack \"ab\"", b"ab", "ByteString"),
        ("Data.Text.pack \"t\"", "t", "Text"),
        ("(-0.0, 1/0) :: (Double, Double)", (-0.0, math.inf), "(Double,Double)"),
    ],
)
def test_eval_values(session: Session, expr: str, value: object, type_rep: str) -> None:
    result = session.eval(expr)
    assert result.value == value
    assert result.type_rep == type_rep


def test_eval_show_text_is_ghcs(session: Session) -> None:
    assert session.eval("Just (-3) :: Maybe Int").show == "Just (-3)"
    assert session.eval("0.1 + 0.2 :: Double").show == "0.30000000000000004"
    session.run_decls("data Shape = Circle Double | Square Double deriving Show")
    shape = session.eval("Circle 1.5")
    assert shape.value is None and shape.show == "Circle 1.5" and shape.type_rep == "Shape"


def test_eval_function_has_no_value_or_show(session: Session) -> None:
    result = session.eval("(+ 1) :: Int -> Int")
    assert result.value is None and result.show is None and result.type_rep == "Int -> Int"


def test_eval_errors(session: Session) -> None:
    with pytest.raises(CompileError):
        session.eval("id")  # polymorphic: cannot be defaulted
    with pytest.raises(CompileError, match="Couldn't match"):
        session.eval("True && 'x'")
    with pytest.raises(EvaluationError) as info:
        session.eval('[1, error "lazy boom"] :: [Int]')  # forced fully, so it throws here
    assert info.value.exception is not None
    assert info.value.exception.type == "ErrorCall"
    assert info.value.exception.message.startswith("lazy boom")
    with pytest.raises(TimeoutError_):
        session.eval("filter (< 0) [1 ..] :: [Int]", timeout=1)
    with pytest.raises(OutputLimitError, match="more than"):  # an infinite value that streams
        session.eval("[1 ..] :: [Int]", timeout=60)
    assert session.eval("41 + 1 :: Int").value == 42


def test_eval_leaves_it_and_scope_alone(session: Session) -> None:
    session.exec_stmt("'q'")
    names_before = {n.name for n in session.names_in_scope()}
    session.eval("[1 .. 10 :: Int]")
    chunks: list[str] = []
    session.exec_stmt("it", on_output=lambda s, t: chunks.append(t))
    assert "".join(chunks) == "'q'\n"
    assert {n.name for n in session.names_in_scope()} == names_before


def test_big_list_arrives_as_a_list(session: Session) -> None:
    result = session.eval("[1 .. 1000000] :: [Int]")
    value = result.value
    assert isinstance(value, list) and len(value) == 1_000_000 and value[-1] == 1_000_000


def test_bind_value_round_trip(session: Session) -> None:
    session.bind_value("xs", [1, 2, 3])
    session.bind_value("m", {"k": Just(Fraction(1, 3))})
    assert session.eval("sum xs").value == 6
    assert session.eval("m").value == {"k": Just(Fraction(1, 3))}
    assert session.expr_type("xs") == "[Integer]"


@pytest.mark.parametrize("flags", [[], ["-XOverloadedStrings", "-XOverloadedLists"],
                                   ["-XRebindableSyntax"],
                                   # fromString from the (empty) scope: literals break here
                                   ["-XRebindableSyntax", "-XOverloadedStrings"],
                                   # fromListN from the (empty) scope: list syntax breaks
                                   ["-XRebindableSyntax", "-XOverloadedLists"]])
def test_bind_value_whatever_the_extensions(shim_client: Client, flags: list[str]) -> None:
    # The value crosses with string literals where they mean what they say (GHCi compiles
    # them far faster), literal-free under RebindableSyntax with OverloadedStrings.
    values = ["d\u00e9j\u00e0 \"vu\"\n", list(range(-3, 40)), {"k": b"\x00\xff"},
              [(-1) ** i * 10 ** 12 * i for i in range(10)],  # long lists of wide spans
              [i / 3 for i in range(-4, 5)] + [-0.0, math.inf], 0.5]
    with shim_client.open_session(flags=flags) as session:
        for i, value in enumerate(values):
            name = f"v{i}"
            assert session.bind_value(name, value) == name
            assert session.eval(name).value == value


LONG_VALUES: list[tuple[object, str | None]] = [
    ([(-1) ** i * (2 ** 62 - i * 7919) for i in range(20_000)], "[Int]"),  # decimal text
    ([i * 37 % 1000 for i in range(20_000)], "[Int]"),  # offsets: one Char each
    (list(range(-5, 60_000)), "[Int]"),  # offsets would include surrogates
    (list(range(3000)), "[Int]"),  # a blob of the literal-free form only
    ([i / 7 for i in range(5000)] + [-0.0, math.inf], None),
    ([f"w\u00f6rd {i}" for i in range(3000)], None),
    ([i % 3 == 0 for i in range(5000)], None),
    ({i: chr(0x3b1 + i % 20) for i in range(5000)}, None),  # a column of Chars
    ("\u2603" * 50_000 + "\n", "Data.Text.Text"),
    (bytes(range(256)) * 100, None),
    (b"ascii only " * 1000, "Data.ByteString.Lazy.ByteString"),
    ([(i, str(i)) for i in range(3000)], None),
]


@pytest.mark.parametrize("flags", [[], ["-XRebindableSyntax", "-XOverloadedStrings",
                                        "-XOverloadedLists"],
                                   # an unused variable of the server's would be fatal
                                   ["-Wall", "-Werror"]])
def test_long_values_cross_as_files_and_leave_none_behind(shim_client: Client,
                                                          flags: list[str]) -> None:
    """Long texts of a bound value travel apart from its expression (GHCi would lex them):
    the value reads them from files when first used, and removes them."""
    import glob

    def blob_files() -> set[str]:
        return set(glob.glob(os.path.join(tempfile.gettempdir(), "ghc-shim-ghci-*", "blob-*")))

    with shim_client.open_session(flags=flags) as session:
        before = blob_files()
        for i, (value, haskell_type) in enumerate(LONG_VALUES):
            session.bind_value(f"v{i}", value, haskell_type)
        waiting = blob_files() - before
        assert len(waiting) >= len(LONG_VALUES)  # nothing read yet: bindings are lazy
        for i, (value, _) in enumerate(LONG_VALUES):
            assert session.eval(f"v{i}").value == value, f"value {i}"
        assert not blob_files() & waiting
        # A load resets the bindings: files that none of them read yet go with them.
        session.bind_value("unread", LONG_VALUES[0][0], LONG_VALUES[0][1])
        unread = blob_files() - before
        assert unread
        session.load()
        assert not blob_files() & unread


def test_compile_expr_reference(session: Session) -> None:
    ref = session.compile_expr("\\n -> n * 2 :: Int")
    assert ref.type == "Int -> Int"
    chunks: list[str] = []
    session.exec_stmt(f"print ({ref.name} 21)", on_output=lambda s, t: chunks.append(t))
    assert "".join(chunks) == "42\n"
    lazy = session.compile_expr('error "not forced" :: Int')  # compiling evaluates nothing
    with pytest.raises(EvaluationError):
        session.eval(lazy.name)
    ref.free()
    del lazy
    gc.collect()
    session.exec_stmt("1")  # carries the batched frees
    with pytest.raises(CompileError):
        session.exec_stmt(f"print ({ref.name} 1)")


MODULES = {
    "Foo.hs": """
        module Foo (f, g, Color(..)) where
        data Color = Red | Blue deriving (Show, Eq)
        f :: Int -> Int
        f x = let y = x * 2 in y + 1
        g :: [Int] -> Int
        g xs = sum (map f xs)
    """,
    "Bad.hs": """
        module Bad where
        bad :: Int
        bad = "not an int"
    """,
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in MODULES.items():
        (tmp_path / name).write_text(textwrap.dedent(text).lstrip())
    return tmp_path


def test_what_the_program_prints_while_modules_compile_arrives_with_the_load(
    session: Session, tmp_path: Path
) -> None:
    """Template Haskell's runIO prints during the load, as in-process GHC would; GHCi's own
    progress lines are not the program's output."""
    module = tmp_path / "Spliced.hs"
    module.write_text(textwrap.dedent("""
        {-# LANGUAGE TemplateHaskell #-}
        module Spliced where
        import Language.Haskell.TH.Syntax (runIO, lift)
        import System.IO (hPutStrLn, stderr)
        answer :: Int
        answer = $(runIO (putStrLn "splice ran" >> hPutStrLn stderr "on stderr")
                   >> lift (42 :: Int))
    """).lstrip())
    session.add_target(Target("file", str(module)))
    printed: list[tuple[str, str]] = []
    outcome = session.load(on_output=lambda stream, text: printed.append((stream, text)))
    assert outcome.success, outcome.diagnostics
    assert printed == [("stdout", "splice ran\n"), ("stderr", "on stderr\n")]
    later: list[tuple[str, str]] = []
    session.exec_stmt("1 + 1", on_output=lambda stream, text: later.append((stream, text)))
    assert later == [("stdout", "2\n")]


def test_load_success_resets_context_and_bindings(session: Session, project: Path) -> None:
    session.exec_stmt("let before = 1")
    session.set_context([Import("Data.List", names=("sort",), hiding=False)])
    session.set_targets([Target("file", str(project / "Foo.hs"))])
    outcome = session.load()
    assert outcome.success and outcome.diagnostics == ()
    assert [(m.name, m.interpreted) for m in outcome.modules] == [("Foo", True)]
    assert session.get_context() == []
    with pytest.raises(CompileError):
        session.exec_stmt("before")
    session.set_context([Import("Foo", kind="module")])
    chunks: list[str] = []
    session.exec_stmt("print (g [1, 2], Red)", on_output=lambda s, t: chunks.append(t))
    assert "".join(chunks) == "(8,Red)\n"
    assert [m.name for m in session.module_graph()] == ["Foo"]


def test_output_stays_line_buffered_after_a_load(session: Session, project: Path) -> None:
    # GHCi turns the interpreted program's stdout buffering off after every :load; unbuffered,
    # `print [1..200000]` took 2.9 s in 85,000 writes instead of 0.07 s.
    def buffering() -> str:
        chunks: list[str] = []
        session.exec_stmt("System.IO.hGetBuffering System.IO.stdout >>= print",
                          on_output=lambda _s, t: chunks.append(t))
        return "".join(chunks)

    assert buffering() == "LineBuffering\n"
    session.set_targets([Target("file", str(project / "Foo.hs"))])
    assert session.load().success
    assert buffering() == "LineBuffering\n"
    assert session.load().success
    assert buffering() == "LineBuffering\n"


def test_load_failure_reports_diagnostics(session: Session, project: Path) -> None:
    session.set_targets([Target("file", str(project / "Bad.hs"))])
    outcome = session.load()
    assert not outcome.success
    (diag,) = [d for d in outcome.diagnostics if d.severity == "error"]
    assert diag.file.endswith("Bad.hs") and (diag.line, diag.column) == (3, 7)
    assert diag.end_column == 18
    assert session.exec_stmt("length [1]").exception is None  # implicit Prelude kept


def test_load_missing_target_is_a_compile_error(session: Session, project: Path) -> None:
    session.set_targets([Target("file", str(project / "NoSuchFile.hs"))])
    with pytest.raises(CompileError, match="NoSuchFile"):
        session.load()


def test_load_restores_context_on_request(session: Session, project: Path) -> None:
    session.set_context([Import("Data.Char", names=("toUpper",), hiding=False)])
    session.set_targets([Target("file", str(project / "Foo.hs"))])
    session.load(restore_context=True)
    assert session.get_context() == [Import("Data.Char", names=("toUpper",), hiding=False)]


def test_freed_and_collected_references_hold_nothing(session: Session) -> None:
    kept = session.compile_expr("[1, 2, 3 :: Int]")
    collected = session.compile_expr('"gone"')
    name = collected.name
    assert session.eval(name).value == "gone"
    session.free_refs([kept])
    del collected
    gc.collect()
    session.exec_stmt("()")  # a collected reference is freed along with the next request
    for freed in (kept.name, name):
        assert (session.eval(freed).type, session.eval(freed).value) == ("()", None)


def test_references_survive_load(session: Session, project: Path) -> None:
    ref = session.compile_expr("map (* 3) [1, 2, 3 :: Int]")
    constrained = session.compile_expr("map (* 2)")
    session.run_decls("data Shade = Dark deriving Show")
    shaded = session.compile_expr("[Dark]")
    session.set_targets([Target("file", str(project / "Foo.hs"))])
    outcome = session.load()
    assert outcome.success
    assert session.eval(ref.name).value == [3, 6, 9]
    # Those that cannot be kept are said to be lost, in the result the caller reads.
    lost = [d.message for d in outcome.diagnostics if d.severity == "warning"]
    assert [name for name in (constrained.name, shaded.name)
            if any(name in message for message in lost)] == [constrained.name, shaded.name]
    assert all("does not survive the load" in message for message in lost)


def test_relative_paths_resolve_against_the_caller(
    session: Session, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    session.set_targets([Target("file", "Foo.hs")])
    assert session.get_targets() == [Target("file", str(project / "Foo.hs"))]
    assert session.load().success


def test_info(session: Session) -> None:
    info = session.info("Maybe")
    assert info is not None
    text, items = info
    assert "data Maybe a = Nothing | Just a" in text
    assert items[0].defined_in == "GHC.Maybe"
    assert any(i.startswith("instance Functor Maybe") for i in items[0].instances)
    plus = session.info("+")
    assert plus is not None and plus[1][0].fixity == "infixl 6 +"
    assert session.info("nosuchthing") is None


def test_parse_name(session: Session) -> None:
    (name,) = session.parse_name("map")
    assert (name.name, name.module) == ("map", "GHC.Base")
    with pytest.raises(CompileError, match="nosuch"):
        session.parse_name("nosuch")


def test_names_in_scope_and_bindings(session: Session) -> None:
    session.exec_stmt("let alpha = 'a'")
    session.run_decls("beta :: Int\nbeta = 2")
    names = {n.name for n in session.names_in_scope()}
    assert {"alpha", "beta", "map", "foldr"} <= names
    rdr = {n.name for n in session.names_in_scope(rdr=True)}
    assert "Prelude.map" in rdr and "map" in rdr
    bindings = session.bindings()
    assert [(b.name, b.type) for b in bindings[:2]] == [("beta", "Int"), ("alpha", "Char")]


def test_complete(session: Session) -> None:
    session.set_context([Import("Data.Map", qualified=True, as_="M")])
    assert {"foldr", "foldl", "foldMap"} <= set(session.complete("fold"))
    assert "M.insertWith" in session.complete("M.insertW")
    session.exec_stmt("let myLongName = 1")
    assert session.complete("myLong") == ["myLongName"]


def test_load_up_to_a_module(shim_client: Client, project: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "Top.hs").write_text("module Top where\nimport Foo\ntop :: Int\ntop = f 1\n")
    monkeypatch.chdir(project)  # module names are found where the caller runs, as in GHC
    session = shim_client.open_session()
    session.set_targets([Target("file", "Top.hs"), Target("file", "Bad.hs")])
    outcome = session.load("up_to", "Foo")
    assert outcome.success and [m.name for m in outcome.modules] == ["Foo"]
    assert len(session.get_targets()) == 2  # the targets themselves are kept
    chunks: list[str] = []
    session.exec_stmt('writeFile "out.txt" "x" >> readFile "out.txt" >>= putStrLn',
                      on_output=lambda s, t: chunks.append(t))
    assert "".join(chunks) == "x\n" and (project / "out.txt").read_text() == "x"
    session.close()


def test_complete_module_names(session: Session) -> None:
    assert "import Data.Maybe" in session.complete("import Data.Ma")


@pytest.mark.parametrize("flags", [["-XNoImplicitPrelude"], ["-XRebindableSyntax"],
                                   ["-XOverloadedStrings"]])
def test_eval_under_extensions_that_change_the_meaning_of_syntax(
    session: Session, flags: list[str]
) -> None:
    session.set_flags(flags)
    assert session.eval("[1, 2, 3] :: [Prelude.Int]" if "Rebindable" not in flags[0]
                        else "[1, 2, 3] :: [Int]").value == [1, 2, 3]


def test_eval_under_warnings_as_errors(session: Session) -> None:
    session.set_flags(["-Wall", "-Werror"])
    session.run_decls("data P = P Int deriving Show")
    # The value is the one at the type :type +d reports: no defaulting left to warn about.
    assert session.eval("[1, 2]").value == [1, 2]
    assert session.eval("P 3").show == "P 3"
    assert session.eval("not").type_rep == "Bool -> Bool"
    # Defaulting inside the expression is an error there, as GHC reports it for the
    # expression itself, at the expression's own position.
    with pytest.raises(CompileError) as info:
        session.eval("length [1, 2]")
    [diagnostic] = info.value.diagnostics
    assert (diagnostic.line, diagnostic.column) == (1, 9)
    assert "Defaulting" in diagnostic.message
    assert "ghcShim" not in str(info.value)
    with pytest.raises(CompileError) as info:
        session.eval("(True,\n  length [1, 2])")
    assert [(d.line, d.column) for d in info.value.diagnostics] == [(2, 11)]


def test_eval_without_extended_default_rules(session: Session) -> None:
    # The writer's own use of the value (Typeable, Show) must not leave a type to default:
    # under Haskell 2010's rules it could not be, "Ambiguous type variable a0".
    session.set_flags(["-XNoExtendedDefaultRules"])
    assert session.eval("[1, 2]").value == [1, 2]
    assert session.eval("length [1, 2]").value == 2


@pytest.mark.parametrize("rebindable", [False, True])
def test_eval_with_deferred_type_errors(session: Session, rebindable: bool) -> None:
    session.set_flags(["-fdefer-type-errors"] + (["-XRebindableSyntax"] if rebindable else []))
    if rebindable:
        session.set_context([Import("Prelude")])
    # The show fallback's missing instance is deferred to run time: still an opaque value.
    for _ in range(2):
        value = session.eval("not")
        assert (value.type_rep, value.show) == ("Bool -> Bool", None)
    assert session.eval("[True]").value == [True]
    # A type error in the expression itself is raised when the value is made, at the
    # expression's own position, without the server's statement around it.
    with pytest.raises(EvaluationError) as info:
        session.eval("let y = 1 :: Int\nin y +\n  'c'")
    assert info.value.exception is not None and info.value.exception.type == "TypeError"
    message = info.value.exception.message
    assert message.startswith("<interactive>:3:3: error:") and "(deferred type error)" in message
    assert "ghcShim" not in message and "ghc-shim" not in message


def test_deeply_nested_values(session: Session) -> None:
    """Nested up to MAX_VALUE_DEPTH, a value crosses as a value; deeper, as its show text;
    deeper than GHC itself can show (-freduction-depth), a clear error naming the flag."""
    def nested(depth: int) -> str:
        return "[" * depth + "1 :: Int" + "]" * depth

    value: object = session.eval(nested(30)).value
    for _ in range(30):
        assert isinstance(value, list)
        value = value[0]
    assert value == 1
    deep = session.eval(nested(70))
    assert deep.value is None and deep.show == nested(70).replace(" :: Int", "")
    with pytest.raises(CompileError, match="-freduction-depth"):
        session.eval(nested(400), timeout=60)
    session.set_flags(["-freduction-depth=0"])
    deeper = session.eval(nested(400), timeout=60)
    assert deeper.value is None and deeper.show == nested(400).replace(" :: Int", "")


@pytest.mark.parametrize("rebindable", [False, True])
def test_call_stacks_point_into_the_expression(session: Session, rebindable: bool) -> None:
    """As GHCi reports them for the expression typed at its prompt; a function the user
    defined before keeps its own position. (Under RebindableSyntax the value is written by a
    :cmd command, not a statement.)"""
    if rebindable:
        session.set_flags(["-XRebindableSyntax"])
        session.set_context([Import("Prelude")])
    session.exec_stmt('let early = error "early" :: Int')
    for expr, position in [('error "boom" :: Int', "<interactive>:1:1 in"),
                           ('[1, 2,\n error "two"] :: [Int]', "<interactive>:2:2 in"),
                           ("early", "<interactive>:1:13 in")]:
        with pytest.raises(EvaluationError) as info:
            session.eval(expr)
        assert info.value.exception is not None
        assert f"error, called at {position}" in info.value.exception.message


def test_eval_of_a_type_that_cannot_be_written_back(session: Session) -> None:
    session.set_flags(["-XDataKinds"])
    session.exec_stmt("let p = Data.Proxy.Proxy :: Data.Proxy.Proxy 3")
    session.set_flags(["-XNoDataKinds"])
    # Writing "Proxy 3" now needs DataKinds: the value crosses without the annotation.
    value = session.eval("p")
    assert (value.type, value.show) == ("Data.Proxy.Proxy 3", "Proxy")


def test_parse_name_gives_modules_not_locations(session: Session, project: Path) -> None:
    # ":info" says "Defined at <interactive>:1:1" for a prompt binding and "Defined at
    # Foo.hs:3:1" for a home module's name; the module used to be that location.
    session.run_decls("answer = 42 :: Int")
    assert [(n.name, n.module) for n in session.parse_name("answer")] == [("answer", None)]
    session.set_targets([Target("file", str(project / "Foo.hs"))])
    assert session.load().success
    session.set_context([Import("Foo", kind="module")])
    assert [(n.name, n.module) for n in session.parse_name("g")] == [("g", "Foo")]


def test_parse_name_of_methods_constructors_and_operators(session: Session) -> None:
    assert [(n.name, n.module) for n in session.parse_name("fmap")] == [("fmap", "GHC.Base")]
    assert [(n.name, n.module) for n in session.parse_name("Just")] == [("Just", "GHC.Maybe")]
    assert [n.name for n in session.parse_name("(+)")] == ["+"]


def test_load_up_to_finds_modules_among_the_targets(session: Session, project: Path) -> None:
    (project / "Top.hs").write_text("module Top where\nimport Foo\ntop :: Int\ntop = f 1\n")
    session.set_targets([Target("file", str(project / "Top.hs"))])
    outcome = session.load("up_to", "Foo")
    assert outcome.success and [m.name for m in outcome.modules] == ["Foo"]
