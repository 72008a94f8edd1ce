"""Failure paths of the GHCi driver, against a fake GHCi (tests/server/fake_ghci.py).

Only the driver's behaviour on misbehaving children is tested here; everything about GHC's
real behaviour is tested against the real GHCi in tests/e2e.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.server.ghci_process import (
    GhciConfig,
    GhciDiedError,
    GhciProcess,
    GhciStartError,
    find_ghc,
)

FAKE = Path(__file__).with_name("fake_ghci.py")


@pytest.fixture
def fake_ghc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    libdir = tmp_path / "lib"
    (libdir / "bin").mkdir(parents=True)
    iserv = libdir / "bin" / "ghc-iserv"
    iserv.write_text("#!/bin/sh\nexit 0\n")
    iserv.chmod(stat.S_IRWXU)
    ghc = tmp_path / "ghc"
    ghc.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE} \"$@\"\n")
    ghc.chmod(stat.S_IRWXU)
    monkeypatch.setenv("FAKE_LIBDIR", str(libdir))
    yield str(ghc)


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_missing_ghc_is_a_clear_error() -> None:
    with pytest.raises(GhciStartError, match="GHC not found"):
        find_ghc("/no/such/ghc")


def test_commands_are_framed_by_the_prompt(fake_ghc: str) -> None:
    async def main() -> None:
        ghci = await GhciProcess.start(GhciConfig(ghc=fake_ghc, heap_mb=None))
        try:
            out = await ghci.run("hello", line=None)
            assert out.stdout == "hello\n" and out.stderr == ""
            split = await ghci.run("SPLIT", line=None)
            assert split.stdout == "split:"
            again = await ghci.run("after", line=None)
            assert again.stdout == "after\n"
        finally:
            await ghci.stop()

    run(main())


def test_death_mid_command_is_reported_with_stderr(fake_ghc: str) -> None:
    async def main() -> None:
        ghci = await GhciProcess.start(GhciConfig(ghc=fake_ghc, heap_mb=None))
        with pytest.raises(GhciDiedError) as info:
            await ghci.run("CRASH", line=None)
        assert info.value.returncode == 3
        assert "crashing" in info.value.stderr_tail
        assert not ghci.alive
        await ghci.kill()

    run(main())


def test_output_limit_truncates_but_keeps_the_stderr_tail(fake_ghc: str) -> None:
    async def main() -> None:
        ghci = await GhciProcess.start(GhciConfig(ghc=fake_ghc, heap_mb=None))
        try:
            out = await ghci.run("FLOOD 300000", line=None, output_limit=100_000)
            assert out.truncated
            assert len(out.stdout) <= 100_000
            assert out.stdout_bytes == 300_000 and out.stderr_bytes == 300_000
            after = await ghci.run("next", line=None)
            assert after.stdout == "next\n" and not after.truncated
        finally:
            await ghci.stop()

    run(main())


def test_interrupt_then_resync(fake_ghc: str) -> None:
    async def main() -> None:
        ghci = await GhciProcess.start(GhciConfig(ghc=fake_ghc, heap_mb=None))
        try:
            task = asyncio.ensure_future(ghci.run("SLOW", line=None))
            await asyncio.sleep(0.2)
            ghci.interrupt()
            out = await asyncio.wait_for(task, 5)
            assert out.stderr == "Interrupted.\n"
            assert (await ghci.run("fine", line=None)).stdout == "fine\n"
        finally:
            await ghci.stop()

    run(main())


def test_kill_ends_a_child_that_ignores_signals(fake_ghc: str) -> None:
    async def main() -> None:
        ghci = await GhciProcess.start(GhciConfig(ghc=fake_ghc, heap_mb=None))
        task = asyncio.ensure_future(ghci.run("HANG", line=None))
        await asyncio.sleep(0.2)
        pid = ghci.pid
        await ghci.kill()
        with pytest.raises(GhciDiedError):
            await asyncio.wait_for(task, 5)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

    run(main())


def test_start_failure_quotes_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         fake_ghc: str) -> None:
    broken = tmp_path / "broken-ghc"
    broken.write_text(f"#!/bin/sh\nif [ \"$1\" = --print-libdir ]; then exec {sys.executable} "
                      f"{FAKE} \"$@\"; fi\necho 'ghc: unrecognised flag' >&2\nexit 1\n")
    broken.chmod(stat.S_IRWXU)

    async def main() -> None:
        with pytest.raises(GhciStartError, match="unrecognised flag"):
            await GhciProcess.start(GhciConfig(ghc=str(broken), heap_mb=None))

    run(main())


@pytest.mark.parametrize("ticks", [0, 1, 2, 5, 50])
def test_a_start_cut_short_leaves_nothing_behind(
    fake_ghc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ticks: int
) -> None:
    """A server that stops while its pool refills cancels a start half-way: its directory
    and its GHCi must go with it (directories left this way piled up in /tmp)."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    fds_before = set(os.listdir("/proc/self/fd"))

    async def main() -> None:
        task = asyncio.create_task(GhciProcess.start(GhciConfig(ghc=fake_ghc, heap_mb=None)))
        for _ in range(ticks):
            await asyncio.sleep(0.001)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            ghci = await task
            await ghci.kill()  # it had started already: the usual way out

    run(main())
    assert list(temp.iterdir()) == []
    assert set(os.listdir("/proc/self/fd")) <= fds_before
