"""Where the server puts each session's GHCi: the least used CPU, with the server's own CPU
counted as one session more and losing ties (no GHC needed: placement is bookkeeping)."""

from __future__ import annotations

import pytest

from core.server import ServerConfig
from core.server.server import Server


def _server(cpus: list[int], server_cpu: int | None) -> Server:
    server = Server(ServerConfig(server_cpu=server_cpu))
    server._cpus = cpus
    server._sessions_on_cpu = dict.fromkeys(cpus, 0)
    return server


def _take(server: Server, count: int) -> list[int]:
    taken: list[int] = []
    for _ in range(count):
        cpus = server._take_cpu()
        assert cpus is not None and len(cpus) == 1
        taken.extend(cpus)
    return taken


@pytest.mark.parametrize(
    ("cpus", "server_cpu", "expected"),
    [
        ([0, 1], 1, [0, 0, 1, 0, 1]),
        ([0, 1], None, [0, 1, 0, 1, 0]),
        ([0, 1, 2, 3], 3, [0, 1, 2, 0, 1, 2, 3]),
        ([4, 7], 4, [7, 7, 4]),
    ],
)
def test_sessions_fill_the_other_cpus_first(cpus: list[int], server_cpu: int | None,
                                            expected: list[int]) -> None:
    assert _take(_server(cpus, server_cpu), len(expected)) == expected


def test_a_released_cpu_is_taken_again_first() -> None:
    server = _server([0, 1], 1)
    assert _take(server, 2) == [0, 0]
    server._release_cpu(frozenset({0}))
    assert _take(server, 1) == [0]


def test_one_cpu_means_no_placement() -> None:
    assert _server([0], 0)._take_cpu() is None


def test_pooled_ghcis_may_run_anywhere_only_when_the_server_keeps_to_one_cpu() -> None:
    assert _server([0, 1], 1)._pool_cpus() == frozenset({0, 1})
    assert _server([0, 1], None)._pool_cpus() is None
