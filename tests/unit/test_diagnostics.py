"""Unit tests for core.server.diagnostics against GHCi 9.0.2 transcripts.

The transcripts in ``tests/unit/transcripts`` are verbatim GHCi 9.0.2 output; SOURCES.txt
there says how each was recorded. Later GHCs' header shapes (error codes, ``Werror=``
without a dash) are tested on hand-written text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import pytest

from core.server.diagnostics import (
    INTERRUPTED,
    NO_LOCATION,
    Diagnostic,
    classify_exception,
    parse_diagnostics,
    render_diagnostic,
    shown_constructor,
    split_exception,
)
from core.server.ghci_text import result_type

TRANSCRIPTS = Path(__file__).parent / "transcripts"


def transcript(name: str) -> str:
    return (TRANSCRIPTS / name).read_text(encoding="utf-8")


def sections(name: str) -> dict[str, str]:
    """The ``#### <statement>`` sections of a transcript, keyed by statement."""
    parts = re.split(r"^#### (.*)\n", transcript(name), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


Span = tuple[str, int, int, int, int, str]


def spans(text: str) -> list[Span]:
    return [
        (d.file, d.line, d.column, d.end_line, d.end_column, d.severity)
        for d in parse_diagnostics(text)
    ]


# ------------------------------------------------------------------------------ spans


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "load_type_errors.txt",
            [
                # No -ferror-spans: the end of the first span comes from its carets; the
                # second span's carets run on to another line (`^^^^^^...`).
                ("Types.hs", 4, 11, 4, 15, "error"),
                ("Types.hs", 9, 14, 9, 14, "error"),
            ],
        ),
        (
            "load_error_spans.txt",
            [
                ("Types.hs", 4, 11, 4, 15, "error"),
                ("Types.hs", 9, 14, 10, 18, "error"),
                ("Span.hs", 7, 6, 8, 9, "error"),
            ],
        ),
        (
            "load_warnings.txt",
            [
                ("Warn.hs", 3, 1, 3, 23, "warning"),
                ("Warn.hs", 6, 13, 6, 13, "warning"),
                ("Warn.hs", 9, 1, 9, 20, "warning"),
                ("Warn.hs", 11, 1, 11, 5, "warning"),  # two-digit line: a wider gutter
            ],
        ),
        (
            "load_werror.txt",
            [
                ("Warn.hs", 3, 1, 3, 23, "warning"),
                ("Warn.hs", 6, 13, 6, 13, "error"),  # -Werror=unused-matches
                ("Warn.hs", 9, 1, 9, 20, "warning"),
                ("Warn.hs", 11, 1, 11, 5, "warning"),
            ],
        ),
        (
            "load_missing.txt",
            [
                (NO_LOCATION, 0, 0, 0, 0, "error"),
                (NO_LOCATION, 0, 0, 0, 0, "error"),
                ("Bad.hs", 7, 5, 7, 5, "error"),
            ],
        ),
        (
            "deferred.txt",
            [
                # The `*** Exception: Defer.hs:5:16: error:` report is not a diagnostic.
                ("Defer.hs", 5, 8, 5, 18, "warning"),
                ("Defer.hs", 5, 16, 5, 18, "warning"),
            ],
        ),
        (
            "interactive_errors.txt",
            [
                ("<interactive>", 2, 1, 2, 1, "error"),
                ("<interactive>", 3, 5, 3, 5, "error"),
                ("<interactive>", 4, 9, 4, 9, "error"),
                ("<interactive>", 1, 1, 1, 1, "error"),
                ("<interactive>", 6, 5, 6, 5, "error"),
                ("<interactive>", 7, 9, 7, 9, "error"),
                ("<interactive>", 9, 5, 9, 5, "warning"),
                ("<interactive>", 12, 5, 12, 5, "error"),
            ],
        ),
    ],
)
def test_spans_and_severities_from_transcripts(name: str, expected: list[Span]) -> None:
    assert spans(transcript(name)) == expected


# ------------------------------------------------------------------------------ messages


def test_message_is_dedented_keeps_bullets_and_drops_the_caret_excerpt() -> None:
    first = parse_diagnostics(transcript("load_type_errors.txt"))[0]
    assert first.message == (
        "• Couldn't match type ‘[Char]’ with ‘Int’\n"
        "  Expected: Int\n"
        "    Actual: String\n"
        "• In the second argument of ‘(+)’, namely ‘\"one\"’\n"
        "  In the expression: x + \"one\"\n"
        "  In an equation for ‘f’: f x = x + \"one\""
    )
    assert first.code is None


