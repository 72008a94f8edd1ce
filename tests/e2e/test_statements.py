"""exec_stmt and run_decls against a real GHCi: results, output, errors, odd inputs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from core.client import CompileError, EvaluationError, Session
from core.protocol.errors import ExceptionInfo

pytestmark = pytest.mark.ghc


class Recorder:
    def __init__(self) -> None:
        self.chunks: list[tuple[str, str]] = []

    def __call__(self, stream: str, text: str) -> None:
        self.chunks.append((stream, text))

    def text(self, stream: str) -> str:
        return "".join(t for s, t in self.chunks if s == stream)


def test_expression_binds_it_and_prints(session: Session) -> None:
    out = Recorder()
    outcome = session.exec_stmt("1 + 1", on_output=out)
    assert outcome.names == ("it",) and outcome.exception is None
    assert out.text("stdout") == "2\n"


@pytest.mark.parametrize(
    ("stmt", "names"),
    [
        ("let x = 1 + 2 :: Int", ("x",)),
        ("y <- return (reverse [3, 1, 2])", ("y",)),
        ("(a, b) <- return (1, 'c')", ("a", "b")),
        ("let f n = n * 2; g = 3", ("f", "g")),
        ("", ()),
        ("-- just a comment", ()),
        ("print 5", ("it",)),
        ("_ <- return ()", ()),
    ],
)
def test_bound_names(session: Session, stmt: str, names: tuple[str, ...]) -> None:
    assert session.exec_stmt(stmt).names == names


def test_bindings_are_usable_later(session: Session) -> None:
    session.exec_stmt("let x = 20 :: Int")
    session.exec_stmt("y <- return (x + 1)")
    out = Recorder()
    session.exec_stmt("x * 2 + y", on_output=out)
    assert out.text("stdout") == "61\n"


def test_multi_line_statements(session: Session) -> None:
    out = Recorder()
    session.exec_stmt("do\n  let xs = [1, 2, 3]\n  mapM_ print xs\n  putStrLn \"done\"",
                      on_output=out)
    assert out.text("stdout") == "1\n2\n3\ndone\n"
    outcome = session.exec_stmt("let a = 1\n    b = 2")
    assert outcome.names == ("a", "b")
    out2 = Recorder()
    session.exec_stmt("a + b", on_output=out2)
    assert out2.text("stdout") == "3\n"


@pytest.mark.parametrize(
    ("stmt", "type_", "message"),
    [
        ('error "boom"', "ErrorCall",
         "boom\nCallStack (from HasCallStack):\n  error, called at <interactive>:1:1 in "),
        ("head []", "ErrorCall", "Prelude.head: empty list"),
        ("1 `div` (0 :: Int)", "ArithException", "divide by zero"),
        ("System.Exit.exitWith (System.Exit.ExitFailure 3)", "ExitCode", "ExitFailure 3"),
        ('ioError (userError "x")', "IOException", "user error (x)"),
    ],
)
def test_runtime_exceptions_are_results(
    session: Session, stmt: str, type_: str, message: str
) -> None:
    outcome = session.exec_stmt(stmt)
    assert outcome.exception is not None and outcome.names == ()
    assert outcome.exception.type == type_
    assert outcome.exception.message.startswith(message)


def test_exceptions_of_the_users_types_are_named(session: Session) -> None:
    """Only ``show`` crosses; a derived Show starts with a constructor, whose type GHCi
    knows (and whether it is an Exception)."""
    session.run_decls("data Oops = Oops String | Other { code :: Int } deriving Show\n"
                      "instance Control.Exception.Exception Oops\n"
                      "data Plain = Plain deriving Show")
    for stmt, message in [('Control.Exception.throwIO (Oops "boom")', 'Oops "boom"'),
                          ("Control.Exception.throw (Other 3) :: IO ()", "Other {code = 3}")]:
        outcome = session.exec_stmt(stmt)
        assert outcome.exception == ExceptionInfo("Oops", message)
    with pytest.raises(EvaluationError) as info:
        session.eval('Control.Exception.throw (Oops "in a value") :: Int')
    assert info.value.exception == ExceptionInfo("Oops", 'Oops "in a value"')
    # Texts that a derived Show of an exception type cannot have written stay unnamed.
    for stmt in ['Control.Exception.throwIO (Control.Exception.ErrorCall "Oops, no")',
                 'Control.Exception.throwIO (Control.Exception.ErrorCall "Plain")']:
        exception = session.exec_stmt(stmt).exception
        assert exception is not None and exception.type == "SomeException", stmt


def test_session_survives_exceptions(session: Session) -> None:
    session.exec_stmt("let kept = 42 :: Int")
    session.exec_stmt('error "boom"')
    session.exec_stmt("System.Exit.exitWith (System.Exit.ExitFailure 3)")
    out = Recorder()
    session.exec_stmt("kept", on_output=out)
    assert out.text("stdout") == "42\n"


def test_parse_error_is_a_compile_error_with_a_span(session: Session) -> None:
    with pytest.raises(CompileError) as info:
        session.exec_stmt("let = 5")
    (diag,) = info.value.diagnostics
    assert (diag.file, diag.line, diag.severity) == ("<interactive>", 1, "error")
    assert diag.column >= 1 and diag.end_column >= diag.column
    assert "parse error" in diag.message


def test_type_error_is_a_compile_error(session: Session) -> None:
    with pytest.raises(CompileError) as info:
        session.exec_stmt("True && 'x'")
    diag = info.value.diagnostics[0]
    assert (diag.line, diag.column) == (1, 9)
    assert "Couldn't match expected type ‘Bool’ with actual type ‘Char’" in diag.message


def test_line_number_and_file_are_reported_as_given(session: Session) -> None:
    with pytest.raises(CompileError) as info:
        session.exec_stmt("undefinedThing", source_file="cell.hs", line=7)
    diag = info.value.diagnostics[0]
    assert (diag.file, diag.line, diag.column) == ("cell.hs", 7, 1)


@pytest.mark.parametrize("stmt", ["data T = T", "import Data.Char", "x = 5"])
def test_declarations_and_imports_are_not_statements(session: Session, stmt: str) -> None:
    with pytest.raises(CompileError, match="parse error on input"):
        session.exec_stmt(stmt)


@pytest.mark.parametrize(
    "text",
    [":! echo owned", "  :quit", ":set prompt \"x\"", ":def foo undefined", ":cmd return \"\"",
     "print 1\n:}\n:! echo owned", "\n\n   :! echo owned"],
)
def test_colon_commands_never_reach_ghci(session: Session, text: str) -> None:
    out = Recorder()
    with pytest.raises(CompileError):
        session.exec_stmt(text, on_output=out)
    assert "owned" not in out.text("stdout")
    assert session.exec_stmt("1 + 1").names == ("it",)


def test_unicode_output_and_no_trailing_newline(session: Session) -> None:
    out = Recorder()
    session.exec_stmt('putStr "héllo ☃ λ→"', on_output=out)
    assert out.text("stdout") == "héllo ☃ λ→"
    out2 = Recorder()
    session.exec_stmt('putStrLn "ok"', on_output=out2)
    assert out2.text("stdout") == "ok\n"


def test_a_line_still_being_written_arrives_while_the_statement_runs(
    session: Session, tmp_path: Path
) -> None:
    """``putStr`` progress without a newline is not held until the statement ends: the
    statement waits (up to 20 s) for a file that only the arrival of its output creates.
    The interpreter's flusher starts once the session has been idle after a statement."""
    session.exec_stmt("()")
    time.sleep(1)
    go = tmp_path / "go"
    stmt = (
        'putStr "ready" >> let { wait n = System.Directory.doesFileExist '
        f'{json.dumps(str(go))} >>= \\e -> if e then putStrLn " go" else if n == 0 '
        'then putStrLn " gave up" else Control.Concurrent.threadDelay 10000 >> wait (n - 1) } '
        "in wait (2000 :: Int)"
    )
    out = Recorder()

    def on_output(stream: str, text: str) -> None:
        out(stream, text)
        if "ready" in text:
            go.touch()

    outcome = session.exec_stmt(stmt, on_output=on_output)
    assert outcome.exception is None
    assert out.text("stdout") == "ready go\n"


