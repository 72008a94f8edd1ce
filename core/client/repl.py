"""``ghc-shim repl``: an interactive prompt that maps GHCi-style input to operations.

Responsible for: reading lines (with history where ``readline`` exists), mapping ``:t``,
``:k``, ``:k!``, ``:i``, ``:m``, ``import``, ``:l``, ``:r``, ``:set`` and ``:{``/``:}`` blocks to
protocol operations, and printing results and errors. Must not: send text to the server as a
colon command — every command here becomes an explicit operation.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from typing import TextIO

from core.client.results import Import, LoadOutcome, Target
from core.client.session import Session
from core.protocol.errors import CompileError, RequestError

__all__ = ["Repl", "parse_import"]

_DECL_START = re.compile(
    r"^(data|newtype|type|class|instance|deriving|default|foreign|infixl?|infixr)\b"
)
_IMPORT = re.compile(
    r"^import\s+(?P<qual>qualified\s+)?(?P<mod>[A-Z][\w.']*)(\s+as\s+(?P<as>[A-Z][\w.']*))?"
    r"(\s+(?P<hiding>hiding\s*)?\((?P<names>.*)\))?\s*$"
)

HELP = """Haskell statements and declarations are evaluated as typed. Commands:
  :t[ype] [+v|+d] EXPR   type of an expression      :k[ind][!] TYPE   kind (and normal form)
  :i[nfo] NAME           information about a name    :m [+|-] [*]M ... change the context
  import ...             add an import               :l[oad] FILE ...  load modules
  :r[eload]              load the targets again      :set -XExt ...    set flags
  :{ ... :}              multi-line input            :q[uit]           leave
"""


def parse_import(text: str) -> Import | None:
    """An ``import`` line as an ``Import``; None when it is not one."""
    match = _IMPORT.match(text.strip())
    if match is None:
        return None
    names = match.group("names")
    return Import(
        module=match.group("mod"),
        qualified=bool(match.group("qual")),
        as_=match.group("as"),
        hiding=None if names is None else bool(match.group("hiding")),
        names=tuple(n.strip() for n in names.split(",") if n.strip()) if names else (),
    )


class Repl:
    def __init__(self, session: Session, *, stdin: TextIO | None = None,
                 stdout: TextIO | None = None) -> None:
        self.session = session
        self.stdin = stdin or sys.stdin
        self.out = stdout or sys.stdout
        self.interactive = self.stdin.isatty()
        if self.interactive:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401 - enables history and line editing for input()

    def _read(self, prompt: str) -> str | None:
        if self.interactive:
            try:
                return input(prompt)
            except EOFError:
                return None
        line = self.stdin.readline()
        return line.rstrip("\n") if line else None

    def loop(self) -> int:
        while True:
            line = self._read("ghc-shim> ")
            if line is None:
                return 0
            if line.strip() == ":{":
                lines = []
                while (more := self._read("ghc-shim| ")) is not None and more.strip() != ":}":
                    lines.append(more)
                line = "\n".join(lines)
            if line.strip() in (":q", ":quit"):
                return 0
            try:
                self.handle(line)
            except RequestError as exc:
                print(str(exc), file=sys.stderr)
            except KeyboardInterrupt:
                # The client has already stopped the request in the session.
                print("Interrupted.", file=sys.stderr)

    def _print(self, text: str) -> None:
        print(text, file=self.out)

    def handle(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        if text.startswith("import "):
            imp = parse_import(text)
            if imp is None:
                raise CompileError(f"cannot parse import: {text}")
            self.session.set_context([*self.session.get_context(), imp])
            return
        if text.startswith(":"):
            self._command(text)
            return
        def write(stream: str, chunk: str) -> None:
            (self.out if stream == "stdout" else sys.stderr).write(chunk)

        if _DECL_START.match(text):
            self.session.run_decls(line)
            return
        try:
            outcome = self.session.exec_stmt(line, on_output=write)
        except CompileError:
            if "=" not in line:
                raise
            self.session.run_decls(line)  # `f x = ...` at a prompt is a declaration
            return
        if outcome.exception is not None:
            if outcome.exception.type == "UserInterrupt":
                print("Interrupted.", file=sys.stderr)
            else:
                print(f"*** Exception: {outcome.exception.message}", file=sys.stderr)

    def _command(self, text: str) -> None:
        word, _, rest = text.partition(" ")
        rest = rest.strip()
        if word in (":t", ":type"):
            mode = "inst"
            if rest.startswith(("+v ", "+d ")):
                mode = "noinst" if rest[1] == "v" else "default"
                rest = rest[3:].strip()
            self._print(f"{rest} :: {self.session.expr_type(rest, mode)}")  # type: ignore[arg-type]
        elif word in (":k", ":kind", ":k!", ":kind!"):
            result = self.session.type_kind(rest, normalise=word.endswith("!"))
            self._print(f"{rest} :: {result.kind}")
            if word.endswith("!"):
                self._print(f"= {result.type}")
        elif word in (":i", ":info"):
            info = self.session.info(rest)
            self._print(info[0].rstrip() if info else f"Not in scope: ‘{rest}’")
        elif word in (":m", ":module"):
            self._module(rest)
        elif word in (":l", ":load"):
            targets = [Target("file" if n.endswith((".hs", ".lhs")) else "module", n)
                       for n in rest.split()]
            self.session.set_targets(targets)
            self._report_load()
        elif word in (":r", ":reload"):
            self._report_load()
        elif word == ":set":
            flags = self.session.set_flags(rest.split())
            if flags.unrecognized:
                print("Some flags have not been recognized: " + " ".join(flags.unrecognized),
                      file=sys.stderr)
        elif word in (":?", ":h", ":help"):
            self._print(HELP)
        else:
            print(f"unknown command {word!r}; :? lists the commands", file=sys.stderr)

    def _enter_first_target(self, outcome: LoadOutcome) -> None:
        """Bring the first loaded target's top level into scope, next to the imports kept,
        as GHCi's :load does (``:module +*M -- added automatically``)."""
        for target in self.session.get_targets():
            loaded = next((m for m in outcome.modules
                           if (m.name == target.name if target.kind == "module"
                               else os.path.normpath(m.file) == os.path.normpath(target.name))),
                          None)
            if loaded is not None:
                scope = Import(loaded.name, kind="module" if loaded.interpreted else "decl")
                context = self.session.get_context()
                if scope not in context:
                    self.session.set_context([*context, scope])
                return

    def _module(self, rest: str) -> None:
        context = self.session.get_context()
        if not rest:
            self.session.set_context([])
            return
        op = rest[0] if rest[0] in "+-" else "="
        names = rest[1:].split() if op != "=" else rest.split()
        new = [Import(n.lstrip("*"), kind="module" if n.startswith("*") else "decl")
               for n in names]
        if op == "+":
            context = context + new
        elif op == "-":
            drop = {i.module for i in new}
            context = [i for i in context if i.module not in drop]
        else:
            context = new
        self.session.set_context(context)

    def _report_load(self) -> None:
        outcome = self.session.load(restore_context=True)
        self._enter_first_target(outcome)
        for d in outcome.diagnostics:
            print(f"{d.file}:{d.line}:{d.column}: {d.severity}:\n    {d.message}",
                  file=sys.stderr)
        count = len(outcome.modules)
        if outcome.success:
            self._print(f"Ok, {count} module{'s' if count != 1 else ''} loaded.")
        else:
            self._print("Failed, modules loaded: " + ", ".join(m.name for m in outcome.modules)
                        if outcome.modules else "Failed, no modules loaded.")
