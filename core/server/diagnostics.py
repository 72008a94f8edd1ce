"""GHC's diagnostics and GHCi's exception reports, as text in and values out.

Responsible for: parsing the error/warning blocks GHC prints (``parse_diagnostics``),
rendering them back in GHC's style (``render_diagnostic``), separating GHCi's final
``*** Exception: …``/``Interrupted.`` report from the user's own stderr
(``split_exception``), and naming the exception type from its ``show`` text
(``classify_exception``, and for a type of the user's, ``shown_constructor``, which says
what to ask GHCi).

Must not: do I/O, or depend on one GHC version's message wording. Only the header shape
(``file:span: severity: [code] [flags]``) and the layout of the block (indented body, caret
excerpt) are relied on; every message body is kept as GHC wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "INTERRUPTED",
    "NO_LOCATION",
    "Diagnostic",
    "classify_exception",
    "parse_diagnostics",
    "render_diagnostic",
    "shown_constructor",
    "split_exception",
]

NO_LOCATION: Final = "<no location info>"
"""The ``file`` of a diagnostic GHC prints without a source span (all positions are 0)."""

INTERRUPTED: Final = "<<interrupted>>"
"""What ``split_exception`` returns for GHCi's ``Interrupted.`` (a ``UserInterrupt``)."""

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One GHC error or warning.

    Positions are 1-based and the end is inclusive, as GHC prints spans (``4:11-15`` is
    columns 11 to 15). ``code`` is the ``[GHC-12345]`` code of GHC 9.6+ (None from 9.0).
    ``flags`` holds the bracketed warning flags (``-Wunused-matches``,
    ``-Werror=unused-matches``); it is left out of equality so that values built from the
    eight positional fields compare equal to parsed ones.
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    severity: Severity
    message: str
    code: str | None
    flags: tuple[str, ...] = field(default=(), compare=False)


# A header: `F:L:C:`, `F:L:C-C2:`, `F:(L1,C1)-(L2,C2):` or `<no location info>:`, then the
# severity. The file may contain `:` (Windows drives) but never ": ", so that GHCi's
# `*** Exception: Foo.hs:5:16: error:` (a deferred type error being reported) is no header.
_HEADER: Final = re.compile(
    r"^(?:(?P<noloc><no location info>)"
    r"|(?P<file>[^\s:](?:[^:\n]|:(?! ))*?):"
    r"(?:(?P<line>\d+):(?P<col>\d+)(?:-(?P<endcol>\d+))?"
    r"|\((?P<mline>\d+),(?P<mcol>\d+)\)-\((?P<mendline>\d+),(?P<mendcol>\d+)\))"
    r"):[ \t]*(?P<severity>[Ee]rror|[Ww]arning):(?P<rest>.*)$"
)
# One bracketed tag after the severity: an error code (`GHC-88464`) or warning flags
# (`-Wunused-matches, -Werror=unused-matches`; GHC 9.8 writes `Werror=...` without the dash).
_TAG: Final = re.compile(r"^[ \t]*\[(?P<body>[^\]\n]*)\]")
_CODE: Final = re.compile(r"^[A-Za-z]+-\d+$")
_FLAG: Final = re.compile(r"^-?[A-Za-z][\w=+-]*$")
# The caret excerpt (GHC 8.2+): a bare gutter line, numbered source lines, caret lines.
_GUTTER: Final = re.compile(r"^ +\|\s*$")
_NUMBERED: Final = re.compile(r"^ *(?P<number>\d+) \| ")
_EXCERPT_LINE: Final = re.compile(r"^ *(?:\d+ )?\|")
_CARETS: Final = re.compile(r"^ +\| (?P<pad> *)(?P<carets>\^+)(?P<more>\.\.\.)?\s*$")


def _tags(rest: str) -> tuple[str | None, tuple[str, ...], str]:
    """Split the text after ``error:``/``warning:`` into (code, flags, inline message)."""
    code: str | None = None
    flags: list[str] = []
    while True:
        match = _TAG.match(rest)
        if match is None:
            break
        parts = [part.strip() for part in match.group("body").split(",")]
        if len(parts) == 1 and _CODE.match(parts[0]):
            code = parts[0]
        elif parts and all(_FLAG.match(part) for part in parts):
            flags.extend(parts)
        else:
            break
        rest = rest[match.end() :]
    return code, tuple(flags), rest.strip()


