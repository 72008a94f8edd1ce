"""``ghc-shim migrate-check PATH...``: a static report of every legacy GHC-API call left.

Finds, without running anything, each use of a legacy function of ``compat.ghc_api`` /
``compat.dyn_compile`` in Python files that import the facade in any spelling::

    from compat import ghc_api as GHC          GHC.execStmt(...)
    import compat.ghc_api                      compat.ghc_api.execStmt(...)
    import compat.ghc_api as G                 G.execStmt(...)
    from compat.ghc_api import execStmt as e   e(...)
    import GHC        (with --alias GHC)       GHC.execStmt(...)

and prints ``file:line:col: name [WarningClass] use <replacement> (migration_guide.md#anchor)``
for each; the exit status is 1 while any remain, 0 when none.

Responsible for: that analysis and report. Must not: import or execute the checked code
(only ``ast.parse`` it), or track data flow beyond import aliases (a facade function stored
in a variable and called later is reported where it is referenced, not where it is called).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO

from compat._warnings import LegacyName, legacy_names

__all__ = ["Finding", "check_paths", "check_source", "main", "run"]

FACADE_MODULES: Final = ("compat.ghc_api", "compat.dyn_compile")
_SKIP_DIRS: Final = frozenset({"__pycache__", "node_modules", "site-packages"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One use of a legacy name."""

    path: str
    line: int
    column: int
    name: str
    legacy: LegacyName

    def __str__(self) -> str:
        return (f"{self.path}:{self.line}:{self.column}: {self.name} "
                f"[{self.legacy.category.__name__}] use {self.legacy.replacement} "
                f"(migration_guide.md#{self.legacy.anchor})")


def _registry() -> dict[str, LegacyName]:
    # Importing the facade registers every legacy function with its literal message.
    import compat.ghc_api  # noqa: F401

    return legacy_names()


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: str, aliases: Iterable[str], registry: dict[str, LegacyName]):
        self.path = path
        self.registry = registry
        self.facades = set(FACADE_MODULES) | set(aliases)
        # Dotted names bound to a facade module, and plain names bound to a facade function.
        self.module_names: set[str] = set()
        self.function_names: dict[str, str] = {}
        self.findings: list[Finding] = []

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name in self.facades:
                # ``import compat.ghc_api`` binds ``compat`` but is used as ``compat.ghc_api``.
                self.module_names.add(alias.asname or alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or node.module is None:
            return
        for alias in node.names:
            full = f"{node.module}.{alias.name}"
            if full in self.facades:
                self.module_names.add(alias.asname or alias.name)
            elif node.module in self.facades and alias.name in self.registry:
                self.function_names[alias.asname or alias.name] = alias.name

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in self.registry and _dotted(node.value) in self.module_names:
            self._found(node, node.attr)
        else:
            self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and node.id in self.function_names:
            self._found(node, self.function_names[node.id])

    def _found(self, node: ast.expr, name: str) -> None:
        self.findings.append(
            Finding(self.path, node.lineno, node.col_offset + 1, name, self.registry[name])
        )


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def check_source(source: str, path: str = "<string>", aliases: Iterable[str] = ()
                 ) -> list[Finding]:
    """The legacy uses in one file's text, in source order.

    Raises:
        SyntaxError: the text is not Python.
    """
    tree = ast.parse(source, path)
    visitor = _Visitor(path, aliases, _registry())
    # Imports first (they may come after a use inside a function body), then the uses.
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            visitor.visit(node)
    for node in tree.body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            visitor.visit(node)
    return sorted(visitor.findings, key=lambda f: (f.line, f.column))


def _python_files(paths: Sequence[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(path.rglob("*.py")):
                parts = file.relative_to(path).parts[:-1]
                if not any(p.startswith(".") or p in _SKIP_DIRS for p in parts):
                    yield file
        else:
            yield path


def check_paths(paths: Sequence[str], aliases: Iterable[str] = ()
                ) -> tuple[list[Finding], list[str]]:
    """Findings in every ``.py`` file under ``paths``, and the files that could not be read.
    """
    findings: list[Finding] = []
    problems: list[str] = []
    alias_list = list(aliases)
    for file in _python_files(paths):
        try:
            source = file.read_text(encoding="utf-8")
            findings += check_source(source, str(file), alias_list)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
            problems.append(f"{file}: cannot check: {exc}")
    return findings, problems


def run(paths: Sequence[str], aliases: Iterable[str] = (), out: TextIO | None = None) -> int:
    """Print the report; 1 while legacy calls remain (or a file could not be checked)."""
    stream = out if out is not None else sys.stdout
    findings, problems = check_paths(paths, aliases)
    for finding in findings:
        print(finding, file=stream)
    for problem in problems:
        print(problem, file=stream)
    files = len({f.path for f in findings})
    if findings:
        by_class: dict[str, int] = {}
        for f in findings:
            key = f.legacy.category.__name__
            by_class[key] = by_class.get(key, 0) + 1
        summary = ", ".join(f"{n} {cls}" for cls, n in sorted(by_class.items()))
        print(f"{len(findings)} legacy GHC-API uses in {files} files ({summary}); "
              "see migration_guide.md", file=stream)
    else:
        print("no legacy GHC-API uses found", file=stream)
    return 1 if findings or problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m compat.migrate_check PATH...`` (the same as ``ghc-shim migrate-check``)."""
    from compat.cli import main as cli_main

    return cli_main(["migrate-check", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
