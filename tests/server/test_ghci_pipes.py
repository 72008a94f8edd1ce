"""``GhciPipes`` over real pipes, without GHC: the test plays GHCi by writing to the pipes.

After h11's tests, the framing is checked by splitting the input everywhere: the marker
(GHCi's prompt) may arrive in any number of pieces, since GHCi writes its prompt one
character per ``write(2)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Awaitable, Callable, Iterator
from typing import Final

import pytest

from core.server.ghci_pipes import CommandOutput, GhciPipes, _marker_prefix_at_end

MARKER: Final = b"\0Ab3dE9xZ"  # the shape of ghci_process._new_marker()
WAIT: Final = 1.0  # seconds; a collect that does not finish by then has hung


class Rig:
    """One fake GHCi: the read ends go to ``GhciPipes``, the test writes to the others."""

    def __init__(self) -> None:
        out_r, self.out_w = os.pipe()
        err_r, self.err_w = os.pipe()
        self._open = [out_r, self.out_w, err_r, self.err_w]
        self.pipes = GhciPipes(out_r, err_r)

    def out(self, data: bytes) -> None:
        assert os.write(self.out_w, data) == len(data)

    def err(self, data: bytes) -> None:
        assert os.write(self.err_w, data) == len(data)

    def close_out(self) -> None:
        """End of file on GHCi's stdout."""
        self._open.remove(self.out_w)
        os.close(self.out_w)

    def dispose(self) -> None:
        self.pipes.close()
        fds, self._open = self._open, []
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def make_rig() -> Iterator[Callable[[], Rig]]:
    rigs: list[Rig] = []

    def make() -> Rig:
        rig = Rig()
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.dispose()


@pytest.fixture
def rig(make_rig: Callable[[], Rig]) -> Rig:
    return make_rig()


async def settle(turns: int = 4) -> None:
    """Let the event loop run its ready callbacks (the pipe readers) a few times."""
    for _ in range(turns):
        await asyncio.sleep(0)


async def start(
    rig: Rig,
    seen: list[str] | None = None,
    seen_err: list[str] | None = None,
    output_limit: int | None = None,
) -> asyncio.Task[CommandOutput]:
    """A collect running as a task, its readers registered."""
    task = asyncio.create_task(
        rig.pipes.collect(
            MARKER,
            on_stdout=None if seen is None else seen.append,
            on_stderr=None if seen_err is None else seen_err.append,
            output_limit=output_limit,
        )
    )
    await settle()
    assert not task.done()
    return task


async def done(awaitable: Awaitable[CommandOutput]) -> CommandOutput:
    return await asyncio.wait_for(awaitable, WAIT)


# ---------------------------------------------------------------------- the marker


def test_marker_split_in_two_at_every_position(make_rig: Callable[[], Rig]) -> None:
    output = b"it :: Integer\n42\n"
    payload = output + MARKER

    async def main() -> None:
        for cut in range(len(payload) + 1):
            rig = make_rig()
            seen: list[str] = []
            task = await start(rig, seen)
            rig.out(payload[:cut])
            await settle()
            # Streaming: everything that cannot be the start of the marker is passed on.
            assert "".join(seen) == output[:cut].decode(), cut
            assert task.done() == (cut == len(payload)), cut
            rig.out(payload[cut:])
            result = await done(task)
            assert result.stdout == output.decode(), cut
            assert "".join(seen) == output.decode(), cut
            assert all(seen), cut  # no empty callbacks
            assert result.stdout_bytes == len(output), cut
            assert not result.ended and not result.truncated, cut

    asyncio.run(main())