def _dedent(lines: list[str]) -> list[str]:
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return [line[cut:].rstrip() for line in lines]


def _excerpt_end(lines: list[str], start: int) -> int:
    """If a caret excerpt starts at ``lines[start]``, the index after it, else -1."""
    if not (
        _GUTTER.match(lines[start])
        and start + 1 < len(lines)
        and _NUMBERED.match(lines[start + 1])
    ):
        return -1
    end = start + 1
    while end < len(lines) and _EXCERPT_LINE.match(lines[end]):
        end += 1
    return end


def _caret_end_column(excerpt: list[str], line: int, column: int) -> int | None:
    """The inclusive end column the carets mark for a span starting at (line, column), when
    the excerpt shows that line and the carets stop on it (no trailing ``...``)."""
    saw_line = False
    for text in excerpt:
        numbered = _NUMBERED.match(text)
        if numbered is not None:
            if int(numbered.group("number")) != line:
                return None
            saw_line = True
        carets = _CARETS.match(text)
        if carets is not None and saw_line:
            # The caret line is `<width+1 spaces>| ` followed by the source columns.
            start = len(carets.group("pad")) + 1
            if carets.group("more") or start != column:
                return None
            return column + len(carets.group("carets")) - 1
    return None


def parse_diagnostics(text: str) -> list[Diagnostic]:
    """All diagnostics in ``text``, in order; any other text is ignored."""
    lines = text.split("\n")
    found: list[Diagnostic] = []
    index = 0
    while index < len(lines):
        header = _HEADER.match(lines[index].rstrip("\r"))
        index += 1
        if header is None:
            continue
        code, flags, inline = _tags(header.group("rest"))
        body: list[str] = []
        excerpt: list[str] = []
        while index < len(lines):
            line = lines[index].rstrip("\r")
            end = _excerpt_end(lines, index)
            if end >= 0:
                # In GHC 9.0 the excerpt closes the diagnostic.
                excerpt = lines[index:end]
                index = end
                break
            if not line.strip():
                # A blank line ends the block (GHC separates diagnostics with one), unless
                # the message carries on with a body-indented line.
                nxt = lines[index + 1] if index + 1 < len(lines) else ""
                if not nxt.startswith("    ") or not body:
                    break
            elif not line[0].isspace():
                break
            body.append(line)
            index += 1
        message_lines = ([inline] if inline else []) + _dedent(body)
        message = "\n".join(message_lines).strip("\n")
        found.append(_diagnostic(header, code, flags, message, excerpt))
    return found


def _diagnostic(
    header: re.Match[str],
    code: str | None,
    flags: tuple[str, ...],
    message: str,
    excerpt: list[str],
) -> Diagnostic:
    severity: Severity = "error" if header.group("severity").lower() == "error" else "warning"
    if header.group("noloc"):
        return Diagnostic(NO_LOCATION, 0, 0, 0, 0, severity, message, code, flags)
    file = header.group("file")
    if header.group("mline"):
        return Diagnostic(
            file,
            int(header.group("mline")),
            int(header.group("mcol")),
            int(header.group("mendline")),
            int(header.group("mendcol")),
            severity,
            message,
            code,
            flags,
        )
    line, column = int(header.group("line")), int(header.group("col"))
    if header.group("endcol"):
        end_column = int(header.group("endcol"))
    else:
        # Without -ferror-spans GHC prints only the start; the carets still mark the whole
        # span (GHC 9.0.2 prints `Types.hs:4:11` with five carets where -ferror-spans prints
        # `Types.hs:4:11-15`), so read the end from them when they stay on one line.
        end_column = _caret_end_column(excerpt, line, column) or column
    return Diagnostic(file, line, column, line, end_column, severity, message, code, flags)


