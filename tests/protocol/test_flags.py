"""core.protocol.flags: the negation of a GHC flag, as the facade sends it and the server
records it."""

from __future__ import annotations

import pytest

from core.protocol.flags import negated_flag


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