@pytest.mark.parametrize(
    "output",
    [
        b"",
        b"42\n",
        b"a#b#~c#~01\n",
        b"#",
        b"#~",
        b"##~~##",
        # Not MARKER[:-1]: it ends in "~" and the marker starts with "#", so MARKER[:-1]
        # followed by the marker holds the marker at offset 0.
        MARKER[:-2],
        MARKER[:-1] + b"\n",
        b"~#" + MARKER[:5] + b"#~0",
    ],
)
def test_marker_one_byte_at_a_time(rig: Rig, output: bytes) -> None:
    payload = output + MARKER

    async def main() -> None:
        seen: list[str] = []
        task = await start(rig, seen)
        for i in range(len(payload)):
            rig.out(payload[i : i + 1])
            await asyncio.sleep(0)
            if i < len(payload) - 1:
                assert not task.done(), i
        result = await done(task)
        assert result.stdout == output.decode()
        assert "".join(seen) == output.decode()
        assert all(seen)
        assert not result.ended

    asyncio.run(main())


@pytest.mark.parametrize(
    "output", [b"#~", b"#", b"x#~", b"#~#~", MARKER[:-2], MARKER[:-1] + b"x", MARKER[:2] + MARKER]
)
@pytest.mark.parametrize("separately", [False, True])
def test_output_holding_a_prefix_of_the_marker_is_kept_whole(
    rig: Rig, output: bytes, separately: bool
) -> None:
    # MARKER[:2] + MARKER: the marker's first bytes, then the real marker.
    expected = output[: output.index(MARKER)] if MARKER in output else output

    async def main() -> None:
        seen: list[str] = []
        task = await start(rig, seen)
        if separately:
            rig.out(output)
            await settle()
            rig.out(MARKER + b"after")
        else:
            rig.out(output + MARKER + b"after")
        result = await done(task)
        assert result.stdout == expected.decode()
        assert "".join(seen) == expected.decode()

    asyncio.run(main())


def test_output_is_streamed_before_the_marker_arrives(rig: Rig) -> None:
    async def main() -> None:
        seen: list[str] = []
        task = await start(rig, seen)
        rig.out(b"2\n")
        await settle()
        assert seen == ["2\n"]
        # A possible start of the marker is held back...
        rig.out(b"3\0A")
        await settle()
        assert seen == ["2\n", "3"]
        # ...and passed on as soon as it turns out not to be one.
        rig.out(b"x\n")
        await settle()
        assert seen == ["2\n", "3", "\0Ax\n"]
        assert not task.done()
        rig.out(MARKER)
        result = await done(task)
        assert result.stdout == "2\n3\0Ax\n"
        assert seen == ["2\n", "3", "\0Ax\n"]

    asyncio.run(main())


def test_what_follows_the_marker_is_kept_for_the_next_collect(rig: Rig) -> None:
    async def main() -> None:
        rig.out(b"1\n" + MARKER + b"2\n" + MARKER + b"3")
        first = await done(rig.pipes.collect(MARKER))
        assert first.stdout == "1\n"
        seen: list[str] = []
        second = await done(rig.pipes.collect(MARKER, on_stdout=seen.append))
        assert second.stdout == "2\n" and seen == ["2\n"]
        third = await start(rig)
        rig.out(b"\n" + MARKER)
        assert (await done(third)).stdout == "3\n"

    asyncio.run(main())


def test_a_whole_command_read_in_one_piece_before_collect(rig: Rig) -> None:
    async def main() -> None:
        rig.err(b"warning\n")
        rig.out(b"out\n" + MARKER)
        result = await done(rig.pipes.collect(MARKER))
        assert (result.stdout, result.stderr) == ("out\n", "warning\n")

    asyncio.run(main())


# ---------------------------------------------------------------------- stderr


def test_stderr_written_right_before_the_marker_is_in_the_result(rig: Rig) -> None:
    async def main() -> None:
        seen: list[str] = []
        seen_err: list[str] = []
        task = await start(rig, seen, seen_err)
        rig.err(b"<interactive>:1:1: warning: a\n")
        rig.err(b"<interactive>:1:5: warning: b\n")
        rig.out(b"r\n" + MARKER)  # no turn of the loop in between
        result = await done(task)
        expected = "<interactive>:1:1: warning: a\n<interactive>:1:5: warning: b\n"
        assert result.stderr == expected
        assert "".join(seen_err) == expected
        assert result.stderr_bytes == len(expected)
        assert result.stdout == "r\n" and seen == ["r\n"]
        assert not result.truncated and not result.ended

    asyncio.run(main())


