"""The real Connext v1 client (connext@4.1.7, via tests/e2e/connext/driver.js) against the real
hub on live_server and anvil. The hub's chain poller runs in a thread, as a worker would."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from hub.chain.ingest import events_poll
from tests.chain_env import ETH, ChainEnv
from tests.e2e.connext.harness import ConnextDriver
from tests.hub.api.test_channel_flows import run_hub_transactions, set_rate

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chain_poller(hub_chain: ChainEnv) -> Iterator[None]:
    stop = threading.Event()

    def loop() -> None:
        # What the worker does in production: send the hub's transactions, ingest events.
        try:
            while not stop.wait(0.5):
                run_hub_transactions()
                events_poll()
        finally:
            connection.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)


def test_connext_client_deposits_through_the_hub(hub_chain: ChainEnv, live_server: Any,
                                                 chain_poller: None) -> None:
    set_rate("200")
    account = hub_chain.new_user(eth=5 * ETH)
    driver = ConnextDriver(hub_url=live_server.url + "/api/hub", eth_url=hub_chain.rpc_url,
                           private_key="0x" + bytes(account.key).hex(), timeout=90)
    result = driver.deposit(amount_wei=ETH // 10)
    assert result.channel is not None
    assert result.channel["balanceWeiUser"] == str(ETH // 10)
    assert result.channel["txCountGlobal"] == 2
    assert result.channel["sigHub"] and result.channel["sigUser"]


def test_a_restarted_connext_client_restores_its_state_from_the_hub(
        hub_chain: ChainEnv, live_server: Any, chain_poller: None) -> None:
    set_rate("200")
    account = hub_chain.new_user(eth=5 * ETH)
    driver = ConnextDriver(hub_url=live_server.url + "/api/hub", eth_url=hub_chain.rpc_url,
                           private_key="0x" + bytes(account.key).hex(), timeout=90)
    deposited = driver.deposit(amount_wei=ETH // 10)
    assert driver.state().channel == deposited.channel


@pytest.mark.deposit_collateral
def test_connext_client_deposits_exchanges_and_withdraws(hub_chain: ChainEnv, live_server: Any,
                                                        chain_poller: None) -> None:
    """docs/protocol.md end to end with the published client: ETH and token deposits (the ETH deposit
    carries the hub's tokens, so the exchange follows with no other call), exchanges both ways,
    and a withdrawal whose on-chain payout matches to the wei."""
    from web3 import Web3

    from tests.chain_env import TOKEN

    set_rate("200")
    account = hub_chain.new_user(eth=5 * ETH, tokens=20 * TOKEN)
    driver = ConnextDriver(hub_url=live_server.url + "/api/hub", eth_url=hub_chain.rpc_url,
                           private_key="0x" + bytes(account.key).hex(), timeout=120)
    driver.deposit(amount_wei=ETH)
    state = driver.deposit(amount_token=10 * TOKEN).channel
    assert state is not None
    assert (state["balanceWeiUser"], state["balanceTokenUser"]) == (str(ETH), str(10 * TOKEN))

    # no collateral request: the ETH deposit brought the hub's tokens (the user token limit, 70)
    assert state["balanceTokenHub"] == str(70 * TOKEN)

    state = driver.exchange(ETH // 20, "wei").channel  # 0.05 ETH -> 10 tokens
    assert state is not None and state["balanceTokenUser"] == str(20 * TOKEN)
    state = driver.exchange(2 * TOKEN, "token").channel  # 2 tokens -> 0.01 ETH
    assert state is not None and state["balanceWeiUser"] == str(ETH - ETH // 20 + ETH // 100)

    recipient = hub_chain.new_user(eth=0).address
    wei_in_channel = int(state["balanceWeiUser"])
    # Full withdrawal parameters: with the succinct form (amountWei) connext 4.1.7 drops the
    # recipient and pays the user's own address.
    state = driver.withdraw(recipient=recipient, withdrawalWeiUser=wei_in_channel - ETH // 10,
                            tokensToSell=10 * TOKEN, weiToSell=0, withdrawalTokenUser=0).channel
    assert state is not None
    assert (state["balanceWeiUser"], state["balanceTokenUser"]) == (str(ETH // 10), str(8 * TOKEN))
    # the withdrawn wei plus the proceeds of 10 tokens at 200 tokens/ETH, to the wei
    assert hub_chain.w3.eth.get_balance(Web3.to_checksum_address(recipient)) == (
        wei_in_channel - ETH // 10 + ETH // 20)


@pytest.mark.deposit_collateral
def test_connext_clients_pay_each_other_channel_custodial_and_optimistic(
        hub_chain: ChainEnv, live_server: Any, chain_poller: None) -> None:
    """Two users with the published client: PT_CHANNEL into a collateralized channel,
    PT_OPTIMISTIC first without collateral (held) and then with it (forwarded), PT_CUSTODIAL
    withdrawn on-chain by the recipient; each recipient sees its payment after sync."""
    from web3 import Web3

    from hub.core.rates import token_to_wei
    from hub.purchases.models import Payment
    from hub.purchases.services import optimistic_sweep
    from tests.chain_env import TOKEN

    rate = set_rate("200")
    url = live_server.url + "/api/hub"

    def driver_for(eth: int, tokens: int = 0) -> tuple[ConnextDriver, str]:
        account = hub_chain.new_user(eth=eth, tokens=tokens)
        return ConnextDriver(hub_url=url, eth_url=hub_chain.rpc_url,
                             private_key="0x" + bytes(account.key).hex(), timeout=120), account.address.lower()

    alice, _alice_address = driver_for(ETH, 30 * TOKEN)
    bob, bob_address = driver_for(ETH)
    carol, carol_address = driver_for(ETH)
    alice.deposit(amount_token=30 * TOKEN)
    bob.deposit(amount_wei=ETH // 100)
    carol.deposit(amount_wei=ETH // 100)

    # bob's ETH deposit brought 2 hub tokens (0.01 ETH at 200): too few for 3
    assert alice.recipient_needs_collateral(bob_address, amount_token=2 * TOKEN) is None
    assert alice.recipient_needs_collateral(bob_address, amount_token=3 * TOKEN) == (
        "Recipient needs collateral to facilitate payment.")
    # PT_OPTIMISTIC to bob, who has too little hub collateral: held by the hub
    alice.buy([{"recipient": bob_address, "amountToken": str(3 * TOKEN), "type": "PT_OPTIMISTIC"}])
    held = Payment.objects.get(type="PT_OPTIMISTIC")
    assert held.status == "pending"
    # bob's client countersigns the top-up the payment triggered; the hub then forwards
    state = bob.request_collateral(wait=True).channel
    assert state is not None and int(state["balanceTokenHub"]) > 0
    optimistic_sweep()
    held.refresh_from_db()
    assert held.status == "completed"
    assert bob.state().channel["balanceTokenUser"] == str(3 * TOKEN)

    # PT_CHANNEL to bob, now collateralized: forwarded at once
    assert alice.recipient_needs_collateral(bob_address, amount_token=3 * TOKEN) is None
    alice.buy([{"recipient": bob_address, "amountToken": str(3 * TOKEN), "type": "PT_CHANNEL"}])
    assert bob.state().channel["balanceTokenUser"] == str(6 * TOKEN)

    # PT_CUSTODIAL to carol, who withdraws it on-chain (as ETH at the hub's rate)
    alice.buy([{"recipient": carol_address, "amountToken": str(4 * TOKEN), "type": "PT_CUSTODIAL"}])
    payout = hub_chain.new_user(eth=0).address
    before = hub_chain.w3.eth.get_balance(Web3.to_checksum_address(payout))
    # the client spends the custodial balance first (custodial/withdrawals), then asks the
    # channel for the (zero) rest
    carol.withdraw(recipient=payout, amountToken=4 * TOKEN, wait=False)
    for _ in range(60):
        if hub_chain.w3.eth.get_balance(Web3.to_checksum_address(payout)) > before:
            break
        time.sleep(0.5)
    got = hub_chain.w3.eth.get_balance(Web3.to_checksum_address(payout)) - before
    assert got == token_to_wei(4 * TOKEN, rate.rate)
    assert alice.state().channel["balanceTokenUser"] == str(20 * TOKEN)
