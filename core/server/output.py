"""What to stream of a statement's stderr while it runs.

Responsible for: deciding, chunk by chunk, which stderr text is the user's own output (sent
to the client at once, in order) and which may turn out to be GHCi's report — diagnostics
before the code runs, ``*** Exception: ...`` or ``Interrupted.`` after it — which the session
parses when the command ends. Must not: parse diagnostics or exceptions itself, or do I/O.

GHCi writes a compile error as a block that starts with an empty line
(``\\n<interactive>:1:1: error: ...``) and writes an uncaught exception as the last lines
of the command's stderr, starting at a line start. So: stderr that starts with a newline is
held until the command ends; otherwise complete lines are streamed until one starts like an
exception report, from which point everything is held. A partial line is held until its
newline arrives (it might be the start of such a report).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

__all__ = ["StderrStreamer"]

_REPORT_STARTS: Final = ("*** Exception: ", "Interrupted.")


class StderrStreamer:
    """Feeds stderr chunks; calls ``emit`` with the text that is safe to stream now."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._held = ""
        self._holding_all = False
        self._started = False
        self.emitted = 0  # characters streamed so far: a prefix of the user's stderr

    def feed(self, text: str) -> None:
        if self._holding_all or not text:
            self._held += text
            return
        if not self._started:
            self._started = True
            if text.startswith("\n"):
                self._holding_all = True
                self._held += text
                return
        self._held += text
        while True:
            newline = self._held.find("\n")
            if newline < 0:
                return
            line = self._held[: newline + 1]
            if line.startswith(_REPORT_STARTS):
                self._holding_all = True
                return
            self._held = self._held[newline + 1 :]
            self.emitted += len(line)
            self._emit(line)
