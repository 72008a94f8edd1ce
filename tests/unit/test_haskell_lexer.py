"""Unit tests for core.server.haskell_lexer: tokens, their positions, and string literals.

Behaviours cited in comments were checked with ``ghci -ignore-dot-ghci`` 9.0.2.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.server.haskell_lexer import Token, read_haskell_string, tokenize


def kinds_and_texts(text: str) -> list[tuple[str, str]]:
    return [(tok.kind, tok.text) for tok in tokenize(text)]


# ------------------------------------------------------------------------------ tokenize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("f x = 1", [("varid", "f"), ("varid", "x"), ("reservedop", "="), ("integer", "1")]),
        ("Data.Map.insert", [("qvarid", "Data.Map.insert")]),
        ("Data.Map", [("qconid", "Data.Map")]),
        ("M.! m k", [("qvarsym", "M.!"), ("varid", "m"), ("varid", "k")]),
        ("M.:| x", [("qconsym", "M.:|"), ("varid", "x")]),
        ("Just . f", [("conid", "Just"), ("varsym", "."), ("varid", "f")]),
        ("f.g", [("varid", "f"), ("varsym", "."), ("varid", "g")]),
        # Qualified names cannot be reserved words: `M.where` is three tokens.
        ("M.where", [("conid", "M"), ("varsym", "."), ("reservedid", "where")]),
        # Maximal munch: `False..` is the qualified operator `.` (GHC rejects [False..True]).
        ("[False..True]", [("special", "["), ("qvarsym", "False.."), ("conid", "True"),
                           ("special", "]")]),
        ("[a .. b]", [("special", "["), ("varid", "a"), ("reservedop", ".."), ("varid", "b"),
                      ("special", "]")]),
        ("x' y_1 _z", [("varid", "x'"), ("varid", "y_1"), ("varid", "_z")]),
        ("_ <- e", [("reservedid", "_"), ("reservedop", "<-"), ("varid", "e")]),
        ("a :+: b", [("varid", "a"), ("consym", ":+:"), ("varid", "b")]),
        ("\\x -> x", [("reservedop", "\\"), ("varid", "x"), ("reservedop", "->"),
                      ("varid", "x")]),
        ("x@(Just _)", [("varid", "x"), ("reservedop", "@"), ("special", "("),
                        ("conid", "Just"), ("reservedid", "_"), ("special", ")")]),
        ("(,) `f` ;", [("special", "("), ("special", ","), ("special", ")"), ("special", "`"),
                       ("varid", "f"), ("special", "`"), ("special", ";")]),
        ("λ → ∀", [("varid", "λ"), ("varsym", "→"), ("varsym", "∀")]),
        # Comments: `--` only when the whole operator is dashes.
        ("a -- comment", [("varid", "a")]),
        ("a --- comment", [("varid", "a")]),
        ("a --> b", [("varid", "a"), ("varsym", "-->"), ("varid", "b")]),
        ("a |-- b", [("varid", "a"), ("varsym", "|--"), ("varid", "b")]),
        ("a --| b", [("varid", "a"), ("varsym", "--|"), ("varid", "b")]),
        ("a -- | haddock", [("varid", "a")]),
        ("a {- x {- nested -} still -} b", [("varid", "a"), ("varid", "b")]),
        ("a {--} b", [("varid", "a"), ("varid", "b")]),
        ("{-# INLINE f #-} f", [("pragma", "{-# INLINE f #-}"), ("varid", "f")]),
        # Literals.
        ("1 0x1F 0o17 0b101 1_000", [("integer", "1"), ("integer", "0x1F"),
                                      ("integer", "0o17"), ("integer", "0b101"),
                                      ("integer", "1_000")]),
        ("1.5 2e10 3.0e-2", [("float", "1.5"), ("float", "2e10"), ("float", "3.0e-2")]),
        ("1.x", [("integer", "1"), ("varsym", "."), ("varid", "x")]),
        (r'"a\"b"', [("string", r'"a\"b"')]),
        ('"gap\\   \n   \\end"', [("string", '"gap\\   \n   \\end"')]),
        (r'"\SOH\&\1234\x7F"', [("string", r'"\SOH\&\1234\x7F"')]),
        # Character literals versus DataKinds/TH quotes.
        ("'a' '\\n' '\\''", [("char", "'a'"), ("char", "'\\n'"), ("char", "'\\''")]),
        ("'Just", [("special", "'"), ("conid", "Just")]),
        ("'[]", [("special", "'"), ("special", "["), ("special", "]")]),
        ("''T", [("special", "''"), ("conid", "T")]),
        ("'map", [("special", "'"), ("varid", "map")]),
        ("a' 'b'", [("varid", "a'"), ("char", "'b'")]),
    ],
)
def test_tokenize_kinds_and_texts(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds_and_texts(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"unterminated\nnext', [("error", '"unterminated'), ("varid", "next")]),
        ("x {- never closed", [("varid", "x"), ("error", "{- never closed")]),
        ("{-# INLINE", [("error", "{-# INLINE")]),
        (r'"bad \q escape" y', [("error", r'"bad \q escape"'), ("varid", "y")]),
        (r"'\q' y", [("error", r"'\q'"), ("varid", "y")]),
        ('"\\1114112"', [("error", '"\\1114112"')]),  # above U+10FFFF
        ("a \x01 b", [("varid", "a"), ("error", "\x01"), ("varid", "b")]),
    ],
)
def test_tokenize_reports_lexical_errors_as_tokens(
    text: str, expected: list[tuple[str, str]]
) -> None:
    assert kinds_and_texts(text) == expected


def test_tokenize_positions_are_one_based_and_expand_tabs_like_ghc() -> None:
    text = 'f x =\n  "a\\\n  \\b" y\n\tz'
    assert tokenize(text) == [
        Token("varid", "f", 1, 1),
        Token("varid", "x", 1, 3),
        Token("reservedop", "=", 1, 5),
        Token("string", '"a\\\n  \\b"', 2, 3),
        Token("varid", "y", 3, 7),
        Token("varid", "z", 4, 9),  # a tab moves to column 9, as in GHC's SrcLoc
    ]


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet=st.sampled_from(list("ab'\"\\{}-#:;()\n\t x1.@|=Aλ")), max_size=40))
def test_tokenize_never_raises_and_tokens_come_from_the_text(text: str) -> None:
    for tok in tokenize(text):
        assert tok.text
        assert tok.text in text
        assert tok.line >= 1
        assert tok.col >= 1


def test_long_single_line_is_lexed_in_linear_time() -> None:
    # A 100 kB list literal on one line once took over a minute (columns were recounted
    # from the line start for every token).
    text = "[" + ",".join(str(i) for i in range(20000)) + "]"
    started = time.perf_counter()
    tokens = tokenize(text)
    assert len(tokens) == 2 + 20000 + 19999
    assert tokens[-1].col == len(text)
    assert time.perf_counter() - started < 10


# ------------------------------------------------------------------------------ read_haskell_string


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ('""', ""),
        ('"plain"', "plain"),
        (r'"a\nb\tc"', "a\nb\tc"),
        (r'"\"\\"', '"\\'),
        (r'"\1234"', "\u04d2"),
        (r'"h\233llo"', "héllo"),  # what GHCi's :complete printed for héllo
        (r'"\1234\&5"', "\u04d25"),  # \& separates a numeric escape from a digit
        (r'"\SOH"', "\x01"),
        (r'"\SO\&H"', "\x0eH"),  # how `show` writes SO followed by H
        (r'"\^A\^@\^_"', "\x01\x00\x1f"),
        (r'"\x41\o101\65"', "AAA"),
        (r'"\DEL\SP\NUL"', "\x7f \x00"),
        (r'"\'"', "'"),
        ('"gap\\   \n   \\ped"', "gapped"),
        (r'"\1114111"', "\U0010ffff"),
    ],
)
def test_read_haskell_string(literal: str, value: str) -> None:
    assert read_haskell_string(literal) == value


@pytest.mark.parametrize(
    "literal",
    ["", '"', "abc", '"abc', '"a"b', r'"\q"', r'"\1114112"', r'"\^a"', '"a\nb"', '"gap\\  x"',
     r'"\x"'],
)
def test_read_haskell_string_rejects_malformed_literals(literal: str) -> None:
    with pytest.raises(ValueError):
        read_haskell_string(literal)
