"""Each test module gets its own anvil with the contracts deployed from the committed artifacts;
every test runs between an evm_snapshot and an evm_revert, so tests never see each other's state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contracts.chain import Chain


@pytest.fixture(scope="module")
def module_chain() -> Iterator[Chain]:
    chain = Chain.start()
    try:
        yield chain
    finally:
        chain.stop()


@pytest.fixture
def chain(module_chain: Chain) -> Iterator[Chain]:
    module_chain.snapshot()
    try:
        yield module_chain
    finally:
        module_chain.revert()
