"""GHC command-line flag spelling, shared by the server and the facade.

Responsible for: the negation of a flag (``-fX``/``-fno-X``, ``-WX``/``-Wno-X``), and flags
given with their argument as a separate word (``-package ghc``). Must not: decide whether
GHC knows a flag (GHCi does, when it is set).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["joined_arguments", "negated_flag", "with_flag"]

# Flags whose argument may follow as the next word; GHC also reads them as ``-flag=arg``.
_TAKES_ARGUMENT = frozenset({
    "-package", "-package-id", "-hide-package", "-ignore-package", "-trust", "-distrust",
    "-package-db",
})


def joined_arguments(args: Sequence[str]) -> list[str]:
    """``args`` with each separate argument joined to its flag (``-package ghc`` becomes
    ``-package=ghc``, as GHC's own messages suggest writing it either way)."""
    joined: list[str] = []
    for arg in args:
        if joined and joined[-1] in _TAKES_ARGUMENT and not arg.startswith("-"):
            joined[-1] += "=" + arg
        else:
            joined.append(arg)
    return joined


def negated_flag(flag: str) -> str | None:
    """The flag that undoes ``flag`` (``-fno-defer-type-errors`` for ``-fdefer-type-errors``
    and back, ``-Wno-x`` for ``-Wx``), or None when GHC has no such spelling for it."""
    for prefix in ("-f", "-W"):
        if flag.startswith(prefix + "no-"):
            return prefix + flag[len(prefix) + 3 :]
        if flag.startswith(prefix) and len(flag) > len(prefix):
            return prefix + "no-" + flag[len(prefix) :]
    return None


def with_flag(flags: list[str], flag: str) -> None:
    """Add ``flag`` to ``flags`` as GHC applies it: the last word wins, so it takes its
    negation out (``-fno-x`` after ``-fx``)."""
    undone = negated_flag(flag)
    if undone in flags:
        flags.remove(undone)
    if flag not in flags:
        flags.append(flag)
