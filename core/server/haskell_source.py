"""Lexical analysis of Haskell text typed at a GHCi-like prompt.

Responsible for: splitting text into tokens (``tokenize``); deciding what GHCi would do with
an input (``classify``, mirroring ``isStmt``/``isImport``/``isDecl`` in ``ghc/GHCi/UI.hs``);
predicting the names a statement binds (``bound_names``, as ``execStmt`` reports them) and the
names a block of declarations defines (``declared_names``, as ``runDecls`` reports them);
refusing text that GHCi would read as a colon command (``check_sendable``); and decoding
Haskell string literals (``read_haskell_string``).

Must not: run GHC, do any I/O, or grow into a parser. The analysis is a lexer plus a
simplified version of the Haskell 2010 layout algorithm (report section 10.3); whatever it
cannot understand is passed on to GHC, which produces the authoritative error.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "InputKind",
    "Token",
    "TokenKind",
    "bound_names",
    "check_sendable",
    "classify",
    "declared_names",
    "read_haskell_string",
    "tokenize",
]

TokenKind = Literal[
    "varid",
    "conid",
    "qvarid",
    "qconid",
    "varsym",
    "consym",
    "qvarsym",
    "qconsym",
    "reservedid",
    "reservedop",
    "special",
    "integer",
    "float",
    "char",
    "string",
    "pragma",
    "error",
]
"""Token kinds. Whitespace and comments produce no tokens.

``qvarsym``/``qconsym`` are qualified operators (``M.!``, ``Data.List.\\\\``), named as in the
Haskell report. A lone ``'`` or ``''`` (DataKinds promotion, Template Haskell name quotes) is
a ``special`` token. ``error`` covers unterminated strings, comments and pragmas, malformed
escapes and characters Haskell does not allow; the caller decides what to do with it.
"""

InputKind = Literal["empty", "statement", "declaration", "import", "meta_command"]


@dataclass(frozen=True, slots=True)
class Token:
    """One lexeme. ``line``/``col`` are 1-based; tabs advance ``col`` to the next multiple of
    8 plus 1, as GHC's ``advanceSrcLoc`` does, so columns agree with GHC's error messages."""

    kind: TokenKind
    text: str
    line: int
    col: int


# --------------------------------------------------------------------------------------------
# Lexer
# --------------------------------------------------------------------------------------------

_RESERVED_IDS: Final = frozenset(
    {
        "case", "class", "data", "default", "deriving", "do", "else", "foreign", "if",
        "import", "in", "infix", "infixl", "infixr", "instance", "let", "module", "newtype",
        "of", "then", "type", "where", "_",
    }
)
_RESERVED_OPS: Final = frozenset({"..", ":", "::", "=", "\\", "|", "<-", "->", "@", "~", "=>"})
_SPECIAL_CHARS: Final = frozenset("(),;[]`{}")
_ASCII_SYMBOLS: Final = frozenset("!#$%&*+./<=>?@\\^|-~:")

_NUMBER: Final = re.compile(
    r"0[xX][0-9a-fA-F](?:_*[0-9a-fA-F])*"
    r"|0[oO][0-7](?:_*[0-7])*"
    r"|0[bB][01](?:_*[01])*"
    r"|[0-9](?:_*[0-9])*(?P<frac>\.[0-9](?:_*[0-9])*)?(?P<exp>[eE][+-]?[0-9](?:_*[0-9])*)?"
)

# Names of ASCII control characters allowed after a backslash (Haskell 2010, section 2.6).
# Longest first, so that "\SOH" is read as SOH rather than SO followed by 'H' (GHC's `show`
# writes "\SO\&H" for the latter precisely because of this rule).
_CONTROL_NAMES: Final = (
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
    "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB",
    "ESC", "FS", "GS", "RS", "US",
)
_ASCII_ESCAPES: Final = tuple(
    sorted(
        [*((name, code) for code, name in enumerate(_CONTROL_NAMES)), ("SP", 32), ("DEL", 127)],
        key=lambda item: -len(item[0]),
    )
)
_SINGLE_ESCAPES: Final = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    "\\": "\\", '"': '"', "'": "'",
}
_MAX_CHAR: Final = 0x10FFFF


def _is_symbol(ch: str) -> bool:
    if ch in _ASCII_SYMBOLS:
        return True
    if ch.isascii():
        return False
    # Haskell's `symbol` includes any Unicode symbol or punctuation character.
    return unicodedata.category(ch)[0] in "SP"


def _is_upper_start(ch: str) -> bool:
    return ch.isupper() or unicodedata.category(ch) == "Lt"


def _is_lower_start(ch: str) -> bool:
    # GHC lexes other letters (e.g. Lo, CJK) like lower-case letters.
    return ch == "_" or (ch.isalpha() and not _is_upper_start(ch))


def _is_ident_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_'"


def _scan_escape(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the escape whose first character (after the backslash) is at ``pos``.

    Returns the character and the position after the escape, or None when it is malformed.
    String gaps and ``\\&`` are not handled here: they exist only inside strings.
    """
    if pos >= len(text):
        return None
    ch = text[pos]
    if ch in _SINGLE_ESCAPES:
        return _SINGLE_ESCAPES[ch], pos + 1
    if ch == "^":
        if pos + 1 < len(text) and "@" <= text[pos + 1] <= "_":
            return chr(ord(text[pos + 1]) - 64), pos + 2
        return None
    if ch.isascii() and ch.isdigit():
        return _numeric_escape(text, pos, "0123456789", 10)
    if ch == "o":
        return _numeric_escape(text, pos + 1, "01234567", 8)
    if ch == "x":
        return _numeric_escape(text, pos + 1, "0123456789abcdefABCDEF", 16)
    for name, code in _ASCII_ESCAPES:
        if text.startswith(name, pos):
            return chr(code), pos + len(name)
    return None


