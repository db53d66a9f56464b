"""Dispute tests: a private anvil per test (they move its clock) with a short challenge period,
users with money in their channels, and the hub's work run in-process (ingest, send, confirm)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from spoke_client import ChannelManagerClient
from web3 import Web3

from hub.chain.deploy import contract_at
from hub.chain.ingest import events_poll
from hub.channels.models import Channel, ChannelUpdate
from hub.core import ChannelState
from stack.embedded import Anvil
from tests.chain_env import ChainEnv, clear_chain_caches, deploy_chain_env, point_settings_at
from tests.hub.api.test_channel_flows import run_hub_transactions
from tests.hub.api.user_sim import UserSim

CHALLENGE_PERIOD = 120


@pytest.fixture
def own_chain(settings: Any, tmp_path: Path) -> Iterator[ChainEnv]:
    """A private anvil with freshly deployed contracts (challenge period CHALLENGE_PERIOD)."""
    node = Anvil(with_parent=True).start()
    try:
        env = deploy_chain_env(node, tmp_path, challenge_period=CHALLENGE_PERIOD)
        point_settings_at(settings, env)
        settings.DISPUTE_ANSWER_MARGIN = 30
        yield env
    finally:
        clear_chain_caches()
        node.stop()


def hub_tick() -> None:
    """One round of the hub's background work, in order: ingest and handle events, send and
    confirm queued transactions, ingest what they caused."""
    events_poll()
    run_hub_transactions()
    events_poll()


def pay_hub(env: ChainEnv, sim: UserSim, n: int, *, wei: int = 10**15, token: int = 10**17) -> None:
    """n double-signed user -> hub payments (alternately wei and tokens), 50 per purchase."""
    from tests.purchases.helpers import pay_request

    hub = env.hub.address.lower()
    done = 0
    while done < n:
        batch = []
        for i in range(done, min(n, done + 50)):
            amounts = {"wei": wei} if i % 2 and wei else {"token": token}
            batch.append(pay_request(sim, hub, ptype="PT_CHANNEL", **amounts))
        response = sim.post("payments/purchase", {"meta": {}, "payments": batch})
        assert response.status_code == 200, response.content
        done += len(batch)


def stored_state(sim: UserSim, tx_count: int) -> ChannelState:
    """The double-signed state #tx_count as the user holds it (both signatures)."""
    row = ChannelUpdate.objects.get(channel__user=sim.address, tx_count_global=tx_count,
                                    invalid__isnull=True)
    assert row.sig_user, f"state {tx_count} is not double-signed"
    return row.state


def latest_state(sim: UserSim) -> ChannelState:
    channel = Channel.objects.get(user=sim.address)
    assert channel.latest_update is not None
    return channel.latest_update.state


def user_chain(env: ChainEnv, sim: UserSim) -> ChannelManagerClient:
    """The user's own access to the contract (the SDK's client), as a misbehaving client uses it."""
    return ChannelManagerClient(env.w3, env.deployment.channel_manager, account=sim.account,
                                token_address=env.deployment.token)


class Balances:
    """On-chain money of a user and of the hub's reserves, to compare payouts to the wei."""

    def __init__(self, env: ChainEnv, user: str) -> None:
        self.env = env
        self.user = Web3.to_checksum_address(user)
        self.token = contract_at(env.w3, "SpokeTestToken", env.deployment.token)
        self.manager = contract_at(env.w3, "ChannelManager", env.deployment.channel_manager)

    def read(self) -> dict[str, int]:
        f = self.manager.functions
        return {
            "user_wei": self.env.w3.eth.get_balance(self.user),
            "user_token": self.token.functions.balanceOf(self.user).call(),
            "reserve_wei": f.getHubReserveWei().call(),
            "reserve_token": f.getHubReserveTokens().call(),
            "deferred_wei": f.deferredWei(self.user).call(),
            "deferred_token": f.deferredToken(self.user).call(),
        }


def gas_paid(env: ChainEnv, tx_hash: str) -> int:
    receipt = env.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    return int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])


def accept_empty_channel(env: ChainEnv, sim: UserSim) -> None:
    """Countersign the hub's EmptyChannel as a client does: rebuilt from the chain's event."""
    from hub.core import apply_update

    item = sim.get(f"channel/{sim.address}/sync?lastChanTx={sim.latest.tx_count_global}").json()["updates"][-1]
    update = item["update"]
    assert update["reason"] == "EmptyChannel", item
    tx_hash = update["args"]["transactionHash"]
    event = user_chain(env, sim).did_empty_channel(tx_hash, sim.address)
    assert event is not None
    new = apply_update(sim.latest, "EmptyChannel", update["args"], now=0, event=event)
    signed = sim.signer.sign_channel_state(new, as_party="user")
    sim.state = signed.replace(sig_hub=update["sigHub"])
    request = {"reason": "EmptyChannel", "args": update["args"], "txCount": signed.tx_count_global,
               "sigUser": signed.sig_user, "sigHub": update["sigHub"]}
    response = sim.post(f"channel/{sim.address}/update", {"updates": [request]})
    assert response.status_code == 200, response.content
