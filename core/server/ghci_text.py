"""Parsers for the text GHCi prints in answer to colon commands.

Responsible for: ``:info`` output (``parse_info``), ``:complete repl`` output
(``parse_complete``), ``:show modules`` lines (``parse_module_lines``), ``:type`` output
(``type_after_dcolon``, and ``result_type`` for a constructor's), and re-exporting
``read_haskell_string`` for decoding the Haskell string literals GHCi prints.

Must not: do I/O, build GHCi commands, or interpret diagnostics (``diagnostics`` does). The
formats are those of GHC 9.0.2, recorded in ``tests/unit/transcripts/commands.txt``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from core.server.haskell_lexer import read_haskell_string

__all__ = [
    "InfoBlock",
    "parse_complete",
    "parse_info",
    "parse_module_lines",
    "read_haskell_string",
    "result_type",
    "type_after_dcolon",
]


@dataclass(frozen=True, slots=True)
class InfoBlock:
    """One thing described by ``:info``.

    ``thing`` is the declaration as printed (in 9.0 it starts with a ``type T :: kind``
    line for types and classes), without the ``-- Defined in`` comment. ``defined_in`` is
    the module for ``-- Defined in ‘M’`` (quotes removed) or the location for
    ``-- Defined at <interactive>:2:1``. ``instances`` holds each instance (class, type and
    data family instances alike) on one line, without its ``-- Defined in`` comment.
    """

    thing: str
    defined_in: str | None
    fixity: str | None
    instances: list[str]
    text: str


# `  \t-- Defined in ‘GHC.Maybe’` on its own line, or `map :: ... \t-- Defined in ‘GHC.Base’`.
_DEFINED: Final = re.compile(r"^(?P<before>.*?)\s*-- Defined (?:in|at) (?P<where>\S.*?)\s*$")
_FIXITY: Final = re.compile(r"^infix[lr]? -?\d+ \S.*$")
_INSTANCE_START: Final = re.compile(r"^(?:(?:type|data|newtype) )?instance\b")


def _unquote(where: str) -> str:
    if len(where) >= 2 and where[0] == "‘" and where[-1] == "’":
        return where[1:-1]
    return where


@dataclass(slots=True)
class _BlockBuilder:
    thing: list[str]
    lines: list[str]
    defined_in: str | None = None
    fixity: str | None = None
    instances: list[str] = field(default_factory=list)
    pending_instance: list[str] | None = None

    def finish(self) -> InfoBlock:
        self.end_instance()
        return InfoBlock(
            thing="\n".join(self.thing),
            defined_in=self.defined_in,
            fixity=self.fixity,
            instances=list(self.instances),
            text="\n".join(self.lines),
        )

    def end_instance(self) -> None:
        if self.pending_instance:
            # Wrapped instance heads continue on indented lines; join them with one space.
            text = " ".join(" ".join(part.split()) for part in self.pending_instance)
            self.instances.append(text)
        self.pending_instance = None


def parse_info(text: str) -> list[InfoBlock]:
    """The blocks of ``:info`` output; a name that is both a type and a data constructor, or
    several names, give several blocks.

    GHCi prints no separator between blocks: a block is its declaration up to the
    ``-- Defined`` comment, an optional fixity line, then its instance lines; the next line
    that starts at column 0 and is neither begins the next block.
    """
    blocks: list[InfoBlock] = []
    current: _BlockBuilder | None = None
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if current is not None and current.defined_in is not None:
            if current.pending_instance is not None and line[0].isspace():
                current.lines.append(line)
                defined = _DEFINED.match(line)
                if defined is not None:
                    if defined.group("before").strip():
                        current.pending_instance.append(defined.group("before"))
                    current.end_instance()
                else:
                    current.pending_instance.append(line)
                continue
            current.end_instance()
            if _FIXITY.match(line):
                current.lines.append(line)
                current.fixity = line.strip()
                continue
            if _INSTANCE_START.match(line):
                current.lines.append(line)
                defined = _DEFINED.match(line)
                if defined is not None:
                    current.pending_instance = [defined.group("before")]
                    current.end_instance()
                else:
                    current.pending_instance = [line]
                continue
            if line[0].isspace():
                current.lines.append(line)  # nothing GHC 9.0 prints; kept in the raw text
                continue
            blocks.append(current.finish())
            current = None
        if current is None:
            current = _BlockBuilder(thing=[], lines=[])
        current.lines.append(line)
        defined = _DEFINED.match(line)
        if defined is None:
            current.thing.append(line)
            continue
        if defined.group("before").strip():
            current.thing.append(defined.group("before"))
        current.defined_in = _unquote(defined.group("where"))
    if current is not None:
        blocks.append(current.finish())
    return blocks


_COMPLETE_HEADER: Final = re.compile(r'^(?P<shown>\d+) (?P<total>\d+) (?P<unused>".*")$')


def parse_complete(text: str) -> tuple[int, int, str, list[str]]:
    """Parse ``:complete repl …`` output: (number of candidates shown, number of candidates in
    all, the prefix of the input that completion left unused, the candidates).

    GHCi 9.0.2 prints ``5 9 "import "`` and then one Haskell string literal per candidate.
    Raises ValueError when the text is not in that format.
    """
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise ValueError("empty :complete output")
    header = _COMPLETE_HEADER.match(lines[0])
    if header is None:
        raise ValueError(f"not a :complete header: {lines[0]!r}")
    candidates = [read_haskell_string(line) for line in lines[1:]]
    return (
        int(header.group("shown")),
        int(header.group("total")),
        read_haskell_string(header.group("unused")),
        candidates,
    )


# `Foo              ( Foo.hs, interpreted )` or `Good             ( Good.hs, Good.o )`.
_MODULE_LINE: Final = re.compile(
    r"^(?P<module>[A-Z][\w']*(?:\.[A-Z][\w']*)*)\s+\( (?P<file>.+), (?P<object>[^,]+) \)\s*$"
)


def parse_module_lines(text: str) -> list[tuple[str, str, bool]]:
    """(module name, source file, interpreted?) for each ``:show modules`` line; other lines
    are ignored. A module loaded from object code shows its ``.o`` file instead of
    ``interpreted``."""
    modules: list[tuple[str, str, bool]] = []
    for line in text.split("\n"):
        match = _MODULE_LINE.match(line.rstrip("\r"))
        if match is not None:
            modules.append(
                (match.group("module"), match.group("file"), match.group("object") == "interpreted")
            )
    return modules


def _outside_brackets(text: str) -> Iterator[int]:
    """The indices of ``text`` outside any bracket (``()``, ``[]``, ``{}``)."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            yield i