def test_stderr_read_while_waiting_and_drained_at_the_marker(rig: Rig) -> None:
    async def main() -> None:
        seen_err: list[str] = []
        task = await start(rig, seen_err=seen_err)
        rig.err(b"first\n")
        await settle()
        assert seen_err == ["first\n"]  # streamed as it comes
        rig.err(b"second\n")
        rig.out(MARKER)
        result = await done(task)
        assert result.stderr == "first\nsecond\n"
        assert "".join(seen_err) == "first\nsecond\n"

    asyncio.run(main())


def test_output_written_between_collects_goes_to_the_next_one(rig: Rig) -> None:
    async def main() -> None:
        task = await start(rig)
        rig.out(b"a\n" + MARKER)
        assert (await done(task)).stdout == "a\n"
        # Nobody collects now (a thread the user forked goes on printing).
        rig.out(b"late\n")
        rig.err(b"late err\n")
        await settle()
        rig.out(b"more ")
        await settle()
        seen: list[str] = []
        seen_err: list[str] = []
        task = await start(rig, seen, seen_err)
        assert "".join(seen) == "late\nmore "
        assert seen_err == ["late err\n"]
        rig.out(b"b\n" + MARKER)
        result = await done(task)
        assert result.stdout == "late\nmore b\n"
        assert result.stderr == "late err\n"

    asyncio.run(main())


# ---------------------------------------------------------------------- the end


def test_end_of_file_on_stdout_ends_the_command(rig: Rig) -> None:
    async def main() -> None:
        task = await start(rig)
        rig.out(b"partial\n")
        rig.err(b"ghc: panic! (the 'impossible' happened)\n")
        await settle()
        rig.close_out()
        result = await done(task)
        assert result.ended
        assert result.stdout == "partial\n"
        assert result.stderr_tail == "ghc: panic! (the 'impossible' happened)\n"
        assert result.stderr == "ghc: panic! (the 'impossible' happened)\n"
        assert rig.pipes.stdout_eof
        # Every later command ends at once.
        again = await done(rig.pipes.collect(MARKER))
        assert again.ended and again.stdout == ""

    asyncio.run(main())


def test_end_of_file_while_nobody_collects(rig: Rig) -> None:
    async def main() -> None:
        task = await start(rig)
        rig.out(MARKER)
        await done(task)
        rig.err(b"Segmentation fault\n")
        rig.close_out()
        await settle()
        result = await done(rig.pipes.collect(MARKER))
        assert result.ended
        assert result.stderr_tail == "Segmentation fault\n"

    asyncio.run(main())


def test_close_while_collecting_ends_the_command(rig: Rig) -> None:
    async def main() -> None:
        task = await start(rig)
        rig.out(b"x")
        await settle()
        rig.pipes.close()
        result = await done(task)
        assert result.ended and result.stdout == "x"
        # Closed for good: nothing more is read, a new collect ends at once.
        rig.out(b"y\n" + MARKER)
        again = await done(rig.pipes.collect(MARKER))
        assert again.ended and again.stdout == ""

    asyncio.run(main())


# ---------------------------------------------------------------------- the output limit


@pytest.mark.parametrize("yielding", [False, True])
def test_output_limit_truncates_and_keeps_the_last_stderr(rig: Rig, yielding: bool) -> None:
    async def main() -> None:
        seen: list[str] = []
        task = await start(rig, seen, output_limit=100)
        rig.out(b"x" * 5000)
        if yielding:
            await settle()
        rig.err(b"*** Exception: boom\n")
        if yielding:
            await settle()
        rig.out(b"y" * 10 + MARKER)
        result = await done(task)
        assert result.truncated
        assert result.stdout == "x" * 100
        assert "".join(seen) == "x" * 100
        assert result.stdout_bytes == 5010
        assert result.stderr == "*** Exception: boom\n"
        assert not result.ended

    asyncio.run(main())