def _numeric_escape(text: str, pos: int, digits: str, base: int) -> tuple[str, int] | None:
    end = pos
    while end < len(text) and text[end] in digits:
        end += 1
    if end == pos:
        return None
    value = int(text[pos:end], base)
    if value > _MAX_CHAR:
        return None
    return chr(value), end


def read_haskell_string(literal: str) -> str:
    """Decode one Haskell string literal, quotes included (``"a\\nb"`` gives ``a<LF>b``).

    Handles every escape of Haskell 2010: the single-character escapes, ``\\^X`` controls,
    decimal/octal/hex codes (``\\1234``, ``\\o17``, ``\\x7F``), ASCII names (``\\SOH``,
    ``\\DEL``), the empty escape ``\\&`` and string gaps. Raises ValueError when ``literal``
    is not exactly one well-formed literal.
    """
    if len(literal) < 2 or literal[0] != '"':
        raise ValueError(f"not a Haskell string literal: {literal!r}")
    out: list[str] = []
    pos = 1
    end = len(literal)
    while pos < end:
        ch = literal[pos]
        if ch == '"':
            if pos != end - 1:
                raise ValueError(f"text after the closing quote: {literal!r}")
            return "".join(out)
        if ch == "\n":
            raise ValueError(f"newline inside a string literal: {literal!r}")
        if ch != "\\":
            out.append(ch)
            pos += 1
            continue
        nxt = literal[pos + 1] if pos + 1 < end else ""
        if nxt == "&":
            pos += 2
        elif nxt.isspace():
            pos = _skip_gap(literal, pos + 1)
            if pos < 0:
                raise ValueError(f"malformed string gap: {literal!r}")
        else:
            decoded = _scan_escape(literal, pos + 1)
            if decoded is None:
                raise ValueError(f"malformed escape at offset {pos}: {literal!r}")
            out.append(decoded[0])
            pos = decoded[1]
    raise ValueError(f"unterminated string literal: {literal!r}")


