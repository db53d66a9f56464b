"""hub.chain.deploy: deploying from the committed artifacts and funding the hub reserves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import Web3

from hub.chain import deploy
from stack.embedded import Anvil
from tests.contracts.chain import account

pytestmark = pytest.mark.chain

ETH = 10**18


@pytest.fixture(scope="module")
def w3() -> Iterator[Web3]:
    node = Anvil().start()
    try:
        web3 = Web3(Web3.HTTPProvider(node.rpc_url))
        yield web3
    finally:
        node.stop()


def test_deploy_all_and_fund_reserves(w3: Web3) -> None:
    hub = account("deploy-hub")
    w3.provider.make_request("anvil_setBalance", [hub.address, hex(1_000 * ETH)])  # type: ignore[arg-type]
    dep = deploy.deploy_all(w3, hub, challenge_period=321)
    assert deploy.has_code(w3, dep.channel_manager) and deploy.has_code(w3, dep.token)
    assert dep.as_record() == {"channel_manager": dep.channel_manager, "token": dep.token, "block": dep.block,
                               "checkout": dep.checkout, "checkout_block": dep.checkout_block}
    checkout = deploy.contract_at(w3, deploy.CHECKOUT, str(dep.checkout))
    assert checkout.functions.operator().call() == hub.address
    assert checkout.functions.owner().call() == hub.address
    manager = deploy.contract_at(w3, deploy.CHANNEL_MANAGER, dep.channel_manager)
    assert manager.functions.hub().call() == hub.address
    assert manager.functions.challengePeriod().call() == 321
    assert manager.functions.approvedToken().call() == dep.token
    assert w3.eth.get_transaction_receipt(
        w3.eth.get_block(dep.block, full_transactions=True)["transactions"][0]["hash"]
    )["contractAddress"] == dep.channel_manager

    token = deploy.contract_at(w3, deploy.TEST_ERC20, dep.token)
    assert (token.functions.name().call(), token.functions.symbol().call(), token.functions.decimals().call()) == (
        "Spoke Test Dollar", "SPD", 18)

    deploy.fund_hub_reserves(w3, hub, channel_manager=dep.channel_manager, token=dep.token, wei=3 * ETH, tokens=7 * ETH)
    assert deploy.hub_reserves(w3, dep.channel_manager) == (3 * ETH, 7 * ETH)
    assert deploy.top_up_hub_reserves(w3, hub, channel_manager=dep.channel_manager, token=dep.token,
                                      target_wei=5 * ETH, target_tokens=7 * ETH) == (2 * ETH, 0)
    assert deploy.top_up_hub_reserves(w3, hub, channel_manager=dep.channel_manager, token=dep.token,
                                      target_wei=ETH, target_tokens=ETH) == (0, 0)
    assert deploy.hub_reserves(w3, dep.channel_manager) == (5 * ETH, 7 * ETH)


def test_existing_token_is_reused_and_only_the_minter_mints(w3: Web3) -> None:
    hub, other = account("deploy-hub-2"), account("deploy-other")
    for acct in (hub, other):
        w3.provider.make_request("anvil_setBalance", [acct.address, hex(10 * ETH)])  # type: ignore[arg-type]
    token = deploy.deploy_token(w3, other)
    dep = deploy.deploy_all(w3, hub, challenge_period=600, token=token.address)
    assert dep.token == token.address
    with pytest.raises(Exception, match="only the deployer can mint"):
        deploy.mint_tokens(w3, hub, token.address, hub.address, 1)


def test_constructor_rejects_bad_arguments(w3: Web3) -> None:
    hub = account("deploy-hub-3")
    w3.provider.make_request("anvil_setBalance", [hub.address, hex(10 * ETH)])  # type: ignore[arg-type]
    token = deploy.deploy_token(w3, hub)
    for kwargs, message in [
        ({"hub": "0x" + "00" * 20, "challenge_period": 600, "token": token.address}, "hub can not be the zero address"),
        ({"hub": hub.address, "challenge_period": 600, "token": hub.address}, "token must be a contract"),
        ({"hub": hub.address, "challenge_period": 0, "token": token.address}, "challenge period out of range"),
        ({"hub": hub.address, "challenge_period": 366 * 86400, "token": token.address}, "challenge period out of range"),
    ]:
        with pytest.raises(Exception, match=message):
            deploy.deploy_channel_manager(w3, hub, **kwargs)
