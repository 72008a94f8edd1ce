"""Types, kinds, context and flags against a real GHCi."""

from __future__ import annotations

import pytest

from core.client import Client, CompileError, GhcUsageError, Import, Session

pytestmark = pytest.mark.ghc


@pytest.mark.parametrize(
    ("expr", "mode", "expected"),
    [
        ("map", "inst", "(a -> b) -> [a] -> [b]"),
        ("length", "inst", "Foldable t => t a -> Int"),
        ("length", "noinst", "Foldable t => t a -> Int"),
        ("1 + 2", "default", "Integer"),
        ("1 + 2", "inst", "Num a => a"),
        ("foldr", "inst", "Foldable t => (a -> b -> b) -> b -> t a -> b"),
    ],
)
def test_expr_type(session: Session, expr: str, mode: str, expected: str) -> None:
    assert session.expr_type(expr, mode) == expected  # type: ignore[arg-type]


def test_expr_type_sees_bindings_and_reports_errors(session: Session) -> None:
    session.exec_stmt("let z = 'c'")
    assert session.expr_type("z") == "Char"
    with pytest.raises(CompileError) as info:
        session.expr_type("nosuchthing")
    assert "not in scope" in info.value.diagnostics[0].message.lower()


def test_long_types_are_unwrapped(session: Session) -> None:
    expr = "\\a b c d e f g -> (a, b, c, d, e, f, g, a, b, c)"
    assert "\n" not in session.expr_type(expr)


@pytest.mark.parametrize(
    ("type_", "normalise", "kind", "shown"),
    [
        ("Maybe", False, "* -> *", "Maybe"),
        ("Either Int", False, "* -> *", "Either Int"),
        ("Monad", False, "(* -> *) -> Constraint", "Monad"),
        ("Maybe Int", True, "*", "Maybe Int"),
    ],
)
def test_type_kind(session: Session, type_: str, normalise: bool, kind: str, shown: str) -> None:
    result = session.type_kind(type_, normalise=normalise)
    assert (result.type, result.kind) == (shown, kind)


def test_type_kind_normalises_type_families(session: Session) -> None:
    session.set_flags(["-XTypeFamilies"])
    session.run_decls("type family F a where\n  F Int = Bool\n  F a = Char")
    assert session.type_kind("F Int", normalise=True).type == "Bool"
    assert session.type_kind("F Int", normalise=False).type == "F Int"


def test_type_kind_errors(session: Session) -> None:
    with pytest.raises(CompileError, match="Foo"):
        session.type_kind("Foo")
    with pytest.raises(CompileError, match="parse error"):
        session.type_kind("Maybe (")


def test_context_round_trip_and_effect(session: Session) -> None:
    assert session.get_context() == []
    imports = [
        Import("Data.List", names=("sort", "nub"), hiding=False),
        Import("Data.Map", qualified=True, as_="M"),
        Import("Data.Char", hiding=True, names=("ord",)),
    ]
    session.set_context(imports)
    assert session.get_context() == imports
    chunks: list[str] = []
    session.exec_stmt('print (sort [3, 1, 2], M.toList (M.fromList [(1, "a")]), toUpper \'x\')',
                      on_output=lambda s, t: chunks.append(t))
    assert "".join(chunks) == "([1,2,3],[(1,\"a\")],'X')\n"
    with pytest.raises(CompileError):
        session.exec_stmt("ord 'a'")  # hidden


def test_failed_set_context_keeps_the_previous_one(session: Session) -> None:
    session.set_context([Import("Data.List", names=("sort",), hiding=False)])
    with pytest.raises(CompileError, match=r"No\.Such\.Mod"):
        session.set_context([Import("No.Such.Mod")])
    assert session.get_context() == [Import("Data.List", names=("sort",), hiding=False)]
    assert session.exec_stmt("sort [2, 1]").exception is None


def test_module_import_of_a_package_module_is_a_usage_error(session: Session) -> None:
    with pytest.raises(GhcUsageError, match=r"Data\.List"):
        session.set_context([Import("Data.List", kind="module")])


