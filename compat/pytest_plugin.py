"""pytest plugin for running legacy GHC-API test suites through the shim (entry point
``pytest11 = ghc_shim``, so pytest loads it in every run once the package is installed).

Options:

* ``--ghc-shim-alias NAME`` (repeatable): before collection, ``sys.modules[NAME]`` becomes
  ``compat.ghc_api``, so a legacy suite's ``import NAME`` / ``from NAME import execStmt`` gets
  the facade without an edit.
* ``--ghc-shim-server``: start one ``ghc-shim serve --listen unix:<tmp>`` for the whole run
  and point ``GHC_SHIM_SERVER`` at it, so every test (and every subprocess the tests start)
  shares one warm server. Default: the embedded per-process server.

At the end, a "ghc-shim migration report" section lists each legacy name the run called:
calls, warning class, replacement, guide anchor.

Responsible for: those options and that report. Must not: do anything — no output, no
server, no import of ``core`` — when no ghc-shim option is given and no legacy call was made
(it is loaded into every pytest run, including ones that have nothing to do with GHC).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import pytest

from compat import _warnings

if TYPE_CHECKING:
    from core.client.launcher import ServerProcess

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "pytest_plugin_registered",
    "pytest_terminal_summary",
    "pytest_unconfigure",
]

_SERVER_START_TIMEOUT: Final = 60.0
_ENTRY_POINT: Final = "ghc_shim"  # the pytest11 entry point name in pyproject.toml


@dataclass
class _Server:
    process: ServerProcess
    previous_env: str | None


_server_key: Final = pytest.StashKey[_Server]()


def pytest_plugin_registered(
    plugin: object, plugin_name: str, manager: pytest.PytestPluginManager
) -> None:
    # ``pytest -p compat.pytest_plugin`` registers this module under its module name; the
    # installed entry point would then register the same module again as "ghc_shim", which
    # pluggy refuses ("already registered under a different name"). Block the entry point.
    if plugin is sys.modules[__name__] and plugin_name != _ENTRY_POINT:
        manager.set_blocked(_ENTRY_POINT)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ghc-shim", "GHC-API shim: run legacy GHC-API suites")
    group.addoption(
        "--ghc-shim-alias",
        action="append",
        default=[],
        metavar="NAME",
        help="make 'import NAME' give compat.ghc_api (repeatable)",
    )
    group.addoption(
        "--ghc-shim-server",
        action="store_true",
        default=False,
        help="share one 'ghc-shim serve' (unix socket) among all tests of the run",
    )


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("ghc_shim_alias") or config.getoption("ghc_shim_server"))


def pytest_configure(config: pytest.Config) -> None:
    aliases: list[str] = config.getoption("ghc_shim_alias")
    if aliases:
        _install_aliases(aliases)
    # A pytest-xdist worker inherits the controller's GHC_SHIM_SERVER: one server per run.
    is_worker = hasattr(config, "workerinput") and "GHC_SHIM_SERVER" in os.environ
    if config.getoption("ghc_shim_server") and not is_worker:
        config.stash[_server_key] = _start_server()


def _install_aliases(aliases: list[str]) -> None:
    from compat import ghc_api

    for name in aliases:
        if not name.isidentifier():
            raise pytest.UsageError(
                f"--ghc-shim-alias {name!r}: give a plain module name (no dots)"
            )
        existing = sys.modules.get(name)
        if existing is not None and existing is not ghc_api:
            raise pytest.UsageError(
                f"--ghc-shim-alias {name}: a module of that name is already imported "
                f"({existing!r}); choose a name only the legacy suite uses"
            )
        sys.modules[name] = ghc_api


def _start_server() -> _Server:
    from core.client.launcher import ServerProcess  # only when asked for: no core otherwise
    from core.protocol.errors import ShimError

    try:
        server = ServerProcess(start_timeout=_SERVER_START_TIMEOUT)
    except ShimError as exc:
        raise pytest.UsageError(f"--ghc-shim-server: {exc}") from exc
    previous = os.environ.get("GHC_SHIM_SERVER")
    os.environ["GHC_SHIM_SERVER"] = server.address
    return _Server(server, previous)


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_server_key, None)
    if server is None:
        return
    # Close the facade's connection first, so its sessions end before the server does.
    session_module = sys.modules.get("compat._session")
    if session_module is not None:
        session_module._close_shared_client()
    server.process.close()
    if server.previous_env is None:
        os.environ.pop("GHC_SHIM_SERVER", None)
    else:
        os.environ["GHC_SHIM_SERVER"] = server.previous_env
    del config.stash[_server_key]


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    counts = _warnings.usage()
    if not counts and not _enabled(config):
        return
    write = terminalreporter.write_line
    terminalreporter.write_sep("=", "ghc-shim migration report")
    if not counts:
        write("no legacy GHC-API call was made: nothing left to migrate")
        return
    names = _warnings.legacy_names()
    rows = []
    for name, calls in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        entry = names.get(name)
        if entry is None:  # pragma: no cover - every counted name is registered
            continue
        rows.append((name, str(calls), entry.category.__name__, entry.replacement,
                     f"migration_guide.md#{entry.anchor}"))
    header = ("legacy name", "calls", "warning", "replacement", "guide")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
              + "  " + row[4])
    total = sum(counts.values())
    write(f"{len(rows)} legacy names, {total} calls; fix MovedWarning first "
          "(mechanical renames), see migration_guide.md")
