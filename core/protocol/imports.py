"""Haskell ``import`` syntax for interactive imports, shared by the server and the facade.

Responsible for: splitting an import list into items (top-level commas only, so
``Maybe(Just, Nothing)`` is one item) and rendering one import as valid Haskell. Must not:
perform I/O or decide what an import means (GHC does).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["render_import", "split_import_items"]


def split_import_items(text: str) -> tuple[str, ...] | None:
    """The items of an import list (without its parentheses), split at top-level commas and
    stripped; None when the parentheses do not balance. Empty items are dropped (Haskell
    allows a trailing comma and an empty list)."""
    items: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return None
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    if depth != 0:
        return None
    items.append(text[start:])
    return tuple(" ".join(item.split()) for item in items if item.strip())


def _item(name: str) -> str:
    # An operator is written in parentheses in an import list: `import Data.Function ((&))`.
    name = name.strip()
    if name and not (name[0].isalpha() or name[0] == "_" or name.startswith("(")):
        return f"({name})"
    return name


def render_import(
    module: str,
    *,
    qualified: bool = False,
    as_: str | None = None,
    hiding: bool | None = None,
    names: Sequence[str] = (),
) -> str:
    """``import [qualified] M [as A] [[hiding] (names)]``; ``hiding=None`` means no list."""
    parts = ["import"]
    if qualified:
        parts.append("qualified")
    parts.append(module)
    if as_:
        parts += ["as", as_]
    if hiding is not None:
        if hiding:
            parts.append("hiding")
        parts.append("(" + ", ".join(_item(n) for n in names) + ")")
    return " ".join(parts)
