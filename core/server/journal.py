"""The record of a session's state-changing requests, replayed after a crash.

Responsible for: remembering, in order, what rebuilds the user's state in a fresh GHCi —
flags, the import context, load targets and loads, declarations, and pure ``let``
statements — and saying which statements it will *not* re-run (anything that can have side
effects: ``x <- action``, plain IO expressions). Must not: run anything itself; the session
replays the entries through its GHCi driver.

``load`` in GHC discards prompt bindings and the import context, so a successful load
drops the declarations and lets recorded before it (they would not be in scope any more).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.server.blobs import BlobFiles

__all__ = ["Journal", "JournalEntry"]

EntryKind = Literal["flags", "context", "load", "decls", "let"]


@dataclass(frozen=True, slots=True)
class JournalEntry:
    kind: EntryKind
    text: str  # the GHCi command(s) that redo it, one per line for flags/context/load
    summary: str  # what the replay report says
    line: int | None = None
    source_file: str = "<interactive>"
    # A bound value's blob files (``text`` reads them in ``blobs_dir``): written again into
    # the new GHCi's directory, and ``text`` moved there, for a replay.
    blobs: BlobFiles | None = None
    blobs_dir: str = ""


@dataclass(slots=True)
class Journal:
    entries: list[JournalEntry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # side-effecting statements, not replayed

    def record(self, entry: JournalEntry) -> None:
        if entry.kind == "load":
            # A load resets prompt bindings and the context: what came before cannot be in
            # scope after it, so replaying it would only waste time (and might fail).
            self.entries = [e for e in self.entries if e.kind == "flags"]
        if entry.kind == "context" and self.entries and self.entries[-1].kind == "context":
            # Nothing was compiled under the context it replaces. An earlier one stays: the
            # lets and declarations after it were compiled in its scope (`M.fromList` with
            # Data.Map imported as M) and are replayed in it.
            self.entries.pop()
        self.entries.append(entry)

    def skip(self, statement: str) -> None:
        self.skipped.append(statement)