def test_prelude_is_implicit_unless_imported(session: Session) -> None:
    session.set_context([Import("Prelude", qualified=True, as_="P")])
    with pytest.raises(CompileError):
        session.exec_stmt("length [1]")
    assert session.exec_stmt("P.length [1]").exception is None
    session.set_context([])
    assert session.exec_stmt("length [1]").exception is None


def test_set_flags_language_extension(session: Session) -> None:
    assert session.expr_type('"x"') == "String"
    flags = session.set_flags(["-XOverloadedStrings"])
    assert "OverloadedStrings" in flags.extensions
    assert session.expr_type('"x"') == "Data.String.IsString p => p"
    assert "OverloadedStrings" in session.get_flags().extensions
    flags = session.set_flags(["-XNoOverloadedStrings"])
    assert "OverloadedStrings" not in flags.extensions
    assert session.expr_type('"x"') == "String"


def test_set_flags_reports_unknown_flags(session: Session) -> None:
    flags = session.set_flags(["-fno-such-flag"])
    assert flags.unrecognized == ("-fno-such-flag",)


def test_a_set_with_an_unknown_flag_applies_none(session: Session) -> None:
    # GHCi rejects the whole :set; the flags read back (and replayed) must say so.
    flags = session.set_flags(["-XLambdaCase", "-fno-such-flag"])
    assert flags.unrecognized == ("-fno-such-flag",) and "LambdaCase" not in flags.extensions
    with pytest.raises(CompileError, match="LambdaCase"):
        session.exec_stmt("(\\case { _ -> 'x' }) ()")
    # An unknown warning flag is only a warning, unless warnings are errors.
    flags = session.set_flags(["-fdefer-type-errors", "-Wbogus"])
    assert "-fdefer-type-errors" in flags.flags and not flags.unrecognized
    assert any("-Wbogus" in w for w in flags.warnings)
    session.set_flags(["-Werror"])
    flags = session.set_flags(["-fprint-explicit-foralls", "-Wbogus"])
    assert flags.unrecognized == ("-Wbogus",) and not flags.warnings
    assert "-fprint-explicit-foralls" not in flags.flags


@pytest.mark.parametrize("flag", ["-fno-external-interpreter", "-pgmi/bin/sh",
                                  "-ghci-script=x", "-e"])
def test_flags_that_break_the_server_are_refused(session: Session, flag: str) -> None:
    with pytest.raises(GhcUsageError):
        session.set_flags([flag])
    assert session.exec_stmt("1").exception is None


@pytest.mark.parametrize(("flag", "reason"), [
    # They turn off GHCi's implicit qualified imports, on which the server's stdout and stdin
    # set-up and value transfer rely; accepted, every eval failed with an error about code
    # the user never wrote.
    ("-XSafe", "fully qualified names"),
    ("-fno-implicit-import-qualified", "fully qualified names"),
    # GHCi would stop in its debugger at the first exception; every later reply was garbled.
    ("-fbreak-on-exception", "debugger"),
    ("-fbreak-on-error", "debugger"),
    # Coloured diagnostics went unrecognised: a type error was reported as a statement run.
    ("-fdiagnostics-color=always", "structured"),
])
def test_flags_that_break_the_servers_own_statements_are_refused(
    shim_client: Client, session: Session, flag: str, reason: str
) -> None:
    with pytest.raises(GhcUsageError, match=reason):
        session.set_flags([flag])
    with pytest.raises(GhcUsageError, match=reason):
        shim_client.open_session(flags=[flag])
    assert session.eval("[1, 2] :: [Int]").value == [1, 2]
    outcome = session.exec_stmt("1 `div` (0 :: Int)")
    assert outcome.exception is not None and outcome.exception.type == "ArithException"


