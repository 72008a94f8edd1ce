"""Stacks in child processes taking turns call by call: the machinery of ``bench.compare``
and ``bench.floor``.

Responsible for: starting ``--instances`` child processes per stack (``_stack_child.py``,
which imports the shim from the stack's checkout), having every child make one timed
``execStmt "1 + 1"`` per round in a fresh random order, and printing each stack's p50 and
its ratio to the first stack. Must not: know what a stack does (the child does).

Why this shape: this machine's speed drifts by 30 % within minutes, so only calls made in
turn compare; identical processes differ by a few percent, so each stack runs in several;
and a fixed order of turns once made one of two identical stacks 5 % slower than the other
(the call that runs just before another changes its time), so the order is drawn anew every
round.
"""

from __future__ import annotations

import os
import random
import statistics
import struct
import subprocess
import sys
from dataclasses import dataclass

from bench.common import BENCH_DIR

__all__ = ["STMT", "Stack", "print_table", "run_interleaved"]

STMT = "1 + 1"  # what _stack_child.py runs


@dataclass(frozen=True, slots=True)
class Stack:
    name: str
    kind: str  # a kind of _stack_child.py: raw, client, compat, relay-bytes, ...
    root: str  # the checkout the child imports the shim from


def _start(stack: Stack, pin: str) -> subprocess.Popen[bytes]:
    # PYTHONPATH puts the stack's checkout ahead of the installed shim; an embedded server
    # is started from there too.
    env = dict(os.environ, PYTHONPATH=stack.root)
    child = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "_stack_child.py"), stack.kind, pin],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=stack.root,
    )
    assert child.stdout is not None
    if child.stdout.read(1) != b"R":
        raise RuntimeError(f"the {stack.kind} child at {stack.root} did not start")
    return child


def _timed(child: subprocess.Popen[bytes]) -> int:
    assert child.stdin is not None and child.stdout is not None
    os.write(child.stdin.fileno(), b"x")
    data = child.stdout.read(8)
    if len(data) != 8:
        raise RuntimeError("a child stopped answering")
    value: int = struct.unpack("q", data)[0]
    return value


def run_interleaved(stacks: list[Stack], rounds: int, *, instances: int = 2,
                    pin: str = "") -> dict[str, list[int]]:
    """Nanoseconds of every call, by stack name (``rounds`` calls per process)."""
    children = [(stack.name, _start(stack, pin)) for stack in stacks for _ in range(instances)]
    times: dict[str, list[int]] = {stack.name: [] for stack in stacks}
    order = random.Random(0)
    try:
        for _ in range(rounds):
            for name, child in order.sample(children, len(children)):
                times[name].append(_timed(child))
    finally:
        for _, child in children:
            assert child.stdin is not None
            child.stdin.close()
            child.wait(30)
    return times


def print_table(title: str, times: dict[str, list[int]]) -> None:
    """Each stack's p50 and its ratio to the first stack's."""
    print(title)
    base = statistics.median(next(iter(times.values())))
    for name, values in times.items():
        p50 = statistics.median(values)
        print(f"  {name:52s} p50 {p50 / 1e3:8.1f} µs  {p50 / base:6.3f}×")
