"""The layout of Haskell input: a simplified Haskell 2010 layout algorithm and token queries.

Responsible for: turning the tokens of prompt input into a tree of layout blocks (``layout``:
the top level and every ``let``/``where``/``do``/``of``/``mdo``/``\\case`` block, split into
items, following report section 10.3 and GHCi's own top-level rules), and the bracket-aware
queries over token lists that the analysis in ``core.server.haskell_source`` is built from
(``find_top``, ``matching``, ``split_top``, ...).

Must not: run GHC, do any I/O, decide what an input is or which names it binds (that is
``core.server.haskell_source``), or grow into a parser: whatever the simplified algorithm
cannot understand is passed on to GHC, which produces the authoritative error.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from core.server.haskell_lexer import Token, tokenize

__all__ = [
    "CLOSERS",
    "OPENERS",
    "Block",
    "Node",
    "bracket_depths",
    "end_position",
    "find_top",
    "flatten",
    "is_token",
    "layout",
    "matching",
    "split_top",
    "tokens_of",
]

# --------------------------------------------------------------------------------------------
# Layout: a simplified Haskell 2010 layout algorithm building a tree of blocks
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Block:
    """A layout block (``let``/``where``/``do``/``of``/``mdo``/``\\case``) or the top level.

    Each item is one declaration/statement/alternative: its tokens and nested blocks.
    """

    keyword: str
    items: list[list[Token | Block]] = field(default_factory=lambda: [[]])


Node = Token | Block

_LAYOUT_KEYWORDS: Final = frozenset({"let", "where", "do", "of", "mdo"})
OPENERS: Final = frozenset({"(", "[", "{"})
CLOSERS: Final = {")": "(", "]": "[", "}": "{"}


@dataclass(slots=True)
class _Ctx:
    kind: Literal["block", "bracket", "if", "case"]
    text: str = ""
    column: int = 0
    block: Block | None = None
    explicit: bool = False


def is_token(tok: Node, kind: str, text: str) -> bool:
    """True if ``tok`` is a token (not a block) of ``kind`` spelt ``text``."""
    return isinstance(tok, Token) and tok.kind == kind and tok.text == text


def end_position(tok: Token) -> tuple[int, int]:
    """The line and column just after ``tok``."""
    newlines = tok.text.count("\n")
    if newlines:
        return tok.line + newlines, len(tok.text) - tok.text.rfind("\n")
    return tok.line, tok.col + len(tok.text)


class _LayoutBuilder:
    """Builds the block tree. ``statement`` selects how the top level behaves: GHCi parses a
    statement with no enclosing layout context (GHC 9.0.2 reads ``print 1`` and ``print 2`` on
    two lines as ``print 1 print 2``, and accepts ``in``/``then``/``else`` at column 1), while
    declarations form a layout block like a module body (``x = 1`` and ``y = 2`` on two lines
    are two declarations)."""

    def __init__(self, tokens: Sequence[Token], *, statement: bool) -> None:
        self.tokens = tokens
        self.top = Block("")
        top_column = 0 if statement or not tokens else tokens[0].col
        self.stack = [_Ctx("block", column=top_column, block=self.top)]
        # Stack indices of the block contexts, kept in step with `stack` so that finding the
        # innermost block does not scan past thousands of open brackets.
        self.blocks = [0]

    def push(self, ctx: _Ctx) -> None:
        if ctx.kind == "block":
            self.blocks.append(len(self.stack))
        self.stack.append(ctx)

    def truncate(self, length: int) -> None:
        """Pop every context from index ``length`` on (the top level is never popped)."""
        length = max(length, 1)
        del self.stack[length:]
        while self.blocks[-1] >= length:
            self.blocks.pop()

    def innermost_block(self) -> int:
        return self.blocks[-1]

    def current(self) -> list[Node]:
        block = self.stack[self.innermost_block()].block
        assert block is not None
        return block.items[-1]

    def new_item(self, index: int) -> None:
        self.truncate(index + 1)
        block = self.stack[index].block
        assert block is not None
        if block.items[-1]:
            block.items.append([])

    def enclosing_column(self) -> int:
        for index in reversed(self.blocks):
            if not self.stack[index].explicit:
                return self.stack[index].column
        return 0

    def on_new_line(self, col: int) -> None:
        while True:
            index = self.innermost_block()
            ctx = self.stack[index]
            if ctx.explicit:
                return
            if index == 0:
                # The top level never closes: anything at or left of its column starts a new
                # top-level item (H2010 would report a parse error for the "left of" case).
                if col <= ctx.column:
                    self.new_item(0)
                return
            if col < ctx.column:
                self.truncate(index)
                continue
            if col == ctx.column:
                self.new_item(index)
            return

    def pop_to(self, kinds: frozenset[str], texts: frozenset[str] | None = None) -> int:
        """Index of the innermost context of one of ``kinds`` reachable without crossing a
        bracket or an explicit block (the parse-error(t) rule of H2010 section 10.3 only
        closes implicit blocks), or -1."""
        for index in range(len(self.stack) - 1, 0, -1):
            ctx = self.stack[index]
            if ctx.kind in kinds and (texts is None or ctx.text in texts):
                return index
            if ctx.kind == "bracket" or ctx.explicit:
                return -1
        return -1

    def open_block(self, keyword: str, nxt: Token | None) -> bool:
        """Open the block introduced by ``keyword``; True if ``nxt`` (an explicit ``{``) was
        consumed."""
        if nxt is not None and is_token(nxt, "special", "{"):
            block = Block(keyword)
            self.current().append(block)
            self.push(_Ctx("block", keyword, block=block, explicit=True))
            return True
        enclosing = self.enclosing_column()
        # H2010 opens a block only if the next token is indented more than the enclosing
        # block; GHC's NondecreasingIndentation (on by default in GHCi) also allows equal
        # indentation after `do`.
        opens = nxt is not None and (
            nxt.col > enclosing or (keyword in {"do", "mdo"} and nxt.col == enclosing)
        )
        block = Block(keyword, [[]] if opens else [])
        self.current().append(block)
        if opens and nxt is not None:
            self.push(_Ctx("block", keyword, column=nxt.col, block=block))
        return False

    def build(self) -> Block:
        tokens = self.tokens
        prev_end_line = 0
        pending: str | None = None
        index = 0
        while index < len(tokens):
            tok = tokens[index]
            if pending is not None:
                keyword, pending = pending, None
                if self.open_block(keyword, tok):
                    prev_end_line = end_position(tok)[0]
                    index += 1
                    continue
            if tok.line > prev_end_line:
                self.on_new_line(tok.col)
            pending = self.token(tok, tokens[index - 1] if index else None)
            prev_end_line = end_position(tok)[0]
            index += 1
        if pending is not None:
            self.open_block(pending, None)
        return self.top

    def token(self, tok: Token, prev: Token | None) -> str | None:
        """Process one token; return a layout keyword whose block opens at the next token."""
        text = tok.text
        if tok.kind == "reservedid" or (tok.kind == "varid" and text == "mdo"):
            if text == "case" and prev is not None and is_token(prev, "reservedop", "\\"):
                self.current().append(tok)
                return "case"  # LambdaCase: `\case` opens a block of alternatives
            if text in {"then", "else", "of"}:
                marker = "case" if text == "of" else "if"
                found = self.pop_to(frozenset({marker}))
                if found >= 0:
                    self.truncate(found + (1 if text == "then" else 0))
            elif text == "in":
                found = self.pop_to(frozenset({"block"}), frozenset({"let"}))
                if found >= 0:
                    self.truncate(found)
            self.current().append(tok)
            if text in {"if", "case"}:
                self.push(_Ctx("if" if text == "if" else "case"))
            return text if text in _LAYOUT_KEYWORDS else None
        if tok.kind == "special":
            if text in OPENERS:
                self.current().append(tok)
                self.push(_Ctx("bracket", text))
            elif text in CLOSERS:
                self.close_bracket(tok)
            elif text == ",":
                found = self.pop_to(frozenset({"bracket"}))
                if found >= 0:
                    self.truncate(found + 1)
                self.current().append(tok)
            elif text == ";":
                while self.stack[-1].kind in {"if", "case"}:
                    self.truncate(len(self.stack) - 1)
                if self.stack[-1].kind == "block":
                    self.new_item(len(self.stack) - 1)
                else:
                    self.current().append(tok)
            else:
                self.current().append(tok)
            return None
        self.current().append(tok)
        return None

    def close_bracket(self, tok: Token) -> None:
        opener = CLOSERS[tok.text]
        for index in range(len(self.stack) - 1, 0, -1):
            ctx = self.stack[index]
            if ctx.kind == "bracket" and ctx.text == opener:
                self.truncate(index)
                self.current().append(tok)
                return
            if ctx.explicit:
                if tok.text == "}":
                    self.truncate(index)  # the explicit block's brace is not an item token
                    return
                break
        self.current().append(tok)


@functools.lru_cache(maxsize=4)
def _analysis_tokens(text: str) -> tuple[Token, ...]:
    """Tokens relevant to classification: pragmas other than declaration pragmas behave like
    comments at the prompt (GHCi 9.0.2 silently ignores `{-# LANGUAGE X #-}` typed there, and
    `{-# SCC "a" #-} 1` prints 1).

    Cached for the last few texts: a request analyses its text more than once (``classify``,
    then ``bound_names`` or ``declared_names``), and lexing is most of the cost. Tokens
    are immutable."""
    return tuple(t for t in tokenize(text) if t.kind != "pragma" or _is_declaration_pragma(t))


def layout(text: str, *, statement: bool) -> Block:
    """The block tree of ``text``: ``statement`` for a GHCi statement (no top-level layout
    context), otherwise a block of declarations (see ``_LayoutBuilder``)."""
    return _LayoutBuilder(_analysis_tokens(text), statement=statement).build()


_DECLARATION_PRAGMAS: Final = frozenset(
    {
        "INLINE", "NOINLINE", "INLINABLE", "INLINEABLE", "NOTINLINE", "OPAQUE", "SPECIALISE",
        "SPECIALIZE", "RULES", "ANN", "COMPLETE", "DEPRECATED", "WARNING", "MINIMAL",
    }
)


def _is_declaration_pragma(tok: Token) -> bool:
    words = tok.text[3:].split()
    return bool(words) and words[0].upper() in _DECLARATION_PRAGMAS


# --------------------------------------------------------------------------------------------
# Token-list helpers
# --------------------------------------------------------------------------------------------


def tokens_of(nodes: Sequence[Node]) -> list[Token]:
    """The tokens of ``nodes`` up to the first nested block."""
    out: list[Token] = []
    for node in nodes:
        if isinstance(node, Block):
            break
        out.append(node)
    return out


def flatten(nodes: Sequence[Node]) -> list[Token]:
    """All tokens of ``nodes``, nested blocks included (iterative: blocks can nest deeply)."""
    out: list[Token] = []
    pending: list[Iterator[Node]] = [iter(nodes)]
    while pending:
        node = next(pending[-1], None)
        if node is None:
            pending.pop()
        elif isinstance(node, Block):
            pending.append(iter([inner for item in node.items for inner in item]))
        else:
            out.append(node)
    return out


def bracket_depths(tokens: Sequence[Token]) -> list[int]:
    """Bracket depth of each token (an opening bracket is at the outer depth)."""
    depths: list[int] = []
    depth = 0
    for tok in tokens:
        if tok.kind == "special" and tok.text in CLOSERS:
            depth = max(depth - 1, 0)
        depths.append(depth)
        if tok.kind == "special" and tok.text in OPENERS:
            depth += 1
    return depths


def find_top(tokens: Sequence[Token], kind: str, texts: frozenset[str]) -> int:
    """Index of the first depth-0 token of ``kind`` whose text is in ``texts``, or -1."""
    for index, (tok, depth) in enumerate(zip(tokens, bracket_depths(tokens), strict=True)):
        if depth == 0 and tok.kind == kind and tok.text in texts:
            return index
    return -1


def matching(tokens: Sequence[Token], start: int) -> int:
    """Index of the bracket closing ``tokens[start]``, or len(tokens) when unclosed."""
    depth = 0
    for index in range(start, len(tokens)):
        tok = tokens[index]
        if tok.kind == "special" and tok.text in OPENERS:
            depth += 1
        elif tok.kind == "special" and tok.text in CLOSERS:
            depth -= 1
            if depth == 0:
                return index
    return len(tokens)


def split_top(tokens: Sequence[Token], separator: str) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    for tok, depth in zip(tokens, bracket_depths(tokens), strict=True):
        if depth == 0 and tok.kind == "special" and tok.text == separator:
            parts.append([])
        else:
            parts[-1].append(tok)
    return parts

