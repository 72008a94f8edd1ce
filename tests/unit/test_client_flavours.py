"""The asyncio client offers what the blocking one does (API.md §2: one method per protocol
operation in both flavours), with the same parameters."""

from __future__ import annotations

import inspect

import pytest

from core.client import AsyncClient, AsyncSession, Client, Session


def _public(cls: type) -> dict[str, list[tuple[str, object, object, object]]]:
    """Each public method's parameters: name, kind, default and annotation (as written)."""
    return {name: [(p.name, p.kind, p.default, p.annotation)
                   for p in inspect.signature(member).parameters.values()]
            for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_")}


@pytest.mark.parametrize(("sync", "asynchronous", "own"), [
    (Session, AsyncSession, set()),
    # call() takes a plan in both; start() is the asyncio client's connect step.
    (Client, AsyncClient, {"start"}),
])
def test_the_asyncio_flavour_has_every_method_with_the_same_parameters(
    sync: type, asynchronous: type, own: set[str]
) -> None:
    blocking, coroutines = _public(sync), _public(asynchronous)
    assert set(coroutines) - own == set(blocking)
    for name, signature in blocking.items():
        assert coroutines[name] == signature, name
        assert inspect.iscoroutinefunction(getattr(asynchronous, name)), name
    for name in ("closed",):
        assert isinstance(getattr(asynchronous, name, None), property) == \
            isinstance(getattr(sync, name, None), property)
