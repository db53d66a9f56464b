"""A user leaves with the Python SDK while the hub is gone for good: startExitWithUpdate with the
wallet's own latest state, emptyChannel after the period, exactly the latest balance back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from spoke_client import Channel, ChannelManagerClient, HubClient, JsonFileStateStore, UserKey

from hub.chain.ingest import events_poll
from hub.chain.models import ChainTransaction
from hub.disputes.models import ChannelDispute
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.disputes.conftest import CHALLENGE_PERIOD, Balances, gas_paid, hub_tick

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def test_a_user_exits_with_the_sdk_while_the_hub_is_down_for_good(
    own_chain: ChainEnv, live_server: Any, tmp_path: Path,
) -> None:
    env = own_chain
    account = env.new_user(eth=5 * ETH, tokens=20 * TOKEN)
    key = UserKey(bytes(account.key))
    hub = HubClient(live_server.url + "/api/hub", key)
    config = hub.config()
    chain = ChannelManagerClient(env.w3, config["contractAddress"], account=key.account,
                                 token_address=config["tokenAddress"])
    wallet = Channel(hub, store=JsonFileStateStore(tmp_path / "wallet.json"), chain=chain, config=config)
    for amounts in ({"amount_wei": 2 * ETH}, {"amount_token": 20 * TOKEN}):
        wallet.deposit(**amounts, wait=False)
        events_poll()
        wallet.sync()
    for i in range(6):
        wallet.pay(config["hubAddress"], **({"amount_token": 3 * TOKEN} if i % 2 else {"amount_wei": ETH // 7}))
    latest = wallet.state
    assert latest == wallet.exitable_state and latest.tx_count_global == 10
    assert (latest.balance_wei_user, latest.balance_token_user) == (2 * ETH - 3 * (ETH // 7), 11 * TOKEN)

    # The hub is gone: no API, no watcher. A fresh process loads the wallet from its file.
    gone = HubClient("http://127.0.0.1:9/api/hub", key,
                     transport=httpx.MockTransport(lambda request: httpx.Response(503)))
    wallet = Channel(gone, store=JsonFileStateStore(tmp_path / "wallet.json"), chain=chain, config=config)
    assert wallet.state == latest
    balances = Balances(env, key.address)
    before = balances.read()

    start = wallet.start_exit()
    details = chain.channel_details(key.address)
    assert (details.status, details.tx_count_global, details.exit_initiator) == (
        "ChannelDispute", latest.tx_count_global, key.address)
    env.mine(CHALLENGE_PERIOD + 1)
    empty = wallet.empty_channel()

    after = balances.read()
    assert after["user_wei"] == (before["user_wei"] - gas_paid(env, start) - gas_paid(env, empty)
                                 + latest.balance_wei_user)
    assert after["user_token"] == before["user_token"] + latest.balance_token_user
    assert after["reserve_wei"] == before["reserve_wei"] + latest.balance_wei_hub
    assert after["reserve_token"] == before["reserve_token"] + latest.balance_token_hub
    assert chain.channel_balances(key.address) == (0, 0, 0, 0, 0, 0)
    assert chain.channel_details(key.address).status == "Open"
    assert not ChainTransaction.objects.filter(purpose__startswith="dispute").exists()


def test_after_an_sdk_exit_the_wallet_countersigns_empty_channel_and_deposits_again(
    own_chain: ChainEnv, live_server: Any, tmp_path: Path,
) -> None:
    env = own_chain
    account = env.new_user(eth=5 * ETH, tokens=0)
    key = UserKey(bytes(account.key))
    hub = HubClient(live_server.url + "/api/hub", key)
    config = hub.config()
    chain = ChannelManagerClient(env.w3, config["contractAddress"], account=key.account,
                                 token_address=config["tokenAddress"])
    wallet = Channel(hub, store=JsonFileStateStore(tmp_path / "wallet.json"), chain=chain, config=config)
    wallet.deposit(amount_wei=ETH, wait=False)
    events_poll()
    wallet.sync()
    wallet.pay(config["hubAddress"], amount_wei=ETH // 4)
    latest = wallet.state

    wallet.start_exit()
    hub_tick()  # the hub has nothing newer: it empties the channel at once
    assert ChannelDispute.objects.get().status == "finished"
    assert chain.channel_details(key.address).status == "Open"

    wallet.sync()
    assert wallet.status == "CS_OPEN"
    assert wallet.state.tx_count_global == latest.tx_count_global + 1
    assert wallet.state.is_double_signed
    assert (wallet.state.balance_wei_user, wallet.state.balance_wei_hub) == (0, 0)
    wallet.deposit(amount_wei=ETH // 2, wait=False)
    events_poll()
    wallet.sync()
    assert wallet.state.balance_wei_user == ETH // 2 and not wallet.state.has_pending_ops
    assert chain.channel_balances(key.address)[1] == ETH // 2
