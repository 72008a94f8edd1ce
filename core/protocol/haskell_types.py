"""Haskell types as GHC renders them: ``HsType`` and a small parser for that rendering.

Responsible for: ``HsType`` (a constructor applied to arguments, rendered back in GHC's
``TypeRep`` style) and ``parse_type``, which reads what ``:type`` and ``show (typeOf x)``
print: applications, lists, tuples, qualified names, type-level literals, infix operators,
function arrows, contexts and ``forall``.

Must not: know which types cross as Python values or expand synonyms (that is
``core.protocol.type_table``), decode or encode values, or perform I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

__all__ = ["HsType", "is_tuple_con", "parse_type"]


@dataclass(frozen=True, slots=True)
class HsType:
    """A Haskell type as GHC renders it: a constructor applied to arguments.

    ``con`` is the constructor as written (``"Maybe"``, ``"M.Map"``, ``"GHC.Word.Word8"``) or
    one of the built-in spellings: ``"[]"`` (list), ``"()"``, ``"(,)"``, ``"(,,)"``, ... (tuples),
    ``"->"`` (function), ``"=>"`` (a context: args are the constraint and the type),
    ``"forall"`` (args: the body; the bound variables are not kept). A type variable is a
    ``con`` that starts with a lower-case letter or ``_``; a type-level literal keeps its
    spelling (``"3"``, ``'"sym"'``).
    """

    con: str
    args: tuple[HsType, ...] = ()

    @property
    def name(self) -> str:
        """The constructor without its module qualifier (``"Map"`` for ``"M.Map"``)."""
        return _split_qualified(self.con)[1]

    @property
    def qualifier(self) -> str:
        """The module qualifier as written (``"M"`` for ``"M.Map"``), or ``""``."""
        return _split_qualified(self.con)[0]

    @property
    def is_variable(self) -> bool:
        """True for a type variable (``a``, ``_t``)."""
        return self.con != "forall" and (self.con[:1].islower() or self.con[:1] == "_")

    @property
    def is_opaque(self) -> bool:
        """True for a type no value of which can be shown or transferred: a function, a
        constrained or ``forall`` type, or one with a type variable anywhere in it."""
        return any(t.con in ("->", "=>", "forall") or t.is_variable for t in self.walk())

    def depth(self) -> int:
        """How deeply the type nests (``Int``: 1, ``[Int]``: 2)."""
        deepest, stack = 0, [(self, 1)]
        while stack:
            t, d = stack.pop()
            deepest = max(deepest, d)
            stack.extend((a, d + 1) for a in t.args)
        return deepest

    def walk(self) -> Iterator[HsType]:
        """This type and all its sub-types, depth first."""
        stack = [self]
        while stack:
            t = stack.pop()
            yield t
            stack.extend(reversed(t.args))

    def render(self, *, qualified: bool = True) -> str:
        """GHC's ``TypeRep`` style: ``Maybe (Int,[Char])``, ``Map [Char] Int``, ``Int -> Int``,
        ``(Int,(Maybe Char))`` (sic: ``show (typeOf x)`` parenthesises applied tuple parts).

        With ``qualified=False`` module qualifiers are dropped.
        """
        return _render(self, 0, qualified)


def _split_qualified(con: str) -> tuple[str, str]:
    m = _QUALIFIED_RE.fullmatch(con)
    if m is None:
        return "", con
    return m.group(1)[:-1], m.group(2)


_QUALIFIED_RE: Final = re.compile(r"((?:[A-Z][\w']*\.)+)(.+)")


def _render(t: HsType, prec: int, qualified: bool) -> str:
    # prec: 0 top, 1 function argument, 2 type-application argument.
    con = t.con if qualified else t.name
    if t.con == "[]" and len(t.args) == 1:
        return "[" + _render(t.args[0], 0, qualified) + "]"
    if is_tuple_con(t.con) and len(t.args) == len(t.con) - 1:
        # Data.Typeable.Internal.showTypeable shows tuple components with showsPrec 10:
        # (Int,(Maybe Char)), ((Int -> Int),Char).
        return "(" + ",".join(_render(a, 2, qualified) for a in t.args) + ")"
    if t.con == "->" and len(t.args) == 2:
        text = _render(t.args[0], 1, qualified) + " -> " + _render(t.args[1], 0, qualified)
        return f"({text})" if prec > 0 else text
    if t.con == "=>" and len(t.args) == 2:
        text = _render(t.args[0], 1, qualified) + " => " + _render(t.args[1], 0, qualified)
        return f"({text})" if prec > 0 else text
    if t.con == "forall" and len(t.args) == 1:
        text = "forall. " + _render(t.args[0], 0, qualified)
        return f"({text})" if prec > 0 else text
    if not t.args:
        return con
    text = " ".join([con, *(_render(a, 2, qualified) for a in t.args)])
    return f"({text})" if prec > 1 else text


def is_tuple_con(con: str) -> bool:
    return len(con) >= 3 and con[0] == "(" and con[-1] == ")" and set(con[1:-1]) == {","}


_TOKEN_RE: Final = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<arrow>->|→)
  | (?P<darrow>=>|⇒)
  | (?P<dcolon>::)
  | (?P<forall>forall\b|∀)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<name>'?(?:[A-Z][\w']*\.)*[\w][\w']*\#*|'\[\]|'\(,*\))
  | (?P<punct>\(\#|\#\)|'?[(\[]|[)\],.])
  | (?P<op>'?(?:[A-Z][\w']*\.)*[!#$%&*+/<=>?@\\^|~:-]+)
    """,
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise ValueError(f"cannot parse type {text!r}: unexpected {text[pos:pos + 10]!r}")
        kind = m.lastgroup
        assert kind is not None
        if kind != "space":
            value = m.group()
            if kind == "punct":
                # A promoted list or tuple ('[Int], '(a, b)) parses like the unpromoted one.
                value = value.lstrip("'")
            elif value == "*":
                kind = "name"  # the kind of types, as TypeRep shows it (Proxy * Int)
            tokens.append((kind, value))
        pos = m.end()
    return tokens


