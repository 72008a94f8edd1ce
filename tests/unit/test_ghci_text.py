"""Unit tests for core.server.ghci_text against GHCi 9.0.2 transcripts.

``commands.txt`` holds the output of several ``:info`` and ``:complete`` commands, each after
a ``#### <command>`` line; see ``transcripts/SOURCES.txt`` for how it was recorded.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.server import ghci_text
from core.server.ghci_text import (
    InfoBlock,
    parse_complete,
    parse_info,
    parse_module_lines,
    read_haskell_string,
)
from core.server.haskell_lexer import read_haskell_string as lexer_read_haskell_string

TRANSCRIPTS = Path(__file__).parent / "transcripts"


def transcript(name: str) -> str:
    return (TRANSCRIPTS / name).read_text(encoding="utf-8")


def command_output(command: str) -> str:
    """What GHCi printed for ``command`` in commands.txt."""
    parts = re.split(r"^(?:ghci> )?#### (.*)\n", transcript("commands.txt"), flags=re.MULTILINE)
    outputs = dict(zip(parts[1::2], parts[2::2], strict=True))
    return outputs[command].replace("Leaving GHCi.\n", "")


# ------------------------------------------------------------------------------ :info


def test_info_data_type_with_instances() -> None:
    [block] = parse_info(command_output(":info Maybe"))
    assert block.thing == "type Maybe :: * -> *\ndata Maybe a = Nothing | Just a"
    assert block.defined_in == "GHC.Maybe"
    assert block.fixity is None
    assert block.instances == [
        "instance Applicative Maybe",
        "instance Eq a => Eq (Maybe a)",
        "instance Functor Maybe",
        "instance Monad Maybe",
        "instance Semigroup a => Monoid (Maybe a)",
        "instance Ord a => Ord (Maybe a)",
        "instance Semigroup a => Semigroup (Maybe a)",  # wrapped onto two lines by GHCi
        "instance Show a => Show (Maybe a)",
        "instance MonadFail Maybe",
        "instance Read a => Read (Maybe a)",
        "instance Foldable Maybe",
        "instance Traversable Maybe",
    ]
    assert block.text == command_output(":info Maybe").rstrip("\n")


@pytest.mark.parametrize(
    ("command", "thing", "defined_in", "fixity", "instance_count"),
    [
        (
            ":info +",
            "type Num :: * -> Constraint\nclass Num a where\n  (+) :: a -> a -> a\n  ...",
            "GHC.Num",
            "infixl 6 +",
            0,
        ),
        (":info map", "map :: (a -> b) -> [a] -> [b]", "GHC.Base", None, 0),
        (":info Just", "type Maybe :: * -> *\ndata Maybe a = ... | Just a", "GHC.Maybe", None, 0),
        (
            ":info Color",
            "type Color :: *\ndata Color = Red | Green",
            "<interactive>:2:1",
            None,
            2,
        ),
        (":info x", "x :: Num p => p", "<interactive>:3:1", None, 0),
        (":info ($)", "($) :: (a -> b) -> a -> b", "GHC.Base", "infixr 0 $", 0),
        (":info :", "type [] :: * -> *\ndata [] a = ... | a : [a]", "GHC.Types", "infixr 5 :", 0),
        (":info String", "type String :: *\ntype String = [Char]", "GHC.Base", None, 0),
        (":info Num", None, "GHC.Num", None, 5),
        (":info Semigroup", None, "GHC.Base", None, 12),
        (":info (,)", "type (,) :: * -> * -> *\ndata (,) a b = (,) a b", "GHC.Tuple", None, 12),
    ],
)
def test_info_blocks(
    command: str, thing: str | None, defined_in: str, fixity: str | None, instance_count: int
) -> None:
    [block] = parse_info(command_output(command))
    if thing is not None:
        assert block.thing == thing
    assert block.defined_in == defined_in
    assert block.fixity == fixity
    assert len(block.instances) == instance_count
    assert all(i.startswith("instance ") and "Defined" not in i for i in block.instances)


def test_info_class_keeps_method_lines_and_minimal_pragma() -> None:
    [block] = parse_info(command_output(":info Num"))
    lines = block.thing.split("\n")
    assert lines[:3] == ["type Num :: * -> Constraint", "class Num a where", "  (+) :: a -> a -> a"]
    assert lines[-1] == "  {-# MINIMAL (+), (*), abs, signum, fromInteger, (negate | (-)) #-}"
    assert block.instances[0] == "instance Num Word"


def test_info_multi_line_instance_heads_are_joined() -> None:
    [block] = parse_info(command_output(":info Semigroup"))
    assert (
        "instance (Semigroup a, Semigroup b, Semigroup c, Semigroup d, Semigroup e) => "
        "Semigroup (a, b, c, d, e)"
    ) in block.instances
    assert block.instances[-1] == "instance Semigroup ()"


def test_info_local_instances_keep_their_safe_marker() -> None:
    [block] = parse_info(command_output(":info Color"))
    assert block.instances == ["instance [safe] Eq Color", "instance [safe] Show Color"]


def test_info_two_names_give_two_blocks() -> None:
    bool_block, either_block = parse_info(transcript("info_two_names.txt"))
    assert bool_block.thing == "type Bool :: *\ndata Bool = False | True"
    assert bool_block.defined_in == "GHC.Types"
    assert len(bool_block.instances) == 6
    assert either_block.thing.startswith("type Either :: * -> * -> *\n")
    assert either_block.defined_in == "Data.Either"
    assert "instance (Eq a, Eq b) => Eq (Either a b)" in either_block.instances
    assert either_block.instances[-1] == "instance Traversable (Either a)"


def test_info_family_instances_are_instances() -> None:
    [block] = parse_info(transcript("info_int_generics.txt"))
    assert block.thing == "type Int :: *\ndata Int = GHC.Types.I# GHC.Prim.Int#"
    assert "instance forall k (p :: k). Eq (URec Int p)" in block.instances
    families = [i for i in block.instances if not i.startswith("instance ")]
    assert [f.split(" =")[0] for f in families] == [
        "type instance forall k (p :: k). Rep (URec Int p)",
        "type instance Rep1 (URec Int)",
        "data instance forall k (p :: k). URec Int p",
    ]
    assert families[2] == (
        "data instance forall k (p :: k). URec Int p = UInt {uInt# :: GHC.Prim.Int#}"
    )
    assert len(block.instances) == 20  # every line starting with (type |data )instance


def test_info_concatenated_outputs_split_into_blocks() -> None:
    text = command_output(":info map") + command_output(":info +") + command_output(":info Maybe")
    blocks = parse_info(text)
    assert [b.defined_in for b in blocks] == ["GHC.Base", "GHC.Num", "GHC.Maybe"]
    assert [b.fixity for b in blocks] == [None, "infixl 6 +", None]
    assert isinstance(blocks[0], InfoBlock)


def test_info_empty() -> None:
    assert parse_info("") == []


# ------------------------------------------------------------------------------ :complete


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            ':complete repl "ma"',
            (8, 8, "", ["map", "mapM", "mapM_", "mappend", "max", "maxBound", "maximum",
                        "maybe"]),
        ),
        (
            ':complete repl 5 "import Data.Ma"',
            (5, 9, "import ", ["Data.Map", "Data.Map.Internal", "Data.Map.Internal.Debug",
                               "Data.Map.Lazy", "Data.Map.Merge.Lazy"]),
        ),
        (':complete repl 3-4 "ma"', (2, 8, "", ["mapM_", "mappend"])),
        (':complete repl "nosuchprefix"', (0, 0, "", [])),
        (':complete repl ":loa"', (2, 2, "", [":load", ":load!"])),
        (':complete repl "putStrL"', (1, 1, "", ["putStrLn"])),
    ],
)
def test_parse_complete_on_transcript(
    command: str, expected: tuple[int, int, str, list[str]]
) -> None:
    assert parse_complete(command_output(command)) == expected


def test_parse_complete_decodes_escapes() -> None:
    # GHCi 9.0.2 printed `"h\233llo"` for a binding named héllo.
    text = '3 3 "x \\"q\\" "\n"h\\233llo"\n"a\\\\b"\n"\\SOH\\&1"\n'
    assert parse_complete(text) == (3, 3, 'x "q" ', ["héllo", "a\\b", "\x011"])


@pytest.mark.parametrize("text", ["", "garbage\n", '2 2 ""\nnot quoted\n', '1 x ""\n'])
def test_parse_complete_rejects_other_text(text: str) -> None:
    with pytest.raises(ValueError):
        parse_complete(text)


def test_read_haskell_string_is_the_lexers() -> None:
    assert read_haskell_string is lexer_read_haskell_string
    assert "read_haskell_string" in ghci_text.__all__
    assert read_haskell_string(r'"\1234\n"') == "\u04d2\n"


# ------------------------------------------------------------------------------ :show modules


def test_parse_module_lines_on_transcript() -> None:
    assert parse_module_lines(transcript("show_modules.txt")) == [
        ("Good", "Good.hs", False),
        ("Other", "Other.hs", True),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Foo              ( Foo.hs, interpreted )\n", [("Foo", "Foo.hs", True)]),
        (
            "Data.Foo.Bar     ( src/Data/Foo/Bar.hs, interpreted )\n"
            "Main             ( my dir/Main.hs, my dir/Main.o )\n",
            [("Data.Foo.Bar", "src/Data/Foo/Bar.hs", True),
             ("Main", "my dir/Main.hs", False)],
        ),
        ("Ok, one module loaded.\n[1 of 1] Compiling Foo ( Foo.hs, interpreted )\n", []),
        ("", []),
    ],
)
def test_parse_module_lines(text: str, expected: list[tuple[str, str, bool]]) -> None:
    assert parse_module_lines(text) == expected
