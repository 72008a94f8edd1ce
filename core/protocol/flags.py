"""GHC command-line flag spelling, shared by the server and the facade.

Responsible for: the negation of a flag (``-fX``/``-fno-X``, ``-WX``/``-Wno-X``). Must not:
decide whether GHC knows a flag (GHCi does, when it is set).
"""

from __future__ import annotations

__all__ = ["negated_flag"]


def negated_flag(flag: str) -> str | None:
    """The flag that undoes ``flag`` (``-fno-defer-type-errors`` for ``-fdefer-type-errors``
    and back, ``-Wno-x`` for ``-Wx``), or None when GHC has no such spelling for it."""
    for prefix in ("-f", "-W"):
        if flag.startswith(prefix + "no-"):
            return prefix + flag[len(prefix) + 3 :]
        if flag.startswith(prefix) and len(flag) > len(prefix):
            return prefix + "no-" + flag[len(prefix) :]
    return None
