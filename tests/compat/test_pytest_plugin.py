"""The pytest plugin: inert by default, ``--ghc-shim-alias``, ``--ghc-shim-server``, and the
migration report; and the example legacy suite run through it (API deliverable 4 and 5)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_pytest(
    args: list[str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("GHC_SHIM_SERVER", None)
    env.pop("GHC_SHIM_COMPAT_WARNINGS", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout,
    )


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A tiny foreign test suite with its own (empty) configuration."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return tmp_path


def test_inert_without_options_or_legacy_calls(suite: Path) -> None:
    (suite / "test_plain.py").write_text("def test_plain() -> None:\n    assert 1 + 1 == 2\n")
    proc = run_pytest(["-q"], suite)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ghc-shim" not in proc.stdout + proc.stderr
    assert "core.client" not in proc.stdout
    proc = run_pytest(["-q", "--help"], suite)
    assert "--ghc-shim-alias" in proc.stdout and "--ghc-shim-server" in proc.stdout


def test_alias_installs_the_facade_before_collection(suite: Path) -> None:
    (suite / "test_alias.py").write_text(textwrap.dedent("""\
        import GHC
        from GHC import mkModuleName


        def test_alias() -> None:
            assert GHC.__name__ == "compat.ghc_api"
            assert mkModuleName("Data.List") == "Data.List"
    """))
    proc = run_pytest(["-q", "-W", "ignore::DeprecationWarning", "-p", "compat.pytest_plugin",
                       "--ghc-shim-alias", "GHC"], suite)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ghc-shim migration report" in proc.stdout
    report = proc.stdout.split("ghc-shim migration report", 1)[1]
    assert "mkModuleName" in report and "MovedWarning" in report
    assert "migration_guide.md#mkmodulename" in report


def test_alias_refuses_a_name_already_taken(suite: Path) -> None:
    (suite / "test_x.py").write_text("def test_x() -> None:\n    pass\n")
    proc = run_pytest(["-q", "--ghc-shim-alias", "os"], suite)
    assert proc.returncode != 0
    assert "already imported" in proc.stderr


def test_options_without_legacy_calls_report_nothing_to_migrate(suite: Path) -> None:
    (suite / "test_x.py").write_text("def test_x() -> None:\n    pass\n")
    proc = run_pytest(["-q", "--ghc-shim-alias", "GHC"], suite)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no legacy GHC-API call was made" in proc.stdout


@pytest.mark.ghc
def test_shared_server_for_the_whole_run(suite: Path) -> None:
    (suite / "test_server.py").write_text(textwrap.dedent("""\
        import os

        import GHC


        def test_server_is_shared() -> None:
            assert os.environ["GHC_SHIM_SERVER"].startswith("unix:")
            out = []
            GHC.runGhc(None, lambda: GHC.execStmt("print (6 * 7)",
                                                  GHC.ExecOptions(stdout=out.append)))
            assert "".join(out) == "42\\n"
    """))
    proc = run_pytest(["-q", "-W", "ignore::DeprecationWarning", "--ghc-shim-alias", "GHC",
                       "--ghc-shim-server"], suite)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "execStmt" in proc.stdout.split("ghc-shim migration report", 1)[1]


@pytest.mark.ghc
def test_the_example_legacy_suite_passes_through_the_plugin() -> None:
    proc = run_pytest(["-p", "compat.pytest_plugin", "--ghc-shim-alias", "GHC",
                       "examples/tests"], ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
    report = proc.stdout.split("ghc-shim migration report", 1)[1]
    for name, category in [("execStmt", "ChangedWarning"), ("dynCompileExpr", "ChangedWarning"),
                           ("setContext", "MovedWarning"), ("runDecls", "MovedWarning"),
                           ("exprType", "MovedWarning"), ("load", "ChangedWarning")]:
        line = next(ln for ln in report.splitlines() if ln.startswith(name + " "))
        assert category in line and f"migration_guide.md#{name.lower()}" in line


@pytest.mark.ghc
def test_the_example_suite_needs_the_alias() -> None:
    proc = run_pytest(["-q", "examples/tests"], ROOT)
    assert proc.returncode != 0
    assert "No module named 'GHC'" in proc.stdout


@pytest.mark.ghc
def test_the_notebook_runs_directly() -> None:
    env = dict(os.environ)
    env.pop("GHC_SHIM_SERVER", None)
    proc = subprocess.run(
        [sys.executable, "-m", "examples.notebook", "examples/demo_notebook.md"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "In [9]:" in out and "Out[9]:" in out
    assert "[3.141592653589793,6.0]" in out
    assert "*** Exception (ErrorCall): Prelude.head: empty list" in out
    assert "Data constructor not in scope: Square" in out
    assert "the | 3" in out
    assert "10.0" in out  # the module cell's function
    assert "MovedWarning" in proc.stderr  # run as __main__: Python shows the warnings
