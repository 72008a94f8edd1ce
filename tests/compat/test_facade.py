"""The facade's behaviour (API.md §1) against a real GHC, called the legacy way.

Each test runs its body inside ``GHC.runGhc`` as legacy code does. The deprecation warnings
are the subject of ``test_deprecations.py``; here they are filtered.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import subprocess
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import pytest

from compat import ghc_api as GHC  # noqa: N812 - the legacy spelling under test
from core.client import Import, connect

pytestmark = [
    pytest.mark.ghc,
    pytest.mark.filterwarnings("ignore::compat.GhcApiDeprecationWarning"),
]

T = TypeVar("T")


def ghc(action: Callable[[], T]) -> T:
    return GHC.runGhc(None, action)


def run_ok(stmt: str, **options: object) -> tuple[list[str], str]:
    """Run a statement that must succeed: (bound names, its stdout)."""
    out: list[str] = []
    result = GHC.execStmt(stmt, GHC.ExecOptions(stdout=out.append, **options))  # type: ignore[arg-type]
    match result:
        case GHC.ExecComplete(execResult=GHC.Right(value=names)):
            return list(names), "".join(out)
    raise AssertionError(f"{stmt!r} gave {result!r}")


# ------------------------------------------------------------------------------ §1.1


def test_run_ghc_scopes_a_session_and_closes_it() -> None:
    seen = []

    def action() -> int:
        seen.append(GHC.getSession())
        return 42

    assert ghc(action) == 42
    assert seen[0].closed
    with pytest.raises(GHC.GhcException, match="no current GHC session"):
        GHC.getContext()


def test_nested_run_ghc_sessions_are_independent() -> None:
    def inner() -> list[str]:
        with pytest.raises(GHC.SourceError, match="outer"):
            GHC.execStmt("outer")
        return run_ok("let inner = 2 :: Int")[0]

    def outer() -> None:
        run_ok("let outer = 1 :: Int")
        outer_session = GHC.getSession()
        assert ghc(inner) == ["inner"]
        assert GHC.getSession() is outer_session
        assert run_ok("outer")[1] == "1\n"
        with pytest.raises(GHC.SourceError):
            GHC.execStmt("inner")

    ghc(outer)


def test_run_ghc_closes_the_session_when_the_action_raises() -> None:
    sessions = []

    def action() -> None:
        sessions.append(GHC.getSession())
        raise KeyError("boom")

    with pytest.raises(KeyError):
        ghc(action)
    assert sessions[0].closed


def test_run_ghc_takes_ghcs_libdir() -> None:
    libdir = subprocess.run(["ghc", "--print-libdir"], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert GHC.runGhc(libdir, lambda: run_ok("print 1")[1]) == "1\n"
    with pytest.raises(GHC.GhcException, match="no/such/libdir"):
        GHC.runGhc("/no/such/libdir", lambda: GHC.execStmt("1"))


ROOT = Path(__file__).resolve().parents[2]
_WITHOUT_GHC = """
import warnings
warnings.simplefilter("ignore")
from compat import ghc_api as GHC
try:
    GHC.runGhc(None, lambda: GHC.execStmt("1"))
except GHC.GhcException as exc:
    print("GhcException:", exc)