def test_stdout_and_stderr_are_separate_and_ordered(session: Session) -> None:
    out = Recorder()
    session.exec_stmt(
        'putStrLn "a" >> System.IO.hPutStrLn System.IO.stderr "b" >> putStrLn "c"',
        on_output=out,
    )
    assert out.text("stdout") == "a\nc\n"
    assert out.text("stderr") == "b\n"


def test_user_stderr_before_an_exception_is_kept(session: Session) -> None:
    out = Recorder()
    outcome = session.exec_stmt(
        'System.IO.hPutStrLn System.IO.stderr "*** not an exception" >> error "real"',
        on_output=out,
    )
    assert out.text("stderr") == "*** not an exception\n"
    assert outcome.exception is not None and outcome.exception.message.startswith("real")


def test_ten_megabytes_of_output(session: Session) -> None:
    size = 0
    tail = ""

    def count(stream: str, text: str) -> None:
        nonlocal size, tail
        size += len(text)
        tail = (tail + text)[-10:]

    outcome = session.exec_stmt("putStr (replicate 10000000 'x') >> putStrLn \"END\"",
                                on_output=count)
    assert outcome.exception is None and not outcome.truncated
    assert size == 10_000_004 and tail.endswith("xxEND\n")


def test_stdin_text_then_end_of_file(session: Session) -> None:
    out = Recorder()
    session.exec_stmt("getLine >>= putStrLn . reverse", stdin="abc\nleft over\n",
                      on_output=out)
    assert out.text("stdout") == "cba\n"
    outcome = session.exec_stmt("getLine")
    assert outcome.exception is not None and outcome.exception.type == "IOException"
    assert "end of file" in outcome.exception.message


