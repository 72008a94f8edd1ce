"""A notebook-style Haskell cell evaluator, written only against GHC's in-process API names.

This is the kind of legacy tool the shim exists for: it drives GHC the way IHaskell does —
split each cell into imports, declarations and statements; ``getContext``/``setContext`` for
imports; ``runDecls`` for declarations; ``execStmt`` with captured output for statements;
``exprType`` for ``:t`` lines and to choose a rich display; ``dynCompileExpr`` to fetch values
such as a ``Map`` and show them as a table; ``guessTarget``/``setTargets``/``load`` for a cell
that holds a whole ``module``. Migrating it to the shim was step 1 of ``migration_guide.md``:
the one changed line is the import below. Everything else is legacy API, and every call
warns (``GHC_SHIM_COMPAT_WARNINGS=ignore`` silences them, ``=error`` shows what is left).

Run it::

    python -m examples.notebook examples/demo_notebook.md

Cells are the ```` ```haskell ```` fences of a Markdown file; headings are echoed. A cell
with a compile error or a Haskell exception is reported and the notebook carries on.

Responsible for: splitting cells and rendering results. Must not: use ``core.client`` (it is
the legacy tool in this story) or stop at a failing cell.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from compat import ghc_api as GHC  # noqa: N812 - the GHC module's name, as in Haskell

__all__ = [
    "Cell",
    "Chunk",
    "Notebook",
    "Output",
    "main",
    "parse_markdown",
    "render",
    "run_notebook",
    "split_cell",
]

OutputKind = Literal[
    "stdout", "stderr", "value", "type", "table", "info", "error", "exception", "crash"
]
ChunkKind = Literal["import", "declaration", "statement", "directive", "module"]


@dataclass(frozen=True, slots=True)
class Cell:
    """One ```` ```haskell ```` block. Its chunks report positions as ``cell<N>:<line>``,
    counted from the cell's first line."""

    source: str


@dataclass(frozen=True, slots=True)
class Output:
    kind: OutputKind
    text: str


@dataclass(frozen=True, slots=True)
class Chunk:
    """A top-level piece of a cell: a line that starts in column 1 and its indented
    continuation lines (Haskell's layout rule), classified."""

    kind: ChunkKind
    text: str
    line: int


# ------------------------------------------------------------------------------ parsing


_FENCE: Final = re.compile(r"^```\s*(\w*)\s*$")


