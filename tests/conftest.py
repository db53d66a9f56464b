"""Shared fixtures: a real anvil node for chain tests; PostgreSQL and Redis come from the
environment (`./spoke test` points DATABASE_URL and REDIS_URL at real servers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stack.embedded import Anvil


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    """One anvil for the session (tests that need a pristine chain start their own: ~50 ms)."""
    node = Anvil().start()
    try:
        yield node
    finally:
        node.stop()