def _skip_gap(text: str, pos: int) -> int:
    """``pos`` is the first white character of a gap; return the position after the closing
    backslash, or -1 when the gap is not closed by one."""
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos < len(text) and text[pos] == "\\":
        return pos + 1
    return -1


class _Lexer:
    """Single-use scanner state; ``tokenize`` is the public entry point."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.line_start = 0
        self.tokens: list[Token] = []
        # Column of `col_pos` on the current line: tokens arrive in order, so counting on
        # from the previous token keeps long one-line inputs linear.
        self.col_pos = 0
        self.col = 1

    def col_at(self, pos: int) -> int:
        if self.col_pos < self.line_start or self.col_pos > pos:
            self.col_pos, self.col = self.line_start, 1
        segment = self.text[self.col_pos : pos]
        if "\t" in segment:
            for ch in segment:
                self.col = ((self.col - 1) // 8 + 1) * 8 + 1 if ch == "\t" else self.col + 1
        else:
            self.col += len(segment)
        self.col_pos = pos
        return self.col

    def emit(self, kind: TokenKind, start: int, end: int) -> None:
        self.tokens.append(Token(kind, self.text[start:end], self.line, self.col_at(start)))
        self.advance_to(end)

    def advance_to(self, end: int) -> None:
        newlines = self.text.count("\n", self.pos, end)
        if newlines:
            self.line += newlines
            self.line_start = self.text.rfind("\n", self.pos, end) + 1
        self.pos = end

    def run(self) -> list[Token]:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch.isspace():
                self.advance_to(self.pos + 1)
            elif text.startswith("{-", self.pos):
                self.block_comment_or_pragma()
            elif ch == '"':
                self.string()
            elif ch == "'":
                self.quote()
            elif ch in _SPECIAL_CHARS:
                self.emit("special", self.pos, self.pos + 1)
            elif ch.isascii() and ch.isdigit():
                match = _NUMBER.match(text, self.pos)
                assert match is not None  # a digit always matches
                is_float = match.group("frac") is not None or match.group("exp") is not None
                self.emit("float" if is_float else "integer", self.pos, match.end())
            elif _is_upper_start(ch):
                self.qualified_name()
            elif _is_lower_start(ch):
                end = self.ident_end(self.pos)
                word = text[self.pos : end]
                self.emit("reservedid" if word in _RESERVED_IDS else "varid", self.pos, end)
            elif _is_symbol(ch):
                self.symbol()
            else:
                self.emit("error", self.pos, self.pos + 1)
        return self.tokens

    def ident_end(self, pos: int) -> int:
        pos += 1
        while pos < len(self.text) and _is_ident_char(self.text[pos]):
            pos += 1
        return pos

    def symbol_end(self, pos: int) -> int:
        while pos < len(self.text) and _is_symbol(self.text[pos]):
            pos += 1
        return pos

    def block_comment_or_pragma(self) -> None:
        text, start = self.text, self.pos
        if text.startswith("{-#", start):
            close = text.find("#-}", start + 3)
            if close < 0:
                self.emit("error", start, len(text))
            else:
                self.emit("pragma", start, close + 3)
            return
        depth, pos = 1, start + 2
        while pos < len(text) and depth:
            if text.startswith("{-", pos):
                depth, pos = depth + 1, pos + 2
            elif text.startswith("-}", pos):
                depth, pos = depth - 1, pos + 2
            else:
                pos += 1
        if depth:
            self.emit("error", start, len(text))
        else:
            self.advance_to(pos)

    def string(self) -> None:
        text, start = self.text, self.pos
        pos, ok = start + 1, True
        while True:
            if pos >= len(text) or text[pos] == "\n":
                self.emit("error", start, pos)
                return
            ch = text[pos]
            if ch == '"':
                self.emit("string" if ok else "error", start, pos + 1)
                return
            if ch != "\\":
                pos += 1
                continue
            nxt = text[pos + 1] if pos + 1 < len(text) else ""
            if nxt == "&":
                pos += 2
            elif nxt.isspace():
                after_gap = _skip_gap(text, pos + 1)
                if after_gap < 0:
                    # An unclosed gap: give up on this line so later lines still lex.
                    self.emit("error", start, text.find("\n", pos + 1) % (len(text) + 1))
                    return
                pos = after_gap
            else:
                decoded = _scan_escape(text, pos + 1)
                if decoded is None:
                    ok, pos = False, pos + 2
                else:
                    pos = decoded[1]

    def quote(self) -> None:
        """A character literal, or the ``'``/``''`` of DataKinds and Template Haskell."""
        text, start = self.text, self.pos
        nxt = text[start + 1] if start + 1 < len(text) else ""
        if nxt == "'":
            self.emit("special", start, start + 2)
            return
        if nxt == "\\":
            decoded = _scan_escape(text, start + 2)
            if decoded is not None and text.startswith("'", decoded[1]):
                self.emit("char", start, decoded[1] + 1)
                return
            close = text.find("'", start + 2, _line_end(text, start))
            if close >= 0:
                self.emit("error", start, close + 1)
                return
        elif nxt and nxt != "\n" and text.startswith("'", start + 2):
            self.emit("char", start, start + 3)
            return
        # 'Just (a promoted constructor) or 'map (a TH name quote).
        self.emit("special", start, start + 1)

    def qualified_name(self) -> None:
        text, start = self.text, self.pos
        end = self.ident_end(start)
        kind: TokenKind = "conid"
        # Maximal munch of `modid.` prefixes, as the Haskell report's qualified names.
        while end + 1 < len(text) and text[end] == ".":
            nxt = text[end + 1]
            if _is_upper_start(nxt):
                end, kind = self.ident_end(end + 1), "qconid"
            elif _is_lower_start(nxt):
                word_end = self.ident_end(end + 1)
                if text[end + 1 : word_end] in _RESERVED_IDS:
                    break  # `M.where` is not a qualified name
                self.emit("qvarid", start, word_end)
                return
            elif _is_symbol(nxt):
                sym_end = self.symbol_end(end + 1)
                sym = text[end + 1 : sym_end]
                if sym in _RESERVED_OPS or (len(sym) >= 2 and set(sym) == {"-"}):
                    break
                self.emit("qconsym" if sym.startswith(":") else "qvarsym", start, sym_end)
                return
            else:
                break
        self.emit(kind, start, end)

    def symbol(self) -> None:
        text, start = self.text, self.pos
        end = self.symbol_end(start)
        sym = text[start:end]
        if len(sym) >= 2 and set(sym) == {"-"}:
            # `--` starts a comment only when the whole operator is dashes: `-->` and `|--`
            # are operators (Haskell 2010, section 2.3).
            self.advance_to(_line_end(text, start))
            return
        if sym in _RESERVED_OPS:
            kind: TokenKind = "reservedop"
        elif sym.startswith(":"):
            kind = "consym"
        else:
            kind = "varsym"
        self.emit(kind, start, end)


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, dropping whitespace and comments. Never raises."""
    return _Lexer(text).run()


# --------------------------------------------------------------------------------------------
# Layout: a simplified Haskell 2010 layout algorithm building a tree of blocks
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Block:
    """A layout block (``let``/``where``/``do``/``of``/``mdo``/``\\case``) or the top level.

    Each item is one declaration/statement/alternative: its tokens and nested blocks.
    """

    keyword: str
    items: list[list[Token | _Block]] = field(default_factory=lambda: [[]])


_Node = Token | _Block

_LAYOUT_KEYWORDS: Final = frozenset({"let", "where", "do", "of", "mdo"})
_OPENERS: Final = frozenset({"(", "[", "{"})
_CLOSERS: Final = {")": "(", "]": "[", "}": "{"}


@dataclass(slots=True)
class _Ctx:
    kind: Literal["block", "bracket", "if", "case"]
    text: str = ""
    column: int = 0
    block: _Block | None = None
    explicit: bool = False


def _is(tok: _Node, kind: str, text: str) -> bool:
    return isinstance(tok, Token) and tok.kind == kind and tok.text == text


def _end_position(tok: Token) -> tuple[int, int]:
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
        self.top = _Block("")
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

    def current(self) -> list[_Node]:
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
        if nxt is not None and _is(nxt, "special", "{"):
            block = _Block(keyword)
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
        block = _Block(keyword, [[]] if opens else [])
        self.current().append(block)
        if opens and nxt is not None:
            self.push(_Ctx("block", keyword, column=nxt.col, block=block))
        return False

    def build(self) -> _Block:
        tokens = self.tokens
        prev_end_line = 0
        pending: str | None = None
        index = 0
        while index < len(tokens):
            tok = tokens[index]
            if pending is not None:
                keyword, pending = pending, None
                if self.open_block(keyword, tok):
                    prev_end_line = _end_position(tok)[0]
                    index += 1
                    continue
            if tok.line > prev_end_line:
                self.on_new_line(tok.col)
            pending = self.token(tok, tokens[index - 1] if index else None)
            prev_end_line = _end_position(tok)[0]
            index += 1
        if pending is not None:
            self.open_block(pending, None)
        return self.top

    def token(self, tok: Token, prev: Token | None) -> str | None:
        """Process one token; return a layout keyword whose block opens at the next token."""
        text = tok.text
        if tok.kind == "reservedid" or (tok.kind == "varid" and text == "mdo"):
            if text == "case" and prev is not None and _is(prev, "reservedop", "\\"):
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
            if text in _OPENERS:
                self.current().append(tok)
                self.push(_Ctx("bracket", text))
            elif text in _CLOSERS:
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
        opener = _CLOSERS[tok.text]
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


def _analysis_tokens(text: str) -> list[Token]:
    """Tokens relevant to classification: pragmas other than declaration pragmas behave like
    comments at the prompt (GHCi 9.0.2 silently ignores `{-# LANGUAGE X #-}` typed there, and
    `{-# SCC "a" #-} 1` prints 1)."""
    return [t for t in tokenize(text) if t.kind != "pragma" or _is_declaration_pragma(t)]


def _layout(text: str, *, statement: bool) -> _Block:
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


def _tokens_of(nodes: Sequence[_Node]) -> list[Token]:
    """The tokens of ``nodes`` up to the first nested block."""
    out: list[Token] = []
    for node in nodes:
        if isinstance(node, _Block):
            break
        out.append(node)
    return out


def _flatten(nodes: Sequence[_Node]) -> list[Token]:
    """All tokens of ``nodes``, nested blocks included (iterative: blocks can nest deeply)."""
    out: list[Token] = []
    pending: list[Iterator[_Node]] = [iter(nodes)]
    while pending:
        node = next(pending[-1], None)
        if node is None:
            pending.pop()
        elif isinstance(node, _Block):
            pending.append(iter([inner for item in node.items for inner in item]))
        else:
            out.append(node)
    return out


def _depths(tokens: Sequence[Token]) -> list[int]:
    """Bracket depth of each token (an opening bracket is at the outer depth)."""
    depths: list[int] = []
    depth = 0
    for tok in tokens:
        if tok.kind == "special" and tok.text in _CLOSERS:
            depth = max(depth - 1, 0)
        depths.append(depth)
        if tok.kind == "special" and tok.text in _OPENERS:
            depth += 1
    return depths


def _find_top(tokens: Sequence[Token], kind: str, texts: frozenset[str]) -> int:
    """Index of the first depth-0 token of ``kind`` whose text is in ``texts``, or -1."""
    for index, (tok, depth) in enumerate(zip(tokens, _depths(tokens), strict=True)):
        if depth == 0 and tok.kind == kind and tok.text in texts:
            return index
    return -1


def _matching(tokens: Sequence[Token], start: int) -> int:
    """Index of the bracket closing ``tokens[start]``, or len(tokens) when unclosed."""
    depth = 0
    for index in range(start, len(tokens)):
        tok = tokens[index]
        if tok.kind == "special" and tok.text in _OPENERS:
            depth += 1
        elif tok.kind == "special" and tok.text in _CLOSERS:
            depth -= 1
            if depth == 0:
                return index
    return len(tokens)


def _split_top(tokens: Sequence[Token], separator: str) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    for tok, depth in zip(tokens, _depths(tokens), strict=True):
        if depth == 0 and tok.kind == "special" and tok.text == separator:
            parts.append([])
        else:
            parts[-1].append(tok)
    return parts


def _dedupe(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------------------------------
# Bindings: the names an equation or a pattern binds
# --------------------------------------------------------------------------------------------

# Keywords after which `=`/`|` can no longer be the equation's own: they start a nested
# construct whose `=`/`|` belong to it (`if | c -> 1 | otherwise -> 2` is MultiWayIf, not a
# guarded equation). Layout keywords need no entry: their blocks are nested _Block nodes.
_NESTED_STARTERS: Final = frozenset({"if", "case"})


def _equation_lhs(item: Sequence[_Node]) -> list[Token] | None:
    """The left-hand side of ``item`` if it is an equation (a ``=`` or guard ``|`` at bracket
    depth 0 before any nested construct), else None."""
    depth = 0
    lhs: list[Token] = []
    for node in item:
        if isinstance(node, _Block):
            return None
        if node.kind == "reservedid" and node.text in _NESTED_STARTERS:
            return None
        if _is(node, "reservedop", "\\"):
            return None
        if node.kind == "special" and node.text in _OPENERS:
            depth += 1
        elif node.kind == "special" and node.text in _CLOSERS:
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
    if index + 1 >= len(tokens) or _end_position(tok) != (
        tokens[index + 1].line,
        tokens[index + 1].col,
    ):
        return False
    if index == 0:
        return True
    prev = tokens[index - 1]
    return _end_position(prev) != (tok.line, tok.col) or (
        prev.kind == "special" and prev.text in _OPENERS
    )


def _infix_operator(tokens: Sequence[Token]) -> tuple[str, str] | None:
    """The first depth-0 infix operator after the first token: (kind, name), where kind is
    "var" for a variable operator (`<+>`, `` `op` ``) and "con" for a constructor one."""
    depths = _depths(tokens)
    for index in range(1, len(tokens)):
        tok = tokens[index]
        if depths[index]:
            continue
        if tok.kind == "varsym" and not (tok.text == "!" and _is_prefix_bang(tokens, index)):
            return "var", tok.text
        if tok.kind == "consym" or _is(tok, "reservedop", ":"):
            return "con", tok.text
        if _is(tok, "special", "`") and index + 2 < len(tokens):
            name = tokens[index + 1]
            if _is(tokens[index + 2], "special", "`"):
                return ("var" if name.kind == "varid" else "con"), name.text
    return None


def _lhs_names(lhs: Sequence[Token]) -> list[str]:
    """Names bound by an equation whose left-hand side is ``lhs``."""
    if not lhs:
        return []
    colons = _find_top(lhs, "reservedop", frozenset({"::"}))
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
        _is(first, "special", "(")
        and len(lhs) >= 3
        and _is(lhs[2], "special", ")")
        and lhs[1].kind == "varsym"
    ):
        return [lhs[1].text]  # `(<+>) a b = ...`
    if _is(first, "special", "("):
        close = _matching(lhs, 0)
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
            close = _matching(tokens, index)
            for part in _split_top(tokens[index + 1 : close], ","):
                arrow = _find_top(part, "reservedop", frozenset({"->"}))
                if arrow >= 0:
                    part = part[arrow + 1 :]  # view pattern: `(f -> p)` binds only p
                colons = _find_top(part, "reservedop", frozenset({"::"}))
                out.extend(_pattern_vars(part if colons < 0 else part[:colons], nesting + 1))
            index = close + 1
        elif _is(tok, "special", "{"):
            # Record pattern: field labels are not bound; `f = p` binds p's variables and a
            # lone `f` (NamedFieldPuns) binds f. `..` (RecordWildCards) is not knowable here.
            close = _matching(tokens, index)
            for part in _split_top(tokens[index + 1 : close], ","):
                equals = _find_top(part, "reservedop", frozenset({"="}))
                if equals >= 0:
                    out.extend(_pattern_vars(part[equals + 1 :], nesting + 1))
                elif len(part) == 1 and part[0].kind in {"varid", "qvarid"}:
                    out.append(part[0].text.rsplit(".", 1)[-1])
            index = close + 1
        elif _is(tok, "special", "`"):
            index += 3  # `Con` used infix: not a variable
        elif _is(tok, "reservedop", "::"):
            break
        else:
            if tok.kind == "varid":
                out.append(tok.text)
            index += 1
    return out


def _signature_names(item: Sequence[_Node]) -> list[str]:
    """``["f", "g"]`` if ``item`` is a type signature ``f, g :: type``, else ``[]``."""
    tokens = _tokens_of(item)
    names: list[str] = []
    index = 0
    while index < len(tokens):
        tok = tokens[index]
        if tok.kind == "varid":
            names.append(tok.text)
            index += 1
        elif (
            _is(tok, "special", "(")
            and index + 2 < len(tokens)
            and tokens[index + 1].kind in {"varsym", "consym"}
            and _is(tokens[index + 2], "special", ")")
        ):
            names.append(tokens[index + 1].text)
            index += 3
        else:
            return []
        if index < len(tokens) and _is(tokens[index], "reservedop", "::"):
            return names
        if index < len(tokens) and _is(tokens[index], "special", ","):
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
    if len(tokens) < 2 or not _is(tokens[0], "varid", "pattern"):
        return False
    nxt = tokens[1]
    if nxt.kind == "conid" or _is(nxt, "special", "("):
        return True
    return nxt.kind == "varid" and len(tokens) > 2 and tokens[2].kind == "consym"


def classify(text: str) -> InputKind:
    """What GHCi would do with ``text``: run it as a statement, compile it as declarations,
    add an import, run a colon command, or nothing."""
    if text.lstrip().startswith(":"):
        return "meta_command"
    top = _layout(text, statement=False)
    items = [item for item in top.items if item]
    if not items:
        return "empty"
    first_item = items[0]
    tokens = _tokens_of(first_item)
    if not tokens:
        return "statement"
    first = tokens[0]
    if _is(first, "reservedid", "import"):
        return "import"
    if first.kind == "pragma":
        return "declaration"
    if first.kind == "reservedid" and first.text in _DECLARATION_KEYWORDS:
        return "declaration"
    if _is_pattern_synonym(tokens):
        return "declaration"
    if _is(first, "reservedid", "let"):
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
    top = _layout(stmt, statement=True)
    items = [item for item in top.items if item]
    if not items:
        return []
    item = items[0]
    if _is(item[0], "reservedid", "let"):
        if len(item) == 1:
            return []  # `let` with nothing after it: GHC reports the parse error
        block = item[1]
        if len(item) == 2 and isinstance(block, _Block):
            names: list[str] = []
            for binding in block.items:
                lhs = _equation_lhs(binding)
                if lhs is not None:
                    names.extend(_lhs_names(lhs))
            return _dedupe(names)
        return ["it"]  # `let ... in e` is an expression
    tokens = _tokens_of(item)
    arrow = _find_top(tokens, "reservedop", frozenset({"<-"}))
    if arrow >= 0:
        return _dedupe(_pattern_vars(tokens[:arrow]))
    return ["it"]


# --------------------------------------------------------------------------------------------
# declared_names
# --------------------------------------------------------------------------------------------


def _head_name(head: Sequence[Token]) -> str | None:
    """The name a type/class declaration head introduces (`T a`, `a :+: b`, `(:+:) a b`)."""
    context = _find_top(head, "reservedop", frozenset({"=>"}))
    if context >= 0:
        head = head[context + 1 :]
    if not head:
        return None
    infix = _infix_operator(head)
    if infix is not None:
        return infix[1]
    first = head[0]
    if (
        _is(first, "special", "(")
        and len(head) >= 3
        and _is(head[2], "special", ")")
        and head[1].kind in {"consym", "varsym"}
    ):
        return head[1].text
    if _is(first, "special", "("):
        close = _matching(head, 0)
        inner = head[1:close]
        if _find_top(inner, "reservedop", frozenset({"::"})) < 0:
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
    depths = _depths(tokens)
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
        if not _is(tokens[index], "special", "{"):
            index += 1
            continue
        close = _matching(tokens, index)
        for part in _split_top(tokens[index + 1 : close], ","):
            colons = _find_top(part, "reservedop", frozenset({"::"}))
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


def _declare_type(declared: _Declared, keyword: str, item: Sequence[_Node]) -> None:
    tokens = _flatten(item)
    rest = tokens[1:]
    if rest and rest[0].kind == "reservedid" and rest[0].text == "instance":
        return  # `data/type/newtype instance`: no new user-visible names
    if rest and _is(rest[0], "varid", "role"):
        return  # role annotation
    is_family = bool(rest) and _is(rest[0], "varid", "family")
    if is_family:
        rest = rest[1:]
    head = _declaration_head(rest)
    if (
        keyword == "type"
        and not is_family
        and _find_top(rest, "reservedop", frozenset({"="})) < 0
        and _find_top(rest, "reservedop", frozenset({"::"})) >= 0
    ):
        return  # standalone kind signature: the data declaration names the type
    name = _head_name(head)
    if name is not None:
        declared.tycons.append(name)
    if keyword in {"data", "newtype"} and not is_family:
        # GHC 9.0's runDecls lists a data type's record selectors, last field first (observed:
        # `data P = P { px :: Int, py :: Int }` gives [py, px, P]).
        declared.selectors.extend(reversed(_dedupe(_record_fields(tokens[1 + len(head) :]))))


def _declare_item(declared: _Declared, item: Sequence[_Node]) -> None:
    tokens = _tokens_of(item)
    if not tokens:
        return
    first = tokens[0]
    if first.kind == "reservedid":
        if first.text in {"data", "newtype", "type"}:
            _declare_type(declared, first.text, item)
        elif first.text == "class":
            # Only the class: its methods are implicit Ids (ClassOpId), which runDecls leaves
            # out (observed: `class C a where m :: a` gives [C]).
            name = _head_name(_declaration_head(_flatten(item)[1:]))
            if name is not None:
                declared.tycons.append(name)
        elif first.text == "foreign":
            colons = _find_top(tokens, "reservedop", frozenset({"::"}))
            if len(tokens) > 1 and _is(tokens[1], "reservedid", "import") and colons >= 2:
                name_tok = tokens[colons - 1]
                if _is(name_tok, "special", ")") and colons >= 3:
                    name_tok = tokens[colons - 2]
                declared.values.append(name_tok.text)
        return
    if _is_pattern_synonym(tokens):
        if _find_top(tokens, "reservedop", frozenset({"::"})) >= 0 and not (
            _find_top(tokens, "reservedop", frozenset({"=", "<-"})) >= 0
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
    for item in _layout(decls, statement=False).items:
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