def parse_markdown(text: str) -> Iterator[Cell | str]:
    """Cells (``haskell`` fences) and headings, in file order."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            if lines[i].startswith("#"):
                yield lines[i]
            i += 1
            continue
        start = i + 1
        i = start
        while i < len(lines) and not lines[i].startswith("```"):
            i += 1
        if fence.group(1) == "haskell":
            yield Cell("\n".join(lines[start:i]))
        i += 1


_DECL_KEYWORDS: Final = frozenset(
    ["data", "newtype", "type", "class", "instance", "deriving", "infix", "infixl", "infixr",
     "default", "foreign", "pattern"]
)
_SIGNATURE: Final = re.compile(r"^\(?[a-z_][\w']*\)?(\s*,\s*\(?[a-z_][\w']*\)?)*\s*::")
_MODULE_HEADER: Final = re.compile(r"^module\s+([A-Z][\w']*(?:\.[A-Z][\w']*)*)")


def _top_level(text: str, token: str) -> bool:
    """Whether ``token`` (``"="`` or ``"<-"``) occurs outside brackets, strings and longer
    operators: ``f x = ...`` binds, ``x == 5`` or ``[y | y <- ys]`` does not."""
    depth = 0
    quote = False
    prev = " "
    for i, ch in enumerate(text):
        if quote:
            quote = not (ch == '"' and prev != "\\")
        elif ch == '"':
            quote = True
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(token, i):
            after = text[i + len(token) : i + len(token) + 1]
            if prev not in _SYMBOL and after not in _SYMBOL:
                return True
        prev = ch
    return False


_SYMBOL: Final = frozenset("=<>/!:&|+*-.$@~^\\%?#")


def _classify(text: str) -> ChunkKind:
    first = text.split(None, 1)[0] if text.strip() else ""
    if first == "import":
        return "import"
    if first.startswith(":"):
        return "directive"
    if first in _DECL_KEYWORDS or _SIGNATURE.match(text):
        return "declaration"
    if first in ("let", "do") or _top_level(text, "<-"):
        return "statement"
    return "declaration" if _top_level(text, "=") else "statement"


def split_cell(source: str, first_line: int = 1) -> list[Chunk]:
    """The chunks of a cell; a cell starting with ``module M where`` is one module chunk."""
    lines = source.splitlines()
    body = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("--")]
    if body and _MODULE_HEADER.match(body[0]):
        return [Chunk("module", source, first_line)]
    chunks: list[tuple[int, list[str]]] = []
    for offset, line in enumerate(lines):
        if not line.strip():
            if chunks:
                chunks[-1][1].append(line)
            continue
        if line[0].isspace() and chunks:
            chunks[-1][1].append(line)
        else:
            chunks.append((first_line + offset, [line]))
    result: list[Chunk] = []
    for line_no, chunk_lines in chunks:
        text = "\n".join(chunk_lines).rstrip()
        if text.lstrip().startswith("--") and "\n" not in text:
            continue  # a comment line on its own
        result.append(Chunk(_classify(text), text, line_no))
    return result


def _join(chunks: Sequence[Chunk]) -> Chunk:
    """One declaration chunk of several, blank lines kept so that GHC's line numbers of the
    later ones still point into the cell."""
    text = chunks[0].text
    for chunk in chunks[1:]:
        gap = chunk.line - (chunks[0].line + text.count("\n"))
        text += "\n" * max(1, gap) + chunk.text
    return Chunk("declaration", text, chunks[0].line)


# ----------------------------------------------------------------------------- evaluating


_TABLE_TYPE: Final = re.compile(r"^(?:.*=>\s*)?(?:[\w.]+\.)?(Map|IntMap)\b")


@dataclass
class Notebook:
    """Evaluates cells in the *current* GHC session (call it inside ``GHC.runGhc``).

    ``timeout`` bounds each statement (seconds). Module cells are written to
    ``module_dir`` (a temporary directory by default) and loaded.
    """

    timeout: float | None = 10.0
    module_dir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="notebook-"))
    counter: int = 0
    modules: dict[str, str] = field(default_factory=dict)

    def run_cell(self, cell: Cell | str) -> list[Output]:
        """Evaluate one cell; every problem becomes an output, never an exception."""
        if isinstance(cell, str):
            cell = Cell(cell)
        self.counter += 1
        outputs: list[Output] = []
        pending: list[Chunk] = []
        for chunk in [*split_cell(cell.source), None]:
            # Consecutive declarations compile together: a signature and its equations,
            # or mutually recursive functions, must reach runDecls as one group.
            if chunk is not None and chunk.kind == "declaration":
                pending.append(chunk)
                continue
            if pending:
                group = _join(pending)
                pending = []
                if not self._guarded(group, outputs):
                    break
            if chunk is not None and not self._guarded(chunk, outputs):
                break  # as in a notebook, the rest of a failing cell does not run
        return outputs

    def _guarded(self, chunk: Chunk, outputs: list[Output]) -> bool:
        try:
            self._run_chunk(chunk, outputs)
        except GHC.SourceError as err:
            outputs.append(Output("error", self._render_source_error(err, chunk)))
            return False
        except GHC.HaskellException as exc:
            outputs.append(Output("exception", f"*** Exception ({exc.type}): {exc.message}"))
            return False
        except GHC.InterpreterCrashed as crash:
            restored = ", ".join(crash.replayed) or "nothing"
            outputs.append(Output("crash", f"the interpreter crashed ({crash}); it was "
                                           f"restarted and restored: {restored}"))
            return False
        except GHC.GhcException as err:
            outputs.append(Output("error", f"ghc: {err}"))
            return False
        return True

    def _run_chunk(self, chunk: Chunk, outputs: list[Output]) -> None:
        match chunk.kind:
            case "import":
                self._import(chunk.text)
            case "declaration":
                names = GHC.runDecls(chunk.text)
                if names:
                    outputs.append(Output("info", "defined " + ", ".join(names)))
            case "directive":
                outputs.append(self._directive(chunk.text))
            case "module":
                outputs.extend(self._load_module(chunk.text))
            case "statement":
                self._statement(chunk, outputs)

    def _import(self, text: str) -> None:
        decl = GHC.parseImportDecl(text)
        context = [i for i in GHC.getContext()
                   if not (isinstance(i, GHC.IIDecl) and i.decl.ideclName == decl.ideclName)]
        GHC.setContext([*context, GHC.IIDecl(decl)])

    def _directive(self, text: str) -> Output:
        command, _, arg = text.partition(" ")
        arg = arg.strip()
        if command in (":t", ":type"):
            return Output("type", f"{arg} :: {GHC.exprType(GHC.TM_Inst, arg)}")
        if command in (":k", ":kind"):
            type_, kind = GHC.typeKind(False, arg)
            return Output("type", f"{type_} :: {kind}")
        if command in (":i", ":info"):
            info = GHC.getInfo(False, arg)
            return Output("info", info.text.rstrip() if info else f"{arg}: not in scope")
        return Output("error", f"unknown directive {command} (try :t, :k or :i)")

    def _statement(self, chunk: Chunk, outputs: list[Output]) -> None:
        is_expression = not (chunk.text.startswith("let") or _top_level(chunk.text, "<-"))
        if is_expression and _TABLE_TYPE.match(GHC.exprType(GHC.TM_Inst, chunk.text)):
            value = GHC.dynCompileExpr(chunk.text)
            table = GHC.fromDynamic(value, dict)
            if table is not None:
                outputs.append(Output("table", _render_table(table)))
                return
        stdout: list[str] = []
        stderr: list[str] = []
        opts = GHC.ExecOptions(
            execSourceFile=f"cell{self.counter}",
            execLineNumber=chunk.line,
            timeout=self.timeout,
            stdout=stdout.append,
            stderr=stderr.append,
        )
        result = GHC.execStmt(chunk.text, opts)
        if stdout:
            outputs.append(Output("stdout", "".join(stdout)))
        if stderr:
            outputs.append(Output("stderr", "".join(stderr)))
        match result:
            case GHC.ExecComplete(execResult=GHC.Left(value=exc)):
                raise exc
            case GHC.ExecComplete(execResult=GHC.Right(value=names)) if names and \
                    names != ["it"]:
                outputs.append(Output("info", "bound " + ", ".join(names)))

    def _render_source_error(self, err: GHC.SourceError, chunk: Chunk) -> str:
        diagnostics = GHC.srcErrorMessages(err)
        if not diagnostics:
            return f"error: {err}"
        # exprType and runDecls report "<interactive>:1:c": place them in the cell instead.
        return "\n".join(
            str(dataclasses.replace(d, file=f"cell{self.counter}",
                                    line=d.line + chunk.line - 1,
                                    end_line=d.end_line + chunk.line - 1))
            if d.file == "<interactive>" else str(d)
            for d in diagnostics
        )

    def _load_module(self, source: str) -> list[Output]:
        body = [ln for ln in source.splitlines()
                if ln.strip() and not ln.lstrip().startswith("--")]
        header = _MODULE_HEADER.match(body[0])
        assert header is not None  # split_cell only makes module chunks of such cells
        name = header.group(1)
        path = Path(self.module_dir, *name.split(".")).with_suffix(".hs")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source + "\n", encoding="utf-8")
        self.modules[name] = str(path)
        previous = [i for i in GHC.getContext() if isinstance(i, GHC.IIDecl)]
        diagnostics: list[GHC.Diagnostic] = []
        GHC.setLogAction(diagnostics.append)
        GHC.setTargets([GHC.guessTarget(p) for p in self.modules.values()])
        flag = GHC.load(GHC.LoadAllTargets)
        outputs = [Output("error" if d.severity == "error" else "stderr", str(d))
                   for d in diagnostics]
        # load resets the context (GHC does; GHCi puts it back itself): restore the imports,
        # and bring every loaded module's whole scope in, as GHCi's :load does.
        loaded = [GHC.IIModule(GHC.mkModuleName(m)) for m in self.modules
                  if GHC.isLoaded(m)]
        GHC.setContext([*previous, *loaded])
        if flag is GHC.Succeeded:
            outputs.append(Output("info", f"module {name} loaded (as with GHC's load, "
                                          "earlier prompt bindings are gone)"))
        return outputs




def _render_table(table: dict[object, object]) -> str:
    rows = [(_plain(k), _plain(v)) for k, v in table.items()]
    rows.sort()
    width = max([3, *(len(k) for k, _ in rows)])
    lines = [f"{'key'.ljust(width)} | value", f"{'-' * width}-+-{'-' * 5}"]
    lines += [f"{k.ljust(width)} | {v}" for k, v in rows]
    return "\n".join(lines)


def _plain(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


# ------------------------------------------------------------------------------ running


def render(cell_no: int, cell: Cell, outputs: Sequence[Output]) -> str:
    """A cell and its outputs, as a notebook shows them."""
    lines = [f"In [{cell_no}]:"]
    lines += [f"  {ln}" for ln in cell.source.splitlines()]
    if outputs:
        lines.append(f"Out[{cell_no}]:")
    for out in outputs:
        prefix = {"error": "! ", "exception": "! ", "crash": "! ", "stderr": "~ "}.get(
            out.kind, "  "
        )
        lines += [prefix + ln for ln in out.text.rstrip("\n").splitlines()]
    return "\n".join(lines)


def run_notebook(text: str, *, timeout: float | None = 10.0
                 ) -> list[tuple[Cell | str, list[Output]]]:
    """Evaluate every cell of a Markdown notebook in one fresh session."""

    def action() -> list[tuple[Cell | str, list[Output]]]:
        notebook = Notebook(timeout=timeout)
        results: list[tuple[Cell | str, list[Output]]] = []
        for item in parse_markdown(text):
            results.append((item, [] if isinstance(item, str) else notebook.run_cell(item)))
        return results

    return GHC.runGhc(None, action)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m examples.notebook NOTEBOOK.md", file=sys.stderr)
        return 2
    try:
        text = Path(args[0]).read_text(encoding="utf-8")
    except OSError as exc:
        print(f"notebook: {exc}", file=sys.stderr)
        return 1
    try:
        results = run_notebook(text)
    except GHC.GhcException as exc:
        print(f"notebook: cannot run GHC: {exc}", file=sys.stderr)
        return 1
    cell_no = 0
    for item, outputs in results:
        if isinstance(item, str):
            print(f"\n{item}\n")
            continue
        cell_no += 1
        print(render(cell_no, item, outputs))
        print()
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

