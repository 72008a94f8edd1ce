"""Fixtures of the fault suite: one shared server process, a client and a session per test.

Every test here drives a real GHCi through a server started in its own process (the shared
one below, or one of its own when the test kills or reconfigures it), so that the server and
its GHCi children can be inspected and killed from outside (helpers in ``support.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from core.client import Client, Session
from tests.faults.support import ServerProcess

# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def fault_server() -> Iterator[ServerProcess]:
    """One server for the tests that do not kill or reconfigure theirs."""
    server = ServerProcess("--pool", "2")
    yield server
    server.stop()


@pytest.fixture
def fault_client(fault_server: ServerProcess) -> Iterator[Client]:
    client = fault_server.connect()
    yield client
    client.close()


@pytest.fixture
def fault_session(fault_client: Client) -> Iterator[Session]:
    session = fault_client.open_session()
    yield session
    if not fault_client.closed:
        with contextlib.suppress(Exception):
            session.close()
