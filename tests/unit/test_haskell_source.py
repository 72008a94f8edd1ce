"""Unit tests for core.server.haskell_source: input classification, and the names statements
and declarations bind (the lexer's own tests are in test_haskell_lexer.py).

Expected names for declarations are what GHC 9.0.2's ``runDecls`` returned when called
through the GHC API (``ghc -package ghc``); GHCi behaviours cited in comments were checked
with ``ghci -ignore-dot-ghci`` 9.0.2.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.server import haskell_source
from core.server.haskell_source import (
    InputKind,
    bound_names,
    check_sendable,
    classify,
    declared_names,
    is_let_statement,
)

# ------------------------------------------------------------------------------ analysis


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=60))
def test_analysis_never_raises_on_arbitrary_text(text: str) -> None:
    classify(text)
    bound_names(text)
    declared_names(text)
    check_sendable(text)


_PLAIN_ALPHABET = "abdefilnoprstxyz ABCDELMST0123456789_()[],+*/.-"
_WORDS = st.sampled_from(
    ["let", "x", "data", "print", "pattern", "in", "do", "of", "case", "_", "type", "Data.List",
     "where", "import", "1", "2.5", "--", "-", "..", "sum", "(+)", "[1..3]"]
)


@settings(max_examples=500, deadline=None, database=None)
@given(st.one_of(st.text(_PLAIN_ALPHABET, max_size=40),
                 st.lists(_WORDS, max_size=6).map(" ".join)))
def test_plain_expression_shortcut_agrees_with_the_layout_analysis(text: str) -> None:
    # The shortcut answers without the layout pass; wherever it answers, the full analysis
    # must give the same result.
    if haskell_source._is_plain_expression(text):
        assert haskell_source._classify_by_layout(text) == "statement"
        assert haskell_source._bound_names_by_layout(text) == ["it"]
    assert classify(text) == haskell_source._classify_by_layout(text)


@pytest.mark.parametrize(
    "text",
    ["1 + 1", "print (sum [1..10])", "Data.List.sort [3, 1, 2]", "f x_1 - 2", "(+) 1 2"],
)
def test_plain_expressions_take_the_shortcut(text: str) -> None:
    assert haskell_source._is_plain_expression(text)
    assert classify(text) == "statement"
    assert bound_names(text) == ["it"]


@pytest.mark.parametrize(
    "text",
    ["", "  ", "let x = 1", "x = 1", "data T", "_", "pattern P", "1 -- c", "a\nb", "x <- y",
     "do print 1", "import X", "\"s\"", "{-# SCC x #-} 1", ":t x"],
)
def test_everything_else_takes_the_layout_analysis(text: str) -> None:
    assert not haskell_source._is_plain_expression(text)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 3000 + "x" + ")" * 3000 + " <- x",
        "let f = " + "do " * 5000 + "x",
        "data T = T " + "{ " * 3000,
        "f " + "[" * 5000 + " = 1",
        ")]}" * 1000 + "in then else of ; ,",
    ],
)
def test_analysis_survives_deep_nesting(text: str) -> None:
    classify(text)
    bound_names(text)
    declared_names(text)


# ------------------------------------------------------------------------------ classify


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("-- just a comment", "empty"),
        ("{- block -}", "empty"),
        ("{-# LANGUAGE DataKinds #-}", "empty"),  # GHCi 9.0.2 silently ignores it
        (":type map", "meta_command"),
        ("  :load Foo", "meta_command"),
        ("import Data.List", "import"),
        ("import qualified Data.Map as M", "import"),
        # Declaration keywords.
        ("data Color = Red | Green deriving Show", "declaration"),
        ("newtype N = N Int", "declaration"),
        ("type T = Int", "declaration"),
        ("type family F a", "declaration"),
        ("class C a where m :: a", "declaration"),
        ("instance Show T where show _ = \"\"", "declaration"),
        ("deriving instance Eq T", "declaration"),
        ("default (Int)", "declaration"),
        ('foreign import ccall "sin" c_sin :: Double -> Double', "declaration"),
        ("infixl 6 <+>", "declaration"),
        ("pattern P x = Just x", "declaration"),
        ("pattern (:>) x y <- (x, y)", "declaration"),
        ("pattern x :> y <- (x, y)", "declaration"),
        ("{-# INLINE foo #-}", "declaration"),
        # Equations.
        ("f x = x + 1", "declaration"),
        ("x = 5", "declaration"),
        ("(a, b) = (1, 2)", "declaration"),
        ("Just y = Just 3", "declaration"),
        ("f x | x > 0 = 1", "declaration"),
        ("f x\n  | x > 0 = 1\n  | otherwise = 2", "declaration"),
        ("a <+> b = a", "declaration"),
        ("(<+>) a b = a", "declaration"),
        ("f !x = x", "declaration"),
        ("pattern = 5", "declaration"),  # a variable that happens to be called pattern
        ("f x = case x of\n  _ -> 1", "declaration"),
        ("f = \\x -> x", "declaration"),
        ("x :: Int = 5", "declaration"),
        # Type signatures: a declaration only with an equation for the name.
        ("x :: Int", "statement"),
        ("x :: Int\nx = 5", "declaration"),
        ("f :: Int -> Int\nf n = n * 2", "declaration"),
        ("f, g :: Int\nf = 1\ng = 2", "declaration"),
        ("(<+>) :: Int -> Int -> Int\na <+> b = a", "declaration"),
        ("f :: Int; f = 1", "declaration"),
        ("f :: Int\ng = 1", "statement"),
        # Statements.
        ("1 + 1", "statement"),
        ("x == y", "statement"),
        ("print [x | x <- xs]", "statement"),
        ("P { f = 1 }", "statement"),
        ("let x = 1", "statement"),
        ("let f x = x\n    g = 2", "statement"),
        ("let a = 1\nin a", "statement"),
        ("x <- return 1", "statement"),
        ("(a, b) <- return (1, 2)", "statement"),
        ("do\n  x <- getLine\n  print x", "statement"),
        ("if | x > 0 -> 1 | otherwise -> 2", "statement"),
        ("\\x -> x", "statement"),
        ("case x of { y -> y }", "statement"),
        ("map (\\x -> x) xs", "statement"),
        ("print $ let y = 2 in y", "statement"),
        ('{-# SCC "a" #-} 1', "statement"),
        ("pattern 5", "statement"),
        ('"unterminated', "statement"),
    ],
)
def test_classify(text: str, kind: InputKind) -> None:
    assert classify(text) == kind


# ------------------------------------------------------------------------------ bound_names


@pytest.mark.parametrize(
    ("stmt", "names"),
    [
        # Observed with execStmt (ghc_api.md section 2.3): `let x = ...` -> [x],
        # an expression -> [it], `y <- ...` -> [y], "" and a comment -> [].
        ("let x = 1 + 2 :: Int", ["x"]),
        ("x * 10", ["it"]),
        ("print y", ["it"]),
        ("y <- return (sort [3,1,2])", ["y"]),
        ("", []),
        ("-- just a comment", []),
        ("let f x = x; g = 2", ["f", "g"]),
        ("let f x = x\n    g = 2", ["f", "g"]),
        ("let { a = 1; b = 2 }", ["a", "b"]),
        ("let f 0 = 1\n    f n = n", ["f"]),
        ("let (a, b) = (1, 2)", ["a", "b"]),
        ("let (<+>) a b = a", ["<+>"]),
        ("let a <+> b = a", ["<+>"]),
        ("let a `op` b = a", ["op"]),
        ("let x :: Int\n    x = 5", ["x"]),
        ("let f x | x > 0 = 1\n        | otherwise = 2\n    g = 3", ["f", "g"]),
        ("let y = do\n      let z = 1\n      return z\n    w = 2", ["y", "w"]),
        ("let !x = 1", ["x"]),
        ("let f !x = 1", ["f"]),
        ("let a ! b = 1", ["!"]),  # `!` with spaces on both sides is an operator
        ("let x : xs = [1, 2]", ["x", "xs"]),
        ("let a = 1\n    b = 2\nin a + b", ["it"]),  # let ... in is an expression
        ("let x = 1 in x", ["it"]),
        ("print $ let y = 2 in y", ["it"]),
        ("x <- return 1", ["x"]),
        ("(a, Just b) <- foo", ["a", "b"]),
        ("xs@(x:_) <- foo", ["xs", "x"]),
        ("P { f = v } <- foo", ["v"]),
        ("P { f = v, g = Just w } <- foo", ["v", "w"]),
        ("P {f} <- foo", ["f"]),  # NamedFieldPuns binds the field name
        ("!x <- foo", ["x"]),
        ("~(a, b) <- foo", ["a", "b"]),
        ("(view -> Just y) <- foo", ["y"]),
        ("(x :: Int) <- readLn", ["x"]),
        ("x :: Int <- readLn", ["x"]),
        ("Just (a, [b, c]) <- foo", ["a", "b", "c"]),
        ("a `Cons` b <- foo", ["a", "b"]),
        ("(x, _, _z) <- foo", ["x", "_z"]),
        ("_ <- e", []),
        ("do\n  x <- getLine\n  print x", ["it"]),
    ],
)
def test_bound_names(stmt: str, names: list[str]) -> None:
    assert bound_names(stmt) == names


# ------------------------------------------------------------------------------ declared_names


@pytest.mark.parametrize(
    ("decls", "names"),
    [
        # Each expectation is what GHC 9.0.2's runDecls returned for the same text.
        ("data Color = Red | Green deriving (Show, Eq)", ["Color"]),
        ("double :: Int -> Int\ndouble n = n * 2", ["double"]),
        ("data T2 = T2", ["T2"]),
        ('instance Show T2 where show _ = "T2"', []),
        ("type Syn = Int", ["Syn"]),
        ("newtype N = N Int", ["N"]),
        ("(a, b) = (1, 2)", ["a", "b"]),
        ("x <+> y = x", ["<+>"]),
        ("data P = P { px :: Int, py :: Int }", ["py", "px", "P"]),
        ("x1 = 1\ndata Q = Q\ny1 = 2", ["x1", "y1", "Q"]),
        ("f 0 = 1\nf n = n", ["f"]),
        ("infixl 6 <+++>\n(<+++>) :: Int -> Int -> Int\na <+++> b = a + b", ["<+++>"]),
        ('foreign import ccall "sin" c_sin :: Double -> Double', ["c_sin"]),
        ("default (Int)", []),
        ("class (Eq a) => D a where { dm :: a -> a; dm = id }", ["D"]),
        ("z1, z2 :: Int\nz1 = 1\nz2 = 2", ["z1", "z2"]),
        ("Just jj = Just 3", ["jj"]),
        ("class C a where\n  m :: a\n  m2 :: a -> Int\n  m2 _ = 1\n  type Assoc a", ["C"]),
        ("type family F a", ["F"]),
        ("type instance F Int = Bool", []),
        ("data family DF a", ["DF"]),
        ("data instance DF Int = DFI Int", []),
        ("pattern P1 = 1", ["P1"]),
        ("pattern P2 :: Int -> Maybe Int\npattern P2 x = Just x", ["P2"]),
        ("data a :+: b = L a | R b", [":+:"]),
        ("deriving instance Eq T2", []),
        ("type role Rr nominal\ndata Rr a = Rr", ["Rr"]),
        (
            "v0 = 0\ndata PP = PP { pa :: Int, pb :: Int } | QQ { pb :: Int, pc :: Int }\n"
            "v1 = 1\ndata R2 = R2 { ra :: Int }\nv2 = 2",
            ["pc", "pb", "pa", "ra", "v0", "v1", "v2", "R2", "PP"],
        ),
        ("type K :: * -> *\ndata K a = K a", ["K"]),
        ("newtype W = W { unW :: Int }", ["unW", "W"]),
        ("class E a where\n  e1, e2 :: a", ["E"]),
        ("data Z\nclass Y a\nnewtype X = X Int\ntype V = Int", ["V", "X", "Y", "Z"]),
        ("f1 x = x\n{-# INLINE f1 #-}\nf0 = f1", ["f1", "f0"]),
        ('data S = S deriving Show\ninstance Eq S where _ == _ = True\ns0 = S', ["s0", "S"]),
        ("pattern Q1 = 1\ndata Q2 = Q2\nq3 = 3\npattern Q4 = 4", ["q3", "Q2", "Q1", "Q4"]),
        ("data A1 = A1 { a1f :: Int, a1g :: Int }\ndata A2 = A2 { a2f :: Int }",
         ["a1g", "a1f", "a2f", "A2", "A1"]),
        # Not checked against runDecls (extensions GHCi's context lacked), same rules.
        ("data G2 where\n  G2A :: { gf :: Int } -> G2", ["gf", "G2"]),
        ("data T (a :: * -> *) = T", ["T"]),
        ("x = 1; y = 2", ["x", "y"]),
        ("f x = y\n  where y = x", ["f"]),
        ("  a = 1\n  b = 2", ["a", "b"]),
        ("-- nothing here", []),
    ],
)
def test_declared_names(decls: str, names: list[str]) -> None:
    assert declared_names(decls) == names


def test_declared_names_keeps_source_order_where_ghc_uses_dependency_order() -> None:
    # runDecls "g0 = g1\ng1 = 1" gave [g1, g0] (dependency analysis); documented difference.
    assert declared_names("g0 = g1\ng1 = 1") == ["g0", "g1"]


# ------------------------------------------------------------------------------ check_sendable


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (":load Foo.hs", "meta-commands are not accepted: ':load'"),
        ("  :! rm -rf /", "meta-commands are not accepted: ':!'"),
        ("let x = 1\n:}\n:! echo hi", "line 2 is ':}'"),
        ("let x = 1\n   :}  \nprint x", "line 2 is ':}'"),  # GHCi ends the block when indented
        ("print 1\0", "NUL"),
    ],
)
def test_check_sendable_refuses(text: str, fragment: str) -> None:
    reason = check_sendable(text)
    assert reason is not None
    assert fragment in reason


@pytest.mark.parametrize(
    "text",
    ["x = 1", "print ':'", "let f = (:)\n    g = 1", "x :}", "-- :}", "", "a\n:{\nb"],
)
def test_check_sendable_accepts(text: str) -> None:
    assert check_sendable(text) is None


@pytest.mark.parametrize(("stmt", "expected"), [
    ("let n = 1", True),
    ("let { a = 1; b = 2 }", True),
    ("let f x = x\n    g = f", True),
    ("let it = 5", True),  # binds `it` itself: still a let statement
    ("let f = do x <- getLine; return x", True),  # an action bound, not run
    ("let n = 1 in appendFile \"f\" \"x\"", False),  # an expression: it runs
    ("x <- return 1", False),
    ("1 + 1", False),
    ("", False),
])
def test_is_let_statement(stmt: str, expected: bool) -> None:
    assert is_let_statement(stmt) is expected