def _span(d: Diagnostic) -> str:
    if d.file == NO_LOCATION:
        return NO_LOCATION
    if d.line == d.end_line:
        if d.end_column <= d.column:
            return f"{d.file}:{d.line}:{d.column}"
        return f"{d.file}:{d.line}:{d.column}-{d.end_column}"
    return f"{d.file}:({d.line},{d.column})-({d.end_line},{d.end_column})"


def render_diagnostic(d: Diagnostic) -> str:
    """``d`` in GHC's style (with ``-ferror-spans`` spans, and without a caret excerpt, which
    needs the source): a one-line message shares the header line, a longer one is indented
    by four spaces below it, as GHC 9.0 prints them."""
    header = f"{_span(d)}: {d.severity}:"
    if d.code:
        header += f" [{d.code}]"
    if d.flags:
        header += " [" + ", ".join(d.flags) + "]"
    lines = d.message.split("\n")
    if len(lines) == 1:
        return f"{header} {lines[0]}" if lines[0] else header
    return header + "\n" + "\n".join(f"    {line}" if line else "" for line in lines)


# --------------------------------------------------------------------------------------------
# Exceptions
# --------------------------------------------------------------------------------------------

_EXCEPTION_PREFIX: Final = "*** Exception: "
_INTERRUPTED_LINE: Final = "Interrupted."


def split_exception(stderr_text: str) -> tuple[str, str | None]:
    """Split a statement's stderr into (the user's own stderr, GHCi's exception report).

    GHCi reports an uncaught exception last, with ``hPutStrLn stderr`` (``showException`` in
    ``ghc/GHCi/UI.hs``): ``*** Exception: <show e>`` (which may span lines), or
    ``Interrupted.`` for ``UserInterrupt``, returned as ``INTERRUPTED``. The last
    ``*** Exception: `` at a line start is GHCi's, since user output comes before it. When the
    user's output did not end with a newline GHCi's report starts mid-line (GHC 9.0.2 prints
    ``abc*** Exception: x`` after ``hPutStr stderr "abc" >> error "x"``), so with no line-start
    occurrence the last occurrence anywhere is used. Trailing newlines are dropped from the
    report (``PatternMatchFail`` texts end with one of their own).
    """
    body = stderr_text.rstrip("\n")
    last_break = body.rfind("\n")
    if body[last_break + 1 :].rstrip("\r") == _INTERRUPTED_LINE:
        return body[: last_break + 1], INTERRUPTED
    after_break = stderr_text.rfind("\n" + _EXCEPTION_PREFIX)
    if after_break >= 0:
        start = after_break + 1
    elif stderr_text.startswith(_EXCEPTION_PREFIX):
        start = 0
    else:
        start = stderr_text.rfind(_EXCEPTION_PREFIX)
    if start < 0:
        return stderr_text, None
    shown = stderr_text[start + len(_EXCEPTION_PREFIX) :].rstrip("\n")
    return stderr_text[:start], shown


