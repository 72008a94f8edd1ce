"""The notebook evaluator's own (legacy) test suite.

Written the way the tool's suite was written against GHC's in-process API: it imports the
API as ``GHC``. No such module exists — it appears only when the suite runs under the shim's
pytest plugin, which maps the name onto ``compat.ghc_api``::

    python -m pytest -p compat.pytest_plugin --ghc-shim-alias GHC examples/tests
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import GHC  # type: ignore[import-not-found]  # provided by --ghc-shim-alias GHC

from examples.notebook import Cell, Notebook, Output, parse_markdown, run_notebook, split_cell

T = TypeVar("T")
DEMO = Path(__file__).resolve().parents[1] / "demo_notebook.md"


def in_session(action: Callable[[], T]) -> T:
    result: T = GHC.runGhc(None, action)
    return result


def run_cells(*cells: str) -> list[list[Output]]:
    def action() -> list[list[Output]]:
        notebook = Notebook(timeout=5.0)
        return [notebook.run_cell(Cell(source)) for source in cells]

    return in_session(action)


def texts(outputs: list[Output], kind: str) -> list[str]:
    return [o.text for o in outputs if o.kind == kind]


def test_the_alias_is_the_facade() -> None:
    assert GHC.__name__ == "compat.ghc_api"
    assert GHC.execOptions.execSingleStep is GHC.RunToCompletion


def test_cells_split_into_imports_declarations_and_statements() -> None:
    chunks = split_cell(
        "import Data.List (sort)\n"
        "double :: Int -> Int\n"
        "double n = n * 2\n"
        "x <- return (double 2)\n"
        "print (x == 4)\n"
        ":t double\n"
        "f n\n  | n > 0 = 1\n  | otherwise = 0\n"
    )
    assert [(c.kind, c.line) for c in chunks] == [
        ("import", 1), ("declaration", 2), ("declaration", 3), ("statement", 4),
        ("statement", 5), ("directive", 6), ("declaration", 7),
    ]
    assert split_cell("-- a module\nmodule M where\nx = 1")[0].kind == "module"


def test_markdown_cells_and_headings() -> None:
    items = list(parse_markdown("# Title\ntext\n```haskell\n1 + 1\n```\n```sh\nls\n```\n"))
    assert items == ["# Title", Cell("1 + 1")]


def test_statements_print_and_bind() -> None:
    (outputs,) = run_cells("let xs = [3, 1, 2]\nimport Data.List (sort)\nsort xs")
    assert texts(outputs, "stdout") == ["[1,2,3]\n"]
    assert texts(outputs, "info") == ["bound xs"]


def test_declarations_compile_together() -> None:
    (outputs,) = run_cells(
        "data T = A | B deriving Show\n\nnext :: T -> T\nnext A = B\nnext B = A\n\nnext A"
    )
    assert texts(outputs, "info") == ["defined next, T"]
    assert texts(outputs, "stdout") == ["B\n"]


def test_type_kind_and_info_directives() -> None:
    (outputs,) = run_cells(":t map\n:k Maybe\n:i Bool")
    assert texts(outputs, "type") == ["map :: (a -> b) -> [a] -> [b]", "Maybe :: * -> *"]
    assert "data Bool = False | True" in texts(outputs, "info")[0]


def test_a_map_is_displayed_as_a_table() -> None:
    (outputs,) = run_cells('Data.Map.fromList [("b", 2 :: Int), ("a", 1)]')
    assert texts(outputs, "table") == ["key | value\n----+------\na   | 1\nb   | 2"]


def test_errors_and_exceptions_are_reported_and_the_session_survives() -> None:
    failing, raising, after = run_cells(
        "let kept = 41 :: Int\nkept + 'x'\nprint 'never'",
        "head ([] :: [Int])",
        "kept + 1",
    )
    assert texts(failing, "info") == ["bound kept"]
    (error,) = texts(failing, "error")
    assert error.startswith("cell1:2:8: error:") and "Couldn't match expected type" in error
    assert texts(failing, "stdout") == []  # the rest of a failing cell does not run
    assert texts(raising, "exception") == ["*** Exception (ErrorCall): Prelude.head: empty list"]
    assert texts(after, "stdout") == ["42\n"]


def test_output_on_stderr_is_captured() -> None:
    (outputs,) = run_cells('System.IO.hPutStrLn System.IO.stderr "careful"')
    assert texts(outputs, "stderr") == ["careful\n"]


def test_a_runaway_cell_hits_the_time_limit() -> None:
    (outputs,) = run_cells("length [1 ..]")
    assert texts(outputs, "exception") == ["*** Exception (Timeout): timeout"]


def test_module_cells_are_loaded_into_scope() -> None:
    loaded, used, broken = run_cells(
        "module Shapes where\n\nsquare :: Int -> Int\nsquare n = n * n",
        "square 7",
        'module Broken where\n\nbroken :: Int\nbroken = "no"',
    )
    assert texts(loaded, "info")[0].startswith("module Shapes loaded")
    assert texts(used, "stdout") == ["49\n"]
    (error,) = texts(broken, "error")
    assert "Broken.hs:4:10-13: error:" in error


def test_the_demo_notebook_runs() -> None:
    results = run_notebook(DEMO.read_text(encoding="utf-8"))
    cells = [outputs for item, outputs in results if isinstance(item, Cell)]
    assert len(cells) == 9
    everything = [o for outputs in cells for o in outputs]
    assert sum(o.kind == "error" for o in everything) == 1
    assert sum(o.kind == "exception" for o in everything) == 1
    assert any(o.kind == "table" for o in everything)
    assert texts(cells[-1], "stdout") == ["20.0\n", '"imps"\n']
