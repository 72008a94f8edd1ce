"""The dependency rule: compat -> core.client -> core.protocol <- core.server.

``core`` never imports ``compat``; ``core.client`` and ``core.server`` never import each
other; ``core.protocol`` imports no I/O module, and only ``framing`` imports msgpack.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IO_MODULES = {
    "asyncio", "socket", "subprocess", "threading", "multiprocessing", "selectors", "select",
    "signal", "os", "io", "shutil", "tempfile", "pathlib", "concurrent", "ssl", "mmap",
    "logging",
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules_under(package: str) -> list[Path]:
    return sorted((ROOT / package.replace(".", "/")).rglob("*.py"))


@pytest.mark.parametrize("path", modules_under("core"), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_never_imports_compat(path: Path) -> None:
    assert not {i for i in imports(path) if i == "compat" or i.startswith("compat.")}


@pytest.mark.parametrize("path", modules_under("core.protocol"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_protocol_does_no_io(path: Path) -> None:
    roots = {i.split(".")[0] for i in imports(path)}
    assert not roots & IO_MODULES, f"{path.name} imports {roots & IO_MODULES}"
    assert not {i for i in imports(path) if i.startswith(("core.server", "core.client"))}
    if path.name != "framing.py":
        assert "msgpack" not in roots


@pytest.mark.parametrize("path", modules_under("core.client"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_client_does_not_import_server(path: Path) -> None:
    assert not {i for i in imports(path) if i.startswith("core.server")}


@pytest.mark.parametrize("path", modules_under("core.server"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_server_does_not_import_client(path: Path) -> None:
    assert not {i for i in imports(path) if i.startswith("core.client")}


def test_the_rule_is_checked_on_real_files() -> None:
    assert len(modules_under("core.protocol")) >= 4
    assert "msgpack" in imports(ROOT / "core/protocol/framing.py")
