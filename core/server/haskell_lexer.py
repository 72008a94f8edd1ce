"""The Haskell lexer: text typed at a GHCi-like prompt to tokens, and string literals decoded.

Responsible for: splitting text into tokens (``tokenize``, ``Token``, ``TokenKind``) the way
the Haskell 2010 report (chapter 2) and GHC's lexer do, with columns that agree with GHC's
error messages; and decoding Haskell string literals (``read_haskell_string``).

Must not: run GHC, do any I/O, or look beyond single lexemes: layout, classification and
the names an input binds belong to ``core.server.haskell_layout`` and
``core.server.haskell_source``. Malformed input never raises; it becomes ``error`` tokens
and GHC produces the authoritative error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["RESERVED_IDS", "Token", "TokenKind", "read_haskell_string", "tokenize"]

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

RESERVED_IDS: Final = frozenset(
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
                self.emit("reservedid" if word in RESERVED_IDS else "varid", self.pos, end)
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
                if text[end + 1 : word_end] in RESERVED_IDS:
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