def test_output_limit_over_more_than_a_pipe_holds(rig: Rig) -> None:
    chunk = b"z" * 4096

    async def main() -> None:
        task = await start(rig, output_limit=1000)
        for _ in range(64):  # 256 KiB, four times a Linux pipe's capacity
            rig.out(chunk)
            await settle(2)
        rig.err(b"*** Exception: stack overflow\n")
        rig.out(MARKER)
        result = await done(task)
        assert result.truncated
        assert result.stdout == "z" * 1000
        assert result.stdout_bytes == 64 * len(chunk)
        assert result.stderr.endswith("*** Exception: stack overflow\n")

    asyncio.run(main())


def test_stderr_after_a_dropped_chunk_is_dropped_too_in_order(rig: Rig) -> None:
    """Once a chunk went over the limit, a later small one must not slip into the kept part:
    it would come before the dropped text it followed. Seen as a flaky exception type: the
    report's header was dropped with the flood, its CallStack lines kept, and the report
    parsed from the reordered text lost its call stack ("SomeException", not "ErrorCall")."""

    async def main() -> None:
        task = await start(rig, output_limit=100)
        rig.err(b"e" * 60)
        await settle()
        rig.err(b"e" * 80 + b"*** Exception: boom\n")  # over the limit: dropped, kept as tail
        await settle()
        rig.err(b"CallStack (from HasCallStack):\n")  # 31 bytes: would still fit (60 + 31)
        await settle()
        rig.out(MARKER)
        result = await done(task)
        assert result.truncated
        assert result.stderr == (
            "e" * 140 + "*** Exception: boom\nCallStack (from HasCallStack):\n"
        )

    asyncio.run(main())


def test_output_within_the_limit_is_not_truncated(rig: Rig) -> None:
    async def main() -> None:
        task = await start(rig, output_limit=6)
        rig.err(b"e\n")
        rig.out(b"1234" + MARKER)
        result = await done(task)
        assert not result.truncated
        assert (result.stdout, result.stderr) == ("1234", "e\n")

    asyncio.run(main())


# ---------------------------------------------------------------------- callback failures


def test_a_failing_output_callback_fails_the_collect_only(rig: Rig) -> None:
    def fail(text: str) -> None:
        raise RuntimeError(f"client gone: {text!r}")

    async def main() -> None:
        task = asyncio.create_task(rig.pipes.collect(MARKER, on_stdout=fail))
        await settle()
        rig.out(b"x\n" + MARKER)
        with pytest.raises(RuntimeError, match="client gone: 'x\\\\n'"):
            await done(task)
        seen: list[str] = []
        task = await start(rig, seen)
        rig.out(b"y\n" + MARKER)
        result = await done(task)
        assert result.stdout == "y\n" and seen == ["y\n"]
        assert not result.ended

    asyncio.run(main())


def test_a_callback_failing_on_output_read_before_collect(rig: Rig) -> None:
    # The kept output is passed to the callback inside ``collect`` itself; the collect still
    # waits for its own marker, then reports the failure.
    def fail(text: str) -> None:
        raise ValueError("no")

    async def main() -> None:
        first = await start(rig)
        rig.out(MARKER + b"early\n")
        await done(first)
        task = asyncio.create_task(rig.pipes.collect(MARKER, on_stdout=fail))
        await settle()
        assert not task.done()
        rig.out(b"more\n" + MARKER)
        with pytest.raises(ValueError, match="no"):
            await done(task)
        task = await start(rig)
        rig.out(b"y\n" + MARKER)
        assert (await done(task)).stdout == "y\n"

    asyncio.run(main())


def test_a_failing_stderr_callback_fails_its_own_collect_in_step(rig: Rig) -> None:
    def fail(text: str) -> None:
        raise RuntimeError("stderr callback")

    async def main() -> None:
        task = asyncio.create_task(rig.pipes.collect(MARKER, on_stderr=fail))
        await settle()
        rig.err(b"warning\n")
        await settle()
        assert not task.done()  # the command's output is still collected to its end
        rig.err(b"more\n")
        rig.out(MARKER)  # the failed command's prompt
        with pytest.raises(RuntimeError, match="stderr callback"):
            await done(task)
        rig.out(b"ok\n" + MARKER)
        assert (await done(rig.pipes.collect(MARKER))).stdout == "ok\n"

    asyncio.run(main())


