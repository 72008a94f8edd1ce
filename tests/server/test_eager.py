"""core.server.eager: a coroutine's first step runs in the caller, the rest in a task, with a
task's semantics (result, exception, cancellation)."""

from __future__ import annotations

import asyncio

import pytest

from core.server.eager import start_eagerly


def test_a_coroutine_that_never_waits_is_done_before_start_returns() -> None:
    async def main() -> None:
        steps: list[str] = []

        async def quick() -> int:
            steps.append("ran")
            return 7

        future = start_eagerly(quick())
        assert steps == ["ran"] and future.done() and future.result() == 7

    asyncio.run(main())


def test_the_first_step_runs_now_and_the_rest_after_the_wait() -> None:
    async def main() -> None:
        steps: list[str] = []
        gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def request() -> str:
            steps.append("before the wait")
            value = await gate
            steps.append("after the wait")
            await asyncio.sleep(0)  # a bare yield is passed through too
            return value + "!"

        future = start_eagerly(request())
        assert steps == ["before the wait"] and not future.done()
        gate.set_result("answer")
        assert await future == "answer!"
        assert steps == ["before the wait", "after the wait"]

    asyncio.run(main())


def test_an_exception_reaches_whoever_awaits_the_future() -> None:
    async def main() -> None:
        async def fails_at_once() -> None:
            raise ValueError("first step")

        async def fails_later() -> None:
            await asyncio.sleep(0.001)
            raise KeyError("later")

        with pytest.raises(ValueError, match="first step"):
            await start_eagerly(fails_at_once())
        with pytest.raises(KeyError, match="later"):
            await start_eagerly(fails_later())

    asyncio.run(main())


def test_cancelling_throws_into_the_coroutine_where_it_waits() -> None:
    async def main() -> None:
        cleaned: list[str] = []

        async def waits_forever() -> None:
            try:
                await asyncio.get_running_loop().create_future()
            except asyncio.CancelledError:
                cleaned.append("cancelled where it waited")
                raise

        future = start_eagerly(waits_forever())
        await asyncio.sleep(0)
        future.cancel()
        with pytest.raises(asyncio.CancelledError):
            await future
        assert cleaned == ["cancelled where it waited"]

    asyncio.run(main())


def test_a_coroutine_may_handle_its_cancellation_and_return() -> None:
    async def main() -> None:
        async def shrugs() -> str:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                return "handled"
            return "slept"

        future = start_eagerly(shrugs())
        await asyncio.sleep(0)
        future.cancel()
        assert await future == "handled"

    asyncio.run(main())
