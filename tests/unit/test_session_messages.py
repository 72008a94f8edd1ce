"""How the session reads an interpreter's last words (GHC 9.0.2's runtime messages)."""

from __future__ import annotations

import pytest

from core.server.session import _first_line, _out_of_memory


@pytest.mark.parametrize(
    "tail",
    [
        "<interactive>: out of memory",
        "ghc-iserv: out of memory (requested 1048576 bytes)",
        "<interactive>: internal error: Unable to commit 1048576 bytes of memory\n"
        "    (GHC version 9.0.2 for x86_64_unknown_linux)\n"
        "    Please report this as a GHC bug:  https://www.haskell.org/ghc/reportabug",
        "<interactive>: failed to create OS thread: Cannot allocate memory",
    ],
)
def test_memory_exhaustion_is_recognised(tail: str) -> None:
    assert _out_of_memory(tail)


@pytest.mark.parametrize(
    "tail",
    ["", "Segmentation fault", "<interactive>: Prelude.head: empty list",
     "ghc: ghc-iserv terminated (-11)"],
)
def test_other_deaths_are_not_called_out_of_memory(tail: str) -> None:
    assert not _out_of_memory(tail)


def test_first_line_drops_the_invitation_to_report_a_bug() -> None:
    tail = ("<interactive>: internal error: Unable to commit 1048576 bytes of memory\n"
            "    Please report this as a GHC bug")
    assert _first_line(tail) == "<interactive>: internal error: Unable to commit 1048576 " \
        "bytes of memory"
    assert _first_line("  \n") == ""
