"""The protocol API end to end on anvil with the real contract: a user deposits, exchanges both
ways and withdraws; on-chain balances match to the wei."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from django.db import connection
from web3 import Web3

from hub.chain.channel_manager import authorized_update_args
from hub.chain.deploy import contract_at, send_transaction
from hub.chain.ingest import events_poll
from hub.chain.models import ChainTransaction
from hub.channels.models import ChannelUpdate
from hub.channels.reconciliation import reconcile_channels
from hub.core import HubRate, channel_state_hash
from hub.rates.models import RateSource
from hub.rates.services import rate_current, rate_refresh
from tests.chain_env import ETH, TOKEN, ChainEnv, submit_and_confirm
from tests.hub.api.test_openapi_refusals import assert_documented
from tests.hub.api.user_sim import UserSim

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def now_of(env: ChainEnv) -> int:
    return int(env.w3.eth.get_block("latest")["timestamp"])


def last_item(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    items = response.json()["updates"]
    assert items, response.content
    return items[-1]


def user_deposit(env: ChainEnv, sim: UserSim, *, wei: int = 0, tokens: int = 0,
                 confirm: bool = True) -> None:
    """A user deposit on chain; `confirm=False` leaves its DidUpdateChannel event unread (the
    deposit, and the hub's tokens riding along, on their way)."""
    sig = sim.signer.sign_deposit_request(tokens, wei)
    item = last_item(sim.post(f"channel/{sim.address}/request-deposit", {
        "depositWei": str(wei), "depositToken": str(tokens), "sigUser": sig,
        "lastChanTx": sim.latest.tx_count_global, "lastThreadUpdateId": 0}))
    assert item["update"]["reason"] == "ProposePendingDeposit"
    request = sim.accept(item, now=now_of(env))
    state = sim.state
    assert state is not None
    stored = ChannelUpdate.objects.get(channel__user=sim.address, tx_count_global=state.tx_count_global)
    assert channel_state_hash(state) == stored.state_hash  # we sign exactly what the hub signed
    manager = contract_at(env.w3, "ChannelManager", env.deployment.channel_manager)
    if tokens:
        token = contract_at(env.w3, "SpokeTestToken", env.deployment.token)
        send_transaction(env.w3, sim.account, token.functions.approve(
            env.deployment.channel_manager, tokens).build_transaction({"from": sim.account.address}))
    call = manager.functions.userAuthorizedUpdate(
        Web3.to_checksum_address(state.recipient), *authorized_update_args(state)[2:], state.sig_hub)
    send_transaction(env.w3, sim.account, call.build_transaction(
        {"from": sim.account.address, "value": wei}))
    response = sim.post(f"channel/{sim.address}/update", {"updates": [request], "lastThreadUpdateId": 0})
    assert response.status_code == 200, response.content
    if confirm:
        confirm_from_chain(env, sim)


def ingest_all() -> None:
    """Ingest the contract's events up to the head (one poll reads bounded batches, and the
    session chain has many blocks by the end of a full run)."""
    for _ in range(1000):
        result = events_poll()
        if result is None or result.caught_up:
            return
    raise AssertionError("the ingester never caught up")


def confirm_from_chain(env: ChainEnv, sim: UserSim) -> None:
    ingest_all()
    item = last_item(sim.get(f"channel/{sim.address}/sync?lastChanTx={sim.latest.tx_count_global}"))
    assert item["update"]["reason"] == "ConfirmPending"
    request = sim.accept(item, now=now_of(env))
    response = sim.post(f"channel/{sim.address}/update", {"updates": [request]})
    assert response.status_code == 200, response.content


def run_hub_transactions() -> None:
    for tx in ChainTransaction.objects.exclude(state__in=["confirmed", "failed"]):
        submit_and_confirm(tx.pk)


def set_rate(rate: str) -> HubRate:
    RateSource.objects.update_or_create(pk=1, defaults={"kind": "operator", "operator_rate": rate})
    rate_refresh()
    current = rate_current()
    assert current is not None
    return current


@pytest.mark.deposit_collateral
def test_deposit_exchange_and_withdraw_through_the_api(hub_chain: ChainEnv) -> None:
    env = hub_chain
    rate = set_rate("200")
    account = env.new_user(eth=5 * ETH, tokens=50 * TOKEN)
    sim = UserSim(account, env.deployment.channel_manager)
    sim.login()

    user_deposit(env, sim, wei=2 * ETH)
    user_deposit(env, sim, tokens=20 * TOKEN)
    assert (sim.latest.balance_wei_user, sim.latest.balance_token_user) == (2 * ETH, 20 * TOKEN)

    # the ETH deposit carried the hub's tokens for an exchange (70: the user token limit)
    assert sim.latest.balance_token_hub == 70 * TOKEN

    # wei -> tokens
    item = last_item(sim.post(f"channel/{sim.address}/request-exchange",
                              {"weiToSell": str(ETH // 20), "tokensToSell": "0", "lastChanTx": sim.latest.tx_count_global}))
    assert item["update"]["reason"] == "Exchange"
    request = sim.accept(item, now=now_of(env), hub_rate=rate)
    request["txCount"] = sim.latest.tx_count_global
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    assert sim.latest.balance_token_user == 20 * TOKEN + 10 * TOKEN

    # tokens -> wei
    item = last_item(sim.post(f"channel/{sim.address}/request-exchange",
                              {"weiToSell": "0", "tokensToSell": str(4 * TOKEN), "lastChanTx": sim.latest.tx_count_global}))
    request = sim.accept(item, now=now_of(env), hub_rate=rate)
    request["txCount"] = sim.latest.tx_count_global
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    assert sim.latest.balance_wei_user == 2 * ETH - ETH // 20 + ETH // 50

    # withdraw all wei, selling 6 tokens on the way, to a fresh address
    recipient = env.new_user(eth=0).address
    wei_before = sim.latest.balance_wei_user
    item = last_item(sim.post(f"channel/{sim.address}/request-withdrawal", {
        "recipient": recipient, "exchangeRate": rate.rate, "withdrawalWeiUser": str(wei_before),
        "tokensToSell": str(6 * TOKEN), "weiToSell": "0", "withdrawalTokenUser": "0",
        "lastChanTx": sim.latest.tx_count_global}))
    assert item["update"]["reason"] == "ProposePendingWithdrawal"
    request = sim.accept(item, now=now_of(env), hub_rate=rate)
    request["txCount"] = sim.latest.tx_count_global
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    run_hub_transactions()
    confirm_from_chain(env, sim)
    assert env.w3.eth.get_balance(Web3.to_checksum_address(recipient)) == wei_before + 6 * TOKEN // 200
    assert sim.latest.balance_wei_user == 0
    assert sim.latest.balance_token_user == 20 * TOKEN + 10 * TOKEN - 4 * TOKEN - 6 * TOKEN

    # every state the hub stored is double-signed, and the ledger agrees with state and chain
    # (on this user's channel: the session's anvil is shared, and an earlier test's DidEmptyChannel
    # ingested meanwhile can leave a proposal on a channel that is not this test's)
    assert not ChannelUpdate.objects.filter(channel__user__in=[sim.address, sim.address.lower()],
                                            sig_user__isnull=True, invalid__isnull=True).exists()
    report = reconcile_channels()
    assert report.ok, report.mismatches


@pytest.mark.deposit_collateral
def test_an_eth_deposit_carries_the_hubs_tokens_so_the_exchange_follows_at_once(hub_chain: ChainEnv) -> None:
    env = hub_chain
    rate = set_rate("200")
    sim = UserSim(env.new_user(eth=2 * ETH), env.deployment.channel_manager)
    sim.login()
    user_deposit(env, sim, wei=ETH // 10)
    assert sim.latest.balance_token_hub == 20 * TOKEN  # 0.1 ETH at 200 tokens/ETH
    item = last_item(sim.post(f"channel/{sim.address}/request-exchange",
                              {"weiToSell": str(ETH // 20), "lastChanTx": sim.latest.tx_count_global}))
    assert item["update"]["reason"] == "Exchange"
    request = sim.accept(item, now=now_of(env), hub_rate=rate)
    request["txCount"] = sim.latest.tx_count_global
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    assert (sim.latest.balance_token_user, sim.latest.balance_wei_user) == (10 * TOKEN, ETH // 20)


def test_an_exchange_the_hub_cannot_cover_is_refused_and_asks_for_collateral(
        hub_chain: ChainEnv, settings: Any) -> None:
    from hub.channels.models import ProposedUpdate

    env = hub_chain
    set_rate("200")
    settings.DEPOSIT_EXCHANGE_CAP_TOKENS = 0  # no tokens ride along with the deposit
    sim = UserSim(env.new_user(eth=2 * ETH), env.deployment.channel_manager)
    sim.login()
    user_deposit(env, sim, wei=ETH // 10)
    assert sim.latest.balance_token_hub == 0
    nothing = sim.post(f"channel/{sim.address}/request-exchange", {"tokensToSell": str(TOKEN)})
    assert (nothing.status_code, nothing.json()["code"]) == (400, "nothing_to_exchange")
    response = sim.post(f"channel/{sim.address}/request-exchange", {"weiToSell": str(ETH // 20)})
    assert (response.status_code, response.json()["code"]) == (409, "insufficient_collateral")
    for refusal in (nothing, response):  # as the OpenAPI document shows them
        assert_documented("/channel/{user}/request-exchange", "post", refusal)
    top_up = ProposedUpdate.objects.get(channel__user=sim.address, status=ProposedUpdate.Status.OPEN)
    assert top_up.reason == "ProposePendingDeposit" and int(top_up.args["depositTokenHub"]) >= 10 * TOKEN


class HoldSeen(logging.Handler):
    """Set when the hub logs that it holds a request (hub/channels/holds.py)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "request held" in record.getMessage():
            self.seen.set()


def call_while_held(call: Any) -> Any:
    """Run `call` (a request) in a thread; once the hub says it holds it, confirm the chain's
    events (ingest the pending deposit) and return the request's answer. Fails when the request
    is answered without being held."""
    answers: list[Any] = []
    watcher = HoldSeen()
    log = logging.getLogger("hub.channels.holds")
    log.addHandler(watcher)
    level = log.level
    log.setLevel(logging.INFO)

    def run() -> None:
        try:
            answers.append(call())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        while thread.is_alive() and not watcher.seen.is_set():
            watcher.seen.wait(0.05)
        assert watcher.seen.is_set(), f"answered without being held: {answers[0].content!r}"
        ingest_all()  # the hub's deposit is confirmed while the request waits
    finally:
        thread.join()
        log.removeHandler(watcher)
        log.setLevel(level)
    return answers[0]


def top_up_on_its_way(env: ChainEnv, settings: Any) -> tuple[UserSim, HubRate]:
    """A user with 0.1 ETH in the channel whose exchange was refused for want of collateral: the
    hub's top-up is countersigned and mined, its event not ingested yet (on its way)."""
    rate = set_rate("200")
    settings.DEPOSIT_EXCHANGE_CAP_TOKENS = 0
    sim = UserSim(env.new_user(eth=2 * ETH), env.deployment.channel_manager)
    sim.login()
    user_deposit(env, sim, wei=ETH // 10)
    refused = sim.post(f"channel/{sim.address}/request-exchange", {"weiToSell": str(ETH // 20)})
    assert refused.json()["code"] == "insufficient_collateral"
    item = last_item(sim.get(f"channel/{sim.address}/sync?lastChanTx={sim.latest.tx_count_global}"))
    assert item["update"]["reason"] == "ProposePendingDeposit"
    request = sim.accept(item, now=now_of(env))
    request["txCount"] = sim.latest.tx_count_global
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    run_hub_transactions()
    assert sim.latest.pending_deposit_token_hub >= 10 * TOKEN and sim.latest.balance_token_hub == 0
    return sim, rate


def test_an_exchange_asked_while_the_hubs_deposit_is_on_its_way_is_held_then_answered(
        hub_chain: ChainEnv, settings: Any) -> None:
    env = hub_chain
    sim, rate = top_up_on_its_way(env, settings)
    settings.COLLATERAL_HOLD_SECONDS = 120  # a bound no busy machine reaches; the wait ends on the event
    response = call_while_held(lambda: sim.post(f"channel/{sim.address}/request-exchange", {
        "weiToSell": str(ETH // 20), "lastChanTx": sim.latest.tx_count_global}))
    assert response.status_code == 200, response.content
    items = response.json()["updates"]
    assert [i["update"]["reason"] for i in items][-2:] == ["ConfirmPending", "Exchange"]
    confirm = sim.accept(items[-2], now=now_of(env))
    assert sim.post(f"channel/{sim.address}/update", {"updates": [confirm]}).status_code == 200
    request = sim.accept(items[-1], now=now_of(env), hub_rate=rate)
    request["txCount"] = sim.latest.tx_count_global
    assert sim.post(f"channel/{sim.address}/update", {"updates": [request]}).status_code == 200
    assert (sim.latest.balance_token_user, sim.latest.balance_wei_user) == (10 * TOKEN, ETH // 20)


def test_a_withdrawal_asked_while_the_hubs_deposit_is_on_its_way_is_held_then_answered(
        hub_chain: ChainEnv, settings: Any) -> None:
    env = hub_chain
    sim, rate = top_up_on_its_way(env, settings)
    settings.COLLATERAL_HOLD_SECONDS = 120
    recipient = env.new_user(eth=0).address
    response = call_while_held(lambda: sim.post(f"channel/{sim.address}/request-withdrawal", {
        "recipient": recipient, "exchangeRate": rate.rate, "withdrawalWeiUser": str(ETH // 20),
        "tokensToSell": "0", "weiToSell": "0", "withdrawalTokenUser": "0",
        "lastChanTx": sim.latest.tx_count_global}))
    assert response.status_code == 200, response.content
    assert [i["update"]["reason"] for i in response.json()["updates"]][-2:] == [
        "ConfirmPending", "ProposePendingWithdrawal"]


def test_past_the_hold_the_refusal_stands(hub_chain: ChainEnv, settings: Any) -> None:
    env = hub_chain
    sim, _rate = top_up_on_its_way(env, settings)
    settings.COLLATERAL_HOLD_SECONDS = 0
    response = sim.post(f"channel/{sim.address}/request-exchange", {"weiToSell": str(ETH // 20)})
    assert (response.status_code, response.json()["code"]) == (409, "collateral_on_its_way")
    assert_documented("/channel/{user}/request-exchange", "post", response)
    ingest_all()  # once confirmed, the same request is answered
    item = last_item(sim.post(f"channel/{sim.address}/request-exchange", {"weiToSell": str(ETH // 20)}))
    assert item["update"]["reason"] == "Exchange"
