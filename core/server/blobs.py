"""The long texts of a ``bind_value`` (``blobs``) as files that the bound value reads.

Responsible for: the files' names and contents, writing them into a GHCi's directory, and
the expression that binds each blob variable (``core.protocol.to_haskell.blob_variable``)
to its file's bytes; and, after a restart, the same statement for the new directory. Must
not: decide which texts are blobs (the client's ``to_haskell`` does) or run anything.

Why files: GHCi lexes a string literal at ~0.65 us a character (a Char literal list at
25-60 us), so a value of 10^6 numbers took ~24 s to bind. Read from a file, the text costs
GHCi a few ms of compiling whatever its length. The value reads its files when it is first
used (``unsafePerformIO`` in a ``let`` binding that GHCi evaluates at most once) and removes
them then; the journal keeps the contents, to write them again for a replay.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from core.protocol.to_haskell import blob_variable, python_to_haskell

__all__ = ["BlobFiles", "blob_files"]

# A blob's file as a strict ByteString (the expression decodes it as UTF-8 where it wants
# characters), the file removed once read. Fully qualified names only, no literals: it means
# the same under any extensions.
_READ: Final = (
    "(\\ghcShim'path -> System.IO.Unsafe.unsafePerformIO (Data.ByteString.readFile "
    "ghcShim'path GHC.Base.<* System.Directory.removeFile ghcShim'path))"
)


@dataclass(frozen=True, slots=True)
class BlobFiles:
    """The files of one ``bind_value``: (name, UTF-8 contents) each; ``literals``: whether
    the statement may hold string literals (else it spells paths in Char literals)."""

    files: tuple[tuple[str, bytes], ...]
    literals: bool
    # Whether the expression reads each file: a blob of the other form is not written (its
    # file would wait, unread, until the session ends).
    used: tuple[bool, ...]

    def write(self, directory: Path) -> None:
        for (name, contents), used in zip(self.files, self.used, strict=True):
            if used:
                (directory / name).write_bytes(contents)

    def remove(self, directory: Path) -> None:
        for name, _ in self.files:
            (directory / name).unlink(missing_ok=True)

    def directory_expr(self, directory: Path) -> str:
        """The expression of ``directory``'s path, as ``reading`` puts it in a statement."""
        return _string(str(directory) + "/", self.literals)

    def reading(self, expr: str, directory: Path) -> str:
        """``expr`` with the blob variables it uses bound to the files' bytes in
        ``directory`` (only those: an unused one would be a warning, an error under
        ``-Werror``)."""
        used = [(i, name) for i, ((name, _), in_use) in
                enumerate(zip(self.files, self.used, strict=True)) if in_use]
        if not used:
            return expr
        variables = " ".join(blob_variable(i) for i, _ in used)
        readers = " ".join(f"({_READ} (ghcShim'dir GHC.Base.++ {_string(name, self.literals)}))"
                           for _, name in used)
        return (f"(\\ghcShim'dir -> (\\{variables} ->\n{expr}\n) {readers}) "
                f"{self.directory_expr(directory)}")

    def moved(self, statement: str, old: Path, new: Path) -> str:
        """``statement`` (made by ``reading`` for ``old``) reading the files in ``new``."""
        return statement.replace(self.directory_expr(old), self.directory_expr(new))


def blob_files(blobs: Sequence[str], expr: str, serial: int, *, literals: bool) -> BlobFiles:
    """The files for ``blobs`` of the ``serial``-th binding with blobs of a session, whose
    expression is ``expr``. (A text off the wire is valid UTF-8: msgpack's strings are.)
    """
    # A variable's name inside a string literal of the value would count as a use: its file
    # is then written and never read, and goes with the GHCi's directory.
    used = {int(n) for n in _VARIABLE.findall(expr)}
    return BlobFiles(
        tuple((f"blob-{serial}-{i}", text.encode("utf-8")) for i, text in enumerate(blobs)),
        literals,
        tuple(i in used for i in range(len(blobs))),
    )


_VARIABLE: Final = re.compile(r"ghcShim'blob([0-9]+)\b")  # blob_variable's names


def _string(text: str, literals: bool) -> str:
    return python_to_haskell(text, "String", literals=literals)[0]
