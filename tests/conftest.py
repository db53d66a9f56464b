"""Shared fixtures: a real anvil node for chain tests; PostgreSQL and Redis come from the
environment (`./spoke test` points DATABASE_URL and REDIS_URL at real servers)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from stack.embedded import Anvil
from tests.chain_env import ChainEnv, clear_chain_caches, deploy_chain_env, point_settings_at


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    """One anvil for the session (tests that need a pristine chain start their own: ~50 ms)."""
    node = Anvil().start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def chain_env(anvil: Anvil, tmp_path_factory: pytest.TempPathFactory) -> ChainEnv:
    """The contracts deployed once per session on the session anvil, the hub funded."""
    return deploy_chain_env(anvil, tmp_path_factory.mktemp("chain"))


@pytest.fixture
def hub_chain(settings: object, chain_env: ChainEnv) -> Iterator[ChainEnv]:
    """Django settings pointing at the session's deployed contracts and hub key."""
    point_settings_at(settings, chain_env)
    yield chain_env
    clear_chain_caches()


class MovableClock:
    """The platform's clock for scheduled money work (ops/clock.py), moved by a test. Worker and
    scheduler subprocesses follow it when started with SPOKE_TEST_CLOCK_FILE=<path>."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def advance(self, seconds: int) -> None:
        from ops.clock import set_offset

        self.offset += seconds
        set_offset(self.path, self.offset)

    def now(self) -> datetime:
        from ops import clock

        return clock.now()


@pytest.fixture
def movable_clock(settings: Any, tmp_path: Path) -> MovableClock:
    clock = MovableClock(tmp_path / "clock")
    clock.advance(0)
    settings.TEST_CLOCK_FILE = clock.path
    return clock
