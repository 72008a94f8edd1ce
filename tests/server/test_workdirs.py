"""The sweep of GHCi directories left behind (``core.server.workdirs``), without GHC.

A directory is in use while some process keeps the locked stdin file open, as GHC's
interpreter does after the server that made it is gone; only old, unlocked directories made
by the server are removed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.server.workdirs import PREFIX, STDIN_NAME, lock_in_use, sweep_stale

OLD = time.time() - 3600


def workdir(base: Path, name: str, *, stdin: bool = True, old: bool = True) -> Path:
    path = base / (PREFIX + name)
    path.mkdir()
    if stdin:
        (path / STDIN_NAME).write_text("")
    (path / "iserv").write_text("#!/bin/sh\n")
    if old:
        os.utime(path, (OLD, OLD))
    return path


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[Path]:
    """A directory whose locked stdin file only a child process still has open (the
    interpreter of a GHCi whose server died)."""
    path = workdir(tmp_path, "held", old=False)
    fd = os.open(path / STDIN_NAME, os.O_RDWR)
    lock_in_use(fd)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             pass_fds=(fd,))
    os.close(fd)  # the child's copy keeps the lock
    os.utime(path, (OLD, OLD))
    try:
        yield path
    finally:
        child.kill()
        child.wait()


def test_only_old_unlocked_directories_of_the_server_are_removed(
    tmp_path: Path, holder: Path
) -> None:
    abandoned = workdir(tmp_path, "abandoned")
    never_started = workdir(tmp_path, "nostdin", stdin=False)
    young = workdir(tmp_path, "young", old=False)
    foreign = tmp_path / "ghc-other"
    foreign.mkdir()
    os.utime(foreign, (OLD, OLD))
    # The client launcher's (not a GHCi's), and one of a server version that did not lock.
    client_side = tmp_path / "ghc-shim-server-abc"
    unlocked_kind = tmp_path / "ghc-shim-k2x9ab_q"
    for other in (client_side, unlocked_kind):
        other.mkdir()
        (other / STDIN_NAME).write_text("")
        os.utime(other, (OLD, OLD))
    a_file = tmp_path / (PREFIX + "file")
    a_file.write_text("")
    os.utime(a_file, (OLD, OLD))
    link = tmp_path / (PREFIX + "link")
    link.symlink_to(holder)

    assert sweep_stale(str(tmp_path)) == 2
    assert not abandoned.exists() and not never_started.exists()
    for kept in (young, foreign, client_side, unlocked_kind, a_file, link, holder):
        assert kept.exists(), kept
    assert (holder / STDIN_NAME).exists()


def test_a_directory_is_freed_when_its_last_holder_ends(tmp_path: Path) -> None:
    path = workdir(tmp_path, "x", old=False)
    fd = os.open(path / STDIN_NAME, os.O_RDWR)
    lock_in_use(fd)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             pass_fds=(fd,))
    try:
        assert sweep_stale(str(tmp_path), min_age=0) == 0  # both hold it
        os.close(fd)
        assert sweep_stale(str(tmp_path), min_age=0) == 0  # the child still does
    finally:
        child.kill()
        child.wait()
    assert sweep_stale(str(tmp_path), min_age=0) == 1
    assert not path.exists()


def test_a_missing_or_unreadable_base_is_no_error(tmp_path: Path) -> None:
    assert sweep_stale(str(tmp_path / "missing")) == 0
