"""Exchange rates and gas prices: refresh, staleness, and what the public routes serve."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from eth_account import Account

from hub.rates.models import ExchangeRate, RateSource
from hub.rates.services import gas_refresh, rate_current, rate_refresh
from tests.chain_env import ChainEnv
from tests.hub.api.user_sim import UserSim

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_an_operator_rate_is_served_in_the_connext_shape(hub_chain: ChainEnv) -> None:
    RateSource.objects.create(kind="operator", operator_rate="1834.25")
    rate_refresh()
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    body = sim.client.get("/api/hub/exchangeRate").json()
    assert body["base"] == "ETH"
    assert body["rates"]["DAI"] == "1834.25"


def test_a_rate_older_than_a_day_is_never_used(hub_chain: ChainEnv) -> None:
    ExchangeRate.objects.create(rate="100", source="operator",
                                retrieved_at=timezone.now() - timedelta(hours=24, seconds=1))
    assert rate_current() is None
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    sim.login()
    response = sim.post(f"channel/{sim.address}/request-exchange",
                        {"weiToSell": "1000", "tokensToSell": "0"})
    assert response.status_code == 400
    assert response.json()["code"] == "rate_unavailable"


def test_a_malformed_operator_rate_is_refused(hub_chain: ChainEnv) -> None:
    RateSource.objects.create(kind="operator", operator_rate="-3")
    with pytest.raises(Exception, match="exchange rate"):
        rate_refresh()
    assert ExchangeRate.objects.count() == 0


def test_gas_price_comes_from_the_nodes_fee_history(hub_chain: ChainEnv) -> None:
    row = gas_refresh()
    assert row is not None and row.base_fee_wei > 0
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    body = sim.client.get("/api/hub/gasPrice/estimate").json()
    assert int(body["gasPrice"]) >= 1


def test_config_names_the_contracts_and_no_secret(hub_chain: ChainEnv) -> None:
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    body = sim.client.get("/api/hub/config").json()
    assert body["contractAddress"] == hub_chain.deployment.channel_manager
    assert body["hubAddress"].lower() == hub_chain.hub.address.lower()
    assert body["ethChainId"] == 31337
    assert set(body) == {"contractAddress", "ethChainId", "hubAddress", "tokenAddress",
                         "maxCollateralization"}
    assert hub_chain.hub.key.hex().removeprefix("0x") not in str(body)


def test_an_on_chain_price_feed_is_read_and_a_stale_one_refused(hub_chain: ChainEnv) -> None:
    """The AggregatorV3 reader: 8 decimals, the answer becomes tokens per ETH; an answer older
    than 24 h is refused and alarmed instead of recorded."""
    from hub.chain.deploy import deploy_contract, send_transaction
    from ops.models import Alarm

    feed, _ = deploy_contract(hub_chain.w3, hub_chain.hub, "TestPriceFeed", 8, 2_450_12345678)
    RateSource.objects.create(kind="price_feed", feed_address=feed.address)
    row = rate_refresh()
    assert row is not None and row.rate == "2450.12345678" and row.source == "price_feed"
    current = rate_current()
    assert current is not None and current.rate == "2450.12345678"

    stale_time = hub_chain.w3.eth.get_block("latest")["timestamp"] - 25 * 3600
    send_transaction(hub_chain.w3, hub_chain.hub, feed.functions.setAnswer(2_500_00000000, stale_time)
                     .build_transaction({"from": hub_chain.hub.address}))
    assert rate_refresh() is None
    assert ExchangeRate.objects.count() == 1
    assert Alarm.objects.filter(kind="rate_feed").exists()
