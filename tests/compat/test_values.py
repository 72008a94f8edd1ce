"""The facade's values and pure helpers, without GHC: imports, targets, flags, names,
diagnostics, and the one table that translates core exceptions."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from compat import ghc_api as GHC  # noqa: N812 - the legacy spelling under test
from compat._errors import translate
from core.protocol.errors import (
    CompileError,
    DiagnosticInfo,
    ErrorDetails,
    EvaluationError,
    ExceptionInfo,
    GhcUsageError,
    InterruptedError_,
    SessionDiedError,
    SessionLimitError,
    TimeoutError_,
)

pytestmark = pytest.mark.filterwarnings("ignore::compat.GhcApiDeprecationWarning")


@pytest.mark.parametrize(
    ("text", "decl", "rendered"),
    [
        ("import Data.List", GHC.ImportDecl(GHC.ModuleName("Data.List")), "import Data.List"),
        ("import qualified Data.Map as M",
         GHC.ImportDecl(GHC.ModuleName("Data.Map"), True, GHC.ModuleName("M")),
         "import qualified Data.Map as M"),
        ("import Data.Map qualified as M",
         GHC.ImportDecl(GHC.ModuleName("Data.Map"), True, GHC.ModuleName("M")),
         "import qualified Data.Map as M"),
        ("import Data.List (sort, nub,)",
         GHC.ImportDecl(GHC.ModuleName("Data.List"), ideclHiding=(False, ("sort", "nub"))),
         "import Data.List (sort, nub)"),
        ("import Data.Maybe(Maybe(Just, Nothing), (<|>))  -- comment",
         GHC.ImportDecl(GHC.ModuleName("Data.Maybe"),
                        ideclHiding=(False, ("Maybe(Just, Nothing)", "(<|>)"))),
         "import Data.Maybe (Maybe(Just, Nothing), (<|>))"),
        ("import Prelude hiding (head)",
         GHC.ImportDecl(GHC.ModuleName("Prelude"), ideclHiding=(True, ("head",))),
         "import Prelude hiding (head)"),
        ("import Data.List ()",
         GHC.ImportDecl(GHC.ModuleName("Data.List"), ideclHiding=(False, ())),
         "import Data.List ()"),
    ],
)
def test_parse_import_decl(text: str, decl: GHC.ImportDecl, rendered: str) -> None:
    parsed = GHC.parseImportDecl(text)
    assert parsed == decl
    assert str(parsed) == rendered
    assert GHC.parseImportDecl(str(parsed)) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [("import Data.List (", "mismatched brackets"), ("x = 1", "import declaration"),
     ("import Data.List\nimport Data.Char", "import declaration"), ("", "import declaration"),
     ("import data.list", "import declaration")],
)
def test_parse_import_decl_rejects_anything_else(text: str, message: str) -> None:
    with pytest.raises(GHC.SourceError, match=message) as info:
        GHC.parseImportDecl(text)
    assert info.value.diagnostics[0].severity == "error"


def test_unsupported_import_forms_are_ghc_exceptions() -> None:
    for text in ['import "text" Data.Text', "import safe Data.List",
                 "import {-# SOURCE #-} Foo"]:
        with pytest.raises(GHC.GhcException, match="unsupported import form"):
            GHC.parseImportDecl(text)


def test_interactive_imports_match_and_render() -> None:
    decl = GHC.simpleImportDecl(GHC.mkModuleName("Data.Char"))
    for imp, expected in [(GHC.IIDecl(decl), "decl Data.Char"),
                          (GHC.IIModule(GHC.ModuleName("Foo")), "module Foo")]:
        match imp:
            case GHC.IIDecl(decl=GHC.ImportDecl(ideclName=name)):
                assert f"decl {name}" == expected
            case GHC.IIModule(name=name):
                assert f"module {name}" == expected
    assert str(GHC.IIModule(GHC.ModuleName("Foo"))) == "*Foo"
    assert GHC.moduleNameString(GHC.mkModuleName("A.B")) == "A.B"
    assert isinstance(GHC.mkModuleName("A"), str)


def test_guess_target_without_a_session() -> None:
    assert GHC.guessTarget("*Main.lhs") == GHC.Target(GHC.TargetFile("Main.lhs"), False)
    assert GHC.guessTarget("x.c", "Cc").targetId == GHC.TargetFile("x.c", "Cc")
    assert str(GHC.guessTarget("*A.B")) == "*A.B"
    for bad in ["not a module", "lower.case", "A..B"]:
        with pytest.raises(GHC.GhcException, match=f"target ‘{bad}’ is not a module name"):
            GHC.guessTarget(bad)


def test_dynflags_are_values() -> None:
    empty = GHC.DynFlags()
    on = GHC.xopt_set(empty, GHC.LangExt.GADTs)
    assert GHC.xopt("GADTs", on) and not GHC.xopt("GADTs", empty)
    off = GHC.xopt_unset(on, "GADTs")
    assert off.extensions == frozenset() and off.disabled_extensions == {"GADTs"}
    assert GHC.xopt_set(off, "GADTs") == on
    # GHC's spelling of an extension switched off, as -XNoImplicitPrelude: kept as the
    # positive name, as the session's flags are read back.
    no_prelude = GHC.xopt_set(empty, GHC.LangExt.NoImplicitPrelude)
    assert no_prelude == GHC.xopt_unset(empty, "ImplicitPrelude")
    assert GHC.xopt("NoImplicitPrelude", no_prelude) and not GHC.xopt("ImplicitPrelude", no_prelude)
    assert GHC.xopt_unset(no_prelude, "NoImplicitPrelude") == GHC.xopt_set(empty, "ImplicitPrelude")
    indentation = GHC.xopt_set(empty, "NondecreasingIndentation")  # a name, not a negation
    assert indentation.extensions == {"NondecreasingIndentation"}
    assert str(GHC.DynFlags(frozenset({"B", "A"}), ("-Wall",), frozenset({"C"}))) == \
        "-XA -XB -XNoC -Wall"
    with pytest.raises(AttributeError):
        on.flags = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        GHC.LangExt.__wrapped__  # noqa: B018 - dunder lookups are not extension names
    assert GHC.LangExt.NoImplicitPrelude == "NoImplicitPrelude"


def test_exec_options_are_frozen_and_replaceable() -> None:
    opts = dataclasses.replace(GHC.execOptions, timeout=2, execLineNumber=7)
    assert (opts.execSingleStep, opts.execSourceFile, opts.execLineNumber, opts.timeout) == (
        GHC.RunToCompletion, "<interactive>", 7, 2)
    assert GHC.execOptions.stdin is None and GHC.execOptions.stdout is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.timeout = 3  # type: ignore[misc]


def test_names_types_and_results() -> None:
    name = GHC.Name("x")
    assert name == "x" and name.module is None and repr(name) == "Name('x')"
    assert pickle.loads(pickle.dumps(GHC.Name("map", "GHC.Base"))).module == "GHC.Base"
    assert GHC.Type("Int") == "Int" and GHC.Kind("*") == "*" and GHC.TypeRep("[Char]")
    exc = GHC.HaskellException("ErrorCall", "boom")
    assert str(exc) == "boom" and exc == GHC.HaskellException("ErrorCall", "boom")
    assert exc != GHC.HaskellException("IOException", "boom")
    assert hash(exc) == hash(GHC.HaskellException("ErrorCall", "boom"))
    assert GHC.ExecComplete(GHC.Left(exc)) == GHC.ExecComplete(GHC.Left(exc), 0)
    assert GHC.Nothing is GHC.NothingType()
    just_nothing: object = GHC.Just(GHC.Nothing)  # compared as any object may be
    assert just_nothing != GHC.Nothing
    assert GHC.showPpr(None, [GHC.Name("a"), GHC.Right(GHC.Just(1))]) == "[a, Right Just(1)]"


def test_diagnostics_render_like_ghc() -> None:
    d = GHC.Diagnostic("Bad.hs", 4, 7, 4, 18, "error", "• Couldn't match\n  • In x")
    assert str(d) == "Bad.hs:4:7-18: error:\n    • Couldn't match\n      • In x"
    assert GHC.Diagnostic("A.hs", 1, 2, 3, 4, "warning", "w", "GHC-1").location == \
        "A.hs:(1,2)-(3,4)"
    assert str(GHC.Diagnostic("<interactive>", 1, 1, 1, 1, "error", "x")).startswith(
        "<interactive>:1:1: error:")


def test_handle_source_error_and_messages() -> None:
    err = GHC.SourceError("text", [GHC.Diagnostic("f", 1, 1, 1, 1, "error", "m")])
    assert GHC.srcErrorMessages(err) == err.diagnostics and str(err) == "text"

    def fail() -> str:
        raise err

    assert GHC.handleSourceError(lambda e: f"got {e}", fail) == "got text"
    assert GHC.handleSourceError(lambda e: "no", lambda: "ok") == "ok"


def test_translation_table() -> None:
    diag = DiagnosticInfo("f.hs", 1, 2, 1, 3, "error", "msg")
    compile_error = translate(CompileError("f.hs:1:2: error: msg",
                                           details=ErrorDetails(diagnostics=(diag,))))
    assert isinstance(compile_error, GHC.SourceError)
    assert str(compile_error) == "f.hs:1:2: error: msg"
    assert compile_error.diagnostics == [GHC.Diagnostic("f.hs", 1, 2, 1, 3, "error", "msg")]
    crashed = translate(SessionDiedError("died", details=ErrorDetails(replayed=("let x",))))
    assert isinstance(crashed, GHC.InterpreterCrashed) and crashed.replayed == ["let x"]
    assert isinstance(crashed, GHC.GhcException)
    info = ExceptionInfo("ErrorCall", "boom")
    assert translate(EvaluationError("boom", details=ErrorDetails(exception=info))) == \
        GHC.HaskellException("ErrorCall", "boom")
    assert translate(TimeoutError_("late")) == GHC.HaskellException("Timeout", "late")
    assert translate(InterruptedError_("stop")) == GHC.HaskellException("UserInterrupt", "stop")
    for other in (GhcUsageError("misuse"), SessionLimitError("full")):
        assert type(translate(other)) is GHC.GhcException


def test_no_session_is_a_ghc_exception() -> None:
    for call in (GHC.getSession, GHC.getContext, lambda: GHC.execStmt("1"),
                 lambda: GHC.dynCompileExpr("1"), lambda: GHC.load()):
        with pytest.raises(GHC.GhcException, match="no current GHC session"):
            call()