"""


@pytest.mark.parametrize("broken", ["missing", "no libdir"])
def test_a_missing_or_broken_ghc_is_a_ghc_exception(tmp_path: Path, broken: str) -> None:
    """The private server could not start: the reason, not 'connection closed'."""
    ghc, reason = "/no/such/ghc", "/no/such/ghc"
    if broken == "no libdir":
        ghc, reason = str(tmp_path / "ghc"), "cannot find package db"
        Path(ghc).write_text(f"#!/bin/sh\necho 'ghc: {reason}' >&2\nexit 3\n")
        Path(ghc).chmod(0o755)
    env = dict(os.environ, GHC_SHIM_GHC=ghc, PYTHONPATH=str(ROOT))
    env.pop("GHC_SHIM_SERVER", None)
    out = subprocess.run([sys.executable, "-c", _WITHOUT_GHC], capture_output=True, text=True,
                         env=env, timeout=60, cwd=ROOT).stdout
    assert out.startswith("GhcException:") and reason in out, out


def test_get_session_bridges_both_apis() -> None:
    def body() -> None:
        session = GHC.getSession()
        session.exec_stmt("let fromCore = 10 :: Int")
        run_ok("let fromFacade = fromCore + 1")
        chunks: list[str] = []
        session.exec_stmt("fromFacade", on_output=lambda s, t: chunks.append(t))
        assert "".join(chunks) == "11\n"
        session.set_context([Import("Data.Char", names=("toUpper",), hiding=False)])
        assert GHC.getContext() == [GHC.IIDecl(GHC.parseImportDecl("import Data.Char (toUpper)"))]

    ghc(body)


def test_with_session_uses_an_existing_core_session() -> None:
    with connect() as client, client.open_session() as session:
        session.exec_stmt("let kept = 'k'")
        assert GHC.withSession(session, lambda: run_ok("kept")[1]) == "'k'\n"
        assert not session.closed


# ------------------------------------------------------------------------------ §1.2


def test_dynflags_round_trip_and_extensions() -> None:
    def body() -> None:
        # The IsString Text instance is only visible with Data.Text imported (GHC's rule).
        GHC.setContext([GHC.IIDecl(GHC.parseImportDecl("import qualified Data.Text as T"))])
        with pytest.raises(GHC.SourceError):
            GHC.execStmt('let t = "x" :: T.Text')
        dflags = GHC.getSessionDynFlags()
        assert not GHC.xopt(GHC.LangExt.OverloadedStrings, dflags)
        GHC.setSessionDynFlags(GHC.xopt_set(dflags, GHC.LangExt.OverloadedStrings))
        assert GHC.xopt("OverloadedStrings", GHC.getSessionDynFlags())
        assert run_ok('let t = "x" :: T.Text')[0] == ["t"]
        GHC.setSessionDynFlags(GHC.xopt_unset(GHC.getSessionDynFlags(), "OverloadedStrings"))
        now = GHC.getSessionDynFlags()
        assert "OverloadedStrings" in now.disabled_extensions
        with pytest.raises(GHC.SourceError):
            GHC.execStmt('let u = "x" :: T.Text')

    ghc(body)


def test_other_flags_round_trip_through_dynflags() -> None:
    def body() -> None:
        start = GHC.getSessionDynFlags()
        GHC.setSessionDynFlags(dataclasses.replace(
            start, flags=(*start.flags, "-fdefer-type-errors", "-dsuppress-uniques")))
        now = GHC.getSessionDynFlags()
        assert {"-fdefer-type-errors", "-dsuppress-uniques"} <= set(now.flags)
        # Deferred (GHCi defers in bindings, not in an expression's own `it`): a warning,
        # then an exception when the value is used.
        run_ok("let bad = 'a' && True", stderr=lambda _: None)
        result = GHC.execStmt("bad", GHC.ExecOptions(stderr=lambda _: None))
        assert isinstance(result, GHC.ExecComplete)
        assert isinstance(result.execResult, GHC.Left)
        # A removed flag is sent negated.
        GHC.setSessionDynFlags(dataclasses.replace(
            now, flags=tuple(f for f in now.flags if f != "-fdefer-type-errors")))
        assert "-fdefer-type-errors" not in GHC.getSessionDynFlags().flags
        with pytest.raises(GHC.SourceError):
            GHC.execStmt("let worse = 'a' && True")
        with pytest.raises(GHC.GhcException, match="-fno-such-flag"):
            GHC.setSessionDynFlags(dataclasses.replace(
                now, flags=(*now.flags, "-fno-such-flag")))
        with pytest.raises(GHC.GhcException, match="cannot remove flag -dsuppress-uniques"):
            GHC.setSessionDynFlags(dataclasses.replace(
                now, flags=tuple(f for f in now.flags if f != "-dsuppress-uniques")))

    ghc(body)


def test_an_extension_switched_off_by_its_no_name_stays_off() -> None:
    def body() -> None:
        dflags = GHC.xopt_set(GHC.getSessionDynFlags(), GHC.LangExt.NoImplicitPrelude)
        GHC.setSessionDynFlags(dflags)
        # Applying the flags read back plus one more sends only that one: the implicit
        # Prelude does not come back.
        GHC.setSessionDynFlags(GHC.xopt_set(GHC.getSessionDynFlags(), "GADTs"))
        now = GHC.getSessionDynFlags()
        assert "ImplicitPrelude" in now.disabled_extensions and "GADTs" in now.extensions
        # DynFlags built by hand with the "No" spelling mean the same.
        GHC.setSessionDynFlags(GHC.DynFlags(now.extensions | {"NoImplicitPrelude"}, now.flags))
        assert "ImplicitPrelude" in GHC.getSessionDynFlags().disabled_extensions
        GHC.setContext([])  # GHCi drops the Prelude when the context is set again
        with pytest.raises(GHC.SourceError, match="length"):
            GHC.execStmt("length [()]")

    ghc(body)


def test_parse_dynamic_flags_keeps_unknown_flags_as_leftovers() -> None:
    def body() -> None:
        start = GHC.getSessionDynFlags()
        dflags, leftovers, warnings = GHC.parseDynamicFlags(
            start, ["-XLambdaCase", "-fno-such-flag", "-Wall", "Main.hs", "-XNoImplicitPrelude",
                    "-fdefer-type-errors", "-fno-defer-type-errors", "-XNullaryTypeClasses"]
        )
        assert leftovers == ["-fno-such-flag", "Main.hs"]
        assert "-fno-defer-type-errors" in dflags.flags  # the last word wins
        assert "-fdefer-type-errors" not in dflags.flags
        assert any("NullaryTypeClasses" in w and "deprecated" in w for w in warnings), warnings
        assert "LambdaCase" in dflags.extensions and "-Wall" in dflags.flags
        assert "ImplicitPrelude" in dflags.disabled_extensions
        assert GHC.getSessionDynFlags() == start  # parsing applies nothing

    ghc(body)


# ------------------------------------------------------------------------------ §1.3


def test_context_is_exactly_what_was_set() -> None:
    def body() -> None:
        assert GHC.getContext() == []
        imports: list[GHC.InteractiveImport] = [
            GHC.IIDecl(GHC.parseImportDecl("import Data.List (sort, nub)")),
            GHC.IIDecl(GHC.parseImportDecl("import qualified Data.Map as M")),
            GHC.IIDecl(GHC.parseImportDecl("import Data.Char hiding (ord)")),
            GHC.IIDecl(GHC.simpleImportDecl(GHC.mkModuleName("Data.Maybe"))),
        ]
        GHC.setContext(imports)
        assert GHC.getContext() == imports
        assert run_ok('print (sort [3, 1, 2], M.size (M.fromList [(1, "a")]), '
                      "toUpper 'x', fromMaybe 0 Nothing)")[1] == "([1,2,3],1,'X',0)\n"
        with pytest.raises(GHC.SourceError):
            GHC.execStmt("ord 'a'")

    ghc(body)


def test_set_context_errors_keep_the_previous_context() -> None:
    def body() -> None:
        first = [GHC.IIDecl(GHC.parseImportDecl("import Data.List (sort)"))]
        GHC.setContext(first)
        with pytest.raises(GHC.SourceError, match=r"No\.Such\.Mod") as info:
            GHC.setContext([GHC.IIDecl(GHC.simpleImportDecl(GHC.mkModuleName("No.Such.Mod")))])
        assert GHC.srcErrorMessages(info.value)
        with pytest.raises(GHC.GhcException, match=r"Data\.List"):
            GHC.setContext([GHC.IIModule(GHC.mkModuleName("Data.List"))])
        assert GHC.getContext() == first
        assert run_ok("sort [2, 1]")[1] == "[1,2]\n"

    ghc(body)


def test_prelude_is_implicit_unless_imported() -> None:
    def body() -> None:
        GHC.setContext([GHC.IIDecl(GHC.parseImportDecl("import qualified Prelude as P"))])
        with pytest.raises(GHC.SourceError):
            GHC.execStmt("length [1]")
        assert run_ok("P.length [1]")[1] == "1\n"

    ghc(body)


# ------------------------------------------------------------------------------ §1.4


@pytest.mark.parametrize(
    ("stmt", "names"),
    [("1 + 1", ["it"]), ("let x = 1 + 2 :: Int", ["x"]), ("y <- return 'c'", ["y"]),
     ("", []), ("-- a comment", []), ("do\n  let z = 2\n  print z", ["it"])],
)
def test_exec_stmt_bound_names(stmt: str, names: list[str]) -> None:
    def body() -> None:
        result = GHC.execStmt(stmt, GHC.ExecOptions(stdout=lambda _: None))
        assert isinstance(result, GHC.ExecComplete)
        expected = GHC.Right([GHC.Name(n) for n in names])
        assert result == GHC.ExecComplete(expected, result.execAllocation)
        assert isinstance(result.execResult, GHC.Right)
        assert all(isinstance(n, GHC.Name) for n in result.execResult.value)

    ghc(body)


@pytest.mark.parametrize(
    ("stmt", "type_", "message"),
    [('error "boom"', "ErrorCall", "boom\nCallStack (from HasCallStack):"),
     ("head ([] :: [Int])", "ErrorCall", "Prelude.head: empty list"),
     ("1 `div` (0 :: Int)", "ArithException", "divide by zero"),
     ("System.Exit.exitWith (System.Exit.ExitFailure 3)", "ExitCode", "ExitFailure 3")],
)
def test_exec_stmt_haskell_exceptions_are_left(stmt: str, type_: str, message: str) -> None:
    def body() -> None:
        match GHC.execStmt(stmt):
            case GHC.ExecComplete(execResult=GHC.Left(value=exc)):
                assert isinstance(exc, GHC.HaskellException)
                assert exc.type == type_
                assert exc.message.startswith(message) and str(exc) == exc.message
            case other:
                raise AssertionError(other)
        assert run_ok("1")[1] == "1\n"  # the session goes on

    ghc(body)


def test_exec_stmt_compile_errors_raise_source_error_with_diagnostics() -> None:
    def body() -> None:
        with pytest.raises(GHC.SourceError) as info:
            GHC.execStmt("True && 'x'", GHC.ExecOptions(execSourceFile="cell.hs",
                                                          execLineNumber=7))
        (diag, *_) = info.value.diagnostics
        assert (diag.file, diag.line, diag.column, diag.severity) == ("cell.hs", 7, 9, "error")
        assert "Couldn't match expected type ‘Bool’ with actual type ‘Char’" in diag.message
        assert "Couldn't match expected type" in str(info.value)
        assert str(diag).startswith("cell.hs:7:9")
        for text in ["let = 5", "import Data.Char", "data T = T", ":! echo owned"]:
            with pytest.raises(GHC.SourceError):
                GHC.execStmt(text)

    ghc(body)


def test_exec_stmt_output_goes_to_callbacks_or_sys_streams(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def body() -> None:
        err: list[str] = []
        GHC.execStmt('System.IO.hPutStrLn System.IO.stderr "to err" >> putStrLn "to out"',
                     GHC.ExecOptions(stderr=err.append))
        assert "".join(err) == "to err\n"
        GHC.execStmt('putStr "plain" >> System.IO.hPutStr System.IO.stderr "err plain"')
        # dynCompileExpr has no options: its output goes to this process's streams too.
        GHC.dynCompileExpr('Debug.Trace.trace "traced" (1 :: Int)')

    ghc(body)
    assert capsys.readouterr() == ("to out\nplain", "err plaintraced\n")


def test_exec_stmt_stdin_timeout_and_unsupported_stepping() -> None:
    def body() -> None:
        assert run_ok("getLine >>= putStrLn . reverse", stdin="abc\n")[1] == "cba\n"
        match GHC.execStmt("getLine"):
            case GHC.ExecComplete(execResult=GHC.Left(value=exc)):
                assert exc.type == "IOException" and "end of file" in exc.message
            case other:
                raise AssertionError(other)
        match GHC.execStmt("length [1..]", dataclasses.replace(GHC.execOptions, timeout=0.5)):
            case GHC.ExecComplete(execResult=GHC.Left(value=exc)):
                assert exc.type == "Timeout"
            case other:
                raise AssertionError(other)
        for step in (GHC.SingleStep, GHC.RunAndLogSteps):
            with pytest.raises(GHC.GhcException, match="only RunToCompletion"):
                GHC.execStmt("1", GHC.ExecOptions(execSingleStep=step))

    ghc(body)


def test_run_decls() -> None:
    def body() -> None:
        assert GHC.runDecls("data Color = Red | Green deriving (Show, Eq)") == ["Color"]
        assert GHC.runDecls("double :: Int -> Int\ndouble n = n * 2") == ["double"]
        assert run_ok("(Red, double 21)")[1] == "(Red,42)\n"
        with pytest.raises(GHC.SourceError, match="Couldn't match"):
            GHC.runDecls("bad :: Int\nbad = 'c'")

    ghc(body)


def test_run_stmt_is_the_removed_api() -> None:
    def body() -> None:
        with pytest.warns(GHC.RemovedWarning, match="runStmt is deprecated"):
            assert GHC.runStmt("let r = 1 :: Int") == GHC.RunOk([GHC.Name("r")])
        with pytest.warns(GHC.RemovedWarning):
            result = GHC.runStmt('error "old"')
        match result:
            case GHC.RunException(exc=exc):
                assert exc.type == "ErrorCall" and exc.message.startswith("old")
            case other:
                raise AssertionError(other)

    ghc(body)


def test_names_and_get_occ_string() -> None:
    name = GHC.Name("map", module="GHC.Base")
    assert name == "map" and name.module == "GHC.Base" and GHC.getOccString(name) == "map"
    assert type(GHC.getOccString(name)) is str


# ------------------------------------------------------------------------------ §1.5


@pytest.mark.parametrize(
    ("expr", "type_rep", "value"),
    [("42 :: Int", "Int", 42), ("1 + 1", "Integer", 2), ("[1, 2, 3 :: Int]", "[Int]", [1, 2, 3]),
     ('"héllo"', "[Char]", "héllo"), ("Just (1 :: Int, \"a\")", "Maybe (Int,[Char])",
                                      GHC.Just((1, "a"))),
     ("Nothing :: Maybe Int", "Maybe Int", GHC.Nothing), ("2.5 :: Double", "Double", 2.5),
     ("Data.Map.fromList [(1 :: Int, True)]", "Map Int Bool", {1: True}),
     ("Left 'x' :: Either Char Int", "Either Char Int", GHC.Left("x")),
     ("3 / 4 :: Rational", "Ratio Integer", Fraction(3, 4)), ("()", "()", None)],
)
def test_dyn_compile_expr_values(expr: str, type_rep: str, value: object) -> None:
    def body() -> None:
        d = GHC.dynCompileExpr(expr)
        assert GHC.dynTypeRep(d) == type_rep and isinstance(GHC.dynTypeRep(d), GHC.TypeRep)
        assert d.value == value
        assert repr(d) == f"<<{type_rep}>>"

    ghc(body)


def test_from_dynamic_targets() -> None:
    def body() -> None:
        n = GHC.dynCompileExpr("42 :: Int")
        assert GHC.fromDynamic(n, "Int") == 42 and GHC.fromDynamic(n, int) == 42
        assert GHC.fromDynamic(n, "Integer") is None and GHC.fromDynamic(n, str) is None
        assert GHC.fromDynamic(n, bool) is None
        assert GHC.fromDyn(n, 0) == 42 and GHC.fromDyn(n, "default") == "default"
        s = GHC.dynCompileExpr('"text"')
        assert GHC.fromDynamic(s, "String") == "text" and GHC.fromDynamic(s, str) == "text"
        assert GHC.fromDynamic(s, list[str]) is None
        m = GHC.dynCompileExpr('Data.Map.fromList [("a", [1 :: Int])]')
        assert GHC.fromDynamic(m, dict[str, list[int]]) == {"a": [1]}
        assert GHC.fromDynamic(m, dict[str, list[str]]) is None
        assert GHC.fromDynamic(m, "Data.Map.Map String [Int]") == {"a": [1]}
        j = GHC.dynCompileExpr("Just [True]")
        assert GHC.fromDynamic(j, GHC.Just[list[bool]]) == GHC.Just([True])
        assert GHC.fromDynamic(j, GHC.Just[int]) is None
        assert GHC.fromDyn(j, GHC.Nothing) == GHC.Just([True])
        e = GHC.dynCompileExpr("Right 1 :: Either String Int")
        assert GHC.fromDynamic(e, GHC.Left[str] | GHC.Right[int]) == GHC.Right(1)
        assert GHC.fromDynamic(e, GHC.Left[str] | GHC.Right[str]) is None
        t = GHC.dynCompileExpr("(1 :: Int, 'c', 2.0 :: Double)")
        assert GHC.fromDynamic(t, tuple[int, str, float]) == (1, "c", 2.0)
        assert GHC.fromDynamic(t, object) == (1, "c", 2.0)

    ghc(body)


def test_dyn_compile_expr_errors_and_opaque_values() -> None:
    def body() -> None:
        with pytest.raises(GHC.SourceError):
            GHC.dynCompileExpr("id")
        with pytest.raises(GHC.SourceError):
            GHC.dynCompileExpr("True && 'x'")
        with pytest.raises(GHC.HaskellException) as info:
            GHC.dynCompileExpr('error "lazy boom" :: Int')
        assert info.value.type == "ErrorCall" and info.value.message.startswith("lazy boom")
        GHC.runDecls("data P = P Int deriving Show")
        p = GHC.dynCompileExpr("P 3")
        assert (GHC.dynTypeRep(p), p.value, p.show) == ("P", None, "P 3")
        f = GHC.dynCompileExpr("not")
        assert (GHC.dynTypeRep(f), f.value, f.show) == ("Bool -> Bool", None, None)

    ghc(body)


def test_to_dyn_and_bind_value() -> None:
    def body() -> None:
        d = GHC.toDyn([1, 2, 3])
        assert (GHC.dynTypeRep(d), d.value, d.show) == ("[Integer]", [1, 2, 3], "[1,2,3]")
        assert GHC.dynTypeRep(GHC.toDyn(3, "Int")) == "Int"
        with pytest.raises(GHC.GhcException):
            GHC.toDyn(object())
        assert GHC.bindValue("table", {"a": 1}) == "table"
        assert run_ok('Data.Map.lookup "a" table')[1] == "Just 1\n"
        with pytest.raises(GHC.GhcException):
            GHC.bindValue("bad", object())

    ghc(body)


def test_compile_expr_keeps_a_remote_reference(tmp_path: Path) -> None:
    module = tmp_path / "Refs.hs"
    module.write_text("module Refs where\nanswer :: Int\nanswer = 42\n")

    def body() -> None:
        h = GHC.compileExpr("\\n -> n * (2 :: Int)")
        assert h.typeRep == "Int -> Int"
        assert run_ok(f"print ({h.name} 21)")[1] == "42\n"
        xs = GHC.compileExpr("[1 .. 5 :: Int]")
        GHC.setTargets([GHC.guessTarget(str(module))])
        assert GHC.load() is GHC.Succeeded
        assert run_ok(f"print ({h.name} 4)")[1] == "8\n"  # references survive load
        assert xs.toDynamic().value == [1, 2, 3, 4, 5]
        xs.free()
        xs.free()  # idempotent
        del h
        gc.collect()
        run_ok("1")  # the collected reference is freed with this request

    ghc(body)


# ------------------------------------------------------------------------------ §1.6


def test_expr_type_modes_and_type_kind() -> None:
    def body() -> None:
        assert GHC.exprType(GHC.TM_Inst, "map") == "(a -> b) -> [a] -> [b]"
        assert GHC.exprType(GHC.TM_NoInst, "length") == "Foldable t => t a -> Int"
        assert GHC.exprType(GHC.TM_Default, "1 + 2") == "Integer"
        assert isinstance(GHC.exprType(GHC.TM_Inst, "'c'"), GHC.Type)
        with pytest.raises(GHC.SourceError, match="nosuchthing"):
            GHC.exprType(GHC.TM_Inst, "nosuchthing")
        assert GHC.typeKind(False, "Maybe") == ("Maybe", "* -> *")
        assert GHC.typeKind(True, "Maybe Int") == ("Maybe Int", "*")
        type_, kind = GHC.typeKind(False, "Either Int")
        assert isinstance(type_, GHC.Type)
        assert isinstance(kind, GHC.Kind)
        with pytest.raises(GHC.SourceError):
            GHC.typeKind(False, "NoSuchType")

    ghc(body)


def test_parse_name_of_a_class_method() -> None:
    assert ghc(lambda: GHC.parseName("(+)")) == ["+"]


def test_names_info_and_bindings() -> None:
    def body() -> None:
        assert GHC.parseName("map") == ["map"]
        assert GHC.parseName("map")[0].module == "GHC.Base"
        with pytest.raises(GHC.SourceError):
            GHC.parseName("nosuch")
        info = GHC.getInfo(False, "Maybe")
        assert info is not None and "data Maybe a = Nothing | Just a" in info.thing
        assert any("Functor Maybe" in i for i in info.instances)
        assert GHC.getInfo(False, "nosuchname") is None
        plus = GHC.getInfo(False, GHC.Name("+"))
        assert plus is not None and plus.fixity == "infixl 6 +"
        # :info! lists the instances :info leaves out (their names are not in scope).
        unfiltered = GHC.getInfo(True, "Maybe")
        assert unfiltered is not None and set(info.instances) < set(unfiltered.instances)
        # One spelling, two things (a type and its constructor): GHCi's own text (GHC 9.0
        # shows the type), not an error.
        GHC.runDecls("data P = P Int")
        both = GHC.getInfo(False, "P")
        assert both is not None and "data P = P Int" in both.text
        run_ok("let first = 1 :: Int")
        run_ok("let second = 'c'")
        bindings = GHC.getBindings()
        assert [(b.name, b.type) for b in bindings[:2]] == [("second", "Char"), ("first", "Int")]
        assert "second" in GHC.getNamesInScope()
        assert "map" in GHC.getNamesInScope()
        assert "Prelude.map" in GHC.getRdrNamesInScope()

    ghc(body)


def test_show_ppr_renders_facade_values() -> None:
    decl = GHC.parseImportDecl("import Data.List (sort)")
    imports = [GHC.IIDecl(decl), GHC.IIModule(GHC.ModuleName("Foo"))]
    assert GHC.showPpr(None, imports) == "[import Data.List (sort), *Foo]"
    assert GHC.showSDoc(None, GHC.Succeeded) == "Succeeded"
    assert GHC.showPpr(None, GHC.Target(GHC.TargetFile("A.hs"), False)) == "*A.hs"


# ------------------------------------------------------------------------------ §1.7


def test_targets_load_and_module_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Foo.hs").write_text(
        "module Foo (foo) where\nimport Bar\nfoo :: Int\nfoo = bar + 1\n"
    )
    (tmp_path / "Bar.hs").write_text("module Bar where\nbar :: Int\nbar = 41\n")
    monkeypatch.chdir(tmp_path)

    def body() -> None:
        target = GHC.guessTarget("Foo.hs")
        assert target == GHC.Target(GHC.TargetFile("Foo.hs"))
        assert GHC.guessTarget("*Foo.hs").targetAllowObjCode is False
        assert GHC.guessTarget("Foo").targetId == GHC.TargetFile("Foo.hs")  # the file exists
        some_module = GHC.TargetModule(GHC.ModuleName("Some.Module"))
        assert GHC.guessTarget("Some.Module").targetId == some_module
        with pytest.raises(GHC.GhcException, match="is not a module name or a source file"):
            GHC.guessTarget("not a module")
        GHC.setTargets([target])
        GHC.addTarget(GHC.guessTarget("Bar.hs"))
        assert [str(t.targetId) for t in GHC.getTargets()] == [
            str(tmp_path / "Foo.hs"), str(tmp_path / "Bar.hs")]  # absolute: a local server
        GHC.removeTarget(GHC.TargetFile("Bar.hs"))
        assert len(GHC.getTargets()) == 1  # Bar is found through the search path: "."
        run_ok("let before = 1 :: Int")
        GHC.setContext([GHC.IIDecl(GHC.simpleImportDecl("Data.List"))])
        assert GHC.load(GHC.LoadAllTargets) is GHC.Succeeded
        assert GHC.getContext() == [] and GHC.getBindings() == []  # load resets both
        # As GHC found each: Foo by the path it was given, Bar through the search path.
        assert sorted((m.ms_mod_name, m.ms_hspp_file) for m in GHC.getModuleGraph()) == [
            ("Bar", "Bar.hs"), ("Foo", str(tmp_path / "Foo.hs"))]
        assert GHC.isLoaded("Foo") and GHC.isLoaded(GHC.mkModuleName("Bar"))
        assert not GHC.isLoaded("Data.List")
        assert GHC.moduleIsInterpreted("Foo") and not GHC.moduleIsInterpreted("Data.List")
        with pytest.warns(GHC.RemovedWarning):
            assert GHC.isModuleInterpreted(GHC.getModuleGraph()[0])
        GHC.setContext([GHC.IIModule(GHC.mkModuleName("Foo"))])
        assert run_ok("foo")[1] == "42\n"

    ghc(body)


def test_load_up_to(tmp_path: Path) -> None:
    (tmp_path / "Up.hs").write_text("module Up where\nup :: Int\nup = 1\n")

    def body() -> None:
        GHC.setTargets([GHC.guessTarget(str(tmp_path / "Up.hs"))])
        assert GHC.load(GHC.LoadUpTo(GHC.mkModuleName("Up"))) is GHC.Succeeded

    ghc(body)


def test_what_a_splice_prints_during_load_goes_to_this_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "Noisy.hs").write_text(
        "{-# LANGUAGE TemplateHaskell #-}\nmodule Noisy where\n"
        "import Language.Haskell.TH.Syntax (runIO, lift)\n"
        "noisy :: Int\nnoisy = $(runIO (putStrLn \"while compiling\") >> lift (1 :: Int))\n")

    def body() -> None:
        GHC.setTargets([GHC.guessTarget(str(tmp_path / "Noisy.hs"))])
        assert GHC.load() is GHC.Succeeded
        assert capsys.readouterr().out == "while compiling\n"  # printed during the load

    ghc(body)


def test_load_failures_go_to_the_log_action(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "Bad.hs"
    bad.write_text('module Bad where\n\nbad :: Int\nbad = "not an int"\n')

    def body() -> None:
        GHC.setTargets([GHC.guessTarget(str(bad))])
        assert GHC.load() is GHC.Failed  # default log action: GHC's text on stderr
        logged: list[GHC.Diagnostic] = []
        GHC.setLogAction(logged.append)
        assert GHC.load() is GHC.Failed
        (diag, *_) = [d for d in logged if d.severity == "error"]
        assert (Path(diag.file).name, diag.line, diag.column) == ("Bad.hs", 4, 7)
        assert diag.end_column == 18 and "Couldn't match" in diag.message
        assert run_ok("length [1, 2]")[1] == "2\n"  # the implicit Prelude survives
        GHC.setTargets([GHC.guessTarget("Missing.Mod")])
        with pytest.raises(GHC.SourceError, match=r"Missing\.Mod"):
            GHC.load()

    ghc(body)
    err = capsys.readouterr().err
    assert "Bad.hs:4:7-18: error:" in err and "Couldn't match" in err


def test_warnings_of_statements_and_declarations_go_to_the_log_action() -> None:
    def body() -> None:
        logged: list[GHC.Diagnostic] = []
        GHC.setLogAction(logged.append)
        GHC.setSessionDynFlags(dataclasses.replace(
            GHC.getSessionDynFlags(), flags=("-Wunused-matches", "-Wname-shadowing")))
        assert GHC.runDecls("f x = 1") == ["f"]
        run_ok("let g y = (\\y -> y) y")
        assert [(d.severity, d.line) for d in logged] == [("warning", 1), ("warning", 1)]
        assert "Defined but not used: ‘x’" in logged[0].message
        assert "shadows" in logged[1].message

    ghc(body)


def test_handle_source_error() -> None:
    def body() -> str:
        return GHC.handleSourceError(
            lambda e: f"handled: {len(GHC.srcErrorMessages(e))}",
            lambda: str(GHC.execStmt("nosuchthing")),
        )

    assert ghc(body) == "handled: 1"


def test_interpreter_crash_is_survivable() -> None:
    def body() -> None:
        run_ok("let survivor = 5 :: Int")
        with pytest.raises(GHC.InterpreterCrashed) as info:
            GHC.execStmt("System.Posix.Signals.raiseSignal System.Posix.Signals.sigKILL")
        assert isinstance(info.value, GHC.GhcException)
        assert any("survivor" in r for r in info.value.replayed)
        assert run_ok("survivor")[1] == "5\n"

    if sys.platform != "linux":  # pragma: no cover
        pytest.skip("signals as on Linux")
    ghc(body)
