"""The server's own code in a session (set-up, stdin, value transfer both ways, references,
the stdout flusher) under extensions and warning flags that change what source means.

Each of these once broke something: list syntax under RebindableSyntax with OverloadedLists
called the ``fromListN`` in scope; an unused helper variable was fatal under ``-Wall
-Werror``; a local binding without a signature under ``-Wmissing-local-signatures``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.client import Client
from core.protocol.values import Just, Nothing

pytestmark = pytest.mark.ghc

FLAG_SETS = [
    ["-XRebindableSyntax", "-XOverloadedStrings", "-XOverloadedLists"],
    ["-XRebindableSyntax", "-XOverloadedLists", "-XStrict"],
    ["-XNoImplicitPrelude", "-XTemplateHaskell", "-XMagicHash"],
    ["-Wall", "-Werror", "-Wmissing-local-signatures", "-Wmonomorphism-restriction",
     "-Wincomplete-uni-patterns", "-Widentities", "-Wredundant-constraints"],
    ["-XArrows", "-XLexicalNegation", "-XNegativeLiterals", "-XNumDecimals"],
    ["-XLinearTypes", "-XQualifiedDo", "-XBlockArguments", "-XUnicodeSyntax",
     "-fprint-unicode-syntax"],
    ["-XOverloadedLabels", "-XPolyKinds", "-XDataKinds", "-XNoMonomorphismRestriction"],
    ["-XStrictData", "-XApplicativeDo", "-XMonadComprehensions", "-XRecursiveDo",
     "-XPostfixOperators", "-XNPlusKPatterns", "-XNoTraditionalRecordSyntax", "-XCPP"],
    ["-fdefer-type-errors"],
]

# Short and long values (the long ones cross partly as blob files), of several shapes.
VALUES: list[tuple[object, str | None]] = [
    (3, None),
    ("h\u00e9llo", None),
    ([1, 2, 3], None),
    (list(range(-5, 3000)), "[Int]"),
    ([10 ** 12 + i for i in range(300)], "[Int]"),
    ({"k": Just(2)}, None),
    ([i / 3 for i in range(50)], None),
    ((1, "a", True), None),
    ("x" * 5000, None),
    (b"\x00\xff" * 10, None),
    (Nothing, "Maybe Int"),
]


def _chars(text: str) -> str:
    """``text`` as an expression of Char literals (no string literal, no list syntax)."""
    return "(" + "".join(f"'\\{ord(c)}' : " for c in text) + "GHC.Base.mempty)"


def _number(n: int) -> str:
    return f"(GHC.Base.ord '\\{n}')"  # no numeric literal: RebindableSyntax rebinds them


def _waits_for(path: Path) -> str:
    """A statement that prints "ready", then waits (up to 20 s) for ``path`` to exist and
    prints " go" (or " gave up"), written to mean the same under any of FLAG_SETS."""
    again = (f"Control.Concurrent.threadDelay {_number(10000)} GHC.Base.>> "
             f"ghcShimTestWait (n GHC.Num.- {_number(1)})")
    give_up = f"System.IO.putStrLn {_chars(' gave up')}"
    wait_more = f"Data.Bool.bool ({again}) ({give_up}) (n GHC.Classes.== {_number(0)})"
    return (
        f"System.IO.putStr {_chars('ready')} GHC.Base.>> let {{ ghcShimTestWait :: "
        "GHC.Types.Int -> GHC.Types.IO (); ghcShimTestWait n = "
        f"System.Directory.doesFileExist {_chars(str(path))} GHC.Base.>>= \\e -> "
        f"Data.Bool.bool ({wait_more}) (System.IO.putStrLn {_chars(' go')}) e }} "
        f"in ghcShimTestWait {_number(2000)}"
    )


@pytest.mark.parametrize("flags", FLAG_SETS, ids=lambda flags: " ".join(flags))
def test_the_servers_own_code_works_under(shim_client: Client, flags: list[str],
                                          tmp_path: Path) -> None:
    with shim_client.open_session(flags=flags) as session:
        assert session.exec_stmt("GHC.Base.return ()").exception is None
        time.sleep(1)  # the stdout flusher starts while the session is idle
        go = tmp_path / "go"
        printed: list[str] = []

        def on_output(stream: str, text: str) -> None:
            printed.append(text)
            if "ready" in text:
                go.touch()  # only output that arrives while the statement runs lets it end

        outcome = session.exec_stmt(_waits_for(go), on_output=on_output)
        assert outcome.exception is None and "".join(printed) == "ready go\n"
        for i, (value, haskell_type) in enumerate(VALUES):
            session.bind_value(f"v{i}", value, haskell_type)
            assert session.eval(f"v{i}").value == value, f"value {i}"
        ref = session.compile_expr("GHC.Types.True")
        assert session.eval(ref.name).value is True
        chunks: list[str] = []
        outcome = session.exec_stmt("System.IO.getLine GHC.Base.>>= System.IO.putStrLn",
                                    stdin="typed\n", on_output=lambda s, t: chunks.append(t))
        assert outcome.exception is None and "".join(chunks) == "typed\n"
        thrown = session.exec_stmt(
            "Control.Exception.throwIO (Control.Exception.ErrorCall ('x' : GHC.Base.mempty))")
        assert thrown.exception is not None and thrown.exception.message == "x"