def test_stdin_after_programs_that_closed_it(session: Session) -> None:
    """``interact``/``getContents`` reading to the end, or ``hClose stdin``, close the
    interpreter's stdin for good; a later statement given stdin text still reads it (an
    autograder runs one ``interact`` program per test case)."""

    def run(stmt: str, stdin: str | None = None) -> str:
        out = Recorder()
        outcome = session.exec_stmt(stmt, stdin=stdin, on_output=out)
        assert outcome.exception is None, outcome.exception
        return out.text("stdout")

    assert run("interact (map succ)", "abc") == "bcd"
    assert run("interact (map succ)", "def") == "efg"
    assert run("getContents >>= putStr . reverse", "xy") == "yx"
    run("System.IO.hClose System.IO.stdin")
    # As GHCi made it: text in the locale's encoding, unbuffered, "<stdin>" in messages.
    assert run("getLine", "d\u00e9j\u00e0 vu\n") == '"d\\233j\\224 vu"\n'
    assert run("System.IO.hShow System.IO.stdin >>= putStrLn") == (
        "{loc=<stdin>,type=readable,buffering=none}\n")
    run("s <- getContents", "never read")
    assert run("getLine", "next\n") == '"next"\n'
    outcome = session.exec_stmt("getLine")
    assert outcome.exception is not None
    assert outcome.exception.message == "<stdin>: hGetLine: end of file"


def test_run_decls(session: Session) -> None:
    assert session.run_decls("data Color = Red | Green deriving (Show, Eq)") == ["Color"]
    assert session.run_decls("double :: Int -> Int\ndouble n = n * 2") == ["double"]
    out = Recorder()
    session.exec_stmt("(Red, double 21)", on_output=out)
    assert out.text("stdout") == "(Red,42)\n"


def test_run_decls_errors(session: Session) -> None:
    with pytest.raises(CompileError, match="Couldn't match"):
        session.run_decls("bad :: Int\nbad = 'c'")
    with pytest.raises(CompileError, match="top-level declaration expected"):
        session.run_decls("1 + 1")


def test_run_decls_shadowing(session: Session) -> None:
    session.run_decls("v = 1 :: Int")
    session.run_decls("v = 2 :: Int")
    out = Recorder()
    session.exec_stmt("v", on_output=out)
    assert out.text("stdout") == "2\n"


def raw_ghci(script: str) -> str:
    import subprocess

    return subprocess.run(
        ["ghc", "--interactive", "-ignore-dot-ghci", "-v0"], input=script,
        capture_output=True, text=True, timeout=120,
    ).stdout


@pytest.mark.parametrize(
    "steps",
    [
        [],
        [("stmt", "1 + 1")],
        [("decls", "data T = T deriving Eq")],
        [("decls", "data T = T deriving Eq"), ("stmt", "print 1")],
        [("stmt", "let x = 5"), ("stmt", "x")],
    ],
)
def test_helper_code_is_invisible_in_info(session: Session, steps: list[tuple[str, str]]
                                          ) -> None:
    # The server's own statements (set-up, stdin reset) must not change what :info prints,
    # not even the order of instances (it depends on which interfaces GHC loaded when).
    script = "".join(f"{text}\n" for _, text in steps) + ":info Eq\n:info Show\n"
    expected = raw_ghci(script)
    printed: list[str] = []
    for kind, text in steps:
        if kind == "stmt":
            session.exec_stmt(text, on_output=lambda s, t: printed.append(t))
        else:
            session.run_decls(text)
    for name in ("Eq", "Show"):
        info = session.info(name)
        assert info is not None
        printed.append(info[0])
    assert "".join(printed) == expected