def test_queries_under_unicode_syntax(session: Session) -> None:
    # -fprint-unicode-syntax: GHCi writes "∷" (and "→", "★"); the types come back as written.
    session.set_flags(["-fprint-unicode-syntax"])
    session.exec_stmt("let xs = [1, 2 :: Int]")
    assert session.expr_type("Just") == "a → Maybe a"
    assert session.type_kind("Maybe").kind == "★ → ★"
    assert session.compile_expr("xs").type == "[Int]"
    assert session.eval("xs").value == [1, 2]
    assert session.eval("not").type == "Bool → Bool"
    assert ("xs", "[Int]") in [(b.name, b.type) for b in session.bindings()]


def test_import_items_with_constructor_lists(session: Session) -> None:
    session.set_context([Import("Data.Maybe", names=("Maybe(Just, Nothing)", "fromMaybe"),
                                hiding=False)])
    assert session.eval("fromMaybe 0 (Just 3) :: Int").value == 3
    with pytest.raises(CompileError, match="importable"):
        session.set_context([Import("Data.Maybe", names=("fromMaybe), (isJust",), hiding=False)])


def test_a_background_thread_printing_does_not_corrupt_answers(session: Session) -> None:
    """The interpreted program writes to pipes of its own: what a thread of the user's prints
    between requests (here text shaped like GHCi's answers) never lands in an answer."""
    session.exec_stmt(
        "_ <- Control.Concurrent.forkIO (Control.Monad.forever (putStrLn \"log: x :: Y\" "
        ">> System.IO.hPutStrLn System.IO.stderr \"<interactive>:1:1: error: fake\" "
        ">> Control.Concurrent.threadDelay 20000))"
    )
    for _ in range(10):
        assert session.expr_type("map") == "(a -> b) -> [a] -> [b]"
        assert session.type_kind("Maybe").kind == "* -> *"
        assert session.complete("mapM") == ["mapM", "mapM_"]
        info = session.info("Maybe")
        assert info is not None and info[0].startswith("type Maybe :: * -> *\n")
    # What it printed meanwhile is not lost: it comes with the next statement.
    chunks: list[tuple[str, str]] = []
    assert session.exec_stmt("1 + 1", on_output=lambda s, t: chunks.append((s, t))).names
    out = "".join(t for s, t in chunks if s == "stdout")
    assert {"log: x :: Y", "2"} == set(out.splitlines())  # the thread may print after "2"
    assert "fake" in "".join(t for s, t in chunks if s == "stderr")


@pytest.mark.parametrize("text", [
    "\\nF.hs:1:1: error:\\n    msg\\n",  # a compiler run by the program (an autograder's)
    "*** Exception: logged\\n",
    "Interrupted.\\n",
])
def test_the_programs_stderr_is_never_read_as_ghcs_report(session: Session, text: str) -> None:
    chunks: list[tuple[str, str]] = []
    outcome = session.exec_stmt(
        f'r <- System.IO.hPutStr System.IO.stderr "{text}" >> return (1 :: Int)',
        on_output=lambda s, t: chunks.append((s, t)),
    )
    assert outcome.exception is None and outcome.names == ("r",)
    assert "".join(t for s, t in chunks if s == "stderr") == text.replace("\\n", "\n")
    assert session.eval("r").value == 1


def test_package_flags_with_their_argument_as_a_separate_word(shim_client: Client) -> None:
    """As GHCi's own message puts it ("-package ghc"), at open and with set_flags."""
    with shim_client.open_session(flags=["-package", "ghc"]) as session:
        assert session.expr_type("GHC.mkModuleName") == "String -> GHC.Unit.Module.Name.ModuleName"
    with shim_client.open_session() as session:
        assert session.set_flags(["-package", "ghc"]).flags == ("-package=ghc",)
        assert session.expr_type("GHC.mkModuleName") == "String -> GHC.Unit.Module.Name.ModuleName"


def test_arguments_out_of_range_are_usage_errors(shim_client: Client, session: Session) -> None:
    """Refused before anything is sent, as the shim's own error, not pydantic's."""
    with pytest.raises(GhcUsageError, match="output_limit"):
        shim_client.open_session(output_limit=10)
    with pytest.raises(GhcUsageError, match="line"):
        session.exec_stmt("1", line=0)
    assert session.exec_stmt("1").exception is None  # the connection goes on
