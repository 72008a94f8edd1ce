"""Every legacy function warns: the right class, at the caller's line, with a real anchor.

Also the migration switch (``GHC_SHIM_COMPAT_WARNINGS``), the silence of ``import compat``, and
the static channel (mypy's ``deprecated`` error code). SQLAlchemy keeps deprecation tests in
files of their own; so does this project.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

import compat
from compat import _session, _warnings, dyn_compile, ghc_api
from compat._warnings import (
    ChangedWarning,
    GhcApiDeprecationWarning,
    LegacyName,
    MovedWarning,
    RemovedWarning,
)

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "migration_guide.md"

# Arguments that reach the warning; what the call does afterwards does not matter here
# (without a current session most calls raise GhcException after warning).
ARGS: dict[str, tuple[object, ...]] = {
    "runGhc": (None, lambda: None),
    "withSession": (None, lambda: None),
    "setSessionDynFlags": (ghc_api.DynFlags(),),
    "xopt_set": (ghc_api.DynFlags(), "GADTs"),
    "xopt_unset": (ghc_api.DynFlags(), "GADTs"),
    "xopt": ("GADTs", ghc_api.DynFlags()),
    "parseDynamicFlags": (ghc_api.DynFlags(), ["-XGADTs"]),
    "mkModuleName": ("Data.List",),
    "moduleNameString": ("Data.List",),
    "simpleImportDecl": ("Data.List",),
    "parseImportDecl": ("import Data.List",),
    "setContext": ([],),
    "execStmt": ("1",),
    "runDecls": ("x = 1",),
    "runStmt": ("1",),
    "getOccString": (ghc_api.Name("x"),),
    "exprType": (ghc_api.TM_Inst, "1"),
    "typeKind": (False, "Int"),
    "showPpr": (None, "x"),
    "showSDoc": (None, "x"),
    "parseName": ("map",),
    "getInfo": (False, "map"),
    "guessTarget": ("Foo.hs",),
    "setTargets": ([],),
    "addTarget": (ghc_api.Target(ghc_api.TargetFile("Foo.hs")),),
    "removeTarget": (ghc_api.TargetFile("Foo.hs"),),
    "load": (),
    "setLogAction": (lambda d: None,),
    "isLoaded": ("Foo",),
    "moduleIsInterpreted": ("Foo",),
    "isModuleInterpreted": ("Foo",),
    "srcErrorMessages": (ghc_api.SourceError("x"),),
    "handleSourceError": (lambda e: None, lambda: None),
    "dynCompileExpr": ("1",),
    "dynTypeRep": (None,),
    "fromDynamic": (None, int),
    "fromDyn": (None, 0),
    "toDyn": (1,),
    "bindValue": ("x", 1),
    "compileExpr": ("1",),
}

EXPECTED_CATEGORY: dict[str, type[GhcApiDeprecationWarning]] = {
    "runStmt": RemovedWarning,
    "isModuleInterpreted": RemovedWarning,
    "execStmt": ChangedWarning,
    "load": ChangedWarning,
    "setLogAction": ChangedWarning,
    "dynCompileExpr": ChangedWarning,
    "compileExpr": ChangedWarning,
    "fromDynamic": ChangedWarning,
    "fromDyn": ChangedWarning,
    "toDyn": ChangedWarning,
    "setSessionDynFlags": ChangedWarning,
    "parseDynamicFlags": ChangedWarning,
}

LEGACY = _warnings.legacy_names()


def public_functions() -> list[str]:
    names = set()
    for module in (ghc_api, dyn_compile):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                names.add(name)
    return sorted(names)


def guide_anchors() -> set[str]:
    """GitHub's heading anchors: lower-case, punctuation but ``-``/``_`` dropped, spaces to
    ``-``."""
    anchors = set()
    for line in GUIDE.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^#{1,6}\s+(.*)$", line)
        if heading:
            text = re.sub(r"`", "", heading.group(1).strip().lower())
            anchors.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return anchors


def test_every_public_function_is_registered_and_nothing_else() -> None:
    assert sorted(LEGACY) == public_functions()
    assert set(ARGS) <= set(LEGACY)


def test_classes_and_values_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ghc_api.ExecOptions(timeout=2)
        ghc_api.DynFlags(frozenset({"GADTs"}))
        ghc_api.IIDecl(ghc_api.ImportDecl(ghc_api.ModuleName("Data.List")))
        ghc_api.Left(1), ghc_api.Right(2), ghc_api.Just(3)
        assert ghc_api.LangExt.GADTs == "GADTs"
        assert ghc_api.execOptions.execLineNumber == 1


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_message_format_category_and_anchor(name: str) -> None:
    entry: LegacyName = LEGACY[name]
    assert entry.category is EXPECTED_CATEGORY.get(name, MovedWarning)
    assert entry.message == (
        f"{name} is deprecated: use {entry.replacement} instead "
        f"(migration_guide.md#{entry.anchor})"
    )
    assert entry.replacement.startswith(("core.client.", "str()"))
    assert entry.anchor in guide_anchors(), f"no heading for #{entry.anchor} in the guide"


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_warns_at_the_callers_line(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # No server is needed: a call that reaches the session fails after warning.
    def no_server() -> object:
        raise ghc_api.GhcException("no server in this test")

    monkeypatch.setattr(_session, "shared_client", no_server)
    fn: Callable[..., object] = getattr(ghc_api, name)
    args = ARGS.get(name, ())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 2  # type: ignore[union-attr]
        with contextlib.suppress(Exception):  # only the warning matters here
            fn(*args)
    ours = [w for w in caught if issubclass(w.category, GhcApiDeprecationWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]
    (record,) = ours
    assert record.category is LEGACY[name].category
    assert str(record.message) == LEGACY[name].message
    assert (record.filename, record.lineno) == (__file__, line)


def test_pytest_warns_sees_each_class() -> None:
    with pytest.warns(MovedWarning, match=r"mkModuleName is deprecated: use core\.client"):
        ghc_api.mkModuleName("A")
    with pytest.warns(RemovedWarning, match="migration_guide.md#runstmt"), \
            pytest.raises(ghc_api.GhcException, match="no current GHC session"):
        ghc_api.runStmt("1")
    with pytest.warns(ChangedWarning, match="dyncompileexpr"), \
            pytest.raises(ghc_api.GhcException):
        ghc_api.dynCompileExpr("1")


def test_usage_is_counted() -> None:
    before = _warnings.usage().get("moduleNameString", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ghc_api.moduleNameString("A")
        ghc_api.moduleNameString("B")
    assert _warnings.usage()["moduleNameString"] == before + 2


def test_warning_classes_are_exported_everywhere() -> None:
    for cls in (GhcApiDeprecationWarning, MovedWarning, ChangedWarning, RemovedWarning):
        assert getattr(compat, cls.__name__) is cls
        assert getattr(ghc_api, cls.__name__) is cls
    assert issubclass(GhcApiDeprecationWarning, DeprecationWarning)
    assert compat.__all__ == sorted(compat.__all__)
    assert ghc_api.__all__ == sorted(ghc_api.__all__)
    assert dyn_compile.__all__ == sorted(dyn_compile.__all__)


def run_python(code: str, env_value: str | None, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop(_warnings.ENV_VAR, None)
    if env_value is not None:
        env[_warnings.ENV_VAR] = env_value
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, *extra, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, env=env, timeout=60, cwd=ROOT,
    )


# A legacy call made from library code (not __main__): hidden by Python's default filters.
LIBRARY_CALL = """
import types
lib = types.ModuleType("legacy_lib")
exec("from compat import ghc_api\\ndef f():\\n    return ghc_api.mkModuleName('M')", lib.__dict__)
print("result", lib.f())
"""


def test_env_error_turns_every_legacy_call_into_an_exception() -> None:
    proc = run_python(LIBRARY_CALL, "error")
    assert proc.returncode != 0
    assert "compat._warnings.MovedWarning: mkModuleName is deprecated" in proc.stderr
    assert "result" not in proc.stdout


@pytest.mark.parametrize(("value", "shown"), [("always", True), ("default", True),
                                               ("once", True), ("ignore", False),
                                               (None, False), ("bogus", False)])
def test_env_switch_controls_visibility(value: str | None, shown: bool) -> None:
    proc = run_python(LIBRARY_CALL, value)
    assert proc.returncode == 0, proc.stderr
    assert "result M" in proc.stdout
    assert ("MovedWarning: mkModuleName is deprecated" in proc.stderr) is shown


def test_importing_compat_never_warns() -> None:
    proc = run_python(
        "import compat, compat.ghc_api, compat.dyn_compile, compat.pytest_plugin",
        "error", "-W", "error",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_mypy_flags_legacy_calls(tmp_path: Path) -> None:
    # Slow-ish (one mypy run, a few seconds with a cold cache): the static channel of the
    # migration, API.md §1.9. mypy only follows literal @deprecated messages.
    (tmp_path / "legacy.py").write_text(textwrap.dedent("""\
        from compat import ghc_api


        def f() -> None:
            ghc_api.execStmt("1 + 1")
            ghc_api.ExecOptions(timeout=2)
    """))
    (tmp_path / "mypy.ini").write_text(
        "[mypy]\nstrict = True\nenable_error_code = deprecated\nfollow_imports = silent\n"
        "plugins = pydantic.mypy\n"
    )
    env = dict(os.environ, MYPYPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini",
         "--cache-dir", str(tmp_path / ".mypy_cache"), "legacy.py"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60,
    )
    ours = [line for line in proc.stdout.splitlines() if line.startswith("legacy.py")]
    assert ours == [
        "legacy.py:5: error: function compat.ghc_api.execStmt is deprecated: execStmt is "
        "deprecated: use core.client.Session.exec_stmt instead "
        "(migration_guide.md#execstmt)  [deprecated]"
    ], proc.stdout + proc.stderr