# `show` texts of base's exception types (GHC 9.0.2 / base-4.15), recorded from GHCi in
# tests/unit/transcripts/exceptions.txt.
_EXACT: Final = {
    "divide by zero": "ArithException",
    "arithmetic overflow": "ArithException",
    "arithmetic underflow": "ArithException",
    "loss of precision": "ArithException",
    "denormal": "ArithException",
    "Ratio has zero denominator": "ArithException",
    "stack overflow": "AsyncException",
    "heap overflow": "AsyncException",
    "thread killed": "AsyncException",
    "user interrupt": "AsyncException",
    INTERRUPTED: "AsyncException",
    "ExitSuccess": "ExitCode",
    "<<loop>>": "NonTermination",
    "<<deadlock>>": "Deadlock",
    "Control.Concurrent.STM.atomically was nested": "NestedAtomically",
    "thread blocked indefinitely in an MVar operation": "BlockedIndefinitelyOnMVar",
    "thread blocked indefinitely in an STM transaction": "BlockedIndefinitelyOnSTM",
}
_CALL_STACK: Final = "\nCallStack (from HasCallStack):"
_IO_ERROR_TYPES: Final = (
    "already exists|does not exist|resource busy|resource exhausted|end of file"
    "|illegal operation|permission denied|user error|unsatisfied constraints|system error"
    "|protocol error|failed|invalid argument|inappropriate type|hardware fault"
    "|unsupported operation|timeout|resource vanished|interrupted"
)
_PATTERNS: Final = (
    (re.compile(r"^ExitFailure (?:\d+|\(-\d+\))$"), "ExitCode"),
    (re.compile(r"^(?:array index out of range|undefined array element)(?::|$)"),
     "ArrayException"),
    # `untangle` in Control.Exception.Base: "<location>: <message>[ <detail>]\n".
    (re.compile(r"^[^\n]*?: (?:Non-exhaustive patterns in|Non-exhaustive guards in"
                r"|Irrefutable pattern failed for pattern)"), "PatternMatchFail"),
    (re.compile(r"^No match in record selector "), "RecSelError"),
    (re.compile(r"^[^\n]*?: Missing field in record construction"), "RecConError"),
    (re.compile(r"^[^\n]*?: No match in record update"), "RecUpdError"),
    (re.compile(r"^[^\n]*?: No instance nor default method for class operation"),
     "NoMethodError"),
    (re.compile(r"^Assertion failed(?:\n|$)"), "AssertionFailed"),
    # IOException's Show: "[file or handle: ][location: ]<IOErrorType>[ (description)]".
    (re.compile(rf"^(?:[^\n]*?: )?(?:{_IO_ERROR_TYPES})(?: \(.*\))?$", re.DOTALL),
     "IOException"),
    # errorWithoutStackTrace texts of partial functions: "Prelude.head: empty list",
    # "Maybe.fromJust: Nothing", "Ix{Integer}.index: ...", "Prelude.undefined".
    (re.compile(r"^(?:[A-Z][\w']*(?:\{[^}\n]*\})?\.)+[^\s:]+(?::|$)"), "ErrorCall"),
)


def classify_exception(shown: str) -> str:
    """The Haskell exception type whose ``show`` produced ``shown`` ("SomeException" when it
    cannot be told). Texts are ambiguous by nature (``error "divide by zero"`` looks like an
    ArithException), so this names the type that normally prints the text."""
    text = shown.rstrip("\n")
    if text in _EXACT:
        return _EXACT[text]
    if "(deferred type error)" in text:
        return "TypeError"
    for pattern, name in _PATTERNS[:-2]:
        if pattern.search(text):
            return name
    if _CALL_STACK in text:
        return "ErrorCall"  # `error` appends the call stack; AssertionFailed was tried above
    for pattern, name in _PATTERNS[-2:]:
        if pattern.search(text):
            return name
    return "SomeException"


# A derived Show starts with the constructor: `MyError "boom"`, `Timeout {after = 3}`.
_SHOWN_CONSTRUCTOR: Final = re.compile(r"([A-Z][\w']*)(?:[ {]|$)")


def shown_constructor(shown: str) -> str | None:
    """The constructor a derived ``Show`` put first in ``shown``, if the text can be a
    derived ``Show``'s: what to ask GHCi the type of, for an exception
    ``classify_exception`` cannot name (a type of the user's: ``data Oops = Oops String
    deriving Show; instance Exception Oops``). A message such as ``Oops, try again``
    (``errorWithoutStackTrace``) is not: a derived ``Show`` writes no bare lowercase word
    outside brackets and quotes."""
    match = _SHOWN_CONSTRUCTOR.match(shown)
    if not match:
        return None
    rest = _QUOTED.sub("", shown[match.end(1):])
    while (inner := _BRACKETED.sub("", rest)) != rest:
        rest = inner
    return None if _LOWERCASE_WORD.search(rest) or _PUNCTUATION.search(rest) else match[1]


_QUOTED: Final = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)+\'')
_BRACKETED: Final = re.compile(r"\([^()\[\]{}]*\)|\[[^()\[\]{}]*\]|\{[^()\[\]{}]*\}")
_LOWERCASE_WORD: Final = re.compile(r"(?<![\w'.])[a-z_]")
_PUNCTUATION: Final = re.compile(r"[,;:!?]")
