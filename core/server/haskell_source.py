"""What GHCi would make of Haskell text typed at its prompt, and whether it may be sent.

Responsible for: deciding what GHCi would do with an input (``classify``, mirroring
``isStmt``/``isImport``/``isDecl`` in ``ghc/GHCi/UI.hs``); predicting the names a statement
binds (``bound_names``, as ``execStmt`` reports them) and the names a block of declarations
defines (``declared_names``, as ``runDecls`` reports them); and refusing text that GHCi would
read as a colon command (``check_sendable``). The lexer (``tokenize``, ``Token``,
``TokenKind``, ``read_haskell_string``) lives in ``core.server.haskell_lexer`` and is
re-exported here; the layout tree the analysis works on comes from
``core.server.haskell_layout``.

Must not: run GHC, do any I/O, or grow into a parser. The analysis is a lexer plus a
simplified version of the Haskell 2010 layout algorithm (report section 10.3); whatever it
cannot understand is passed on to GHC, which produces the authoritative error.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from core.server.haskell_layout import (
    CLOSERS,
    OPENERS,
    Block,
    Node,
    bracket_depths,
    end_position,
    find_top,
    flatten,
    is_token,
    layout,
    matching,
    split_top,
    tokens_of,
)
from core.server.haskell_lexer import (
    RESERVED_IDS,
    Token,
    TokenKind,
    read_haskell_string,
    tokenize,
)

__all__ = [
    "InputKind",
    "Token",
    "TokenKind",
    "bound_names",
    "check_sendable",
    "classify",
    "declared_names",
    "is_let_statement",
    "read_haskell_string",
    "tokenize",
]

InputKind = Literal["empty", "statement", "declaration", "import", "meta_command"]


# --------------------------------------------------------------------------------------------
# Bindings: the names an equation or a pattern binds
# --------------------------------------------------------------------------------------------


def _dedupe(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))


# Keywords after which `=`/`|` can no longer be the equation's own: they start a nested
# construct whose `=`/`|` belong to it (`if | c -> 1 | otherwise -> 2` is MultiWayIf, not a
# guarded equation). Layout keywords need no entry: their blocks are nested Block nodes.
_NESTED_STARTERS: Final = frozenset({"if", "case"})


def _equation_lhs(item: Sequence[Node]) -> list[Token] | None:
    """The left-hand side of ``item`` if it is an equation (a ``=`` or guard ``|`` at bracket
    depth 0 before any nested construct), else None."""
    depth = 0
    lhs: list[Token] = []
    for node in item:
        if isinstance(node, Block):
            return None
        if node.kind == "reservedid" and node.text in _NESTED_STARTERS:
            return None
        if is_token(node, "reservedop", "\\"):
            return None
        if node.kind == "special" and node.text in OPENERS:
            depth += 1
        elif node.kind == "special" and node.text in CLOSERS:
            depth -= 1
        elif depth == 0 and node.kind == "reservedop" and node.text in {"=", "|"}:
            return lhs
        lhs.append(node)
    return None


def _is_prefix_bang(tokens: Sequence[Token], index: int) -> bool:
    """GHC 9.0 reads `!` as a bang pattern when it is preceded by white space (or an opening
    bracket) and directly followed by the next token: `f !x = ...` defines `f`, while
    `a ! b = ...` defines the operator `!`. (`~` is a reserved operator, never a varsym.)"""
    tok = tokens[index]
    if index + 1 >= len(tokens) or end_position(tok) != (
        tokens[index + 1].line,
        tokens[index + 1].col,
    ):
        return False
    if index == 0:
        return True
    prev = tokens[index - 1]
    return end_position(prev) != (tok.line, tok.col) or (
        prev.kind == "special" and prev.text in OPENERS
    )


def _infix_operator(tokens: Sequence[Token]) -> tuple[str, str] | None:
    """The first depth-0 infix operator after the first token: (kind, name), where kind is
    "var" for a variable operator (`<+>`, `` `op` ``) and "con" for a constructor one."""
    depths = bracket_depths(tokens)
    for index in range(1, len(tokens)):
        tok = tokens[index]
        if depths[index]:
            continue
        if tok.kind == "varsym" and not (tok.text == "!" and _is_prefix_bang(tokens, index)):
            return "var", tok.text
        if tok.kind == "consym" or is_token(tok, "reservedop", ":"):
            return "con", tok.text
        if is_token(tok, "special", "`") and index + 2 < len(tokens):
            name = tokens[index + 1]
            if is_token(tokens[index + 2], "special", "`"):
                return ("var" if name.kind == "varid" else "con"), name.text
    return None


def _lhs_names(lhs: Sequence[Token]) -> list[str]:
    """Names bound by an equation whose left-hand side is ``lhs``."""
    if not lhs:
        return []
    colons = find_top(lhs, "reservedop", frozenset({"::"}))
    if colons >= 0:  # `x :: Int = 5`: a pattern binding with a signature
        return _pattern_vars(lhs[:colons])
    infix = _infix_operator(lhs)
    if infix is not None:
        kind, name = infix
        return [name] if kind == "var" else _pattern_vars(lhs)
    first = lhs[0]
    if first.kind == "varid":
        return [first.text]  # `f x y = ...` or `x = ...`
    if (
        is_token(first, "special", "(")
        and len(lhs) >= 3
        and is_token(lhs[2], "special", ")")
        and lhs[1].kind == "varsym"
    ):
        return [lhs[1].text]  # `(<+>) a b = ...`
    if is_token(first, "special", "("):
        close = matching(lhs, 0)
        inner_op = _infix_operator(lhs[1:close])
        if close < len(lhs) - 1 and inner_op is not None and inner_op[0] == "var":
            return [inner_op[1]]  # `(f <.> g) x = ...`
    return _pattern_vars(lhs)


_MAX_PATTERN_NESTING: Final = 64


def _pattern_vars(tokens: Sequence[Token], nesting: int = 0) -> list[str]:
    """Variables bound by a pattern, in source order. Brackets nested deeper than any real
    pattern are not looked into, so that hostile input cannot exhaust the Python stack."""
    if nesting > _MAX_PATTERN_NESTING:
        return []
    out: list[str] = []
    index = 0
    while index < len(tokens):
        tok = tokens[index]
        if tok.kind == "special" and tok.text in {"(", "["}:
            close = matching(tokens, index)
            for part in split_top(tokens[index + 1 : close], ","):
                arrow = find_top(part, "reservedop", frozenset({"->"}))
                if arrow >= 0:
                    part = part[arrow + 1 :]  # view pattern: `(f -> p)` binds only p
                colons = find_top(part, "reservedop", frozenset({"::"}))
                out.extend(_pattern_vars(part if colons < 0 else part[:colons], nesting + 1))
            index = close + 1
        elif is_token(tok, "special", "{"):
            # Record pattern: field labels are not bound; `f = p` binds p's variables and a
            # lone `f` (NamedFieldPuns) binds f. `..` (RecordWildCards) is not knowable here.
            close = matching(tokens, index)
            for part in split_top(tokens[index + 1 : close], ","):
                equals = find_top(part, "reservedop", frozenset({"="}))
                if equals >= 0:
                    out.extend(_pattern_vars(part[equals + 1 :], nesting + 1))
                elif len(part) == 1 and part[0].kind in {"varid", "qvarid"}:
                    out.append(part[0].text.rsplit(".", 1)[-1])
            index = close + 1
        elif is_token(tok, "special", "`"):
            index += 3  # `Con` used infix: not a variable
        elif is_token(tok, "reservedop", "::"):
            break
        else:
            if tok.kind == "varid":
                out.append(tok.text)
            index += 1
    return out


def _signature_names(item: Sequence[Node]) -> list[str]:
    """``["f", "g"]`` if ``item`` is a type signature ``f, g :: type``, else ``[]``."""
    tokens = tokens_of(item)
    names: list[str] = []
    index = 0
    while index < len(tokens):
        tok = tokens[index]
        if tok.kind == "varid":
            names.append(tok.text)
            index += 1
        elif (
            is_token(tok, "special", "(")
            and index + 2 < len(tokens)
            and tokens[index + 1].kind in {"varsym", "consym"}
            and is_token(tokens[index + 2], "special", ")")
        ):
            names.append(tokens[index + 1].text)
            index += 3
        else:
            return []
        if index < len(tokens) and is_token(tokens[index], "reservedop", "::"):
            return names
        if index < len(tokens) and is_token(tokens[index], "special", ","):
            index += 1
            continue
        return []
    return []


# --------------------------------------------------------------------------------------------
# classify
# --------------------------------------------------------------------------------------------

_DECLARATION_KEYWORDS: Final = frozenset(
    {
        "data", "newtype", "type", "class", "instance", "deriving", "default", "foreign",
        "infix", "infixl", "infixr",
    }
)


def _is_pattern_synonym(tokens: Sequence[Token]) -> bool:
    """`pattern P ...`, `pattern (:>) ...` or `pattern x :> y ...` (PatternSynonyms)."""
    if len(tokens) < 2 or not is_token(tokens[0], "varid", "pattern"):
        return False
    nxt = tokens[1]
    if nxt.kind == "conid" or is_token(nxt, "special", "("):
        return True
    return nxt.kind == "varid" and len(tokens) > 2 and tokens[2].kind == "consym"


# One line of only these characters holds no comment, pragma, string, layout keyword,
# equation (`=`), signature (`::`), bind (`<-`) or colon command: with no reserved word in it
# (nor `pattern`), it is an expression statement that binds `it`. Most of what notebooks and
# bots send is like that, and the analysis runs on every request's critical path, so
# ``classify`` and ``bound_names`` answer it without the layout pass.
_PLAIN_EXPRESSION_CHARS: Final = frozenset(string.ascii_letters + string.digits + " _()[],+*/.-")
_WORD_SEPARATORS: Final = re.compile(r"[^A-Za-z0-9_]+")
_NOT_PLAIN_WORDS: Final = RESERVED_IDS | {"pattern"}


def _is_plain_expression(text: str) -> bool:
    return (
        _PLAIN_EXPRESSION_CHARS.issuperset(text)
        and "--" not in text
        and text.strip() != ""
        and _NOT_PLAIN_WORDS.isdisjoint(_WORD_SEPARATORS.split(text))
    )


def classify(text: str) -> InputKind:
    """What GHCi would do with ``text``: run it as a statement, compile it as declarations,
    add an import, run a colon command, or nothing."""
    if _is_plain_expression(text):
        return "statement"
    return _classify_by_layout(text)


def _classify_by_layout(text: str) -> InputKind:
    if text.lstrip().startswith(":"):
        return "meta_command"
    top = layout(text, statement=False)
    items = [item for item in top.items if item]
    if not items:
        return "empty"
    first_item = items[0]
    tokens = tokens_of(first_item)
    if not tokens:
        return "statement"
    first = tokens[0]
    if is_token(first, "reservedid", "import"):
        return "import"
    if first.kind == "pragma":
        return "declaration"
    if first.kind == "reservedid" and first.text in _DECLARATION_KEYWORDS:
        return "declaration"
    if _is_pattern_synonym(tokens):
        return "declaration"
    if is_token(first, "reservedid", "let"):
        return "statement"
    if _equation_lhs(first_item) is not None:
        return "declaration"
    signed = _signature_names(first_item)
    if signed:
        # A lone `x :: Int` is an expression with a type annotation to GHCi; a signature
        # only makes the input a declaration when an equation for the name follows.
        for item in items[1:]:
            lhs = _equation_lhs(item)
            if lhs is not None and set(_lhs_names(lhs)) & set(signed):
                return "declaration"
    return "statement"


# --------------------------------------------------------------------------------------------
# bound_names
# --------------------------------------------------------------------------------------------


def bound_names(stmt: str) -> list[str]:
    """Names a GHCi statement binds, in order, as ``execStmt`` reports them.

    An expression binds ``it``; ``let`` binds each of its bindings once, in source order;
    ``pat <- e`` binds the pattern's variables; empty input binds nothing. ``let ... in e`` is
    an expression. Only meaningful for text that ``classify`` calls a statement.
    """
    if _is_plain_expression(stmt):
        return ["it"]
    return _bound_names_by_layout(stmt)


def is_let_statement(stmt: str) -> bool:
    """Whether ``stmt`` is a ``let`` statement (bindings only), not ``let ... in e``, an
    expression."""
    if _is_plain_expression(stmt):
        return False
    items = [item for item in layout(stmt, statement=True).items if item]
    return bool(items) and is_token(items[0][0], "reservedid", "let") and \
        len(items[0]) == 2 and isinstance(items[0][1], Block)


def _bound_names_by_layout(stmt: str) -> list[str]:
    top = layout(stmt, statement=True)
    items = [item for item in top.items if item]
    if not items:
        return []
    item = items[0]
    if is_token(item[0], "reservedid", "let"):
        if len(item) == 1:
            return []  # `let` with nothing after it: GHC reports the parse error
        block = item[1]
        if len(item) == 2 and isinstance(block, Block):
            names: list[str] = []
            for binding in block.items:
                lhs = _equation_lhs(binding)
                if lhs is not None:
                    names.extend(_lhs_names(lhs))
            return _dedupe(names)
        return ["it"]  # `let ... in e` is an expression
    tokens = tokens_of(item)
    arrow = find_top(tokens, "reservedop", frozenset({"<-"}))
    if arrow >= 0:
        return _dedupe(_pattern_vars(tokens[:arrow]))
    return ["it"]


# --------------------------------------------------------------------------------------------
# declared_names
# --------------------------------------------------------------------------------------------


def _head_name(head: Sequence[Token]) -> str | None:
    """The name a type/class declaration head introduces (`T a`, `a :+: b`, `(:+:) a b`)."""
    context = find_top(head, "reservedop", frozenset({"=>"}))
    if context >= 0:
        head = head[context + 1 :]
    if not head:
        return None
    infix = _infix_operator(head)
    if infix is not None:
        return infix[1]
    first = head[0]
    if (
        is_token(first, "special", "(")
        and len(head) >= 3
        and is_token(head[2], "special", ")")
        and head[1].kind in {"consym", "varsym"}
    ):
        return head[1].text
    if is_token(first, "special", "("):
        close = matching(head, 0)
        inner = head[1:close]
        if find_top(inner, "reservedop", frozenset({"::"})) < 0:
            inner_op = _infix_operator(inner)
            if inner_op is not None:
                return inner_op[1]
    for tok in head:
        if tok.kind == "conid":
            return tok.text
    return None


_HEAD_ENDS: Final = frozenset({"=", "|", "::"})


def _declaration_head(tokens: Sequence[Token]) -> list[Token]:
    """The tokens of a declaration head: up to `=`, `|`, `::`, `where` or `deriving`."""
    depths = bracket_depths(tokens)
    for index, tok in enumerate(tokens):
        if depths[index]:
            continue
        if tok.kind == "reservedop" and tok.text in _HEAD_ENDS:
            return list(tokens[:index])
        if tok.kind == "reservedid" and tok.text in {"where", "deriving"}:
            return list(tokens[:index])
    return list(tokens)


def _record_fields(tokens: Sequence[Token]) -> list[str]:
    """Field names of the record braces in a data declaration (H98 or GADT syntax)."""
    fields: list[str] = []
    index = 0
    while index < len(tokens):
        if not is_token(tokens[index], "special", "{"):
            index += 1
            continue
        close = matching(tokens, index)
        for part in split_top(tokens[index + 1 : close], ","):
            colons = find_top(part, "reservedop", frozenset({"::"}))
            for tok in part if colons < 0 else part[:colons]:
                if tok.kind in {"varid", "varsym"}:
                    fields.append(tok.text)
        index = close + 1
    return fields


@dataclass(slots=True)
class _Declared:
    selectors: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    tycons: list[str] = field(default_factory=list)
    patsyns: list[str] = field(default_factory=list)


def _declare_type(declared: _Declared, keyword: str, item: Sequence[Node]) -> None:
    tokens = flatten(item)
    rest = tokens[1:]
    if rest and rest[0].kind == "reservedid" and rest[0].text == "instance":
        return  # `data/type/newtype instance`: no new user-visible names
    if rest and is_token(rest[0], "varid", "role"):
        return  # role annotation
    is_family = bool(rest) and is_token(rest[0], "varid", "family")
    if is_family:
        rest = rest[1:]
    head = _declaration_head(rest)
    if (
        keyword == "type"
        and not is_family
        and find_top(rest, "reservedop", frozenset({"="})) < 0
        and find_top(rest, "reservedop", frozenset({"::"})) >= 0
    ):
        return  # standalone kind signature: the data declaration names the type
    name = _head_name(head)
    if name is not None:
        declared.tycons.append(name)
    if keyword in {"data", "newtype"} and not is_family:
        # GHC 9.0's runDecls lists a data type's record selectors, last field first (observed:
        # `data P = P { px :: Int, py :: Int }` gives [py, px, P]).
        declared.selectors.extend(reversed(_dedupe(_record_fields(tokens[1 + len(head) :]))))


def _declare_item(declared: _Declared, item: Sequence[Node]) -> None:
    tokens = tokens_of(item)
    if not tokens:
        return
    first = tokens[0]
    if first.kind == "reservedid":
        if first.text in {"data", "newtype", "type"}:
            _declare_type(declared, first.text, item)
        elif first.text == "class":
            # Only the class: its methods are implicit Ids (ClassOpId), which runDecls leaves
            # out (observed: `class C a where m :: a` gives [C]).
            name = _head_name(_declaration_head(flatten(item)[1:]))
            if name is not None:
                declared.tycons.append(name)
        elif first.text == "foreign":
            colons = find_top(tokens, "reservedop", frozenset({"::"}))
            if len(tokens) > 1 and is_token(tokens[1], "reservedid", "import") and colons >= 2:
                name_tok = tokens[colons - 1]
                if is_token(name_tok, "special", ")") and colons >= 3:
                    name_tok = tokens[colons - 2]
                declared.values.append(name_tok.text)
        return
    if _is_pattern_synonym(tokens):
        if find_top(tokens, "reservedop", frozenset({"::"})) >= 0 and not (
            find_top(tokens, "reservedop", frozenset({"=", "<-"})) >= 0
        ):
            return  # pattern synonym signature
        name = _head_name(_declaration_head(tokens[1:]))
        if name is not None:
            declared.patsyns.append(name)
        return
    lhs = _equation_lhs(item)
    if lhs is not None:
        declared.values.extend(_lhs_names(lhs))


def declared_names(decls: str) -> list[str]:
    """User-visible names a block of top-level declarations defines, as ``runDecls`` returns
    them in GHC 9.0.2.

    Data constructors and class methods are implicit and not listed; record selectors are.
    Instances, fixity declarations, signatures, pragmas and ``default`` define nothing. The
    order follows what GHC 9.0.2 was observed to return: record selectors, then values, then
    type constructors and classes (last declared first), then pattern synonyms. GHC orders
    values by dependency analysis (`g0 = g1; g1 = 1` gives [g1, g0]); this function keeps
    source order for them, so treat the order as informative only.
    """
    declared = _Declared()
    for item in layout(decls, statement=False).items:
        _declare_item(declared, item)
    return _dedupe(
        [*declared.selectors, *declared.values, *reversed(declared.tycons), *declared.patsyns]
    )


# --------------------------------------------------------------------------------------------
# check_sendable
# --------------------------------------------------------------------------------------------


def check_sendable(text: str) -> str | None:
    """Why ``text`` must not be sent to GHCi, or None when it may be.

    GHCi reads input starting with ``:`` as a colon command, and ends a ``:{`` block at any
    line that is ``:}`` after stripping (GHC 9.0.2 does so even for an indented ``:}``), so
    either would let the text run a command instead of being compiled. A NUL character cannot
    be passed through GHCi's line reader.
    """
    stripped = text.lstrip()
    if stripped.startswith(":"):
        command = stripped.split(maxsplit=1)[0]
        return f"GHCi meta-commands are not accepted: {command!r}"
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() == ":}":
            return f"line {number} is ':}}', which would end GHCi's multi-line input early"
    if "\0" in text:
        return "the text contains a NUL character, which GHCi cannot receive"
    return None