def test_multi_line_span_message_ends_before_the_excerpt() -> None:
    span_error = parse_diagnostics(transcript("load_error_spans.txt"))[2]
    assert span_error.message.endswith(
        "  In the expression:\n    do let x = ...\n       putStrLn (x + 2)"
    )
    assert "|" not in span_error.message
    assert "^" not in span_error.message


@pytest.mark.parametrize(
    ("name", "index", "message"),
    [
        ("load_warnings.txt", 1, "Defined but not used: ‘y’"),  # message on the header line
        ("load_werror.txt", 1, "Defined but not used: ‘y’"),  # message on the next line
        ("load_missing.txt", 0, "can't find file: NoSuchFile.hs"),
        (
            "load_missing.txt",
            1,
            "Could not find module ‘NoSuchModule’\n"
            "It is not a module in the current program, or in any known package.",
        ),
        ("load_missing.txt", 2, "Variable not in scope: h :: t0 -> Int"),
        (
            "interactive_errors.txt",
            1,
            "parse error (possibly incorrect indentation or mismatched brackets)",
        ),
        ("interactive_errors.txt", 4, "parse error on input ‘=’"),
    ],
)
def test_messages_from_transcripts(name: str, index: int, message: str) -> None:
    assert parse_diagnostics(transcript(name))[index].message == message


@pytest.mark.parametrize(
    ("name", "flags"),
    [
        (
            "load_warnings.txt",
            [("-Wunused-imports",), ("-Wunused-matches",), ("-Wincomplete-patterns",),
             ("-Wmissing-signatures",)],
        ),
        (
            "load_werror.txt",
            [("-Wunused-imports",), ("-Wunused-matches", "-Werror=unused-matches"),
             ("-Wincomplete-patterns",), ("-Wmissing-signatures",)],
        ),
        ("load_type_errors.txt", [(), ()]),
    ],
)
def test_flags_from_transcripts(name: str, flags: list[tuple[str, ...]]) -> None:
    assert [d.flags for d in parse_diagnostics(transcript(name))] == flags


def test_text_between_diagnostics_is_ignored() -> None:
    text = transcript("load_missing.txt")
    assert "Failed, no modules loaded." in text
    assert "[1 of 1] Compiling Bad" in text
    for d in parse_diagnostics(text):
        assert "Failed" not in d.message
        assert "Compiling" not in d.message


# ------------------------------------------------------------------------------ other header shapes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Foo.hs:4:11: error: [GHC-83865]\n    Couldn't match type\n",
            Diagnostic("Foo.hs", 4, 11, 4, 11, "error", "Couldn't match type", "GHC-83865"),
        ),
        (
            "Foo.hs:3:1: warning: [GHC-40910] [-Wunused-top-binds]\n    Defined but not used\n",
            Diagnostic("Foo.hs", 3, 1, 3, 1, "warning", "Defined but not used", "GHC-40910"),
        ),
        (
            "Foo.hs:3:1: error: [GHC-40910] [-Wunused-top-binds, Werror=unused-top-binds]\n"
            "    Defined but not used: ‘x’\n",
            Diagnostic("Foo.hs", 3, 1, 3, 1, "error", "Defined but not used: ‘x’", "GHC-40910"),
        ),
        (
            "C:\\src\\Foo.hs:(2,3)-(4,5): error: Boom",
            Diagnostic("C:\\src\\Foo.hs", 2, 3, 4, 5, "error", "Boom", None),
        ),
        (
            "<no location info>: warning: odd\n",
            Diagnostic(NO_LOCATION, 0, 0, 0, 0, "warning", "odd", None),
        ),
        (
            "src/My Dir/Foo.hs:10:2-7: error:\n    • one\n      two\n    • three\n",
            Diagnostic("src/My Dir/Foo.hs", 10, 2, 10, 7, "error", "• one\n  two\n• three", None),
        ),
        (
            # A message printing code with guards keeps its `|` lines.
            "<interactive>:1:1: error:\n    In an equation for ‘f’:\n        f x\n"
            "          | x > 0 = 1\n          | otherwise = 2\n",
            Diagnostic("<interactive>", 1, 1, 1, 1, "error",
                       "In an equation for ‘f’:\n    f x\n      | x > 0 = 1\n"
                       "      | otherwise = 2", None),
        ),
        (
            # A body line after a blank line still belongs to the message if indented.
            "A.hs:1:1: error:\n    first\n\n    second\nnot part of it\n",
            Diagnostic("A.hs", 1, 1, 1, 1, "error", "first\n\nsecond", None),
        ),
        (
            # Carets on a line with a 3-digit number: the gutter is four spaces wide.
            "A.hs:120:5: error:\n    msg\n    |\n120 | x = foo\n    |     ^^^\n",
            Diagnostic("A.hs", 120, 5, 120, 7, "error", "msg", None),
        ),
    ],
)
def test_other_header_shapes(text: str, expected: Diagnostic) -> None:
    assert parse_diagnostics(text) == [expected]


