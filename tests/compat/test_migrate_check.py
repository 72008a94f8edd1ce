"""``ghc-shim migrate-check``: every spelling of the facade import, the report, the exit status."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from compat import cli, migrate_check

ROOT = Path(__file__).resolve().parents[2]


def findings(source: str, aliases: tuple[str, ...] = ()) -> list[tuple[int, str, str]]:
    return [(f.line, f.name, f.legacy.category.__name__)
            for f in migrate_check.check_source(textwrap.dedent(source), "x.py", aliases)]


@pytest.mark.parametrize(
    "source",
    [
        "from compat import ghc_api as GHC\nGHC.execStmt('1')\n",
        "from compat import ghc_api\nghc_api.execStmt('1')\n",
        "import compat.ghc_api\ncompat.ghc_api.execStmt('1')\n",
        "import compat.ghc_api as G\nG.execStmt('1')\n",
        "from compat.ghc_api import execStmt\nexecStmt('1')\n",
        "from compat.ghc_api import execStmt as run\nrun('1')\n",
        "def f():\n    from compat import ghc_api\n    return ghc_api.execStmt('1')\n",
    ],
)
def test_every_import_spelling(source: str) -> None:
    found = findings(source)
    assert [(name, cls) for _, name, cls in found] == [("execStmt", "ChangedWarning")]


def test_dyn_compile_module_and_aliases() -> None:
    source = """\
        import GHC
        from compat import dyn_compile as D
        from ghc import runStmt

        GHC.runGhc(None, lambda: D.dynCompileExpr("1"))
        runStmt("x")
        GHC.ExecOptions(timeout=2)   # a class: not a call to migrate
        other.execStmt("1")           # not the facade
    """
    assert findings(source) == [(5, "dynCompileExpr", "ChangedWarning")]
    assert findings(source, ("GHC", "ghc")) == [
        (5, "runGhc", "MovedWarning"), (5, "dynCompileExpr", "ChangedWarning"),
        (6, "runStmt", "RemovedWarning"),
    ]


def test_report_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    legacy = tmp_path / "pkg" / "legacy.py"
    legacy.parent.mkdir()
    legacy.write_text("from compat import ghc_api as GHC\n\nGHC.getContext()\n")
    (tmp_path / "pkg" / "clean.py").write_text("from core.client import connect\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "skipped.py").write_text("from compat import ghc_api\nghc_api.load()\n")
    assert cli.main(["migrate-check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{legacy}:3:1: getContext [MovedWarning] use core.client.Session.get_context " \
           "(migration_guide.md#getcontext)" in out
    assert "skipped" not in out and "1 legacy GHC-API uses" in out
    legacy.write_text("from core.client import connect\n")
    assert cli.main(["migrate-check", str(tmp_path)]) == 0
    assert "no legacy GHC-API uses found" in capsys.readouterr().out


def test_unparsable_files_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.py").write_text("def (:\n")
    assert cli.main(["migrate-check", str(tmp_path)]) == 1
    assert "cannot check" in capsys.readouterr().out


def test_the_console_script_knows_core_commands_and_migrate_check() -> None:
    proc = subprocess.run([sys.executable, "-m", "compat.cli", "--help"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0
    for command in ("serve", "eval", "repl", "migrate-check"):
        assert command in proc.stdout


def test_the_notebook_example_is_all_legacy() -> None:
    found, problems = migrate_check.check_paths([str(ROOT / "examples")], ["GHC"])
    assert not problems
    assert {f.name for f in found} >= {"execStmt", "dynCompileExpr", "exprType", "setContext",
                                       "getContext", "runDecls", "load", "runGhc"}
