"""The warning taxonomy of the legacy facade, its migration switch, and the usage ledger.

Responsible for:

* the warning classes, split by the kind of fix a porter has to make (SQLAlchemy 1.4's
  ``MovedIn20Warning`` / ``RemovedIn20Warning`` idea): ``MovedWarning`` (a mechanical rename to
  ``core.client``), ``ChangedWarning`` (the call works, but its meaning differs from in-process
  GHC: read the guide), ``RemovedWarning`` (GHC itself removed the name);
* applying ``GHC_SHIM_COMPAT_WARNINGS`` once, at import, as a ``warnings`` filter for all of
  them (``-W error::compat.MovedWarning`` only works when ``compat`` is importable at
  interpreter start-up, so an environment variable is the reliable switch);
* ``legacy(category)``: the decorator that registers one legacy function and counts its
  calls, so that the pytest plugin can print a migration report.

Must not: emit warnings itself (``typing_extensions.deprecated`` on each facade function does,
so that mypy sees the same literal message that users see), import ``core`` (importing
``compat`` must stay cheap and silent: the pytest plugin loads it in every test run).
"""

from __future__ import annotations

import functools
import os
import re
import threading
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, ParamSpec, TypeVar, cast

__all__ = [
    "ENV_VAR",
    "ChangedWarning",
    "GhcApiDeprecationWarning",
    "LegacyName",
    "MovedWarning",
    "RemovedWarning",
    "apply_env_filter",
    "legacy",
    "legacy_names",
    "reset_usage",
    "usage",
]

P = ParamSpec("P")
R = TypeVar("R")


class GhcApiDeprecationWarning(DeprecationWarning):
    """Base of every warning the compat facade emits (filter on this to see them all)."""


class MovedWarning(GhcApiDeprecationWarning):
    """The name has a direct replacement in ``core.client`` with the same meaning:
    a mechanical rename fixes it."""


class ChangedWarning(GhcApiDeprecationWarning):
    """The call still works, but remotely its semantics differ from in-process GHC
    (values are copies, ``load`` resets, time limits, ...): read the guide's section."""


class RemovedWarning(GhcApiDeprecationWarning):
    """GHC itself removed the name (``runStmt`` in 8.2, ``isModuleInterpreted`` in 8.4);
    the facade keeps it only for very old code."""


ENV_VAR: Final = "GHC_SHIM_COMPAT_WARNINGS"
_ACTIONS: Final = ("default", "always", "once", "error", "ignore")
Action = Literal["default", "always", "once", "error", "ignore"]

# "<name> is deprecated: use <replacement> instead (migration_guide.md#<anchor>)"
_MESSAGE_RE: Final = re.compile(
    r"^(?P<name>\w+) is deprecated: use (?P<replacement>.+) instead "
    r"\(migration_guide\.md#(?P<anchor>[a-z0-9_-]+)\)$"
)


def apply_env_filter(value: str | None = None) -> Action | None:
    """Install the filter ``$GHC_SHIM_COMPAT_WARNINGS`` asks for (or ``value``).

    Unset or empty: nothing changes (Python's default filters apply: a DeprecationWarning is
    shown only when triggered by ``__main__``). An unknown value is ignored rather than
    reported, because importing ``compat`` must never warn or fail.
    """
    raw = os.environ.get(ENV_VAR, "") if value is None else value
    action = raw.strip().lower()
    if action not in _ACTIONS:
        return None
    warnings.filterwarnings(cast(Action, action), category=GhcApiDeprecationWarning)
    return cast(Action, action)


@dataclass(frozen=True, slots=True)
class LegacyName:
    """One legacy function: what it is, how it warns, where the guide explains it."""

    name: str
    module: str
    category: type[GhcApiDeprecationWarning]
    message: str
    replacement: str
    anchor: str


# The ledger. A Counter under a lock: the facade may be called from several threads (each
# with its own current session), and the report must not lose counts.
_registry: dict[str, LegacyName] = {}
_pending: list[tuple[Callable[..., object], type[GhcApiDeprecationWarning]]] = []
_counts: Counter[str] = Counter()
_lock = threading.Lock()


def legacy(category: type[GhcApiDeprecationWarning]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Register a legacy function and count its calls.

    Applied *under* ``@typing_extensions.deprecated(...)``, whose literal message (read back
    from ``__deprecated__`` once the decorator has run) becomes the registry entry; the
    ``category`` given here must equal the decorator's, which the deprecation tests check by
    calling every function.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        name = fn.__name__

        @functools.wraps(fn)
        def counted(*args: P.args, **kwargs: P.kwargs) -> R:
            with _lock:
                _counts[name] += 1
            return fn(*args, **kwargs)

        with _lock:
            _pending.append((counted, category))
        return counted

    return decorate


def _resolve_pending() -> None:
    # ``__deprecated__`` is set on the wrapped function only after the outer decorator ran,
    # so registration completes lazily, on first read of the registry.
    with _lock:
        pending, _pending[:] = list(_pending), []
    for fn, category in pending:
        message = getattr(fn, "__deprecated__", None)
        if not isinstance(message, str):
            raise TypeError(f"{fn.__qualname__} is registered as legacy but not @deprecated")
        match = _MESSAGE_RE.match(message)
        if match is None or match["name"] != fn.__name__:
            raise ValueError(f"malformed deprecation message for {fn.__name__}: {message!r}")
        entry = LegacyName(
            name=fn.__name__,
            module=fn.__module__,
            category=category,
            message=message,
            replacement=match["replacement"],
            anchor=match["anchor"],
        )
        with _lock:
            _registry[entry.name] = entry


def legacy_names() -> dict[str, LegacyName]:
    """Every registered legacy function, by name (modules register when imported)."""
    _resolve_pending()
    with _lock:
        return dict(_registry)


def usage() -> dict[str, int]:
    """Calls per legacy name since start-up (or the last ``reset_usage``)."""
    with _lock:
        return dict(_counts)


def reset_usage() -> None:
    with _lock:
        _counts.clear()


apply_env_filter()
