"""core.protocol.flags: the negation of a GHC flag, as the facade sends it and the server
records it."""

from __future__ import annotations

import pytest

from core.protocol.flags import joined_arguments, negated_flag, with_flag


@pytest.mark.parametrize(("flag", "negation"), [
    ("-fdefer-type-errors", "-fno-defer-type-errors"),
    ("-fno-defer-type-errors", "-fdefer-type-errors"),
    ("-Wall", "-Wno-all"),
    ("-Wno-unused-matches", "-Wunused-matches"),
    ("-dsuppress-uniques", None),
    ("-XGADTs", None),
    ("-f", None),
])
def test_negated_flag(flag: str, negation: str | None) -> None:
    assert negated_flag(flag) == negation


def test_separate_arguments_are_joined_to_their_flags() -> None:
    assert joined_arguments(["-package", "ghc", "-XGADTs", "-package-db", "/p/db", "-Wall"]) == [
        "-package=ghc", "-XGADTs", "-package-db=/p/db", "-Wall"]
    assert joined_arguments(["-package"]) == ["-package"]  # GHC says what is missing
    assert joined_arguments(["-package", "-XGADTs"]) == ["-package", "-XGADTs"]


def test_the_last_word_wins() -> None:
    flags = ["-Wall", "-fdefer-type-errors"]
    with_flag(flags, "-fno-defer-type-errors")
    with_flag(flags, "-Wall")
    assert flags == ["-Wall", "-fno-defer-type-errors"]
