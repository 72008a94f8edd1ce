"""Which request an interrupt reaches, in ``Session`` alone: GHCi is a stand-in that runs
each command until it is interrupted (the real thing is in tests/e2e/test_control.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from core.server.ghci_pipes import CommandOutput
from core.server.ghci_process import GhciConfig
from core.server.session import Session, SessionLimits


class CommandsUntilInterrupted:
    """Stands for ``GhciProcess``: every command runs until ``interrupt``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = str(workdir)
        self.statements_ready = True
        self.flusher_started = True  # nothing for the session to start in the background
        self.commands: list[str] = []
        self.interrupts = 0
        self._stop = asyncio.Event()

    async def run(self, text: str, **_: Any) -> CommandOutput:
        self.commands.append(text)
        await self._stop.wait()
        self._stop.clear()
        return CommandOutput(stdout="", stderr="")

    def interrupt(self) -> None:
        self.interrupts += 1
        self._stop.set()


def _session(tmp_path: Path) -> tuple[Session, CommandsUntilInterrupted]:
    ghci = CommandsUntilInterrupted(tmp_path)
    session = Session("s", ghci, GhciConfig(), SessionLimits())  # type: ignore[arg-type]
    return session, ghci


def test_an_interrupt_between_two_commands_of_a_request_reaches_the_next(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        session, ghci = _session(tmp_path)
        session.begin_request(7)
        assert not session.interrupt(8)  # aimed at another request: nothing
        assert session.interrupt(7)  # no command runs: held for the next one
        _, reason = await asyncio.wait_for(session._command("length [1..]"), 5)
        assert reason == "interrupt" and ghci.interrupts == 1
        session.end_request()

    asyncio.run(main())


def test_a_held_interrupt_ends_with_its_request(tmp_path: Path) -> None:
    async def main() -> None:
        session, ghci = _session(tmp_path)
        session.begin_request(7)
        session.interrupt()
        session.end_request()
        assert not session.interrupt()  # no request in progress
        session.begin_request(9)
        running = asyncio.ensure_future(session._command("next"))
        await asyncio.sleep(0.05)
        assert not running.done() and ghci.interrupts == 0
        assert session.interrupt(9)
        _, reason = await asyncio.wait_for(running, 5)
        assert reason == "interrupt"

    asyncio.run(main())


def test_a_waiting_request_interrupted_before_it_starts_gets_it_as_it_starts(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        session, ghci = _session(tmp_path)
        session.interrupt_when_started(11)
        session.begin_request(11)
        _, reason = await asyncio.wait_for(session._command("length [1..]"), 5)
        assert reason == "interrupt" and ghci.interrupts == 1
        session.end_request()
        session.begin_request(12)  # the next one is not
        running = asyncio.ensure_future(session._command("next"))
        await asyncio.sleep(0.05)
        assert not running.done()
        session.interrupt(12)
        await asyncio.wait_for(running, 5)

    asyncio.run(main())
