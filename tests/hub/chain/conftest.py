"""Fixtures for the chain layer: a private anvil per test (so nonces and block numbers start
clean), the hub key in a file, and the test token / ChannelManager deployed from the committed
artifacts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from hub.chain import deploy
from hub.chain.client import get_web3
from hub.chain.signer import hub_signer_cache_clear
from stack.embedded import Anvil

HUB_KEY = Anvil.DEV_KEY


@pytest.fixture
def node() -> Iterator[Anvil]:
    """A fresh anvil for this test only."""
    chain = Anvil(with_parent=True).start()
    try:
        yield chain
    finally:
        chain.stop()


@pytest.fixture
def hub_key_file(tmp_path: Path) -> Path:
    path = tmp_path / "hub.key"
    path.write_text(HUB_KEY + "\n")
    return path


@pytest.fixture
def chain_settings(settings: Any, node: Anvil, hub_key_file: Path) -> Iterator[Any]:
    """Settings pointing at this test's anvil with the dev key as the hub; 0 confirmations."""
    settings.ETH_RPC_URL = node.rpc_url
    settings.CHAIN_ID = Anvil.CHAIN_ID
    settings.CONFIRMATIONS = 0
    settings.HUB_PRIVATE_KEY_FILE = hub_key_file
    settings.HUB_KEYSTORE_FILE = None
    settings.HUB_KEYSTORE_PASSWORD_FILE = None
    settings.CHANNEL_MANAGER_ADDRESS = None
    hub_signer_cache_clear()
    yield settings
    hub_signer_cache_clear()


@pytest.fixture
def w3(chain_settings: Any) -> Web3:
    return get_web3()


@pytest.fixture
def hub_account() -> LocalAccount:
    return Account.from_key(HUB_KEY)


@pytest.fixture
def token(w3: Web3, hub_account: LocalAccount) -> Contract:
    """The test ERC20; the hub is its minter."""
    return deploy.deploy_token(w3, hub_account)


@pytest.fixture
def channel_manager(w3: Web3, hub_account: LocalAccount, token: Contract) -> Contract:
    manager, _block = deploy.deploy_channel_manager(
        w3, hub_account, hub=hub_account.address, challenge_period=600, token=token.address
    )
    return manager


def mine(w3: Web3, blocks: int = 1) -> None:
    w3.provider.make_request("anvil_mine", [hex(blocks)])  # type: ignore[arg-type]


def set_automine(w3: Web3, enabled: bool) -> None:
    w3.provider.make_request("evm_setAutomine", [enabled])  # type: ignore[arg-type]


def mined_transactions_from(w3: Web3, address: str) -> list[Any]:
    """Every mined transaction sent by `address`, oldest first (anvil chains are short)."""
    found = []
    for number in range(w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["from"].lower() == address.lower():  # type: ignore[index]
                found.append(tx)
    return found
