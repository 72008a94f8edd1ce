"""The implicit current session of the facade, and the one client it shares.

Responsible for: the ``contextvars.ContextVar`` that replaces GHC's ``GhcMonad`` state (set by
``runGhc``/``withSession``, read by every facade function), the process-wide
``core.client.Client`` (connected lazily on the first ``runGhc``, reconnected if its server
went away, closed at exit), per-session facade state that core has no notion of (the log
action of ``load``), and routing of streamed output to the caller's ``sys.stdout`` /
``sys.stderr``. Must not: warn, or implement any GHC operation (``ghc_api``/``dyn_compile``
do, through ``core.client.Session``).

Why a ContextVar: nested ``runGhc`` calls must get independent sessions and restore the outer
one on exit, threads must not see each other's session, and asyncio tasks copy it — exactly
the scoping of GHC's monadic state.
"""

from __future__ import annotations

import atexit
import contextlib
import sys
import threading
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

from compat._errors import Diagnostic, GhcException, translated
from core.client import Client, Session, connect
from core.protocol.errors import ShimError

__all__ = [
    "LogAction",
    "current",
    "default_log_action",
    "get_log_action",
    "output_router",
    "run_ghc",
    "set_log_action",
    "shared_client",
    "with_session",
]

T = TypeVar("T")
LogAction = Callable[[Diagnostic], None]

_current: ContextVar[Session | None] = ContextVar("compat_ghc_session", default=None)

_client: Client | None = None
_client_lock = threading.Lock()

# Facade-only state per core session. Weak keys: a session handed to withSession by the
# caller must not be kept alive by the facade.
_log_actions: weakref.WeakKeyDictionary[Session, LogAction] = weakref.WeakKeyDictionary()


def shared_client() -> Client:
    """The process's one client (``GHC_SHIM_SERVER`` rules), connected on first use.

    Raises:
        GhcException: the server cannot be reached or started.
    """
    global _client
    with _client_lock:
        if _client is None or _client.closed:
            with translated():
                _client = connect(client_name="compat.ghc_api")
        return _client


@atexit.register
def _close_shared_client() -> None:
    # Registered after core.client.launcher's own exit hook, so it runs first (atexit is
    # LIFO): the sessions close politely before an embedded server is stopped.
    global _client
    client, _client = _client, None
    if client is not None:
        with contextlib.suppress(Exception):
            client.close()


def current() -> Session:
    """The current session.

    Raises:
        GhcException: no ``runGhc``/``withSession`` is active in this context.
    """
    session = _current.get()
    if session is None:
        raise GhcException(
            "no current GHC session: call this inside runGhc(...) or withSession(...)"
        )
    return session


def run_ghc(libdir: str | None, action: Callable[[], T]) -> T:
    """Open a session, make it current while ``action()`` runs, close it afterwards."""
    client = shared_client()
    with translated():
        session = client.open_session(libdir=libdir)
    try:
        return with_session(session, action)
    finally:
        # Closing can only fail when the connection is gone, and then the server has
        # dropped the session already; an error here must not hide the action's own.
        with contextlib.suppress(ShimError):
            session.close()


def with_session(session: Session, action: Callable[[], T]) -> T:
    token = _current.set(session)
    try:
        return action()
    finally:
        _current.reset(token)


def default_log_action(diagnostic: Diagnostic) -> None:
    """GHC's default: the diagnostic's text on this process's stderr."""
    sys.stderr.write(f"{diagnostic}\n")
    sys.stderr.flush()


def get_log_action(session: Session) -> LogAction:
    return _log_actions.get(session, default_log_action)


def set_log_action(session: Session, action: LogAction) -> None:
    _log_actions[session] = action


def _write_stdout(text: str) -> None:
    # Looked up on every chunk: pytest's capture, contextlib.redirect_stdout and notebook
    # kernels replace sys.stdout after import, and output must land where print() would.
    sys.stdout.write(text)
    sys.stdout.flush()


def _write_stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def output_router(
    stdout: Callable[[str], None] | None, stderr: Callable[[str], None] | None
) -> Callable[[str, str], None]:
    """A core ``on_output`` callback sending each chunk to the given callables, or to this
    process's ``sys.stdout``/``sys.stderr`` when they are None."""
    out = stdout if stdout is not None else _write_stdout
    err = stderr if stderr is not None else _write_stderr

    def on_output(stream: str, text: str) -> None:
        (out if stream == "stdout" else err)(text)

    return on_output
