"""Shared fixtures: a real anvil node for chain tests; PostgreSQL and Redis come from the
environment (`./spoke test` points DATABASE_URL and REDIS_URL at real servers)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from stack.embedded import Anvil
from tests.chain_env import (
    ChainEnv,
    cached_chain_env,
    clear_chain_caches,
    ingest_from_now,
    point_settings_at,
)

LONGEST = ("tests/stack/test_restart.py", "tests/stack/test_start_command.py")  # ./spoke up, minutes


def pytest_configure(config: pytest.Config) -> None:
    from tests.fast_flush import install

    install()  # a transactional test's reset deletes rows instead of truncating (tests/fast_flush.py)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The whole-stack tests first: run in parallel workers (stack/testrun.py), the longest tests
    then start at once and the short ones fill both workers to the end, instead of a long test
    ending the run alone. xdist hands each worker two tests to begin with, then one at a time:
    the two `./spoke up` tests come first and third, so that they start on different workers.
    The order within each group is kept."""
    longest = [item for item in items if item.nodeid.startswith(LONGEST)]
    slow = [item for item in items if item not in longest
            and (item.get_closest_marker("slow") or item.get_closest_marker("browser"))]
    first = []
    while longest or slow:
        first += [longest.pop(0)] if longest else []
        first += [slow.pop(0)] if slow else []
    chosen = set(first)
    items[:] = first + [item for item in items if item not in chosen]


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    """One anvil for the session (tests that need a pristine chain start their own: ~50 ms)."""
    node = Anvil(with_parent=True).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def chain_env(anvil: Anvil, tmp_path_factory: pytest.TempPathFactory) -> ChainEnv:
    """The contracts deployed once per session on the session anvil, the hub funded (under
    `./spoke mutate`, deployed once per run and loaded into each mutant's anvil)."""
    return cached_chain_env(anvil, tmp_path_factory.mktemp("chain"),
                            os.environ.get("SPOKE_TEST_CHAIN_CACHE"))


@pytest.fixture
def hub_chain(settings: object, chain_env: ChainEnv,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainEnv]:
    """Django settings pointing at the session's deployed contracts and hub key; the chain is
    ingested from the block after its head at this point (earlier tests' events are not this
    test's)."""
    point_settings_at(settings, chain_env)
    ingest_from_now(settings, chain_env, tmp_path_factory.mktemp("ingest"))
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


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """Test database names: pytest-django's per-worker suffix (test_<name>_gw0), then the run's
    own suffix when stack/testrun.py sets one (a shared server may serve several runs at once,
    each of which would otherwise drop the other's database on start)."""
    suffix = os.environ.get("SPOKE_TEST_DB_SUFFIX")
    if not suffix:
        return
    from django.conf import settings

    for database in settings.DATABASES.values():
        test = database.setdefault("TEST", {})
        test["NAME"] = f"{test.get('NAME') or 'test_' + database['NAME']}_{suffix}"


@pytest.fixture(autouse=True)
def _delivery_yield(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests written about PT_CHANNEL expect the hub to sign a payment into the recipient's
    channel at once: they run with DELIVERY_YIELD_MS = 0. Tests marked `delivery_yield` run with
    the default (payments to a user who is paying are held until their next payment)."""
    from django.conf import settings

    if request.node.get_closest_marker("delivery_yield") is not None:
        yield
        return
    before = settings.DELIVERY_YIELD_MS
    settings.DELIVERY_YIELD_MS = 0
    try:
        yield
    finally:
        settings.DELIVERY_YIELD_MS = before


@pytest.fixture(autouse=True)
def _deposit_exchange_collateral(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests written about the hub's collateral top-ups deposit ETH and expect the hub to hold no
    tokens yet: they run with DEPOSIT_EXCHANGE_CAP_TOKENS = 0. Tests marked `deposit_collateral`
    run with the default (the ETH deposit carries the hub's tokens for an exchange)."""
    from django.conf import settings

    if request.node.get_closest_marker("deposit_collateral") is not None:
        yield
        return
    before = settings.DEPOSIT_EXCHANGE_CAP_TOKENS
    settings.DEPOSIT_EXCHANGE_CAP_TOKENS = 0
    try:
        yield
    finally:
        settings.DEPOSIT_EXCHANGE_CAP_TOKENS = before