def test_error_codes_and_flags_are_separated() -> None:
    [d] = parse_diagnostics(
        "Foo.hs:3:1: error: [GHC-40910] [-Wunused-top-binds, Werror=unused-top-binds]\n    x\n"
    )
    assert d.code == "GHC-40910"
    assert d.flags == ("-Wunused-top-binds", "Werror=unused-top-binds")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Ok, one module loaded.\n",
        "[1 of 1] Compiling Foo              ( Foo.hs, interpreted )\n",
        "*** Exception: Defer.hs:5:16: error:\n    • Couldn't match\n(deferred type error)\n",
        "    Foo.hs:1:1: error: indented, so part of something else\n",
        "Foo.hs:1:1: note: not a severity GHC uses\n",
        "Foo.hs:x:1: error: not a position\n",
    ],
)
def test_no_diagnostics(text: str) -> None:
    assert parse_diagnostics(text) == []


# ------------------------------------------------------------------------------ render


@pytest.mark.parametrize(
    ("diagnostic", "text"),
    [
        (
            Diagnostic("Bad.hs", 7, 5, 7, 5, "error", "Variable not in scope: h :: t0 -> Int",
                       None),
            "Bad.hs:7:5: error: Variable not in scope: h :: t0 -> Int",
        ),
        (
            Diagnostic("Types.hs", 4, 11, 4, 15, "error", "• one\n  two", None),
            "Types.hs:4:11-15: error:\n    • one\n      two",
        ),
        (
            Diagnostic("Types.hs", 9, 14, 10, 18, "error", "a\n\nb", None),
            "Types.hs:(9,14)-(10,18): error:\n    a\n\n    b",
        ),
        (
            Diagnostic(NO_LOCATION, 0, 0, 0, 0, "error", "can't find file: X.hs", None),
            "<no location info>: error: can't find file: X.hs",
        ),
        (
            Diagnostic("W.hs", 6, 13, 6, 13, "warning", "Defined but not used: ‘y’", None,
                       ("-Wunused-matches",)),
            "W.hs:6:13: warning: [-Wunused-matches] Defined but not used: ‘y’",
        ),
        (
            Diagnostic("F.hs", 1, 2, 1, 2, "error", "x\ny", "GHC-88464"),
            "F.hs:1:2: error: [GHC-88464]\n    x\n    y",
        ),
    ],
)
def test_render_diagnostic(diagnostic: Diagnostic, text: str) -> None:
    assert render_diagnostic(diagnostic) == text


@pytest.mark.parametrize(
    "name",
    ["load_error_spans.txt", "load_werror.txt", "load_missing.txt", "interactive_errors.txt"],
)
def test_render_then_parse_round_trips(name: str) -> None:
    for d in parse_diagnostics(transcript(name)):
        [again] = parse_diagnostics(render_diagnostic(d))
        assert again == d
        assert again.flags == d.flags


# ------------------------------------------------------------------------------ split_exception


