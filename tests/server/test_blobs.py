"""Blob files of ``bind_value`` (``core.server.blobs``): which are written, the statement
that reads them, and the same statement for another directory (a replay)."""

from __future__ import annotations

from pathlib import Path

from core.protocol.to_haskell import blob_variable
from core.server.blobs import blob_files


def test_only_the_blobs_the_expression_reads_are_written(tmp_path: Path) -> None:
    expr = f"(f {blob_variable(0)} {blob_variable(2)} :: T)"
    blobs = blob_files(["zero", "one", "two\u00e9"], expr, 7, literals=True)
    assert blobs.used == (True, False, True)
    blobs.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob-7-0", "blob-7-2"]
    assert (tmp_path / "blob-7-2").read_bytes() == "two\u00e9".encode()
    statement = blobs.reading(expr, tmp_path)
    assert statement.count("Data.ByteString.readFile") == 2
    assert blob_variable(1) not in statement  # unbound: unused, a warning (-Werror: fatal)
    assert f'"{tmp_path}/"' in statement and '"blob-7-0"' in statement
    blobs.remove(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_replay_reads_the_files_in_the_new_directory(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for literals in (True, False):
        blobs = blob_files(["text"], blob_variable(0), 1, literals=literals)
        statement = blobs.reading(blob_variable(0), old)
        moved = blobs.moved(statement, old, new)
        assert moved == blobs.reading(blob_variable(0), new) != statement
        # Literal-free, the paths are Char literals: no string literal anywhere.
        assert ('"' in moved) == literals


def test_an_expression_that_reads_no_blob_is_left_as_it_is(tmp_path: Path) -> None:
    blobs = blob_files(["only the other form's"], "(f :: T)", 2, literals=True)
    assert blobs.used == (False,)
    assert blobs.reading("(f :: T)", tmp_path) == "(f :: T)"
    blobs.write(tmp_path)
    assert list(tmp_path.iterdir()) == []
