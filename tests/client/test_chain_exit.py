"""The SDK's own chain access against a real anvil node and Spoke's compiled contracts: a user
deposit sent with userAuthorizedUpdate, its event decoded for ConfirmPending, then an exit with
the exported double-signed state when the hub is gone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from spoke_client import Channel, ChannelManagerClient, HubClient, MemoryStateStore, UserKey
from spoke_client.policy import DepositRequest, PolicyContext, SigningPolicy
from spoke_client.store import ChannelRecord
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from hub.core import ChannelState, HubRate, Signer, apply_update, zero_state

from .factories import proposal

pytestmark = pytest.mark.chain

BUILD = Path(__file__).resolve().parents[2] / "contracts" / "build"
# anvil's well-known development accounts 0-2 (public, development chains only)
DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
HUB_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
USER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
E18 = 10**18
CHALLENGE_PERIOD = 60


def _deploy(w3: Web3, name: str, *args: Any) -> str:
    artifact = json.loads((BUILD / f"{name}.json").read_text())
    deployer = Account.from_key(DEPLOYER_KEY)
    tx = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"]).constructor(
        *args).build_transaction({"from": deployer.address,
                                  "nonce": w3.eth.get_transaction_count(deployer.address)})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(deployer.sign_transaction(tx).raw_transaction))
    assert receipt["status"] == 1
    return str(receipt["contractAddress"])


@pytest.fixture
def deployed(anvil: Any) -> dict[str, Any]:
    w3 = Web3(HTTPProvider(anvil.rpc_url))
    hub = Signer(HUB_KEY)
    token = _deploy(w3, "SpokeTestToken")
    manager = _deploy(w3, "ChannelManager", Web3.to_checksum_address(hub.address), CHALLENGE_PERIOD, token)
    user = UserKey(USER_KEY)
    token_contract = w3.eth.contract(address=token, abi=json.loads((BUILD / "SpokeTestToken.json").read_text())["abi"])
    deployer = Account.from_key(DEPLOYER_KEY)
    tx = token_contract.functions.mint(Web3.to_checksum_address(user.address), 1000 * E18).build_transaction(
        {"from": deployer.address, "nonce": w3.eth.get_transaction_count(deployer.address)})
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(deployer.sign_transaction(tx).raw_transaction))
    chain = ChannelManagerClient(w3, manager, account=user.account, token_address=token)
    return {"w3": w3, "hub": hub, "user": user, "chain": chain, "token": token_contract, "manager": manager}


def _deposit_and_confirm(d: dict[str, Any]) -> ChannelState:
    """Deposit 1 ETH + 50 tokens as the Connext client would; returns the confirmed state."""
    hub, user, chain = d["hub"], d["user"], d["chain"]
    prev = zero_state(chain.address, user.address)
    now = chain.block_time()
    args = {"depositWeiHub": "0", "depositWeiUser": str(E18), "depositTokenHub": "0",
            "depositTokenUser": str(50 * E18), "timeout": now + 300,
            "sigUser": user.sign_deposit_request(amount_wei=E18, amount_token=50 * E18)}
    proposed = hub.sign_channel_state(apply_update(prev, "ProposePendingDeposit", args, now=now))
    policy = SigningPolicy()
    decision = policy.evaluate(prev, proposal("ProposePendingDeposit", args, tx_count=1, sig_hub=proposed.sig_hub),
                               PolicyContext(now=now, hub_address=hub.address,
                                             deposit=DepositRequest(E18, 50 * E18)))
    assert decision.accept and decision.state is not None, decision
    pending = user.sign_state(decision.state).replace(sig_hub=proposed.sig_hub)
    tx_hash = chain.user_authorized_update(pending)

    event = chain.did_update_channel(tx_hash, user.address)
    assert event is not None
    assert event.pending_wei_updates == (0, 0, E18, 0)
    assert event.pending_token_updates == (0, 0, 50 * E18, 0)
    assert event.tx_count == (1, 1)
    confirm_args = {"transactionHash": tx_hash}
    hub_confirm = hub.sign_channel_state(apply_update(pending, "ConfirmPending", confirm_args, now=now, event=event))
    decision = policy.evaluate(pending, proposal("ConfirmPending", confirm_args, tx_count=2, sig_hub=hub_confirm.sig_hub),
                               PolicyContext(now=chain.block_time(), hub_address=hub.address,
                                             reference_rate=HubRate("200", now), event=event))
    assert decision.accept and decision.state is not None, decision
    return user.sign_state(decision.state).replace(sig_hub=hub_confirm.sig_hub)


def test_a_user_deposit_goes_on_chain_and_its_event_backs_confirm_pending(deployed: dict[str, Any]) -> None:
    confirmed = _deposit_and_confirm(deployed)
    assert (confirmed.balance_wei_user, confirmed.balance_token_user) == (E18, 50 * E18)
    details = deployed["chain"].channel_details(deployed["user"].address)
    assert (details.tx_count_global, details.tx_count_chain, details.status) == (1, 1, "Open")
    assert deployed["chain"].channel_balances(deployed["user"].address)[1] == E18


def test_the_user_exits_with_its_latest_state_and_gets_its_funds_back(deployed: dict[str, Any]) -> None:
    w3, user, chain = deployed["w3"], deployed["user"], deployed["chain"]
    confirmed = _deposit_and_confirm(deployed)
    unreachable = HubClient("http://127.0.0.1:9/api/hub", user,
                            transport=httpx.MockTransport(lambda r: httpx.Response(503)))
    store = MemoryStateStore()
    store.save(ChannelRecord(state=confirmed, exitable=confirmed))
    channel = Channel(unreachable, store=store, chain=chain,
                      config={"contractAddress": chain.address, "hubAddress": deployed["hub"].address})

    channel.start_exit()  # our state (txCount 2) is newer than the chain's (1): startExitWithUpdate
    details = chain.channel_details(user.address)
    assert (details.status, details.tx_count_global, details.exit_initiator) == ("ChannelDispute", 2, user.address)

    token_before = deployed["token"].functions.balanceOf(Web3.to_checksum_address(user.address)).call()
    w3.provider.make_request("evm_increaseTime", [CHALLENGE_PERIOD + 1])
    w3.provider.make_request("evm_mine", [])
    wei_before = w3.eth.get_balance(Web3.to_checksum_address(user.address))
    tx_hash = channel.empty_channel()
    receipt = w3.eth.get_transaction_receipt(tx_hash)
    gas = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(Web3.to_checksum_address(user.address)) == wei_before + E18 - gas
    assert deployed["token"].functions.balanceOf(Web3.to_checksum_address(user.address)).call() == token_before + 50 * E18
    assert chain.channel_details(user.address).status == "Open"
    assert chain.did_empty_channel(tx_hash, user.address) is not None