@pytest.mark.parametrize(
    ("statement", "user", "shown"),
    [
        (
            'error "boom"',
            "",
            "boom\nCallStack (from HasCallStack):\n"
            "  error, called at <interactive>:14:1 in interactive:Ghci6",
        ),
        ("head []", "", "Prelude.head: empty list"),
        ("throwIO UserInterrupt :: IO ()", "", INTERRUPTED),
        ("exitWith (ExitFailure 3)", "", "ExitFailure 3"),
        (
            'hPutStrLn stderr "to stderr" >> error "after"',
            "to stderr\n",
            "after\nCallStack (from HasCallStack):\n"
            "  error, called at <interactive>:98:33 in interactive:Ghci48",
        ),
        # The user printed a fake report first; GHCi's own comes last.
        (
            'hPutStrLn stderr "*** Exception: fake" >> throwIO Overflow',
            "*** Exception: fake\n",
            "arithmetic overflow",
        ),
        # No newline after the user's output: GHCi's report starts mid-line.
        (
            'hPutStr stderr "abc" >> error "x"',
            "abc",
            "x\nCallStack (from HasCallStack):\n"
            "  error, called at <interactive>:102:25 in interactive:Ghci50",
        ),
        ('ioError (userError "multi\\nline")', "", "user error (multi\nline)"),
        # PatternMatchFail's text ends with its own newline; both are dropped.
        (
            "let f (Just v) = v :: Int in f Nothing",
            "",
            "<interactive>:66:5-25: Non-exhaustive patterns in function f",
        ),
    ],
)
def test_split_exception_on_transcript(statement: str, user: str, shown: str) -> None:
    assert split_exception(sections("exceptions.txt")[statement]) == (user, shown)


def test_split_exception_keeps_warnings_printed_before_the_run() -> None:
    user, shown = split_exception(sections("exceptions.txt")["sa (S { sb = 1 })"])
    assert shown == "<interactive>:72:5-16: Missing field in record construction sa"
    assert [d.flags for d in parse_diagnostics(user)] == [("-Wmissing-fields",)] * 2


def test_split_exception_on_deferred_type_error() -> None:
    text = transcript("deferred.txt")
    user, shown = split_exception(text.replace("Leaving GHCi.\n", ""))
    assert shown is not None
    assert shown.startswith("Defer.hs:5:16: error:\n")
    assert shown.endswith("(deferred type error)")
    assert user.endswith("Ok, one module loaded.\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("", None)),
        ("just output\n", ("just output\n", None)),
        ("Interrupted.\n", ("", INTERRUPTED)),
        ("partial\nInterrupted.\n", ("partial\n", INTERRUPTED)),
        ("Not Interrupted.\n", ("Not Interrupted.\n", None)),
        ("*** Exception: boom\n", ("", "boom")),
        ("*** Exception: boom", ("", "boom")),
        ("x\n*** Exception: a\n*** Exception: b\n", ("x\n*** Exception: a\n", "b")),
    ],
)
def test_split_exception_synthetic(text: str, expected: tuple[str, str | None]) -> None:
    assert split_exception(text) == expected


# ------------------------------------------------------------------------------ classify_exception


# The type of the exception each statement in exceptions.txt raises.
EXCEPTION_TYPES: Final = {
    'error "boom"': "ErrorCall",
    'error "multi\\nline"': "ErrorCall",
    "head []": "ErrorCall",
    "[1,2,3] !! 5": "ErrorCall",
    "undefined :: Int": "ErrorCall",
    "fromJust Nothing :: Int": "ErrorCall",
    'read "x" :: Int': "ErrorCall",
    "chr 99999999": "ErrorCall",
    "listArray (0, 2) [1,2,3::Int] ! 7": "ErrorCall",
    "succ (maxBound :: Int)": "ErrorCall",
    "M.fromList [(1,'a')] M.! 2": "ErrorCall",
    "1 `div` (0 :: Int)": "ArithException",
    "throwIO Overflow :: IO ()": "ArithException",
    "throwIO Underflow :: IO ()": "ArithException",
    "throwIO LossOfPrecision :: IO ()": "ArithException",
    "throwIO Denormal :: IO ()": "ArithException",
    "throwIO RatioZeroDenominator :: IO ()": "ArithException",
    'throwIO (IndexOutOfBounds "foo") :: IO ()': "ArrayException",
    'throwIO (UndefinedElement "bar") :: IO ()': "ArrayException",
    "throwIO StackOverflow :: IO ()": "AsyncException",
    "throwIO HeapOverflow :: IO ()": "AsyncException",
    "throwIO ThreadKilled :: IO ()": "AsyncException",
    "throwIO UserInterrupt :: IO ()": "AsyncException",
    "exitWith (ExitFailure 3)": "ExitCode",
    "exitSuccess": "ExitCode",
    'ioError (userError "x")': "IOException",
    'ioError (userError "multi\\nline")': "IOException",
    'withFile "/dev/null" ReadMode hGetLine': "IOException",
    'readFile "/nonexistent/foo.txt"': "IOException",
    "let f (Just v) = v :: Int in f Nothing": "PatternMatchFail",
    "case Nothing of Just v -> v :: Int": "PatternMatchFail",
    "(R2 3) { fa = 4 }": "PatternMatchFail",  # GHC 9.0 raises no RecUpdError
    "fa (R2 3)": "RecSelError",
    "sa (S { sb = 1 })": "RecConError",
    "cm True": "NoMethodError",
    "throwIO NonTermination :: IO ()": "NonTermination",
    "throwIO NestedAtomically :: IO ()": "NestedAtomically",
    "throwIO BlockedIndefinitelyOnMVar :: IO ()": "BlockedIndefinitelyOnMVar",
    "throwIO BlockedIndefinitelyOnSTM :: IO ()": "BlockedIndefinitelyOnSTM",
    "throwIO Deadlock :: IO ()": "Deadlock",
    "assert False (1 :: Int)": "AssertionFailed",
    'hPutStrLn stderr "to stderr" >> error "after"': "ErrorCall",
    'hPutStrLn stderr "*** Exception: fake" >> throwIO Overflow': "ArithException",
    'hPutStr stderr "abc" >> error "x"': "ErrorCall",
    # Texts that do not identify their type.
    'throwIO (AssertionFailed "my assertion") :: IO ()': "SomeException",
    'errorWithoutStackTrace "nostack" :: ()': "SomeException",
}


