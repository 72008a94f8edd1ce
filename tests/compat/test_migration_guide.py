"""``migration_guide.md`` is executable: every ``python`` block runs against a real GHC, and
every legacy name has exactly one section whose anchor its warning names."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from compat import GhcApiDeprecationWarning, _warnings
from compat import ghc_api as _facade  # noqa: F401 - registers every legacy name

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "migration_guide.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[tuple[int, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in _BLOCK.finditer(text)]


def test_every_legacy_name_has_exactly_one_section() -> None:
    headings = re.findall(r"^### (\w+)$", GUIDE.read_text(encoding="utf-8"), re.MULTILINE)
    legacy = _warnings.legacy_names()
    assert sorted(headings) == sorted(legacy)
    for name, entry in legacy.items():
        assert entry.anchor == name.lower()


def test_every_section_states_its_class_and_replacement() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    for name, entry in _warnings.legacy_names().items():
        section = text.split(f"### {name}\n", 1)[1].split("\n### ", 1)[0]
        first = section.strip().split("\n\n", 1)[0]
        assert f"`{entry.category.__name__}` → `{entry.replacement}`" in first, name
        assert section.count("```python") >= 2, f"{name}: a before and an after snippet"


@pytest.mark.ghc
def test_the_python_snippets_run_in_order() -> None:
    blocks = python_blocks()
    assert len(blocks) > 90
    namespace: dict[str, object] = {"__name__": "migration_guide"}
    try:
        for line, code in blocks:
            legacy = "GHC." in code
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                exec(compile(code, f"{GUIDE}:{line}", "exec"), namespace)
            ours = [w for w in caught if issubclass(w.category, GhcApiDeprecationWarning)]
            others = [w for w in caught if w not in ours]
            assert not others, f"snippet at line {line}: {[str(w.message) for w in others]}"
            if not legacy:
                assert not ours, f"migrated snippet at line {line} still warns"
    finally:
        client = namespace.get("client")
        if client is not None:
            client.close()  # type: ignore[attr-defined]