def test_a_failing_callback_keeps_the_output_after_the_marker(rig: Rig) -> None:
    def fail(text: str) -> None:
        raise RuntimeError("gone")

    async def main() -> None:
        task = asyncio.create_task(rig.pipes.collect(MARKER, on_stdout=fail))
        await settle()
        rig.out(b"x\n" + MARKER + b"y\n" + MARKER)
        with pytest.raises(RuntimeError, match="gone"):
            await done(task)
        assert (await done(rig.pipes.collect(MARKER))).stdout == "y\n"

    asyncio.run(main())


def test_a_partial_marker_at_end_of_file_is_output(rig: Rig) -> None:
    async def main() -> None:
        task = await start(rig)
        rig.out(b"partial" + MARKER[:2])
        await settle()
        rig.close_out()
        result = await done(task)
        assert result.ended and result.stdout == "partial" + MARKER[:2].decode()

    asyncio.run(main())


def test_a_partial_marker_is_output_when_the_pipes_close(rig: Rig) -> None:
    async def main() -> None:
        task = await start(rig)
        rig.out(b"x" + MARKER[:1])
        await settle()
        rig.pipes.close()
        result = await done(task)
        assert result.ended and result.stdout == "x" + MARKER[:1].decode()

    asyncio.run(main())


def test_truncation_keeps_stderr_once(rig: Rig) -> None:
    async def main() -> None:
        task = asyncio.create_task(rig.pipes.collect(MARKER, output_limit=10))
        await settle()
        rig.err(b"warn\n")
        await settle()
        rig.out(b"x" * 100)
        await settle()
        rig.err(b"boom\n")
        rig.out(MARKER)
        result = await done(task)
        assert result.truncated
        assert result.stderr == "warn\nboom\n"

    asyncio.run(main())


# ---------------------------------------------------------------------- decoding


def test_invalid_utf8_is_replaced(rig: Rig) -> None:
    async def main() -> None:
        task = await start(rig)
        rig.err(b"bad \xfe\n")
        rig.out(b"a\xffb\xc3(\n" + MARKER)
        result = await done(task)
        assert result.stdout == "a\ufffdb\ufffd(\n"
        assert result.stderr == "bad \ufffd\n"

    asyncio.run(main())


def test_utf8_characters_split_across_writes(rig: Rig) -> None:
    text = "é€𝄞λ\n"
    payload = text.encode() + MARKER

    async def main() -> None:
        seen: list[str] = []
        seen_err: list[str] = []
        task = await start(rig, seen, seen_err)
        for i in range(len(payload)):
            if i == 3:
                rig.err("€".encode()[:2])
                await settle()
                rig.err("€".encode()[2:] + b"\n")
            rig.out(payload[i : i + 1])
            await settle(2)
        result = await done(task)
        assert result.stdout == text
        assert "".join(seen) == text
        assert result.stderr == "€\n" and "".join(seen_err) == "€\n"

    asyncio.run(main())


def test_an_incomplete_character_at_the_marker_is_replaced(rig: Rig) -> None:
    async def main() -> None:
        task = await start(rig)
        rig.out(b"x\xe2\x82" + MARKER)
        result = await done(task)
        assert result.stdout == "x\ufffd"

    asyncio.run(main())


# ---------------------------------------------------------------------- _marker_prefix_at_end


