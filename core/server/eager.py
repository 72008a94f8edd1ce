"""Start a coroutine at once, in the caller, and hand the rest of it to a task.

Responsible for: running a request's coroutine up to its first real suspension *before* the
caller returns, then letting an ``asyncio`` task drive it from there, with a task's
semantics (its result, its exception, cancellation thrown in where it waits). Must not:
know what the coroutine does, or hide an exception (one raised in the first step is in the
returned future, as a task would hold it).

Why: the server reads a request in a protocol callback. ``asyncio.create_task`` would run
the request's first step one event-loop turn later; started here, the request has reached
GHCi (the command is written) by the time the callback returns, and the task that carries
the rest is created while GHCi works — off the request's critical path (bench/PROFILE.md).
Python 3.12's ``asyncio.eager_task_factory`` does the same; this project supports 3.11.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

__all__ = ["start_eagerly"]

T = TypeVar("T")


def start_eagerly(coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
    """Run ``coro``'s first step now; a future of its result (a task if it suspended)."""
    try:
        waiting_on = coro.send(None)
    except StopIteration as stop:
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        done.set_result(stop.value)
        return done
    except BaseException as exc:  # a task holds its coroutine's exception; so does this
        failed: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        failed.set_exception(exc)
        return failed
    return asyncio.ensure_future(_Rest(coro, waiting_on))


class _Rest:
    """An awaitable that goes on with a coroutine already suspended on ``waiting_on``."""

    __slots__ = ("_coro", "_waiting_on")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self._coro = coro
        self._waiting_on = waiting_on

    def __await__(self) -> Generator[Any, None, Any]:
        coro, waiting_on = self._coro, self._waiting_on
        while True:
            try:
                # The task waits for what the coroutine waits for: a future (its
                # ``_asyncio_future_blocking`` flag is still set from the coroutine's own
                # yield) or None, a bare yield (``asyncio.sleep(0)``).
                yield waiting_on
            except BaseException as exc:  # cancellation: thrown in where the coroutine waits
                try:
                    waiting_on = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
                continue
            try:
                waiting_on = coro.send(None)
            except StopIteration as stop:
                return stop.value
