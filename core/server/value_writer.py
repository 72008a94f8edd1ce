"""The GHCi statement that forces a value and writes it as a payload, for ``dyn_compile_expr``.

Responsible for: turning (expression, its defaulted type as ``:type +d`` printed it, a file
path) into the text of ONE statement that, run in the user's GHCi session, forces the value
and writes the payload that ``core.protocol.payload.decode_value`` reads (the format is
documented there). Must not: perform I/O, run GHCi, or decide what the server does with
errors (a statement that fails to compile for lack of ``Show`` is retried by the server with
``opaque=True``).

How the statement stays invisible and robust (DESIGN.md, "Server"):

* It binds nothing: ``_ <- ...`` leaves ``it`` and the user's scope alone (an expression
  statement of type ``IO ()`` would rebind ``it`` to ``()``). Under ``RebindableSyntax`` GHCi
  desugars that bind with whatever ``>>=`` is in scope (``GHC.Rename.Expr.rebindableContext``
  says so for ``GhciStmtCtxt``), so for such sessions ``form="cmd"`` gives a ``:cmd``
  command instead: GHCi compiles its expression without creating any binding and runs the
  ``IO String`` it denotes (the empty string: no further commands).
* Every name is fully qualified (``-fimplicit-import-qualified``, on in GHCi, resolves them
  whatever the user imported or hid); it has no numeric literal (rebound by
  ``RebindableSyntax``), no ``do``/``if``; Char literals and ``GHC.Enum.maxBound`` stand in
  for the constants. String and list literals only with ``literals=True``, for sessions
  without ``RebindableSyntax`` (under ``OverloadedStrings`` alone the expected type still
  makes a string literal a ``String``); otherwise the path is a list of ``Char`` literals
  and builders are joined with ``<>``. Lambda variables are named ``ghcShim'...`` so that
  ``-Wname-shadowing`` never fires on user names.
* The user's expression sits on its own lines, inside parentheses, indented by 8 columns
  (so tab stops keep their meaning), so trailing ``--`` comments, layout (``do``,
  ``let``/``in``) and operator sections work; its line *i* is the statement's line *i*, so
  the server can report a diagnostic at the expression's own position. It is annotated
  with the type ``:type +d`` printed, so no type is left for the statement's own uses of the
  value to default (see ``_annotated``).
* The value streams: the user's expression reaches the statement's action as
  ``\\() -> expr`` and is made only when the action runs (GHCi holds the action while it
  runs, so a value it had captured would stay alive element after element); every list
  below the top level is written in chunks, never counted first (an infinite one would
  fill the heap before the first byte); and the file is cut at the caller's byte limit.
  An infinite or huge value thus ends with a full file, in constant memory, not with an
  exhausted heap or disk.
* Per-element work stays in compiled library code: ``primMapListFixed`` with host-order
  primitives for lists, maps and sets of fixed-size values, ``stringUtf8`` for strings,
  ``encodeUtf8`` for ``Text``. Interpreted lambdas run per element only for nested
  variable-size shapes (``[[Char]]``, ``Map k [v]``, ``[Maybe a]``).
* Which encoder to use is read from the type text, but the encoder runs only after a
  ``Data.Typeable.cast`` to the exact (fully qualified) type succeeded; if the guess was
  wrong (a user type called ``Map``, a synonym), the value is sent as ``show`` text instead,
  or, when the guess involved ``Text`` (whose ``Show`` instance is an orphan that is often
  not visible), as an opaque value.

What GHCi spends on the statement is mostly compiling it (~5-9 ms, against ~2 ms for
``1 + 1``): the Typeable walk ~2.5 ms, each ``Char`` of a list literal ~25 us, and a chain
of ``<>`` more than one ``mconcat`` list (one Semigroup constraint to solve per ``<>``).
Hence string literals and ``mconcat`` where allowed (0.84-0.91x the time), and
``known_type_statement``: for a type seen before in the session it writes the typerep and
tree it was given, after checking the type (a ``cast``, or the typerep's ``show``), with no
walk and no fallback (0.6-0.8x the time; for a type without ``Show``, one statement instead
of a failed one and an opaque one).

One visible trace remains: the first such statement makes GHC load interfaces (bytestring's
Builder modules, ``Data.Typeable``'s) that the session might not have loaded yet, and GHCi's
``:info`` lists instances in interface-load order, so some instance lists printed later can
come out in another order (or, for names the user brings into scope later, with more
instances) than in a session that never transferred a value. A server that wants ``:info``
output independent of value transfers runs ``warmup_statement`` once when it starts a
session: it loads every interface that any writer statement uses.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from core.protocol.payload import MAX_VALUE_DEPTH, PAYLOAD_MAGIC, value_header
from core.protocol.to_haskell import char_list, haskell_string_literal
from core.protocol.values import HsType, haskell_type_name, parse_type

__all__ = [
    "EVAL_SOURCE",
    "EXPR_INDENT",
    "HsType",
    "SeenType",
    "candidate_types",
    "has_table_reading",
    "known_type_statement",
    "parse_type",
    "seen_type",
    "warmup_statement",
    "writer_statement",
]

_B: Final = "Data.ByteString.Builder."
_P: Final = "Data.ByteString.Builder.Prim."
_TERM: Final = f"{_B}word8 GHC.Enum.maxBound"  # byte 0xFF: never part of UTF-8
_COUNT: Final = f"{_P}primFixed {_P}intHost"
# Elements per chunk of a nested list: one interpreted call per chunk, not per element.
_CHUNK: Final = 4096
EXPR_INDENT: Final = 8  # columns before each line of the expression in a statement
# The file name GHC gives positions in the expression (a LINE pragma: the server's for the
# whole of a "bind" statement, the statement's own before the expression in a ":cmd"):
# they are told from positions of earlier statements, which are <interactive>.
EVAL_SOURCE: Final = "<ghc-shim-eval>"
_INDENT: Final = " " * EXPR_INDENT
_MAX_CANDIDATES: Final = 8

# Written names that mean a table type whatever the qualifier (an alias like M.Map, or
# none): a wrong guess only costs a failed cast at run time.
_SCALARS: Final = frozenset([
    "Int", "Word", "Int8", "Int16", "Int32", "Int64", "Word8", "Word16", "Word32", "Word64",
    "Integer", "Natural", "Double", "Float", "Bool", "Char", "IntSet",
])
_ARITY: Final = {"Maybe": 1, "Ratio": 1, "Set": 1, "IntMap": 1, "Either": 2, "Map": 2}
_STRICT_HOMES: Final = {
    "Text": ("Data.Text", "Data.Text.Internal"),
    "ByteString": ("Data.ByteString", "Data.ByteString.Char8", "Data.ByteString.Internal",
                   "Data.ByteString.Internal.Type"),
}


_Join = Callable[..., str]


def _chain(*parts: str) -> str:
    """Builders appended with ``<>``: no list literal (RebindableSyntax with OverloadedLists
    would rebind one)."""
    return "(" + " GHC.Base.<> ".join(parts) + ")"


def _concat(*parts: str) -> str:
    """Builders in one ``mconcat`` list: GHCi solves one Monoid constraint instead of one
    Semigroup constraint per ``<>``, ~0.5 ms (5-9 %) less per writer statement."""
    return "(GHC.Base.mconcat [" + ", ".join(parts) + "])"


def _char7(c: str) -> str:
    return f"({_B}char7 '{c}')"


def _node_candidates(t: HsType) -> list[HsType] | None:
    """Canonical readings of one written constructor (args already resolved elsewhere)."""
    con, name, qual = t.con, t.name, t.qualifier
    if con == "[]" and len(t.args) == 1:
        return [HsType("[]")]
    if con == "()" and not t.args:
        return [HsType("()")]
    if con.startswith("(,") and 2 <= len(t.args) == len(con) - 1 <= 7:
        return [HsType(con)]
    if t.args:
        if name in _ARITY and _ARITY[name] == len(t.args):
            return [HsType(name)]
        if name == "List" and len(t.args) == 1:
            return [HsType("[]")]
        return None
    if name in ("String", "FilePath"):
        return [HsType("[]", (HsType("Char"),))]
    if name == "Rational":
        return [HsType("Ratio", (HsType("Integer"),))]
    if name in _STRICT_HOMES:
        if "Lazy" in qual:
            return [HsType("Lazy" + name)]
        if qual in _STRICT_HOMES[name]:
            return [HsType(name)]
        return [HsType(name), HsType("Lazy" + name)]
    if name in _SCALARS:
        return [HsType(name)]
    return None


def candidate_types(t: HsType) -> list[HsType]:
    """The table types (canonical, see ``core.protocol.type_table``) that the written type ``t``
    may denote, most likely first; empty when it names something outside the table.

    ``Text`` and ``ByteString`` without a telling qualifier may be strict or lazy; at most
    8 readings are kept. Empty for a type nesting deeper than ``MAX_VALUE_DEPTH``: such
    a value is sent as show text.
    """
    if t.depth() > MAX_VALUE_DEPTH:
        return []
    heads = _node_candidates(t)
    if heads is None:
        return []
    arg_options: list[list[HsType]] = []
    for a in t.args:
        options = candidate_types(a)
        if not options:
            return []
        arg_options.append(options)
    result: list[HsType] = []
    for head in heads:
        if head.args:  # a synonym already expanded
            result.append(head)
            continue
        for combo in itertools.product(*arg_options):
            result.append(HsType(head.con, tuple(combo)))
            if len(result) >= _MAX_CANDIDATES:
                return result
    return result[:_MAX_CANDIDATES]


class _Gen:
    """Generates encoder expressions; numbers lambda variables so none shadows another."""

    def __init__(self, join: _Join) -> None:
        self.counter = 0
        self.join = join

    def var(self) -> str:
        self.counter += 1
        return f"ghcShim'{self.counter}"

    # Fixed-size values: a FixedPrim, so lists of them go through primMapListFixed.
    def prim(self, t: HsType) -> str | None:
        simple = {
            "Int": "intHost", "Int64": "int64Host", "Word": "wordHost", "Word64": "word64Host",
            "Int8": "int8", "Int16": "int16Host", "Int32": "int32Host",
            "Word8": "word8", "Word16": "word16Host", "Word32": "word32Host",
            "Double": "doubleHost", "Float": "floatHost",
        }
        if t.con in simple:
            return _P + simple[t.con]
        if t.con == "Char":
            return f"(GHC.Base.ord {_P}>$< {_P}intHost)"
        if t.con == "Bool":
            return f"(Data.Bool.bool '\\0' '\\1' {_P}>$< {_P}char7)"
        if t.con == "()":
            # One byte, after forcing the () (emptyF would not look at it).
            return f"(GHC.Base.flip GHC.Base.seq '\\0' {_P}>$< {_P}char7)"
        if t.con.startswith("(,"):
            prims = [self.prim(a) for a in t.args]
            if any(p is None for p in prims):
                return None
            nested = prims[-1]
            for p in reversed(prims[:-1]):
                nested = f"({p} {_P}>*< {nested})"
            if len(prims) == 2:
                return nested
            names = [self.var() for _ in prims]
            shape = names[-1]
            for n in reversed(names[:-1]):
                shape = f"({n}, {shape})"
            return f"((\\({', '.join(names)}) -> {shape}) {_P}>$< {nested})"
        return None

    def enc(self, t: HsType) -> str:
        """An expression of type ``t -> Builder`` writing ``enc(t)``."""
        prim = self.prim(t)
        if prim is not None:
            return f"({_P}primFixed {prim})"
        con = t.con
        v = self.var()

        def lam(*parts: str) -> str:
            return f"(\\{v} -> {self.join(*parts)})"

        if con == "Integer":
            return lam(f"{_B}integerDec {v}", _char7(";"))
        if con == "Natural":
            return lam(f"{_B}integerDec (GHC.Real.toInteger {v})", _char7(";"))
        if con == "Text":
            return lam(f"{_B}byteString (Data.Text.Encoding.encodeUtf8 {v})", _TERM)
        if con == "LazyText":
            return lam(f"{_B}lazyByteString (Data.Text.Lazy.Encoding.encodeUtf8 {v})", _TERM)
        if con == "ByteString":
            return lam(f"{_COUNT} (Data.ByteString.length {v})", f"{_B}byteString {v}")
        if con == "LazyByteString":
            # Chunk by chunk (toChunks never yields an empty one), then a zero count: the
            # length is not known before the end, which may never come.
            c = self.var()
            chunk = self.join(f"{_COUNT} (Data.ByteString.length {c})", f"{_B}byteString {c}")
            return lam(f"Data.Foldable.foldMap (\\{c} -> {chunk}) "
                       f"(Data.ByteString.Lazy.toChunks {v})", f"{_COUNT} (GHC.Base.ord '\\0')")
        if con == "[]":
            elem = t.args[0]
            if elem.con == "Char":
                return lam(f"{_B}stringUtf8 {v}", _TERM)
            return self.chunked(elem)
        if con == "Maybe":
            return (f"(Data.Maybe.maybe {_char7('N')} "
                    f"(\\{v} -> {self.join(_char7('J'), f'{self.enc(t.args[0])} {v}')}))")
        if con == "Either":
            w = self.var()
            left = self.join(_char7("L"), f"{self.enc(t.args[0])} {v}")
            right = self.join(_char7("R"), f"{self.enc(t.args[1])} {w}")
            return f"(Data.Either.either (\\{v} -> {left}) (\\{w} -> {right}))"
        if con.startswith("(,"):
            names = [self.var() for _ in t.args]
            parts = [f"{self.enc(a)} {n}" for a, n in zip(t.args, names, strict=True)]
            return f"(\\({', '.join(names)}) -> {self.join(*parts)})"
        if con == "Ratio":
            e = self.enc(t.args[0])
            return lam(f"{e} (GHC.Real.numerator {v})", f"{e} (GHC.Real.denominator {v})")
        if con in ("Map", "IntMap"):
            module = "Data.Map.Internal" if con == "Map" else "Data.IntMap.Internal"
            key = t.args[0] if con == "Map" else HsType("Int")
            val = t.args[-1]
            pk, pv = self.prim(key), self.prim(val)
            if pk is not None and pv is not None:
                body = f"{_P}primMapListFixed ({pk} {_P}>*< {pv}) ({module}.toAscList {v})"
            else:
                k, x = self.var(), self.var()
                pair = self.join(f"{self.enc(key)} {k}", f"{self.enc(val)} {x}")
                body = f"{module}.foldMapWithKey (\\{k} {x} -> {pair}) {v}"
            return lam(f"{_COUNT} ({module}.size {v})", body)
        if con in ("Set", "IntSet"):
            module = "Data.Set.Internal" if con == "Set" else "Data.IntSet.Internal"
            elem = t.args[0] if con == "Set" else HsType("Int")
            return lam(f"{_COUNT} ({module}.size {v})",
                       f"{self.elements(elem)} ({module}.toAscList {v})")
        raise ValueError(f"no encoder for {t.render()}")  # pragma: no cover

    def chunked(self, elem: HsType) -> str:
        """An expression of type ``[elem] -> Builder`` writing the list as chunks (a count,
        then that many elements), then a zero count. Counting the whole list first would
        walk its spine while holding on to it: an infinite list would fill the heap before
        a byte was written, where chunks stop at the byte limit."""
        go, xs, chunk, rest = self.var(), self.var(), self.var(), self.var()
        size = f"(GHC.Base.ord '\\{_CHUNK}')"
        step = self.join(f"{_COUNT} (GHC.List.length {chunk})",
                         f"{self.elements(elem)} {chunk}",
                         f"Data.Bool.bool ({go} {rest}) GHC.Base.mempty (GHC.List.null {chunk})")
        return (f"(Data.Function.fix (\\{go} {xs} -> case GHC.List.splitAt {size} {xs} of "
                f"{{ ({chunk}, {rest}) -> {step} }}))")

    def elements(self, elem: HsType) -> str:
        """An expression of type ``[elem] -> Builder`` writing the elements, no count."""
        prim = self.prim(elem)
        if prim is not None:
            return f"({_P}primMapListFixed {prim})"
        return f"(Data.Foldable.foldMap {self.enc(elem)})"

    def top(self, t: HsType) -> str:
        """The encoder of the whole value: a top-level list has no count (the decoder reads
        elements up to the end of the payload), so it streams."""
        if t.con == "[]" and t.args[0].con != "Char":
            return self.elements(t.args[0])
        return self.enc(t)


def _embed(expr: str) -> str:
    # Split on "\n" only: str.splitlines would also split at U+2028 and friends, which may
    # sit inside the user's string literals.
    return "\n".join(_INDENT + line if line.strip() else line for line in expr.split("\n"))


def _info(x: str, join: _Join) -> str:
    """Builder: typerep and Typeable tree of the value bound to ``x``."""
    go, t = "ghcShim'go", "ghcShim't"
    tycon = f"(Data.Typeable.typeRepTyCon {t})"
    args = f"(Data.Typeable.typeRepArgs {t})"
    tree = (f"(Data.Function.fix (\\{go} {t} -> "
            + join(f"{_B}stringUtf8 (Data.Typeable.tyConModule {tycon})", _TERM,
                   f"{_B}stringUtf8 (Data.Typeable.tyConName {tycon})", _TERM,
                   f"{_COUNT} (GHC.List.length {args})",
                   f"Data.Foldable.foldMap {go} {args}")
            + f") (Data.Typeable.typeOf {x}))")
    return join(f"{_B}stringUtf8 (GHC.Show.show (Data.Typeable.typeOf {x}))", _TERM, tree)


def _magic(join: _Join) -> str:
    return join(*map(_char7, PAYLOAD_MAGIC.decode("ascii")), f"{_COUNT} (GHC.Base.ord '\\1')")


def _int64(n: int) -> str:
    """The Int64 ``n`` written without a numeric literal (``RebindableSyntax`` rebinds them):
    two code points, high and low 20 bits."""
    high, low = divmod(n, 0x100000)
    if not 0 <= high <= 0x10FFFF:
        raise ValueError(f"{n} is out of range")
    return (f"(GHC.Real.fromIntegral (GHC.Base.ord '\\{high}' GHC.Num.* "
            f"GHC.Base.ord '\\{0x100000}' GHC.Num.+ GHC.Base.ord '\\{low}') :: GHC.Int.Int64)")


def _action(out_path: str, builder: str, *, literals: bool, byte_limit: int | None,
            cmd: bool) -> str:
    """A function from ``\\() -> value`` to an ``IO ()`` (an ``IO String`` of no commands for
    ``:cmd``) writing ``builder``, in which the value is ``ghcShim'x``, to ``out_path``;
    at most ``byte_limit`` bytes of it.

    The value is made inside the action, when it runs: GHCi holds the statement's action
    while it runs, and an action that had captured the value itself would keep every
    element written so far alive (a 160 MB ``[Int]`` needed 800 MB of heap; an infinite
    list ran out of memory before its time limit). With ``byte_limit`` an infinite value
    stops at the limit and a huge one does not fill the disk first.

    Not ``hPutBuilder``: it runs the builder -- and so forces the value -- inside the
    handle's lock, where asynchronous exceptions are masked, so a time limit or interrupt
    could not stop ``length [1..]`` and GHCi had to be killed. A lazy ByteString's chunks
    are forced by ``hPut``'s traversal outside the lock, still streamed chunk by chunk.
    """
    path = haskell_string_literal(out_path) if literals else char_list(out_path)
    h, f, x = "ghcShim'h", "ghcShim'f", "ghcShim'x"
    payload = f"{_B}toLazyByteString {builder}"
    if byte_limit is not None:
        payload = f"Data.ByteString.Lazy.take {_int64(byte_limit)} ({payload})"
    write = (f"System.IO.withBinaryFile {path} System.IO.WriteMode (\\{h} -> "
             f"(\\{x} -> Data.ByteString.Lazy.hPut {h} ({payload})) ({f} ()))")
    if cmd:
        # :cmd runs an IO String and then the lines of that string as commands: none here.
        write = f"({write} GHC.Base.>> GHC.Base.return GHC.Base.mempty)"
    return f"(\\{f} -> {write})"


def writer_statement(expr: str, type_text: str, out_path: str, *, opaque: bool = False,
                     form: Literal["bind", "cmd"] = "bind", literals: bool = False,
                     annotate: bool = True, byte_limit: int | None = None,
                     show_fallback: bool = True) -> str:
    """The text of one GHCi statement that forces ``expr`` and writes its payload.

    ``type_text`` is what ``:type +d (expr)`` printed for it in the same session (GHCi's
    rendering, qualified as the session's scope requires); it must have no type variables.
    The statement forces the value fully (to WHNF only with ``opaque=True``) and writes the
    payload to ``out_path`` (which it creates or truncates). Kinds of payload:

    * a type of the table (API.md §1.5), recognised from ``type_text`` and confirmed by a
      ``Data.Typeable.cast`` at run time: the value, binary;
    * otherwise: ``show`` text (the statement then needs a ``Show`` instance; if it fails to
      compile for lack of one, call again with ``opaque=True``);
    * ``opaque=True``: only the type (needs just ``Typeable``, which every monomorphic type
      has).

    ``show_fallback=False``: a value whose run-time type is none of the table readings is
    opaque instead of ``show`` text, so the statement needs no ``Show`` instance. For a
    session whose context does not see an orphan ``Show`` instance of a table type (GHC.Float's
    ``Show Double`` with an empty context, under ``NoImplicitPrelude``): the table reading
    still writes the value. See ``has_table_reading``.

    ``form="bind"`` (default) gives ``_ <- ...``; ``form="cmd"`` gives a ``:cmd`` command
    (for sessions with ``RebindableSyntax``, see the module docstring). Either way the text
    spans several lines: send it inside ``:{``/``:}``. The first line is the statement's
    own; ``expr`` follows on lines of its own, indented by 8 columns, then one closing line:
    ``expr``'s line *i* is the statement's line *i* (counting from 0), so a diagnostic's
    position maps back to it (``form="cmd"``: a LINE pragma comes first, and GHC reports
    the expression's line *i* as line *i* of ``EVAL_SOURCE``). ``expr`` is annotated with
    ``type_text`` (see ``_annotated``) unless ``annotate=False`` (``form="bind"`` only: for
    a type text GHC cannot read back, say one that needs an extension to be written).

    ``literals=True`` (for sessions without ``RebindableSyntax``, where a string or list
    literal means what it says: under ``OverloadedStrings`` the expected type still fixes a
    literal to ``String``) writes the path as a string literal and joins builders with
    ``mconcat [...]``, which GHCi compiles faster.

    ``byte_limit``: the file gets at most that many bytes of the payload (a longer one is
    cut there, and writing stops: an infinite value ends), so a file of exactly
    ``byte_limit`` bytes may be a cut payload. ``None``: no limit.

    Raises:
        ValueError: ``out_path`` is empty, ``expr`` is blank, or ``byte_limit`` is negative
            or beyond 2^40.
    """
    if not out_path:
        raise ValueError("out_path is empty")
    if not expr.strip():
        raise ValueError("expr is blank")
    join = _concat if literals else _chain
    x, info = "ghcShim'x", "ghcShim'i"
    show_body = join(_char7("S"), info, f"{_B}stringUtf8 (GHC.Show.show {x})")
    opaque_body = f"(GHC.Base.seq {x} {join(_char7('O'), info)})"
    if opaque:
        body = opaque_body
    else:
        candidates = candidate_types(_written_type(type_text))
        if not candidates:
            body = show_body if show_fallback else opaque_body
        else:
            # Text's Show instance lives in Data.Text (an orphan): a fallback through show
            # would not compile unless the user imported Data.Text.
            has_text = any(n.con in ("Text", "LazyText") for c in candidates for n in c.walk())
            body = opaque_body if has_text or not show_fallback else show_body
            gen = _Gen(join)
            for cand in reversed(candidates):
                v = gen.var()
                encoded = join(_char7("V"), info, f"{gen.top(cand)} {v}")
                target = haskell_type_name(cand)
                body = (f"(Data.Maybe.maybe {body} (\\{v} -> {encoded}) "
                        f"(Data.Typeable.cast {x} :: GHC.Maybe.Maybe ({target})))")
    builder = f"((\\{info} -> {join(_magic(join), body)}) {_info(x, join)})"
    action = _action(out_path, builder, literals=literals, byte_limit=byte_limit,
                     cmd=form == "cmd")
    if form == "cmd":
        # A LINE pragma in a :{ block would hide the :cmd, but one inside its expression
        # is honoured: the expression's line i is reported as line i of EVAL_SOURCE.
        return f":cmd {action} (\\() -> {_annotated(expr, type_text, line_pragma=True)})"
    if not annotate:
        return f"_ <- {action} (\\() -> (\n{_embed(expr)}\n  ))"
    return f"_ <- {action} (\\() -> {_annotated(expr, type_text)})"


def _annotated(expr: str, type_text: str, *, line_pragma: bool = False) -> str:
    """``expr`` at the type ``:type +d`` gave it, on lines of its own (line 1 of the statement
    onwards, indented by ``_INDENT``). The annotation makes the value the one whose type the
    reply states whatever the session's defaulting rules (``:cmd`` and
    ``NoExtendedDefaultRules`` do not default a ``Typeable`` constraint) and keeps
    defaulting inside the user's expression, where a ``-Wtype-defaults`` warning (an error
    under ``-Werror``) then points."""
    annotation = " ".join(type_text.split())
    pragma = f'{{-# LINE 1 "{EVAL_SOURCE}" #-}}\n' if line_pragma else ""
    # Parenthesised first: the expression may carry its own annotation already.
    return f"((\n{pragma}{_embed(expr)}\n  ) :: {annotation})"


def has_table_reading(type_text: str) -> bool:
    """Whether ``writer_statement`` tries a table type for ``type_text`` (so that
    ``show_fallback=False`` may still write the value, not only its type)."""
    return bool(candidate_types(_written_type(type_text)))


def _written_type(type_text: str) -> HsType:
    try:
        return parse_type(type_text)
    except ValueError:
        return HsType("?")


@dataclass(frozen=True, slots=True)
class SeenType:
    """What one payload taught about the type text it was written for (``seen_type``):
    enough for ``known_type_statement`` to write the next value of that type."""

    type_text: str  # as ``:type +d`` printed it
    kind: Literal["V", "S", "O"]
    type_info: bytes  # the payload's typerep and tree, as written
    target: HsType | None = None  # kind "V": the one table type the text denotes


def seen_type(type_text: str, payload: bytes) -> SeenType | None:
    """What ``payload``, written by ``writer_statement`` for ``type_text``, teaches; None for
    a payload of a table type with several readings (``Text`` with no telling qualifier:
    which one matched is not worth finding out here) or a malformed one."""
    try:
        kind, body_start = value_header(payload)
    except ValueError:
        return None
    type_info = payload[13:body_start]
    if kind == "S":
        return SeenType(type_text, "S", type_info)
    if kind == "O":
        return SeenType(type_text, "O", type_info)
    candidates = candidate_types(_written_type(type_text))
    if kind != "V" or len(candidates) != 1:
        return None
    return SeenType(type_text, "V", type_info, candidates[0])


def known_type_statement(expr: str, seen: SeenType, out_path: str, *,
                         byte_limit: int | None = None) -> str:
    """A shorter writer statement for a value of a type seen before in the session.

    ``seen`` is what the payload of an earlier value with the same ``:type +d`` text taught
    (``seen_type``). The statement writes the payload ``writer_statement`` would write,
    with the typerep and tree copied from ``seen`` instead of computed: GHCi compiles it in
    0.6-0.8x the time (the Typeable walk alone costs ~2.5 ms), and a value without ``Show``
    costs one statement instead of a failed one and an opaque one. It checks first that the
    value has that type (kind ``"V"``: a ``cast`` to the table type; otherwise its typerep
    shown as before); if not, the payload is the magic and kind ``'M'`` (a miss), nothing
    was evaluated (both checks look at the type only), and the caller uses
    ``writer_statement``.

    For sessions without ``RebindableSyntax`` only (it uses ``_ <-`` and literals).
    ``byte_limit`` as for ``writer_statement``.
    """
    if not out_path:
        raise ValueError("out_path is empty")
    if not expr.strip():
        raise ValueError("expr is blank")
    x, v = "ghcShim'x", "ghcShim'v"
    miss = _char7("M")
    info = (f"{_P}primMapListFixed {_P}char8 "
            f"{haskell_string_literal(seen.type_info.decode('latin-1'))}")
    if seen.kind == "V":
        assert seen.target is not None
        encoded = _concat(_char7("V"), info, f"{_Gen(_concat).top(seen.target)} {v}")
        body = (rf"(Data.Maybe.maybe {miss} (\{v} -> {encoded}) "
                f"(Data.Typeable.cast {x} :: GHC.Maybe.Maybe ({haskell_type_name(seen.target)})))")
    else:
        type_rep = seen.type_info.split(b"\xff", 1)[0].decode("utf-8", "surrogatepass")
        if seen.kind == "S":
            hit = _concat(_char7("S"), info, f"{_B}stringUtf8 (GHC.Show.show {x})")
        else:
            hit = f"(GHC.Base.seq {x} {_concat(_char7('O'), info)})"
        same = (f"(GHC.Show.show (Data.Typeable.typeOf {x}) GHC.Classes.== "
                f"{haskell_string_literal(type_rep)})")
        body = f"(Data.Bool.bool {miss} {hit} {same})"
    action = _action(out_path, _concat(_magic(_concat), body), literals=True,
                     byte_limit=byte_limit, cmd=False)
    return f"_ <- {action} (\\() -> {_annotated(expr, seen.type_text)})"


# A value whose type reaches every encoder above, so that its writer statement references
# every function (hence loads every interface) that any writer statement can use.
_WARMUP_EXPR: Final = (
    "((Data.Text.empty, Data.Text.Lazy.empty, Data.ByteString.empty, Data.ByteString.Lazy.empty),"
    " (GHC.Base.pure GHC.Types.True, Data.Either.Left (), GHC.Real.toRational (GHC.Base.ord 'a'),"
    " GHC.Real.fromIntegral (GHC.Base.ord 'a'), GHC.Base.pure (GHC.Maybe.Just 'a')),"
    " (Data.Map.Internal.empty, Data.IntMap.Internal.empty, Data.Set.Internal.empty,"
    " Data.IntSet.Internal.empty, Data.Map.Internal.empty))"
)
_WARMUP_TYPE: Final = (
    "((Data.Text.Internal.Text, Data.Text.Internal.Lazy.Text,"
    " Data.ByteString.Internal.ByteString, Data.ByteString.Lazy.Internal.ByteString),"
    " ([GHC.Types.Bool], Data.Either.Either () (), GHC.Real.Ratio GHC.Num.Integer.Integer,"
    " Numeric.Natural.Natural, [GHC.Maybe.Maybe GHC.Types.Char]),"
    " (Data.Map.Internal.Map GHC.Types.Int GHC.Types.Int,"
    " Data.IntMap.Internal.IntMap [GHC.Types.Char],"
    " Data.Set.Internal.Set [GHC.Types.Int], Data.IntSet.Internal.IntSet,"
    " Data.Map.Internal.Map [GHC.Types.Char] (GHC.Types.Double, GHC.Types.Float)))"
)


def warmup_statement(out_path: str, *, form: Literal["bind", "cmd"] = "bind") -> str:
    """A writer statement that loads every interface writer statements use (see the module
    docstring): run once per session, before user code, it makes later value transfers leave
    ``:info`` output exactly as it would have been. Its payload can be discarded."""
    expr = f"({_WARMUP_EXPR} :: {_WARMUP_TYPE})"
    return writer_statement(expr, _WARMUP_TYPE, out_path, form=form, byte_limit=1 << 40)
