"""The real Connext v1 client (connext@4.1.7, via tests/e2e/connext/driver.js) against the real
hub on live_server and anvil. The hub's chain poller runs in a thread, as a worker would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from hub.chain.ingest import events_poll
from tests.chain_env import ETH, ChainEnv
from tests.e2e.connext.harness import ConnextDriver
from tests.hub.api.test_channel_flows import set_rate

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chain_poller(hub_chain: ChainEnv) -> Iterator[None]:
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.wait(0.5):
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
