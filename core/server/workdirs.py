"""The temporary directories of GHCi processes: making them, and removing those left behind.

Responsible for: the directory each GHCi gets for the server's files about it (its stdin
file, the iserv wrapper, values on their way out), the lock that marks it as in use, and
``sweep_stale``, which removes the directories of GHCis that are gone.

Why a sweep: a directory is removed when its GHCi is stopped, but a server that is killed
(SIGKILL, the machine's OOM killer, a power cut) stops nothing. Services that evaluate
Haskell are known to fill ``/tmp`` that way (tryhaskell #46: 300,000 leaked directories).

How in-use is told: the server takes an ``flock`` on the directory's stdin file through
the descriptor it opens and passes to GHCi, whose interpreter inherits it; the lock lasts
while any of them keeps that open file, so it is released only when the server, GHCi and
the interpreter are all gone. A directory is removed only if the lock can be taken and
it has not changed for a while (a directory being created has no locked file yet).

Must not: touch directories not made here (other prefixes, other users' files, those of
server versions that did not lock theirs), or block on a lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Final

__all__ = ["PREFIX", "STDIN_NAME", "lock_in_use", "make_workdir", "sweep_stale"]

# Directories of servers that lock them. Versions before the lock named theirs
# "ghc-shim-" + 8 letters, digits or "_" (never a "-"): a live one of those, unlocked, must not
# be taken for a leftover, so they are left alone.
PREFIX: Final = "ghc-shim-ghci-"
STDIN_NAME: Final = "stdin"
_MIN_AGE: Final = 60.0  # seconds without change before an unlocked directory is removed


def make_workdir() -> Path:
    """A new private directory (mode 0700) for one GHCi's files."""
    return Path(tempfile.mkdtemp(prefix=PREFIX))


def lock_in_use(fd: int) -> None:
    """Mark the directory of the file open as ``fd`` as in use, for as long as that open
    file lives (in this process or any child that inherits it)."""
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def sweep_stale(directory: str | None = None, *, min_age: float = _MIN_AGE) -> int:
    """Remove the GHCi directories in ``directory`` (the temporary directory by default)
    whose GHCi is gone; the number removed. Never raises for a directory it cannot read or
    remove (another user's, one removed meanwhile)."""
    base = Path(directory or tempfile.gettempdir())
    removed = 0
    uid = os.getuid()
    now = time.time()
    try:
        entries = list(os.scandir(base))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        with contextlib.suppress(OSError):
            info = entry.stat(follow_symlinks=False)
            if not entry.is_dir(follow_symlinks=False) or info.st_uid != uid:
                continue
            if now - info.st_mtime < min_age or _in_use(Path(entry.path)):
                continue
            shutil.rmtree(entry.path)
            removed += 1
    return removed


def _in_use(workdir: Path) -> bool:
    try:
        fd = os.open(workdir / STDIN_NAME, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False  # never got as far as its stdin file, and old: abandoned
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the lock taken here, if any
    return False