@pytest.mark.parametrize(("statement", "type_name"), EXCEPTION_TYPES.items())
def test_classify_exception_on_transcript(statement: str, type_name: str) -> None:
    _, shown = split_exception(sections("exceptions.txt")[statement])
    assert shown is not None
    assert classify_exception(shown) == type_name


@pytest.mark.parametrize(
    ("shown", "type_name"),
    [
        (transcript("deferred.txt").split("*** Exception: ")[1].split("\nLeaving")[0],
         "TypeError"),
        ("<stdin>: hGetLine: end of file", "IOException"),
        ("foo.txt: openFile: does not exist (No such file or directory)", "IOException"),
        ("ExitFailure (-1)", "ExitCode"),
        ("array index out of range", "ArrayException"),
        ("Foo.hs:3:1-9: Non-exhaustive guards in function g\n", "PatternMatchFail"),
        ("Foo.hs:3:1-9: Irrefutable pattern failed for pattern Just x", "PatternMatchFail"),
        ("Foo.hs:1:1-5: No match in record update", "RecUpdError"),
        ("Prelude.undefined", "ErrorCall"),
        ("user interrupt", "AsyncException"),
        ("something else entirely", "SomeException"),
        ("", "SomeException"),
    ],
)
def test_classify_exception_synthetic(shown: str, type_name: str) -> None:
    assert classify_exception(shown) == type_name


def test_every_exception_section_is_classified() -> None:
    # Guards against a re-recorded transcript adding or dropping statements unnoticed.
    assert set(sections("exceptions.txt")) == set(EXCEPTION_TYPES)


@pytest.mark.parametrize(
    ("shown", "constructor"),
    [
        ('Oops "boom"', "Oops"),
        ("Other {code = 3}", "Other"),
        ("Bare", "Bare"),
        ("Wrap (Just 3) [1,2] (-2) 'x' 2.5e-3", "Wrap"),
        ('Quoted "a \\"b\\" c, d"', "Quoted"),
        # What no derived Show writes: bare lowercase words, punctuation outside brackets.
        ("Oops, try again", None),
        ("Invalid input: 3", None),
        ("My error", None),
        ("X 1 :| [2]", None),
        ("lowercase start", None),
        ("", None),
    ],
)
def test_shown_constructor(shown: str, constructor: str | None) -> None:
    assert shown_constructor(shown) == constructor


@pytest.mark.parametrize(
    ("type_text", "result"),
    [
        ("Oops", "Oops"),
        ("String -> Int -> Oops", "Oops"),
        ("(Int -> Int) -> [a] -> F", "F"),
        ("Int -> Ghci1.Oops", "Ghci1.Oops"),
        ("Int → Oops", "Oops"),  # -fprint-unicode-syntax
        ("a -> Poly a", None),
        ("Show a => a -> T", None),
        ("String -> Maybe X", None),
    ],
)
def test_result_type(type_text: str, result: str | None) -> None:
    assert result_type(type_text) == result