def type_after_dcolon(text: str, expr: str) -> str:
    """The type in GHCi's ``expr :: type`` rendering (which wraps long lines; under
    ``-fprint-unicode-syntax`` the separator is ``∷``, and the type is left as GHCi wrote
    it, ``→`` and all: the user asked for that rendering)."""
    flat = " ".join(text.split())
    head = " ".join(expr.split())
    if flat.startswith(head):
        rest = flat[len(head) :].lstrip()
        for dcolon in ("::", "∷"):
            if rest.startswith(dcolon):
                return rest[len(dcolon) :].strip()
    for i in _outside_brackets(flat):
        for dcolon in (" :: ", " ∷ "):
            if flat.startswith(dcolon, i):
                return flat[i + len(dcolon) :].strip()
    return flat


_TYPE_NAME: Final = re.compile(r"(?:[A-Z][\w']*\.)*[A-Z][\w']*")


def result_type(type_text: str) -> str | None:
    """The type a constructor of type ``type_text`` builds (``String -> Int -> Oops`` →
    ``Oops``), if it is a plain type name (no type variables, no context); qualified as
    GHCi printed it."""
    start = 0
    for i in _outside_brackets(type_text):
        if type_text.startswith(("->", "→"), i):
            start = i + (2 if type_text[i] == "-" else 1)
    result = type_text[start:].strip()
    return result if _TYPE_NAME.fullmatch(result) and "=>" not in type_text else None
