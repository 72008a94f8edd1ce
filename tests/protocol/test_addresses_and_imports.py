from __future__ import annotations

from pathlib import Path

import pytest

from core.client.launcher import resolve_address
from core.protocol.addresses import Address, parse_address
from core.protocol.imports import render_import, split_import_items
from core.server.transport import parse_listen


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stdio", Address("stdio")),
        ("unix:/run/x.sock", Address("unix", path="/run/x.sock")),
        ("unix:///run/x.sock", Address("unix", path="/run/x.sock")),
        ("tcp:127.0.0.1:8000", Address("tcp", host="127.0.0.1", port=8000)),
        ("tcp://localhost:9", Address("tcp", host="localhost", port=9)),
        ("tcp://[::1]:9", Address("tcp", host="::1", port=9)),
    ],
)
def test_parse_address(text: str, expected: Address) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "http://x", "unix:", "tcp:host", "tcp://h:99999", "tcp:h:x"])
def test_bad_addresses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_address(text)


def test_each_side_refuses_the_other_sides_words(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="client address"):
        parse_listen("embedded")
    with pytest.raises(ValueError, match="server address"):
        resolve_address("stdio")
    monkeypatch.setenv("GHC_SHIM_SERVER", "")
    assert resolve_address() == Address("embedded")
    monkeypatch.setenv("GHC_SHIM_TOKEN", "t0k")
    assert resolve_address("tcp://h:1").token == "t0k"
    assert not resolve_address("tcp://h:1").local and resolve_address("unix:/s").local


def test_the_client_reads_its_token_from_a_file(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("  s3cret\n")
    monkeypatch.delenv("GHC_SHIM_TOKEN", raising=False)
    monkeypatch.setenv("GHC_SHIM_TOKEN_FILE", str(token_file))
    assert resolve_address("tcp://h:1").token == "s3cret"
    monkeypatch.setenv("GHC_SHIM_TOKEN", "t0k")  # the variable itself comes first
    assert resolve_address("tcp://h:1").token == "t0k"


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("sort, nub", ("sort", "nub")),
        ("Maybe(Just, Nothing), fromMaybe", ("Maybe(Just, Nothing)", "fromMaybe")),
        ("(&), on,", ("(&)", "on")),
        ("", ()),
        ("a, (b", None),
        ("a), b", None),
    ],
)
def test_split_import_items(text: str, items: tuple[str, ...] | None) -> None:
    assert split_import_items(text) == items


def test_render_import() -> None:
    assert render_import("Data.List") == "import Data.List"
    assert render_import("Data.Map", qualified=True, as_="M") == "import qualified Data.Map as M"
    assert render_import("Data.Char", hiding=True, names=["ord"]) == \
        "import Data.Char hiding (ord)"
    assert render_import("Data.Function", hiding=False, names=["&", "on"]) == \
        "import Data.Function ((&), on)"
    assert render_import("Prelude", hiding=False, names=[]) == "import Prelude ()"
