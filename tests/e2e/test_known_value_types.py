"""Values of a type seen before: the session's shorter writer statement, against a real GHCi.

A session keeps, per type text, what the last payload of that type showed (its kind, typerep
and tree) and writes later values of it with ``known_type_statement`` (no Typeable walk for
GHCi to compile, no failed statement for a type without ``Show``). What must hold: the
shorter statement is really used, gives the same values, is forgotten when the scope
changes, and a stale entry costs a second statement, never a wrong value. Also, the other way:
which of a ``bind_value``'s two forms (literal-free, string literals) the server compiles.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

import pytest

import core.server.session as session_module
from core.protocol import messages as m
from core.protocol.payload import decode_value
from core.server.ghci_process import GhciConfig, GhciProcess
from core.server.session import Emit, Session, SessionLimits
from core.server.value_writer import known_type_statement

pytestmark = pytest.mark.ghc

T = TypeVar("T")


def _emit(stream: Literal["stdout", "stderr"], text: str) -> None:
    pass


def with_session(scenario: Callable[[Session], Awaitable[T]]) -> T:
    async def main() -> T:
        config = GhciConfig(heap_mb=None)
        session = Session("s", await GhciProcess.start(config), config, SessionLimits())
        try:
            return await scenario(session)
        finally:
            await session.close()

    return asyncio.run(main())


async def value_of(session: Session, expr: str, emit: Emit = _emit) -> object:
    reply = await session.dyn_compile_expr(
        m.DynCompileExpr(id=1, session="s", expr=expr), emit
    )
    decoded = decode_value(reply.payload)
    return decoded.value if decoded.value is not None else decoded.show


@pytest.fixture
def known_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The expressions written with the shorter statement."""
    used: list[str] = []
    real = known_type_statement

    def recording(expr: str, *args: object, **kwargs: object) -> str:
        used.append(expr)
        return real(expr, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(session_module, "known_type_statement", recording)
    return used


def test_a_type_seen_before_is_written_by_the_shorter_statement(
    known_statements: list[str],
) -> None:
    async def scenario(session: Session) -> list[object]:
        await session.run_decls(
            m.RunDecls(id=2, session="s", decls="data P = P Int Bool deriving Show"), _emit
        )
        return [
            await value_of(session, "[1, 2, 3] :: [Int]"),
            await value_of(session, "[4, 5] :: [Int]"),
            await value_of(session, "Data.Map.fromList [(1, \"a\")] :: Data.Map.Map Int String"),
            await value_of(session, "Data.Map.fromList [(2, \"b\")] :: Data.Map.Map Int String"),
            await value_of(session, "(7, 'x') :: (Int, Char)"),
            await value_of(session, "P 1 True"),  # show text
            await value_of(session, "P 2 False"),
            await opaque_type_of(session, "not"),  # no Show: opaque
            await opaque_type_of(session, "id :: Bool -> Bool"),
        ]

    values = with_session(scenario)
    assert values == [[1, 2, 3], [4, 5], {1: "a"}, {2: "b"}, (7, "x"), "P 1 True",
                      "P 2 False", "Bool -> Bool", "Bool -> Bool"]
    assert known_statements == [
        "[4, 5] :: [Int]",
        "Data.Map.fromList [(2, \"b\")] :: Data.Map.Map Int String",
        "P 2 False",
        "id :: Bool -> Bool",
    ]


async def opaque_type_of(session: Session, expr: str) -> str:
    reply = await session.dyn_compile_expr(m.DynCompileExpr(id=1, session="s", expr=expr),
                                           _emit)
    decoded = decode_value(reply.payload)
    assert decoded.value is None and not decoded.has_show
    return decoded.type_rep


def test_changes_of_scope_forget_the_types_seen(known_statements: list[str]) -> None:
    async def scenario(session: Session) -> None:
        await value_of(session, "[1] :: [Int]")
        await session.run_decls(
            m.RunDecls(id=2, session="s", decls="data Unused = Unused"), _emit
        )
        await value_of(session, "[2] :: [Int]")  # written the usual way, and learnt again
        await value_of(session, "[3] :: [Int]")
        await session.set_flags(m.SetFlags(id=3, session="s", flags=["-XTupleSections"]))
        await value_of(session, "[4] :: [Int]")

    with_session(scenario)
    assert known_statements == ["[3] :: [Int]"]


def test_a_stale_type_costs_a_second_statement_not_a_wrong_value(
    known_statements: list[str],
) -> None:
    """Were a change of scope missed, the type text would name another type: the shorter
    statement's cast fails before anything is evaluated, and the usual one runs."""

    stderr: list[str] = []

    def collect(stream: Literal["stdout", "stderr"], text: str) -> None:
        if stream == "stderr":
            stderr.append(text)

    async def scenario(session: Session) -> tuple[tuple[object, object], bytes]:
        await session.run_decls(
            m.RunDecls(id=2, session="s",
                       decls="data Foo = Foo Int deriving Show\ndata Bar = Bar deriving Show"),
            _emit,
        )
        await value_of(session, "[1] :: [Int]")
        # What a missed change of scope would leave: "Foo" taken for [Int], then for Bar.
        session._known_types["Foo"] = session._known_types["[Int]"]
        first = await value_of(session, "Foo (Debug.Trace.trace \"evaluated\" 3)", collect)
        await value_of(session, "Bar")
        session._known_types["Foo"] = session._known_types["Bar"]
        second = await value_of(session, "Foo (Debug.Trace.trace \"evaluated\" 4)", collect)
        return (first, second), session._known_types["Foo"].type_info

    values, info = with_session(scenario)
    assert values == ("Foo 3", "Foo 4")
    # Once each: the failed checks evaluated nothing.
    assert "".join(stderr) == "evaluated\nevaluated\n"
    assert info.startswith(b"Foo\xff")  # learnt again from the usual statement
    assert known_statements == ["Foo (Debug.Trace.trace \"evaluated\" 3)",
                                "Foo (Debug.Trace.trace \"evaluated\" 4)"]


def test_sessions_with_rebindable_syntax_always_write_the_usual_statement(
    known_statements: list[str],
) -> None:
    async def scenario(session: Session) -> list[object]:
        await session.set_flags(m.SetFlags(id=2, session="s", flags=["-XRebindableSyntax"]))
        return [await value_of(session, "GHC.Types.True") for _ in range(2)]

    assert with_session(scenario) == [True, True]
    assert known_statements == []


def test_a_value_without_show_seen_before_costs_no_failed_statement() -> None:
    """The usual statement for a type without ``Show`` fails to compile and is sent again
    as an opaque one; for a type seen before, one statement does."""

    async def scenario(session: Session) -> list[int]:
        sent: list[str] = []
        real = session._command

        async def counting(text: str, **kwargs: object) -> object:
            sent.append(text)
            return await real(text, **kwargs)  # type: ignore[arg-type]

        session._command = counting  # type: ignore[assignment,method-assign]
        counts = []
        for _ in range(2):
            sent.clear()
            await opaque_type_of(session, "not")
            counts.append(len(sent))
        return counts

    # :type +d, the statement that fails for lack of Show, the opaque one; then :type +d and
    # the shorter statement.
    assert with_session(scenario) == [3, 2]


@pytest.mark.parametrize(("flags", "expected"), [
    ([], "literals"),
    (["-XOverloadedStrings"], "literals"),  # the expected type still fixes a literal
    (["-XRebindableSyntax"], "literals"),  # a string literal is only rebound when overloaded
    (["-XRebindableSyntax", "-XOverloadedStrings"], "plain"),  # the fromString in scope
])
def test_bind_value_uses_the_string_literal_form_where_literals_mean_what_they_say(
    flags: list[str], expected: str
) -> None:
    """Two different values in the two forms show which one the server compiled."""

    async def scenario(session: Session) -> object:
        if flags:
            await session.set_flags(m.SetFlags(id=2, session="s", flags=flags))
        await session.bind_value(m.BindValue(
            id=3, session="s", name="chosen", type="[Char]",
            expr="(['p','l','a','i','n'] :: [GHC.Types.Char])",
            expr_literals='("literals" :: [GHC.Types.Char])',
        ))
        return await value_of(session, "chosen")

    assert with_session(scenario) == expected