@pytest.mark.parametrize(
    ("data", "marker", "expected"),
    [
        (b"", MARKER, 0),
        (b"abc", MARKER, 0),
        (b"abc\0", MARKER, 1),
        (b"abc\0A", MARKER, 2),
        (b"abc\0Ab", MARKER, 3),
        (b"\0A\0", MARKER, 1),
        (MARKER[:-1], MARKER, len(MARKER) - 1),
        (b"x" + MARKER[:-1], MARKER, len(MARKER) - 1),
        (MARKER, MARKER, 0),  # a whole marker is not a proper prefix of itself
        (b"#~0123456789abcdef~", b"#~0123456789abcdef~#", 19),
        (b"#~0123456789abcdef~#", b"#~0123456789abcdef~#", 1),
        (b"aa", b"aab", 2),
        (b"aaa", b"aab", 2),
        (b"xaba", b"abab", 3),
        (b"abc", b">", 0),
        (b">", b">", 0),
    ],
)
def test_marker_prefix_at_end(data: bytes, marker: bytes, expected: int) -> None:
    assert _marker_prefix_at_end(data, marker) == expected


def _prefix_at_end_reference(data: bytes, marker: bytes) -> int:
    for size in range(min(len(data), len(marker) - 1), 0, -1):
        if data.endswith(marker[:size]):
            return size
    return 0


@pytest.mark.parametrize("marker", [b"ab", b"aab", b"aba", b"abab", b"abb", b"baaa"])
def test_marker_prefix_at_end_against_every_short_input(marker: bytes) -> None:
    for length in range(8):
        for letters in itertools.product(b"abc", repeat=length):
            data = bytes(letters)
            assert _marker_prefix_at_end(data, marker) == _prefix_at_end_reference(
                data, marker
            ), data


# ------------------------------------------------------- the interpreted program's own pipes


class UserRig(Rig):
    """A fake GHCi whose interpreted program writes to pipes of its own."""

    def __init__(self) -> None:
        out_r, self.out_w = os.pipe()
        err_r, self.err_w = os.pipe()
        user_out_r, self.user_out_w = os.pipe()
        user_err_r, self.user_err_w = os.pipe()
        self._open = [out_r, self.out_w, err_r, self.err_w, user_out_r, self.user_out_w,
                      user_err_r, self.user_err_w]
        self.pipes = GhciPipes(out_r, err_r, user_out_r, user_err_r)

    def user_out(self, data: bytes) -> None:
        assert os.write(self.user_out_w, data) == len(data)

    def user_err(self, data: bytes) -> None:
        assert os.write(self.user_err_w, data) == len(data)


def test_program_output_never_joins_ghcis_answer() -> None:
    rig = UserRig()

    async def main() -> None:
        # A statement: the program's output goes to the callbacks, GHCi's report stays apart.
        out: list[str] = []
        user_err: list[str] = []
        task = asyncio.create_task(rig.pipes.collect(
            MARKER, on_stdout=out.append, on_stderr=None, output_limit=10,
            on_user_stderr=user_err.append))
        await settle()
        rig.user_out(b"2\n")
        rig.user_err(b"\nF.hs:1:1: error:\n")  # more than the limit left: cut there
        rig.err(b"*** Exception: boom\n")
        rig.out(MARKER)
        result = await done(task)
        assert "".join(out) == "2\n" and "".join(user_err) == "\nF.hs:1:"
        assert result.stdout == "" and result.truncated and result.user_stdout_bytes == 2
        assert result.stderr.endswith("*** Exception: boom\n")
        # A query: what the program prints meanwhile is not its answer, and waits.
        task = asyncio.create_task(rig.pipes.collect(MARKER))
        await settle()
        rig.user_out(b"log: x :: Y\n")
        rig.out(b"map :: (a -> b) -> [a] -> [b]\n")
        await settle()
        rig.user_err(b"noise\n")
        rig.out(MARKER)
        assert (await done(task)).stdout == "map :: (a -> b) -> [a] -> [b]\n"
        rig.user_out(b"later\n")
        await settle()
        # ... for the next command that takes it, in order.
        out.clear()
        user_err.clear()
        task = asyncio.create_task(rig.pipes.collect(
            MARKER, on_stdout=out.append, on_user_stderr=user_err.append))
        await settle()
        rig.out(MARKER)
        await done(task)
        assert "".join(out) == "log: x :: Y\nlater\n" and "".join(user_err) == "noise\n"

    try:
        asyncio.run(main())
    finally:
        rig.dispose()
