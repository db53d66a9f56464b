"""The Python SDK against the real hub: Django served by pytest-django's live_server, anvil with
the real contracts, chain events ingested by the hub's own poller (run here instead of a worker).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from spoke_client import (
    Channel,
    ChannelManagerClient,
    HubClient,
    JsonFileStateStore,
    UserKey,
)

from hub.core import ChannelState
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import ingest_all, run_hub_transactions, set_rate

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def make_channel(env: ChainEnv, live_server: Any, tmp_path: Path, *, eth: int = 5 * ETH,
                 tokens: int = 0) -> Channel:
    account = env.new_user(eth=eth, tokens=tokens)
    key = UserKey(bytes(account.key))
    hub = HubClient(live_server.url + "/api/hub", key)
    config = hub.config()
    chain = ChannelManagerClient(env.w3, config["contractAddress"], account=key.account,
                                 token_address=config["tokenAddress"])
    return Channel(hub, store=JsonFileStateStore(tmp_path / "wallet.json"), chain=chain,
                   config=config)


def deposit(channel: Channel, *, wei: int = 0, tokens: int = 0) -> None:
    start = channel.state.tx_count_global
    channel.deposit(amount_wei=wei, amount_token=tokens, wait=False)
    assert channel.state.tx_count_global == start + 1  # countersigned and sent on-chain
    ingest_all()
    channel.sync()
    assert channel.state.tx_count_global == start + 2
    assert not channel.state.has_pending_ops


def test_sdk_deposits_exchanges_and_can_exit_with_its_own_state(hub_chain: ChainEnv, live_server: Any,
                                                                tmp_path: Path) -> None:
    env = hub_chain
    set_rate("200")
    channel = make_channel(env, live_server, tmp_path, tokens=50 * TOKEN)

    deposit(channel, wei=2 * ETH)
    deposit(channel, tokens=20 * TOKEN)  # approves the token itself
    assert (channel.state.balance_wei_user, channel.state.balance_token_user) == (2 * ETH, 20 * TOKEN)
    details = channel.chain.channel_details(channel.user)  # type: ignore[union-attr]
    assert details.tx_count_global == channel.state.tx_count_global - 1  # the last deposit's state

    # hub collateral, so the hub has tokens to sell
    channel.request_collateral()
    run_hub_transactions()
    ingest_all()
    channel.sync()
    assert channel.state.balance_token_hub > 0 and not channel.state.has_pending_ops

    before = channel.state
    channel.exchange(wei_to_sell=ETH // 20)
    assert channel.state.balance_token_user == before.balance_token_user + 10 * TOKEN
    assert channel.state.balance_wei_user == before.balance_wei_user - ETH // 20

    # the wallet's own copy is what the hub stored, and it is exitable
    hub_copy = channel.hub.latest_update()
    assert ChannelState.from_json(hub_copy["state"]) == channel.state
    args = channel.export_exit_args()
    assert args["txCount"] == [channel.state.tx_count_global, channel.state.tx_count_chain]
    reloaded = JsonFileStateStore(tmp_path / "wallet.json").load(channel.contract_address, channel.user)
    assert reloaded is not None and reloaded.state == channel.state