class _TypeParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def error(self, what: str) -> ValueError:
        return ValueError(f"cannot parse type {self.text!r}: {what}")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise self.error("unexpected end")
        self.pos += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok[1] != value:
            raise self.error(f"expected {value!r}, found {tok[1]!r}")

    def parse(self) -> HsType:
        t = self.type_()
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return t

    def type_(self) -> HsType:
        tok = self.peek()
        if tok is not None and tok[0] == "forall":
            self.take()
            while (nxt := self.peek()) is not None and nxt[1] != ".":
                self.take()
            self.expect(".")
            return HsType("forall", (self.type_(),))
        left = self.optype()
        tok = self.peek()
        if tok is not None and tok[0] == "arrow":
            self.take()
            return HsType("->", (left, self.type_()))
        if tok is not None and tok[0] == "darrow":
            self.take()
            return HsType("=>", (left, self.type_()))
        return left

    def optype(self) -> HsType:
        # Infix type operators (a :+: b, a ~ b): kept as an application of the operator.
        left = self.btype()
        tok = self.peek()
        if tok is not None and tok[0] == "op":
            self.take()
            return HsType(tok[1], (left, self.optype()))
        return left

    def btype(self) -> HsType:
        head = self.atype()
        args: list[HsType] = []
        while (tok := self.peek()) is not None and (
            tok[0] in ("name", "string") or tok[1] in ("(", "[", "(#")
        ):
            args.append(self.atype())
        if not args:
            return head
        return HsType(head.con, head.args + tuple(args))

    def atype(self) -> HsType:
        kind, value = self.take()
        if kind in ("name", "string", "op"):
            # An operator here heads a prefix application, as TypeRep shows promoted
            # constructors: (': * Int ('[] *)).
            return HsType(value)
        if value == "[":
            if (tok := self.peek()) is not None and tok[1] == "]":
                self.take()
                return HsType("[]")
            inner = self.type_()
            self.expect("]")
            return HsType("[]", (inner,))
        if value in ("(", "(#"):
            close = ")" if value == "(" else "#)"
            tok = self.peek()
            if tok is not None and tok[1] == close:
                self.take()
                return HsType("()" if value == "(" else "(##)")
            if tok is not None and tok[1] == "," and value == "(":
                commas = 0
                while (tok := self.peek()) is not None and tok[1] == ",":
                    self.take()
                    commas += 1
                self.expect(")")
                return HsType("(" + "," * commas + ")")
            after = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else None
            if (tok is not None and tok[0] in ("arrow", "op") and value == "("
                    and after is not None and after[1] == ")"):
                self.take()
                self.take()
                return HsType("->" if tok[0] == "arrow" else tok[1])
            items = [self.type_()]
            while (tok := self.peek()) is not None and tok[1] in (",", "::"):
                self.take()
                if tok[1] == "::":  # a kind signature: keep the type, drop the kind
                    self.type_()
                    continue
                items.append(self.type_())
            self.expect(close)
            if value == "(#":
                return HsType("(#" + "," * (len(items) - 1) + "#)", tuple(items))
            if len(items) == 1:
                return items[0]
            return HsType("(" + "," * (len(items) - 1) + ")", tuple(items))
        raise self.error(f"unexpected {value!r}")


def parse_type(text: str) -> HsType:
    """Parse a type as GHCi renders it (``:type``, ``show (typeOf x)``).

    Handles applications, ``[a]``, tuples, ``()``, parentheses, qualified and unqualified
    names, type-level literals, infix operators, and recognises function arrows, contexts
    and ``forall`` (kept as ``->``/``=>``/``forall`` nodes: see ``HsType.is_opaque``).
    Synonyms are not expanded here (``String`` stays ``String``).

    Raises:
        ValueError: the text is not a type.
    """
    if not text.strip():
        raise ValueError("cannot parse type: empty text")
    try:
        return _TypeParser(text).parse()
    except RecursionError:
        raise ValueError("cannot parse type: it is nested too deeply") from None
