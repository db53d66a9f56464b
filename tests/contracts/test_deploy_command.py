"""`manage.py deploy_contracts` (what `./spoke up` runs) deploys the Checkout beside the
ChannelManager, adds it to a record made before it existed, and leaves a usable one alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from eth_account import Account
from web3 import Web3

from hub.chain import deploy
from stack.embedded import Anvil

pytestmark = pytest.mark.chain


@pytest.fixture
def node() -> Iterator[Anvil]:
    anvil = Anvil().start()
    try:
        yield anvil
    finally:
        anvil.stop()


def run(settings: Any) -> str:
    out = StringIO()
    call_command("deploy_contracts", "--reserve-wei", "0", "--reserve-tokens", "0", stdout=out, stderr=out)
    return out.getvalue()


def test_deploys_and_records_the_checkout(node: Anvil, settings: Any, tmp_path: Path) -> None:
    hub = Account.create()
    (tmp_path / "hub.key").write_text(hub.key.hex())
    settings.ETH_RPC_URL, settings.CHAIN_ID = node.rpc_url, Anvil.CHAIN_ID
    settings.HUB_PRIVATE_KEY_FILE, settings.CONTRACTS_FILE = tmp_path / "hub.key", tmp_path / "contracts.json"
    w3 = Web3(Web3.HTTPProvider(node.rpc_url))

    assert "Checkout 0x" in run(settings)
    entry = json.loads(settings.CONTRACTS_FILE.read_text())[str(Anvil.CHAIN_ID)]
    checkout = deploy.contract_at(w3, deploy.CHECKOUT, entry["checkout"])
    assert checkout.functions.operator().call() == hub.address and entry["checkout_block"] > 0

    # a record written before the Checkout existed gets one, the ChannelManager stays
    old = {k: entry[k] for k in ("channel_manager", "token", "block")}
    settings.CONTRACTS_FILE.write_text(json.dumps({str(Anvil.CHAIN_ID): old}))
    assert "deployed Checkout" in run(settings)
    again = json.loads(settings.CONTRACTS_FILE.read_text())[str(Anvil.CHAIN_ID)]
    assert again["channel_manager"] == entry["channel_manager"] and again["checkout"] != entry["checkout"]

    quiet = run(settings)  # nothing to do
    assert "contracts already deployed" in quiet and "deployed Checkout" not in quiet
    assert json.loads(settings.CONTRACTS_FILE.read_text())[str(Anvil.CHAIN_ID)] == again
